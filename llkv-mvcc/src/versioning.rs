//! The hidden row-version columns and how user tables map onto store tables.
//!
//! Every store table made by this layer ends with two hidden columns:
//! `__llkv_created_by` (UInt64, the commit timestamp of the inserting
//! transaction) and `__llkv_deleted_by` (nullable UInt64, the commit timestamp
//! of the deleting transaction, NULL while the row is live). A row version is
//! visible to a snapshot at timestamp `S` when `created_by <= S` and
//! (`deleted_by IS NULL` or `deleted_by > S`).

use arrow::array::{ArrayRef, RecordBatch, UInt64Array};
use arrow::datatypes::DataType;
use llkv_store::{ColumnMeta, TableData, TableMeta};
use std::sync::Arc;

/// Name of the hidden column holding the creating commit's timestamp.
pub const CREATED_COLUMN: &str = "__llkv_created_by";
/// Name of the hidden column holding the deleting commit's timestamp.
pub const DELETED_COLUMN: &str = "__llkv_deleted_by";

/// The store definition of a user table: its columns plus the two hidden ones.
pub(crate) fn store_meta(user: &TableMeta) -> TableMeta {
    let mut m = user.clone();
    m.columns.push(ColumnMeta::new(CREATED_COLUMN, DataType::UInt64, false));
    m.columns.push(ColumnMeta::new(DELETED_COLUMN, DataType::UInt64, true));
    m
}

/// The user's view of a store table: without the hidden columns.
pub(crate) fn user_meta(stored: &TableData) -> TableMeta {
    let mut m = (*stored.meta).clone();
    let n = user_columns(stored);
    m.columns.truncate(n);
    m
}

/// Number of user columns of a store table.
pub(crate) fn user_columns(stored: &TableData) -> usize {
    stored.meta.columns.len().saturating_sub(2)
}

/// Adds the hidden columns to a batch of user rows created at `ts`.
pub(crate) fn with_versions(batch: &RecordBatch, ts: u64) -> Vec<ArrayRef> {
    let n = batch.num_rows();
    let mut cols = batch.columns().to_vec();
    cols.push(Arc::new(UInt64Array::from_value(ts, n)));
    cols.push(Arc::new(UInt64Array::new_null(n)));
    cols
}
