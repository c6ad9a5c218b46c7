//! Grouping and aggregate functions with SQLite's results:
//! `count` counts non-NULL values; `sum` is INTEGER over integers (REAL if any
//! input is REAL) and NULL over no values; `total` is always REAL and 0.0 over
//! no values; `avg` is REAL; `min`/`max` ignore NULLs and use the total order
//! of [`crate::value`]; `group_concat` joins text with `,` by default. An
//! aggregate query without GROUP BY returns one row even over no input rows.
//! Groups come out in ascending key order, as SQLite's sorter emits them.

use super::{ExecCtx, Outer};
use crate::eval::eval;
use crate::expr::{AggCall, AggFunc, Expr};
use crate::functions::concat_text;
use crate::value::{GroupKey, Row, Value};
use llkv_sql::{SqlError, SqlResult};
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};

/// Groups rows and computes aggregates; output = group keys ++ aggregates.
pub struct AggregateExecutor;

#[derive(Debug, Clone)]
enum Acc {
    Count(i64),
    Sum { int: i64, real: f64, is_real: bool, any: bool, overflow: bool },
    Avg { sum: f64, n: i64 },
    MinMax(Option<Value>),
    Concat(Option<String>),
    Any(Option<Value>),
}

impl Acc {
    fn new(f: AggFunc) -> Acc {
        match f {
            AggFunc::CountStar | AggFunc::Count => Acc::Count(0),
            AggFunc::Sum | AggFunc::Total => {
                Acc::Sum { int: 0, real: 0.0, is_real: false, any: false, overflow: false }
            }
            AggFunc::Avg => Acc::Avg { sum: 0.0, n: 0 },
            AggFunc::Min | AggFunc::Max => Acc::MinMax(None),
            AggFunc::GroupConcat => Acc::Concat(None),
            AggFunc::AnyValue => Acc::Any(None),
        }
    }

    fn update(&mut self, f: AggFunc, v: Value, sep: &str) {
        match self {
            Acc::Count(n) => {
                if f == AggFunc::CountStar || !v.is_null() {
                    *n += 1;
                }
            }
            Acc::Sum { int, real, is_real, any, overflow } => match v.to_numeric() {
                Value::Int(i) => {
                    *any = true;
                    *real += i as f64;
                    if !*is_real {
                        match int.checked_add(i) {
                            Some(s) => *int = s,
                            None => {
                                // SQLite: sum() raises "integer overflow";
                                // total() goes on as a REAL.
                                *is_real = true;
                                *overflow = true;
                            }
                        }
                    }
                }
                Value::Real(r) => {
                    *any = true;
                    *is_real = true;
                    *real += r;
                }
                _ => {}
            },
            Acc::Avg { sum, n } => {
                if let Some(x) = v.as_f64() {
                    *sum += x;
                    *n += 1;
                }
            }
            Acc::MinMax(cur) => {
                if v.is_null() {
                    return;
                }
                let replace = match cur {
                    None => true,
                    Some(c) => {
                        let o = v.total_cmp(c);
                        if f == AggFunc::Min { o.is_lt() } else { o.is_gt() }
                    }
                };
                if replace {
                    *cur = Some(v);
                }
            }
            Acc::Concat(s) => {
                if v.is_null() {
                    return;
                }
                let t = concat_text(&v);
                match s {
                    Some(acc) => {
                        acc.push_str(sep);
                        acc.push_str(&t);
                    }
                    None => *s = Some(t),
                }
            }
            Acc::Any(cur) => {
                if cur.is_none() {
                    *cur = Some(v);
                }
            }
        }
    }

