//! Rule-based rewrites applied while plans are built:
//!
//! 1. **Predicate pushdown into scans**: a WHERE conjunct `column <op> literal`
//!    (or BETWEEN / IN list / IS [NOT] NULL) whose literal has the column's own
//!    storage class becomes a store [`Predicate`], so chunks whose statistics
//!    rule it out are never read. The filter itself stays above the scan,
//!    because SQLite's comparison rules across storage classes are ours, not
//!    the store's: only same-class literals are pushed.
//! 2. **Join ordering** happens in [`crate::exec::MultiJoinExecutor`]:
//!    single-table conjuncts first, equi-joins by hashing, cross joins last.

use crate::expr::{BinOp, Expr};
use crate::plan::Plan;
use crate::value::Value;
use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use llkv_store::{CmpOp, Predicate};
use std::sync::Arc;

/// Adds the pushable conjuncts to a scan's predicates.
pub fn push_down(plan: Plan, conjuncts: &[Expr]) -> Plan {
    match plan {
        Plan::Scan { table, mut predicates } => {
            for c in conjuncts {
                if let Some(p) =
                    to_predicate(c, &|i| table.meta.columns.get(i).map(|c| c.data_type.clone()))
                {
                    predicates.push(p);
                }
            }
            Plan::Scan { table, predicates }
        }
        other => other,
    }
}

fn scalar(v: &Value, t: &DataType) -> Option<ArrayRef> {
    Some(match (v, t) {
        (Value::Int(i), DataType::Int64) => Arc::new(Int64Array::from(vec![*i])),
        (Value::Real(r), DataType::Float64) => Arc::new(Float64Array::from(vec![*r])),
        (Value::Int(i), DataType::Float64) => Arc::new(Float64Array::from(vec![*i as f64])),
        (Value::Text(s), DataType::Utf8) => Arc::new(StringArray::from(vec![s.as_str()])),
        _ => return None,
    })
}

fn to_predicate(e: &Expr, col_type: &dyn Fn(usize) -> Option<DataType>) -> Option<Predicate> {
    match e {
        Expr::Binary(op, a, b) => {
            let (col, lit, op) = match (a.as_ref(), b.as_ref()) {
                (Expr::Column(c), Expr::Literal(v)) => (*c, v, *op),
                (Expr::Literal(v), Expr::Column(c)) => (*c, v, flip(*op)?),
                _ => return None,
            };
            let op = match op {
                BinOp::Eq => CmpOp::Eq,
                BinOp::NotEq => CmpOp::NotEq,
                BinOp::Lt => CmpOp::Lt,
                BinOp::LtEq => CmpOp::LtEq,
                BinOp::Gt => CmpOp::Gt,
                BinOp::GtEq => CmpOp::GtEq,
                _ => return None,
            };
            let value = scalar(lit, &col_type(col)?)?;
            Some(Predicate::Compare { column: col, op, value })
        }
        Expr::Between { expr, low, high, negated: false } => {
            match (expr.as_ref(), low.as_ref(), high.as_ref()) {
                (Expr::Column(c), Expr::Literal(l), Expr::Literal(h)) => {
                    let t = col_type(*c)?;
                    Some(Predicate::Between {
                        column: *c,
                        low: scalar(l, &t)?,
                        high: scalar(h, &t)?,
                    })
                }
                _ => None,
            }
        }
        Expr::IsNull(x, negated) => match x.as_ref() {
            Expr::Column(c) if *negated => Some(Predicate::IsNotNull { column: *c }),
            Expr::Column(c) => Some(Predicate::IsNull { column: *c }),
            _ => None,
        },
        _ => None,
    }
}

fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        BinOp::Eq | BinOp::NotEq => op,
        _ => return None,
    })
}
