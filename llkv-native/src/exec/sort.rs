//! ORDER BY. SQLite puts NULLs first in ascending order and last in
//! descending order unless NULLS FIRST/LAST says otherwise; other values
//! follow the total order of [`crate::value`]. The sort is stable.

use super::{ExecCtx, Outer};
use crate::eval::eval;
use crate::plan::SortKey;
use crate::value::Row;
use llkv_sql::SqlResult;
use rayon::prelude::*;
use std::cmp::Ordering;

/// Sorts rows by keys.
pub struct SortExecutor;

impl SortExecutor {
    /// Sorts `rows`.
    ///
    /// # Errors
    /// Evaluation errors of the keys.
    pub fn execute(
        rows: Vec<Row>,
        keys: &[SortKey],
        outer: Option<&Outer<'_>>,
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        let mut keyed: Vec<(Row, Row)> = rows
            .into_iter()
            .map(|r| {
                let k = keys
                    .iter()
                    .map(|k| eval(&k.expr, &r, outer, ctx))
                    .collect::<SqlResult<Row>>()?;
                Ok((k, r))
            })
            .collect::<SqlResult<_>>()?;
        let cmp = |a: &(Row, Row), b: &(Row, Row)| -> Ordering {
            for (i, k) in keys.iter().enumerate() {
                let (x, y) = (&a.0[i], &b.0[i]);
                let o = match (x.is_null(), y.is_null()) {
                    (true, true) => Ordering::Equal,
                    (true, false) => {
                        if k.nulls_first {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    (false, true) => {
                        if k.nulls_first {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    _ => {
                        let o = x.total_cmp(y);
                        if k.asc { o } else { o.reverse() }
                    }
                };
                if o.is_ne() {
                    return o;
                }
            }
            Ordering::Equal
        };
        keyed.par_sort_by(cmp);
        Ok(keyed.into_iter().map(|(_, r)| r).collect())
    }
}
