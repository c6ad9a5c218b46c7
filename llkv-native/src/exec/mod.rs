//! Executors: each plan node runs as an `*Executor` that turns its inputs'
//! rows into its own. Large inputs are split across rayon's pool.

mod aggregate;
mod join;
mod scan;
mod setop;
mod sort;

pub use aggregate::AggregateExecutor;
pub use join::{JoinExecutor, MultiJoinExecutor};
pub use scan::ScanExecutor;
pub use setop::SetOpExecutor;
pub use sort::SortExecutor;

use crate::eval::{InSet, eval, eval_pred};
use crate::plan::Plan;
use crate::value::{GroupKey, Row, Value};
use llkv_mvcc::Transaction;
use llkv_sql::{CancelFlag, SqlResult};
use parking_lot::Mutex;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Rows at or above this count are filtered and projected in parallel.
const PARALLEL_ROWS: usize = 2048;

/// What one statement's execution shares: its transaction and caches.
pub struct ExecCtx<'a> {
    /// The statement's transaction.
    pub txn: &'a Transaction,
    /// Table rows already read by this statement, by table name.
    pub scan_cache: Mutex<HashMap<String, Arc<Vec<Row>>>>,
    /// Results of uncorrelated subqueries, by plan address.
    pub subquery_cache: Mutex<HashMap<usize, Arc<Vec<Row>>>>,
    /// Membership sets of uncorrelated IN subqueries, by plan address.
    pub in_cache: Mutex<HashMap<usize, Arc<InSet>>>,
    /// Set from another thread to stop the statement (see [`ExecCtx::check_cancel`]).
    pub cancel: CancelFlag,
    /// When plans may take the columnar path ([`crate::columnar`]).
    pub columnar: crate::columnar::ColumnarMode,
    /// Subqueries the columnar path resolved, by plan address.
    pub columnar_subqueries: Mutex<HashMap<usize, Arc<crate::columnar::subquery::Resolved>>>,
}

impl<'a> ExecCtx<'a> {
    /// A context for one statement in `txn`.
    pub fn new(txn: &'a Transaction) -> Self {
        Self {
            txn,
            scan_cache: Mutex::new(HashMap::new()),
            subquery_cache: Mutex::new(HashMap::new()),
            in_cache: Mutex::new(HashMap::new()),
            cancel: CancelFlag::default(),
            columnar: crate::columnar::ColumnarMode::from_env(),
            columnar_subqueries: Mutex::new(HashMap::new()),
        }
    }

    /// The same context, stopped by `cancel`.
    pub fn with_cancel(mut self, cancel: CancelFlag) -> Self {
        self.cancel = cancel;
        self
    }

    /// `Err(cancelled)` once the statement was cancelled. Executors call it
    /// per plan node and per row of their long loops (filters, joins,
    /// aggregation); it is one relaxed atomic load.
    ///
    /// # Errors
    /// When the statement was cancelled.
    #[inline]
    pub fn check_cancel(&self) -> SqlResult<()> {
        self.cancel.check()
    }
}

/// The row of an enclosing query, for correlated subqueries.
#[derive(Debug, Clone, Copy)]
pub struct Outer<'a> {
    /// The enclosing row.
    pub row: &'a [Value],
    /// The next enclosing query's row.
    pub parent: Option<&'a Outer<'a>>,
}

