//! Per-group aggregate states as typed vectors indexed by group, updated a
//! batch at a time from the rows' group indices and merged by a group map.
//! The common aggregates (count, integer and REAL sums, numeric min/max)
//! have their own loops; the others keep one [`St`] per group.

use super::agg::{Spec, St, finish, merge, update};
use super::vexpr::{Fail, VResult};
use crate::expr::AggFunc;
use crate::value::Value;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};

/// The states of one aggregate for all groups.
#[derive(Debug, Clone)]
pub(super) enum Acc {
    Count(Vec<i64>),
    ISum { sum: Vec<i128>, abs: Vec<i128>, n: Vec<i64> },
    FSum { sum: Vec<f64>, n: Vec<i64> },
    IMin { v: Vec<i64>, has: Vec<bool> },
    FMin { v: Vec<f64>, has: Vec<bool> },
    Gen(Vec<St>),
}

#[inline]
fn better<T: PartialOrd>(max: bool, v: T, cur: T) -> bool {
    if max { v > cur } else { v < cur }
}

impl Acc {
    /// No groups yet.
    pub(super) fn new(spec: &Spec) -> Acc {
        match spec.init() {
            St::Count(_) => Acc::Count(Vec::new()),
            St::ISum { .. } => Acc::ISum { sum: Vec::new(), abs: Vec::new(), n: Vec::new() },
            St::FSum { .. } => Acc::FSum { sum: Vec::new(), n: Vec::new() },
            St::IMin(_) => Acc::IMin { v: Vec::new(), has: Vec::new() },
            St::FMin(_) => Acc::FMin { v: Vec::new(), has: Vec::new() },
            _ => Acc::Gen(Vec::new()),
        }
    }

    /// Grows to `n` groups (new ones in their initial state).
    pub(super) fn resize(&mut self, n: usize, spec: &Spec) {
        match self {
            Acc::Count(c) => c.resize(n, 0),
            Acc::ISum { sum, abs, n: k } => {
                sum.resize(n, 0);
                abs.resize(n, 0);
                k.resize(n, 0);
            }
            Acc::FSum { sum, n: k } => {
                sum.resize(n, 0.0);
                k.resize(n, 0);
            }
            Acc::IMin { v, has } => {
                v.resize(n, 0);
                has.resize(n, false);
            }
            Acc::FMin { v, has } => {
                v.resize(n, 0.0);
                has.resize(n, false);
            }
            Acc::Gen(s) => s.resize_with(n, || spec.init()),
        }
    }

    /// Folds the rows of `a` (the argument, `None` for `count(*)`) into the
    /// states of their groups `gids[i]` (all below the size).
    ///
    /// # Errors
    /// `Unsupported` when `a` is not of the aggregate's class.
    pub(super) fn update(
        &mut self,
        spec: &Spec,
        a: Option<&ArrayRef>,
        gids: &[u32],
    ) -> VResult<()> {
        let max = spec.is_max();
        match self {
            Acc::Count(c) => {
                let nulls = if spec.func == AggFunc::CountStar {
                    None
                } else {
                    match a {
                        None => return Ok(()),
                        Some(a) => a.logical_nulls(),
                    }
                };
                match nulls {
                    None => gids.iter().for_each(|&g| c[g as usize] += 1),
                    Some(nb) => {
                        for (i, &g) in gids.iter().enumerate() {
                            if nb.is_valid(i) {
                                c[g as usize] += 1;
                            }
                        }
                    }
                }
            }
            Acc::ISum { sum, abs, n } => {
                let x =
                    a.and_then(|a| a.as_primitive_opt::<Int64Type>()).ok_or(Fail::Unsupported)?;
                let vals = x.values();
                for (i, &g) in gids.iter().enumerate() {
                    if x.is_valid(i) {
                        let (g, v) = (g as usize, vals[i]);
                        sum[g] += i128::from(v);
                        abs[g] += i128::from(v.unsigned_abs());
                        n[g] += 1;
                    }
                }
            }
            Acc::FSum { sum, n } => {
                let x =
                    a.and_then(|a| a.as_primitive_opt::<Float64Type>()).ok_or(Fail::Unsupported)?;
                let vals = x.values();
                if x.null_count() == 0 {
                    for (&g, &v) in gids.iter().zip(vals.iter()) {
                        sum[g as usize] += v;
                        n[g as usize] += 1;
                    }
                } else {
                    for (i, &g) in gids.iter().enumerate() {
                        if x.is_valid(i) {
                            sum[g as usize] += vals[i];
                            n[g as usize] += 1;
                        }
                    }
                }
            }
            Acc::IMin { v, has } => {
                let x =
                    a.and_then(|a| a.as_primitive_opt::<Int64Type>()).ok_or(Fail::Unsupported)?;
                let vals = x.values();
                for (i, &g) in gids.iter().enumerate() {
                    let g = g as usize;
                    if x.is_valid(i) && (!has[g] || better(max, vals[i], v[g])) {
                        v[g] = vals[i];
                        has[g] = true;
                    }
                }
            }
            Acc::FMin { v, has } => {
                let x =
                    a.and_then(|a| a.as_primitive_opt::<Float64Type>()).ok_or(Fail::Unsupported)?;
                let vals = x.values();
                for (i, &g) in gids.iter().enumerate() {
                    let g = g as usize;
                    if x.is_valid(i) && (!has[g] || better(max, vals[i], v[g])) {
                        v[g] = vals[i];
                        has[g] = true;
                    }
                }
            }
            Acc::Gen(s) => {
                for (i, &g) in gids.iter().enumerate() {
                    if let Some(st) = s.get_mut(g as usize) {
                        update(st, spec, a, i);
                    }
                }
            }
        }
        Ok(())
    }

