//! Rule-based rewrites applied while plans are built:
//!
//! 1. **Predicate pushdown into scans**: a WHERE conjunct `column <op> literal`
//!    (or BETWEEN / IN list / IS [NOT] NULL) whose literal has the column's own
//!    storage class becomes a store [`Predicate`], so chunks whose statistics
//!    rule it out are never read. The filter itself stays above the scan,
//!    because SQLite's comparison rules across storage classes are ours, not
//!    the store's: only same-class literals are pushed.
//! 2. **OR factoring** ([`factor_or`]): conjuncts shared by every branch of
//!    an OR are moved out of it, so they can drive hash joins and pushdown.
//! 3. **Join ordering** happens in [`crate::exec::MultiJoinExecutor`]:
//!    single-table conjuncts first, equi-joins by hashing, cross joins last.

use crate::expr::{BinOp, Expr};
use crate::plan::Plan;
use crate::value::Value;
use arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, StringArray};
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

/// Factors the conjuncts every branch of an OR shares out of it:
/// `(a AND b) OR (a AND c)` becomes `a` and `b OR c`, pushed to `out`.
///
/// Sound under SQL's three-valued logic (Kleene AND/OR distribute over each
/// other). It turns a join condition repeated in every branch (TPC-H Q19) into
/// a conjunct the join can hash on, and a repeated column test into one the
/// scan can push. Only simple expressions (columns, literals, operators) are
/// compared, so nothing with a subquery or a function call is moved.
pub fn factor_or(e: Expr, out: &mut Vec<Expr>) {
    let mut branches = Vec::new();
    disjuncts(&e, &mut branches);
    if branches.len() < 2 {
        out.push(e);
        return;
    }
    let parts: Vec<Vec<Expr>> = branches
        .iter()
        .map(|b| {
            let mut v = Vec::new();
            conjuncts(b, &mut v);
            v
        })
        .collect();
    let common: Vec<Expr> = parts[0]
        .iter()
        .filter(|c| is_simple(c) && parts[1..].iter().all(|p| p.iter().any(|x| same(c, x))))
        .cloned()
        .collect();
    if common.is_empty() {
        out.push(e);
        return;
    }
    let mut rest = Vec::with_capacity(parts.len());
    for p in parts {
        let remaining: Vec<Expr> =
            p.into_iter().filter(|x| !common.iter().any(|c| same(c, x))).collect();
        match remaining
            .into_iter()
            .reduce(|a, b| Expr::Binary(BinOp::And, Box::new(a), Box::new(b)))
        {
            Some(r) => rest.push(r),
            // A branch that is only the common part makes the rest of the OR
            // redundant: (a) OR (a AND c) is a.
            None => {
                out.extend(common);
                return;
            }
        }
    }
    out.extend(common);
    if let Some(r) =
        rest.into_iter().reduce(|a, b| Expr::Binary(BinOp::Or, Box::new(a), Box::new(b)))
    {
        out.push(r);
    }
}

fn disjuncts(e: &Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary(BinOp::Or, a, b) => {
            disjuncts(a, out);
            disjuncts(b, out);
        }
        other => out.push(other.clone()),
    }
}

fn is_simple(e: &Expr) -> bool {
    match e {
        Expr::Column(_) | Expr::Literal(_) => true,
        Expr::Unary(_, x) | Expr::IsNull(x, _) => is_simple(x),
        Expr::Binary(_, a, b) => is_simple(a) && is_simple(b),
        Expr::Between { expr, low, high, .. } => {
            is_simple(expr) && is_simple(low) && is_simple(high)
        }
        Expr::InList { expr, list, .. } => is_simple(expr) && list.iter().all(is_simple),
        _ => false,
    }
}

