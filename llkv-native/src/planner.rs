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
            predicates.extend(predicates_for(&table.meta, conjuncts));
            Plan::Scan { table, predicates }
        }
        other => other,
    }
}

/// The store predicates implied by the pushable `conjuncts` over the columns
/// of a table with definition `meta` (row = the table's columns in order).
/// Every row the conjuncts accept satisfies them, so a scan may apply them
/// (and an index may answer them) before the full filter runs.
pub fn predicates_for(meta: &llkv_store::TableMeta, conjuncts: &[Expr]) -> Vec<Predicate> {
    conjuncts
        .iter()
        .filter_map(|c| to_predicate(c, &|i| meta.columns.get(i).map(|c| c.data_type.clone())))
        .collect()
}

/// Splits a bound predicate into its AND-ed conjuncts.
pub fn conjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary(BinOp::And, a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        other => out.push(other.clone()),
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
        Expr::InList { expr, list, negated: false } if !list.is_empty() => {
            let Expr::Column(c) = expr.as_ref() else { return None };
            let t = col_type(*c)?;
            // Every item must have the column's class: another class may still
            // compare equal under SQLite's rules (5 = 5.0), so it cannot be left out.
            let mut items = Vec::with_capacity(list.len());
            for e in list {
                match e {
                    Expr::Literal(Value::Null) => {}
                    Expr::Literal(v) => items.push(scalar(v, &t)?),
                    _ => return None,
                }
            }
            if items.is_empty() {
                return None;
            }
            let refs: Vec<&dyn arrow::array::Array> = items.iter().map(|a| a.as_ref()).collect();
            let values = arrow::compute::concat(&refs).ok()?;
            Some(Predicate::InList { column: *c, values })
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
