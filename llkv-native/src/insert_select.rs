//! `INSERT INTO t SELECT … FROM s [LIMIT n [OFFSET m]]` as Arrow batches.
//!
//! When the source is a plain scan of a table (all of its columns or a list
//! of them, no WHERE, optionally limited) and every source column has the
//! target column's storage type, the scan's Arrow batches go to the insert
//! as they are: no row becomes [`crate::value::Value`]s and back. That is
//! what the row path would store, since for these types a value read from a
//! column and written to a column of the same type is unchanged (see
//! [`same_type_round_trips`]). Everything else (a filter, expressions,
//! joins, other types, columns left to their DEFAULT, CHECK constraints,
//! triggers, OR REPLACE / OR IGNORE) takes the row path.

use crate::eval::eval;
use crate::exec::ExecCtx;
use crate::expr::Expr;
use crate::plan::Plan;
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::DataType;
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::SqlResult;
use llkv_store::ScanRequest;

/// Segments scanned together (in parallel) before checking the limit.
const SEGMENTS_PER_ROUND: usize = 8;

thread_local! {
    static RUNS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many INSERT … SELECT statements this thread ran as batches, counting
/// those that succeeded (for tests and diagnostics).
pub fn runs() -> u64 {
    RUNS.with(std::cell::Cell::get)
}

/// Whether a value of type `t` read by the row path and written back to a
/// column of type `t` is unchanged: integers, REALs (NaN and -0.0 too), text,
/// blobs and booleans directly, dates through their ISO text, decimals of up
/// to 15 digits through a REAL (exact at that precision).
fn same_type_round_trips(t: &DataType) -> bool {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::Float64
        | DataType::Utf8
        | DataType::Binary
        | DataType::Boolean
        | DataType::Date32 => true,
        DataType::Decimal128(p, _) => *p <= 15,
        _ => false,
    }
}

/// The source of an INSERT … SELECT that can be copied as batches.
struct Source<'a> {
    table: &'a TableHandle,
    /// Source column per selected column.
    columns: Vec<usize>,
    limit: Option<&'a Expr>,
    offset: Option<&'a Expr>,
}

fn source(plan: &Plan) -> Option<Source<'_>> {
    let (plan, limit, offset) = match plan {
        Plan::Limit { input, limit, offset } => (input.as_ref(), limit.as_ref(), offset.as_ref()),
        p => (p, None, None),
    };
    let (plan, columns) = match plan {
        Plan::Project { input, exprs } => {
            let cols = exprs
                .iter()
                .map(|e| match e {
                    Expr::Column(i) => Some(*i),
                    _ => None,
                })
                .collect::<Option<Vec<usize>>>()?;
            (input.as_ref(), Some(cols))
        }
        p => (p, None),
    };
    match plan {
        Plan::Scan { table, predicates } if predicates.is_empty() => {
            let columns = columns.unwrap_or_else(|| (0..table.meta.columns.len()).collect());
            Some(Source { table, columns, limit, offset })
        }
        _ => None,
    }
}

/// Runs the INSERT as batches when `plan` (the bound SELECT) and the target
/// allow it; `Ok(None)`: they do not, nothing was done, use the row path.
/// `targets` are the target columns of the selected columns, in order.
///
/// # Errors
/// Storage and constraint errors of the scan and the insert.
pub fn try_insert(
    txn: &Transaction,
    target: &TableHandle,
    targets: &[usize],
    plan: &Plan,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Option<u64>> {
    let Some(src) = source(plan) else { return Ok(None) };
    let ncols = target.meta.columns.len();
    // Every target column exactly once (none is left to its DEFAULT).
    let mut order = vec![usize::MAX; ncols];
    if targets.len() != ncols || src.columns.len() != ncols {
        return Ok(None);
    }
    for (i, &t) in targets.iter().enumerate() {
        match order.get_mut(t) {
            Some(slot) if *slot == usize::MAX => *slot = i,
            _ => return Ok(None),
        }
    }
    let types_fit = targets.iter().zip(&src.columns).all(|(&t, &s)| {
        match (target.meta.columns.get(t), src.table.meta.columns.get(s)) {
            (Some(tc), Some(sc)) => {
                tc.data_type == sc.data_type && same_type_round_trips(&tc.data_type)
            }
            _ => false,
        }
    });
    if !types_fit {
        return Ok(None);
    }
    // LIMIT / OFFSET as the row path evaluates them (negative LIMIT: none).
    let limit = match src.limit {
        Some(e) => eval(e, &[], None, ctx)?.as_i64().unwrap_or(-1),
        None => -1,
    };
    let offset = match src.offset {
        Some(e) => eval(e, &[], None, ctx)?.as_i64().unwrap_or(0).max(0),
        None => 0,
    };
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let want = usize::try_from(limit).map_or(usize::MAX, |l| offset.saturating_add(l));

    let req = ScanRequest { projection: Some(src.columns.clone()), ..Default::default() };
    let scan = txn.prepare_scan(src.table, &req)?;
    let mut batches: Vec<RecordBatch> = Vec::new();
    let mut got = 0usize;
    let n = scan.segment_count();
    let mut s = 0;
    while s < n && got < want {
        ctx.check_cancel()?;
        let e = (s + SEGMENTS_PER_ROUND).min(n);
        let parts = parking_lot::Mutex::new(Vec::new());
        scan.run_segments(s..e, |i, b| {
            parts.lock().push((i, b));
            Ok(())
        })?;
        let mut parts = parts.into_inner();
        parts.sort_by_key(|(i, _)| *i);
        for (_, b) in parts {
            got += b.num_rows();
            batches.push(b);
        }
        s = e;
    }
    if got < want {
        batches.extend(scan.local_batches().iter().cloned());
    }
    drop(scan);

    // OFFSET, then LIMIT, over the batches in scan order.
    let schema = crate::convert::nullable_schema(&target.meta);
    let (mut skip, mut left) = (offset, want.saturating_sub(offset));
    let mut out = Vec::new();
    for b in batches {
        if left == 0 {
            break;
        }
        let rows = b.num_rows();
        if skip >= rows {
            skip -= rows;
            continue;
        }
        let take = (rows - skip).min(left);
        let b = b.slice(skip, take);
        skip = 0;
        left -= take;
        let cols: Vec<ArrayRef> =
            order.iter().map(|&i| std::sync::Arc::clone(b.column(i))).collect();
        out.push(RecordBatch::try_new(std::sync::Arc::clone(&schema), cols)?);
    }
    let mut n = 0;
    for b in &out {
        n += txn.insert(target, b)?;
    }
    RUNS.with(|r| r.set(r.get() + 1));
    Ok(Some(n))
}