/// Structural equality of two simple expressions (see [`is_simple`]).
fn same(a: &Expr, b: &Expr) -> bool {
    match (a, b) {
        (Expr::Column(x), Expr::Column(y)) => x == y,
        (Expr::Literal(x), Expr::Literal(y)) => same_value(x, y),
        (Expr::Unary(o1, x), Expr::Unary(o2, y)) => o1 == o2 && same(x, y),
        (Expr::IsNull(x, n1), Expr::IsNull(y, n2)) => n1 == n2 && same(x, y),
        (Expr::Binary(o1, a1, b1), Expr::Binary(o2, a2, b2)) => {
            o1 == o2 && same(a1, a2) && same(b1, b2)
        }
        (
            Expr::Between { expr: e1, low: l1, high: h1, negated: n1 },
            Expr::Between { expr: e2, low: l2, high: h2, negated: n2 },
        ) => n1 == n2 && same(e1, e2) && same(l1, l2) && same(h1, h2),
        (
            Expr::InList { expr: e1, list: l1, negated: n1 },
            Expr::InList { expr: e2, list: l2, negated: n2 },
        ) => {
            n1 == n2
                && same(e1, e2)
                && l1.len() == l2.len()
                && l1.iter().zip(l2).all(|(x, y)| same(x, y))
        }
        _ => false,
    }
}

/// Whether two literals are the same value of the same storage class.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Real(x), Value::Real(y)) => x.to_bits() == y.to_bits(),
        (Value::Text(x), Value::Text(y)) => x == y,
        (Value::Blob(x), Value::Blob(y)) => x == y,
        _ => false,
    }
}

fn scalar(v: &Value, t: &DataType) -> Option<ArrayRef> {
    Some(match (v, t) {
        (Value::Int(i), DataType::Int64) => Arc::new(Int64Array::from(vec![*i])),
        (Value::Real(r), DataType::Float64) => Arc::new(Float64Array::from(vec![*r])),
        (Value::Int(i), DataType::Float64) => Arc::new(Float64Array::from(vec![*i as f64])),
        (Value::Text(s), DataType::Utf8) => Arc::new(StringArray::from(vec![s.as_str()])),
        (Value::Text(s), DataType::Date32) => {
            Arc::new(Date32Array::from(vec![crate::dates::canonical_days(s)?]))
        }
        _ => return None,
    })
}

/// A range test on a DATE column as the store applies it. The native route
/// compares dates as their text, which orders as the day numbers do for
/// dates of years 0000–9999 (`yyyy-mm-dd`); a date outside them (only
/// another writer stores one) may match by its text, so it always passes
/// the store's test and the full filter decides. Chunks without such dates
/// evaluate `range` alone (see the store's `AnyOf`).
fn date_range(column: usize, range: Predicate) -> Predicate {
    let day = |d: i32| -> ArrayRef { Arc::new(Date32Array::from(vec![d])) };
    let outliers = |op, d| Predicate::Compare { column, op, value: day(d) };
    Predicate::AnyOf {
        column,
        alternatives: vec![
            range,
            outliers(CmpOp::Lt, *crate::dates::CANONICAL_DAYS.start()),
            outliers(CmpOp::Gt, *crate::dates::CANONICAL_DAYS.end()),
        ],
    }
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
            let t = col_type(col)?;
            let value = scalar(lit, &t)?;
            let cmp = Predicate::Compare { column: col, op, value };
            let is_range = !matches!(op, CmpOp::Eq | CmpOp::NotEq);
            Some(if t == DataType::Date32 && is_range { date_range(col, cmp) } else { cmp })
        }
        Expr::Between { expr, low, high, negated: false } => {
            match (expr.as_ref(), low.as_ref(), high.as_ref()) {
                (Expr::Column(c), Expr::Literal(l), Expr::Literal(h)) => {
                    let t = col_type(*c)?;
                    let between = Predicate::Between {
                        column: *c,
                        low: scalar(l, &t)?,
                        high: scalar(h, &t)?,
                    };
                    Some(if t == DataType::Date32 { date_range(*c, between) } else { between })
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
