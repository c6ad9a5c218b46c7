//! Evaluating bound expressions over one row, with SQLite's semantics (the
//! rules are listed in [`crate::value`]; three-valued logic is below).

use crate::exec::{ExecCtx, Outer, execute};
use crate::expr::{BinOp, CastTo, Expr, UnOp};
use crate::functions::call_function;
use crate::like::like_match;
use crate::value::{GroupKey, Row, Value, parse_numeric_prefix, real_to_int};
use llkv_sql::{SqlError, SqlResult};
use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

/// The rows of an IN-subquery, prepared for membership tests.
#[derive(Debug)]
pub struct InSet {
    keys: HashSet<GroupKey>,
    has_null: bool,
    empty: bool,
}

/// Evaluates `e` over `row` (`outer` holds the rows of enclosing queries).
///
/// # Errors
/// Evaluation errors (unknown functions, subqueries returning too many columns…).
pub fn eval(
    e: &Expr,
    row: &[Value],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Value> {
    Ok(match e {
        Expr::Column(i) => row.get(*i).cloned().ok_or_else(|| {
            SqlError::new(llkv_sql::ErrorKind::Internal, format!("column {i} out of range"))
        })?,
        Expr::Outer { depth, index } => {
            let mut o = outer;
            for _ in 0..*depth {
                o = o.and_then(|x| x.parent);
            }
            o.and_then(|x| x.row.get(*index)).cloned().ok_or_else(|| {
                SqlError::new(llkv_sql::ErrorKind::Internal, "outer column out of range")
            })?
        }
        Expr::Literal(v) => v.clone(),
        Expr::Unary(op, x) => {
            let v = eval(x, row, outer, ctx)?;
            match op {
                UnOp::Plus => v,
                UnOp::Neg => match v.to_numeric() {
                    Value::Int(i) => i.checked_neg().map_or(Value::Real(-(i as f64)), Value::Int),
                    Value::Real(r) => Value::Real(-r),
                    _ => Value::Null,
                },
                // NOT NULL is NULL.
                UnOp::Not => Value::from_opt_bool(v.truth().map(|b| !b)),
                UnOp::BitNot => v.as_i64().map_or(Value::Null, |i| Value::Int(!i)),
            }
        }
        Expr::Binary(op, a, b) => binary(*op, a, b, row, outer, ctx)?,
        Expr::IsNull(x, negated) => {
            let v = eval(x, row, outer, ctx)?;
            Value::from_bool(v.is_null() != *negated)
        }
        Expr::Between { expr, low, high, negated } => {
            // x BETWEEN a AND b is x >= a AND x <= b, with three-valued AND.
            let v = eval(expr, row, outer, ctx)?;
            let lo = eval(low, row, outer, ctx)?;
            let hi = eval(high, row, outer, ctx)?;
            let ge = v.sql_cmp(&lo).map(|o| o != Ordering::Less);
            let le = v.sql_cmp(&hi).map(|o| o != Ordering::Greater);
            let r = and3(ge, le);
            Value::from_opt_bool(if *negated { r.map(|b| !b) } else { r })
        }
        Expr::InList { expr, list, negated } => {
            // x IN (…): true on a match; else NULL if x or any item is NULL; else false.
            // An empty list is false even for a NULL x.
            if list.is_empty() {
                return Ok(Value::from_bool(*negated));
            }
            let v = eval(expr, row, outer, ctx)?;
            let mut saw_null = v.is_null();
            let mut found = false;
            if !v.is_null() {
                for item in list {
                    let w = eval(item, row, outer, ctx)?;
                    match v.sql_cmp(&w) {
                        Some(Ordering::Equal) => {
                            found = true;
                            break;
                        }
                        None => saw_null = true,
                        _ => {}
                    }
                }
            }
            let r = if found {
                Some(true)
            } else if saw_null {
                None
            } else {
                Some(false)
            };
            Value::from_opt_bool(if *negated { r.map(|b| !b) } else { r })
        }
        Expr::InSubquery { expr, plan, negated, correlated } => {
            let v = eval(expr, row, outer, ctx)?;
            let set = in_set(plan, *correlated, row, outer, ctx)?;
            let r = if set.empty {
                Some(false)
            } else if v.is_null() {
                None
            } else if set.keys.contains(&v.group_key()) {
                Some(true)
            } else if set.has_null {
                None
            } else {
                Some(false)
            };
            Value::from_opt_bool(if *negated { r.map(|b| !b) } else { r })
        }
        Expr::Exists { plan, negated, correlated } => {
            let rows = subquery_rows(plan, *correlated, row, outer, ctx)?;
            Value::from_bool(rows.is_empty() == *negated)
        }
        Expr::Subquery { plan, correlated } => {
            let rows = subquery_rows(plan, *correlated, row, outer, ctx)?;
            rows.first().and_then(|r| r.first()).cloned().unwrap_or(Value::Null)
        }
        Expr::Case { operand, whens, else_ } => {
            let base = match operand {
                Some(o) => Some(eval(o, row, outer, ctx)?),
                None => None,
            };
            for (w, t) in whens {
                let c = eval(w, row, outer, ctx)?;
                // Simple CASE compares with `=` (a NULL operand matches nothing).
                let hit = match &base {
                    Some(b) => b.sql_cmp(&c) == Some(Ordering::Equal),
                    None => c.truth() == Some(true),
                };
                if hit {
                    return eval(t, row, outer, ctx);
                }
            }
            match else_ {
                Some(e) => eval(e, row, outer, ctx)?,
                None => Value::Null,
            }
        }
        Expr::Cast(x, to) => cast(eval(x, row, outer, ctx)?, *to),
        Expr::Func(name, args) => {
            let vals =
                args.iter().map(|a| eval(a, row, outer, ctx)).collect::<SqlResult<Vec<_>>>()?;
            call_function(name, vals)?
        }
        Expr::Like { expr, pattern, escape, negated, glob } => {
            let v = eval(expr, row, outer, ctx)?;
            let p = eval(pattern, row, outer, ctx)?;
            let esc = match escape {
                Some(e) => eval(e, row, outer, ctx)?.to_text().and_then(|s| s.chars().next()),
                None => None,
            };
            match (v.to_text(), p.to_text()) {
                (Some(s), Some(p)) => Value::from_bool(like_match(&p, &s, esc, *glob) != *negated),
                _ => Value::Null,
            }
        }
    })
}

/// Evaluates a predicate: only true counts (NULL and false reject the row).
///
/// # Errors
/// As for [`eval`].
pub fn eval_pred(
    e: &Expr,
    row: &[Value],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<bool> {
    Ok(eval(e, row, outer, ctx)?.truth() == Some(true))
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn binary(
    op: BinOp,
    a: &Expr,
    b: &Expr,
    row: &[Value],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Value> {
    // Three-valued logic: FALSE AND x is FALSE, TRUE OR x is TRUE, else NULL wins.
    if op == BinOp::And {
        let l = eval(a, row, outer, ctx)?.truth();
        if l == Some(false) {
            return Ok(Value::from_bool(false));
        }
        let r = eval(b, row, outer, ctx)?.truth();
        return Ok(Value::from_opt_bool(and3(l, r)));
    }
    if op == BinOp::Or {
        let l = eval(a, row, outer, ctx)?.truth();
        if l == Some(true) {
            return Ok(Value::from_bool(true));
        }
        let r = eval(b, row, outer, ctx)?.truth();
        return Ok(Value::from_opt_bool(match (l, r) {
            (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        }));
    }
    let l = eval(a, row, outer, ctx)?;
    let r = eval(b, row, outer, ctx)?;
    Ok(binary_values(op, &l, &r))
}

/// A binary operator on two values (not AND/OR).
pub fn binary_values(op: BinOp, l: &Value, r: &Value) -> Value {
    use BinOp as B;
    match op {
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => match l.sql_cmp(r) {
            None => Value::Null,
            Some(o) => Value::from_bool(match op {
                B::Eq => o == Ordering::Equal,
                B::NotEq => o != Ordering::Equal,
                B::Lt => o == Ordering::Less,
                B::LtEq => o != Ordering::Greater,
                B::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            }),
        },
        // IS / IS NOT never yield NULL: two NULLs are equal.
        B::Is | B::IsNot => {
            let same = match (l.is_null(), r.is_null()) {
                (true, true) => true,
                (false, false) => l.total_cmp(r) == Ordering::Equal,
                _ => false,
            };
            Value::from_bool(same == (op == B::Is))
        }
        B::Concat => match (l.to_text(), r.to_text()) {
            (Some(a), Some(b)) => Value::Text(a + &b),
            _ => Value::Null,
        },
        B::Add | B::Sub | B::Mul | B::Div | B::Mod => arith(op, l, r),
        B::BitAnd | B::BitOr | B::ShiftLeft | B::ShiftRight => match (l.as_i64(), r.as_i64()) {
            (Some(a), Some(b)) => Value::Int(match op {
                B::BitAnd => a & b,
                B::BitOr => a | b,
                B::ShiftLeft => shift(a, b),
                _ => shift(a, b.saturating_neg()),
            }),
            _ => Value::Null,
        },
        B::And | B::Or => Value::Null,
    }
}

fn shift(a: i64, b: i64) -> i64 {
    if b >= 64 {
        0
    } else if b >= 0 {
        a << b
    } else if b <= -64 {
        if a < 0 { -1 } else { 0 }
    } else {
        a >> (-b)
    }
}

/// Arithmetic with SQLite's rules (see [`crate::value`]).
pub fn arith(op: BinOp, l: &Value, r: &Value) -> Value {
    let (a, b) = (l.to_numeric(), r.to_numeric());
    match (a, b) {
        (Value::Null, _) | (_, Value::Null) => Value::Null,
        (Value::Int(x), Value::Int(y)) => match op {
            BinOp::Add => x.checked_add(y).map_or(Value::Real(x as f64 + y as f64), Value::Int),
            BinOp::Sub => x.checked_sub(y).map_or(Value::Real(x as f64 - y as f64), Value::Int),
            BinOp::Mul => x.checked_mul(y).map_or(Value::Real(x as f64 * y as f64), Value::Int),
            // Integer division truncates; by zero it is NULL.
            BinOp::Div => {
                if y == 0 {
                    Value::Null
                } else {
                    x.checked_div(y).map_or(Value::Real(x as f64 / y as f64), Value::Int)
                }
            }
            _ => {
                if y == 0 {
                    Value::Null
                } else {
                    Value::Int(x.checked_rem(y).unwrap_or(0))
                }
            }
        },
        (x, y) => {
            let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) else { return Value::Null };
            match op {
                BinOp::Add => Value::Real(x + y),
                BinOp::Sub => Value::Real(x - y),
                BinOp::Mul => Value::Real(x * y),
                BinOp::Div => {
                    if y == 0.0 {
                        Value::Null
                    } else {
                        Value::Real(x / y)
                    }
                }
                // `%` on reals works on their integer parts and returns REAL.
                _ => {
                    let (xi, yi) = (real_to_int(x), real_to_int(y));
                    if yi == 0 {
                        Value::Null
                    } else {
                        Value::Real(xi.checked_rem(yi).unwrap_or(0) as f64)
                    }
                }
            }
        }
    }
}

/// `CAST(v AS to)` the way SQLite converts storage classes.
pub fn cast(v: Value, to: CastTo) -> Value {
    if v.is_null() {
        return Value::Null;
    }
    match to {
        CastTo::Integer => match v {
            Value::Real(r) => Value::Int(real_to_int(r)),
            other => match other.to_numeric() {
                Value::Real(r) => Value::Int(real_to_int(r)),
                n => n,
            },
        },
        CastTo::Real => v.as_f64().map_or(Value::Null, Value::Real),
        CastTo::Text => v.to_text().map_or(Value::Null, Value::Text),
        CastTo::Numeric => match v {
            Value::Text(s) => parse_numeric_prefix(&s),
            other => other.to_numeric(),
        },
        CastTo::Blob => match v {
            Value::Blob(_) => v,
            other => other.to_text().map_or(Value::Null, |s| Value::Blob(s.into_bytes())),
        },
    }
}

fn subquery_rows(
    plan: &crate::plan::Plan,
    correlated: bool,
    row: &[Value],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Arc<Vec<Row>>> {
    let key = plan as *const _ as usize;
    if !correlated && let Some(r) = ctx.subquery_cache.lock().get(&key) {
        return Ok(Arc::clone(r));
    }
    let o = Outer { row, parent: outer };
    let rows = Arc::new(execute(plan, Some(&o), ctx)?);
    if !correlated {
        ctx.subquery_cache.lock().insert(key, Arc::clone(&rows));
    }
    Ok(rows)
}

fn in_set(
    plan: &crate::plan::Plan,
    correlated: bool,
    row: &[Value],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Arc<InSet>> {
    let key = plan as *const _ as usize;
    if !correlated && let Some(r) = ctx.in_cache.lock().get(&key) {
        return Ok(Arc::clone(r));
    }
    let rows = subquery_rows(plan, correlated, row, outer, ctx)?;
    let mut set = InSet { keys: HashSet::new(), has_null: false, empty: rows.is_empty() };
    for r in rows.iter() {
        match r.first() {
            Some(Value::Null) | None => set.has_null = true,
            Some(v) => {
                set.keys.insert(v.group_key());
            }
        }
    }
    let set = Arc::new(set);
    if !correlated {
        ctx.in_cache.lock().insert(key, Arc::clone(&set));
    }
    Ok(set)
}
