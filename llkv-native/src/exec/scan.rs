//! Reading a table's visible rows through the transaction.

use super::ExecCtx;
use crate::convert::batch_rows;
use crate::value::Row;
use llkv_mvcc::TableHandle;
use llkv_sql::SqlResult;
use llkv_store::{Predicate, ScanRequest};
use rayon::prelude::*;
use std::sync::Arc;

/// Scans a table (chunks converted to rows in parallel).
pub struct ScanExecutor;

impl ScanExecutor {
    /// All rows of `table` visible to the statement that may satisfy
    /// `predicates` (chunk pruning only: callers still filter). Unpruned scans
    /// are cached for the statement so correlated subqueries read once.
    ///
    /// # Errors
    /// Storage errors.
    pub fn execute(
        table: &TableHandle,
        predicates: &[Predicate],
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        if predicates.is_empty()
            && let Some(rows) = ctx.scan_cache.lock().get(&table.name)
        {
            return Ok(rows.as_ref().clone());
        }
        let rows = Self::read(ctx, table, predicates.to_vec())?;
        if predicates.is_empty() {
            ctx.scan_cache.lock().insert(table.name.clone(), Arc::new(rows.clone()));
        }
        Ok(rows)
    }

    /// Reads rows (optionally with the row id as an extra last column).
    ///
    /// # Errors
    /// Storage errors.
    pub fn read_table(
        ctx: &ExecCtx<'_>,
        table: &TableHandle,
        with_row_ids: bool,
    ) -> SqlResult<Vec<Row>> {
        let req = ScanRequest { with_row_ids, ..Default::default() };
        let batches = ctx.txn.scan(table, &req)?;
        Self::convert(&batches)
    }

    /// Reads the rows that satisfy `predicates` (an index answers them when
    /// one applies), optionally with the row id as an extra last column.
    ///
    /// # Errors
    /// Storage errors.
    pub fn read_filtered(
        ctx: &ExecCtx<'_>,
        table: &TableHandle,
        predicates: Vec<Predicate>,
        with_row_ids: bool,
    ) -> SqlResult<Vec<Row>> {
        let req = ScanRequest { predicates, with_row_ids, ..Default::default() };
        let batches = ctx.txn.scan(table, &req)?;
        Self::convert(&batches)
    }

    fn read(
        ctx: &ExecCtx<'_>,
        table: &TableHandle,
        predicates: Vec<Predicate>,
    ) -> SqlResult<Vec<Row>> {
        let req = ScanRequest { predicates, ..Default::default() };
        let batches = ctx.txn.scan(table, &req)?;
        Self::convert(&batches)
    }

    fn convert(batches: &[arrow::array::RecordBatch]) -> SqlResult<Vec<Row>> {
        if let [one] = batches {
            // A point read: no threads to wake for a single batch.
            return batch_rows(one);
        }
        let parts: Vec<Vec<Row>> = batches.par_iter().map(batch_rows).collect::<SqlResult<_>>()?;
        Ok(parts.into_iter().flatten().collect())
    }
}