    fn finish(self, f: AggFunc) -> SqlResult<Value> {
        Ok(match self {
            Acc::Count(n) => Value::Int(n),
            Acc::Sum { overflow: true, .. } if f == AggFunc::Sum => {
                return Err(SqlError::execution("integer overflow"));
            }
            Acc::Sum { int, real, is_real, any, .. } => {
                if f == AggFunc::Total {
                    Value::Real(real)
                } else if !any {
                    Value::Null
                } else if is_real {
                    Value::Real(real)
                } else {
                    Value::Int(int)
                }
            }
            Acc::Avg { sum, n } => {
                if n == 0 {
                    Value::Null
                } else {
                    Value::Real(sum / n as f64)
                }
            }
            Acc::MinMax(v) | Acc::Any(v) => v.unwrap_or(Value::Null),
            Acc::Concat(s) => s.map_or(Value::Null, Value::Text),
        })
    }
}

struct Group {
    keys: Row,
    accs: Vec<Acc>,
    seen: Vec<HashSet<GroupKey>>,
}

impl AggregateExecutor {
    /// Runs the aggregation.
    ///
    /// # Errors
    /// Evaluation errors.
    pub fn execute(
        rows: &[Row],
        groups: &[Expr],
        aggs: &[AggCall],
        outer: Option<&Outer<'_>>,
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        // Evaluate keys and arguments per row (in parallel when no subqueries).
        let prep = |r: &Row| -> SqlResult<(Row, Vec<(Value, String)>)> {
            ctx.check_cancel()?;
            let keys = groups.iter().map(|g| eval(g, r, outer, ctx)).collect::<SqlResult<Row>>()?;
            let mut args = Vec::with_capacity(aggs.len());
            for a in aggs {
                let v = match &a.arg {
                    Some(e) => eval(e, r, outer, ctx)?,
                    None => Value::Null,
                };
                let sep = match &a.sep {
                    Some(e) => eval(e, r, outer, ctx)?.to_text().unwrap_or_default(),
                    None => ",".to_string(),
                };
                args.push((v, sep));
            }
            Ok((keys, args))
        };
        let simple = !groups.iter().any(Expr::has_subquery)
            && !aggs.iter().any(|a| a.arg.as_ref().is_some_and(Expr::has_subquery));
        let prepared: Vec<(Row, Vec<(Value, String)>)> =
            if simple && rows.len() >= super::PARALLEL_ROWS {
                rows.par_iter().map(prep).collect::<SqlResult<_>>()?
            } else {
                rows.iter().map(prep).collect::<SqlResult<_>>()?
            };
        let new_group = |keys: Row| Group {
            keys,
            accs: aggs.iter().map(|a| Acc::new(a.func)).collect(),
            seen: aggs.iter().map(|_| HashSet::new()).collect(),
        };
        let mut index: HashMap<Vec<GroupKey>, usize> = HashMap::new();
        let mut out: Vec<Group> = Vec::new();
        if groups.is_empty() {
            out.push(new_group(Vec::new()));
            index.insert(Vec::new(), 0);
        }
        for (keys, args) in prepared {
            let gk: Vec<GroupKey> = keys.iter().map(Value::group_key).collect();
            let gi = match index.get(&gk) {
                Some(&i) => i,
                None => {
                    out.push(new_group(keys));
                    index.insert(gk, out.len() - 1);
                    out.len() - 1
                }
            };
            let g = &mut out[gi];
            for (j, (a, (v, sep))) in aggs.iter().zip(args).enumerate() {
                if a.distinct && (v.is_null() || !g.seen[j].insert(v.group_key())) {
                    continue;
                }
                g.accs[j].update(a.func, v, &sep);
            }
        }
        if !groups.is_empty() {
            out.sort_by(|a, b| {
                for (x, y) in a.keys.iter().zip(&b.keys) {
                    let o = x.total_cmp(y);
                    if o.is_ne() {
                        return o;
                    }
                }
                std::cmp::Ordering::Equal
            });
        }
        out.into_iter()
            .map(|g| {
                let mut row = g.keys;
                for (acc, a) in g.accs.into_iter().zip(aggs) {
                    row.push(acc.finish(a.func)?);
                }
                Ok(row)
            })
            .collect()
    }
}