/// Runs a plan to completion.
///
/// # Errors
/// Storage and evaluation errors.
pub fn execute(plan: &Plan, outer: Option<&Outer<'_>>, ctx: &ExecCtx<'_>) -> SqlResult<Vec<Row>> {
    ctx.check_cancel()?;
    // Analytic shapes over large tables: Arrow kernels on batches, in parallel.
    if let Some(rows) = crate::columnar::try_execute(plan, ctx)? {
        return Ok(rows);
    }
    match plan {
        Plan::Scan { table, predicates } => ScanExecutor::execute(table, predicates, ctx),
        Plan::RowIdScan { table, predicates } => {
            ScanExecutor::read_filtered(ctx, table, predicates.clone(), true)
        }
        Plan::Values(rows) => rows
            .iter()
            .map(|r| r.iter().map(|e| eval(e, &[], outer, ctx)).collect::<SqlResult<Row>>())
            .collect(),
        Plan::Rows(rows) => Ok(rows.as_ref().clone()),
        Plan::Filter { input, predicate } => {
            let rows = execute(input, outer, ctx)?;
            FilterExecutor::execute(rows, predicate, outer, ctx)
        }
        Plan::Project { input, exprs } => {
            let rows = execute(input, outer, ctx)?;
            ProjectExecutor::execute(&rows, exprs, outer, ctx)
        }
        Plan::MultiJoin { rels, conjuncts, width } => {
            MultiJoinExecutor::execute(rels, conjuncts, *width, outer, ctx)
        }
        Plan::Join { left, right, left_width, right_width, kind, on } => {
            let l = execute(left, outer, ctx)?;
            let r = execute(right, outer, ctx)?;
            JoinExecutor::execute(l, r, *left_width, *right_width, *kind, on.as_ref(), outer, ctx)
        }
        Plan::Aggregate { input, groups, aggs } => {
            let rows = execute(input, outer, ctx)?;
            AggregateExecutor::execute(&rows, groups, aggs, outer, ctx)
        }
        Plan::Sort { input, keys } => {
            let rows = execute(input, outer, ctx)?;
            SortExecutor::execute(rows, keys, outer, ctx)
        }
        Plan::Limit { input, limit, offset } => {
            let rows = execute(input, outer, ctx)?;
            let lim = match limit {
                Some(e) => eval(e, &[], outer, ctx)?.as_i64().unwrap_or(-1),
                None => -1,
            };
            let off = match offset {
                Some(e) => eval(e, &[], outer, ctx)?.as_i64().unwrap_or(0).max(0),
                None => 0,
            };
            // A negative LIMIT means no limit.
            let it = rows.into_iter().skip(usize::try_from(off).unwrap_or(usize::MAX));
            Ok(if lim < 0 {
                it.collect()
            } else {
                it.take(usize::try_from(lim).unwrap_or(usize::MAX)).collect()
            })
        }
        Plan::Distinct { input, width } => {
            let rows = execute(input, outer, ctx)?;
            Ok(DistinctExecutor::execute(rows, *width))
        }
        Plan::SetOp { left, right, op, all } => {
            let l = execute(left, outer, ctx)?;
            let r = execute(right, outer, ctx)?;
            Ok(SetOpExecutor::execute(l, r, *op, *all))
        }
    }
}

/// Keeps the rows whose predicate is true.
pub struct FilterExecutor;

impl FilterExecutor {
    /// Filters `rows` (in parallel when there are many).
    ///
    /// # Errors
    /// Evaluation errors.
    pub fn execute(
        rows: Vec<Row>,
        predicate: &crate::expr::Expr,
        outer: Option<&Outer<'_>>,
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        if rows.len() >= PARALLEL_ROWS && !predicate.has_subquery() {
            let keep: Vec<bool> = rows
                .par_iter()
                .map(|r| {
                    ctx.check_cancel()?;
                    eval_pred(predicate, r, outer, ctx)
                })
                .collect::<SqlResult<_>>()?;
            return Ok(rows.into_iter().zip(keep).filter_map(|(r, k)| k.then_some(r)).collect());
        }
        let mut out = Vec::new();
        for r in rows {
            ctx.check_cancel()?;
            if eval_pred(predicate, &r, outer, ctx)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

/// Computes output expressions per row.
pub struct ProjectExecutor;

impl ProjectExecutor {
    /// Projects `rows` (in parallel when there are many).
    ///
    /// # Errors
    /// Evaluation errors.
    pub fn execute(
        rows: &[Row],
        exprs: &[crate::expr::Expr],
        outer: Option<&Outer<'_>>,
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        let one = |r: &Row| {
            ctx.check_cancel()?;
            exprs.iter().map(|e| eval(e, r, outer, ctx)).collect::<SqlResult<Row>>()
        };
        if rows.len() >= PARALLEL_ROWS && !exprs.iter().any(|e| e.has_subquery()) {
            rows.par_iter().map(one).collect()
        } else {
            rows.iter().map(one).collect()
        }
    }
}

/// Removes duplicates (comparing a prefix of each row), keeping first occurrences.
pub struct DistinctExecutor;

impl DistinctExecutor {
    /// Deduplicates `rows` on their first `width` columns.
    pub fn execute(rows: Vec<Row>, width: usize) -> Vec<Row> {
        let mut seen = HashSet::new();
        rows.into_iter()
            .filter(|r| {
                seen.insert(r.iter().take(width).map(Value::group_key).collect::<Vec<GroupKey>>())
            })
            .collect()
    }
}