    /// Folds `other`'s states (of later rows) into those of groups `map[g]`.
    pub(super) fn merge(&mut self, other: Acc, map: &[u32], spec: &Spec) {
        let max = spec.is_max();
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => {
                for (&g, x) in map.iter().zip(b) {
                    a[g as usize] += x;
                }
            }
            (Acc::ISum { sum, abs, n }, Acc::ISum { sum: s2, abs: a2, n: n2 }) => {
                for (k, &g) in map.iter().enumerate() {
                    let g = g as usize;
                    sum[g] += s2[k];
                    abs[g] += a2[k];
                    n[g] += n2[k];
                }
            }
            (Acc::FSum { sum, n }, Acc::FSum { sum: s2, n: n2 }) => {
                for (k, &g) in map.iter().enumerate() {
                    sum[g as usize] += s2[k];
                    n[g as usize] += n2[k];
                }
            }
            (Acc::IMin { v, has }, Acc::IMin { v: v2, has: h2 }) => {
                for (k, &g) in map.iter().enumerate() {
                    let g = g as usize;
                    if h2[k] && (!has[g] || better(max, v2[k], v[g])) {
                        v[g] = v2[k];
                        has[g] = true;
                    }
                }
            }
            (Acc::FMin { v, has }, Acc::FMin { v: v2, has: h2 }) => {
                for (k, &g) in map.iter().enumerate() {
                    let g = g as usize;
                    if h2[k] && (!has[g] || better(max, v2[k], v[g])) {
                        v[g] = v2[k];
                        has[g] = true;
                    }
                }
            }
            (Acc::Gen(a), Acc::Gen(b)) => {
                for (&g, st) in map.iter().zip(b) {
                    if let Some(into) = a.get_mut(g as usize) {
                        merge(into, st, spec);
                    }
                }
            }
            _ => {}
        }
    }

    /// Group `g`'s result.
    ///
    /// # Errors
    /// `Unsupported` where the row path's result could differ.
    pub(super) fn finish(&self, g: usize, func: AggFunc) -> VResult<Value> {
        let st = match self {
            Acc::Count(c) => St::Count(c[g]),
            Acc::ISum { sum, abs, n } => St::ISum { sum: sum[g], abs: abs[g], n: n[g] },
            Acc::FSum { sum, n } => St::FSum { sum: sum[g], n: n[g] },
            Acc::IMin { v, has } => St::IMin(has[g].then_some(v[g])),
            Acc::FMin { v, has } => St::FMin(has[g].then_some(v[g])),
            Acc::Gen(s) => s.get(g).cloned().ok_or(Fail::Unsupported)?,
        };
        finish(st, func)
    }
}
