//! Constraints every route gets: column types, NOT NULL, PRIMARY KEY and UNIQUE.

use crate::error::{Error, Result};
use crate::transaction::{TableChanges, TableHandle, Transaction};
use crate::versioning;
use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::row::{RowConverter, SortField};
use llkv_store::{ScanRequest, TableId, TableMeta, VersionFilter};
use std::collections::HashSet;
use std::sync::Arc;

/// Casts a batch's columns (by position) to the table's types and checks NOT NULL.
///
/// # Errors
/// [`Error::Constraint`] for a wrong column count or a NULL in a NOT NULL
/// column; store errors for values that cannot be cast.
pub fn conform(meta: &TableMeta, batch: &RecordBatch) -> Result<RecordBatch> {
    if batch.num_columns() != meta.columns.len() {
        return Err(Error::Constraint(format!(
            "table {} has {} columns but {} values were supplied",
            meta.name,
            meta.columns.len(),
            batch.num_columns()
        )));
    }
    let mut cols = Vec::with_capacity(meta.columns.len());
    for (m, c) in meta.columns.iter().zip(batch.columns()) {
        let c = if c.data_type() == &m.data_type {
            Arc::clone(c)
        } else {
            arrow::compute::cast(c, &m.data_type).map_err(|e| {
                llkv_store::Error::Invalid(format!(
                    "column {}: cannot convert {} to {}: {e}",
                    m.name,
                    c.data_type(),
                    m.data_type
                ))
            })?
        };
        if !m.nullable && c.null_count() > 0 {
            return Err(Error::Constraint(format!(
                "NOT NULL constraint failed: {}.{}",
                meta.name, m.name
            )));
        }
        cols.push(c);
    }
    let opts = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(meta.schema(), cols, &opts)?)
}

/// The key column sets to keep unique: the primary key, then each UNIQUE.
fn key_sets(meta: &TableMeta) -> Vec<(&'static str, Vec<usize>)> {
    let mut out = Vec::new();
    if !meta.primary_key.is_empty() {
        out.push(("PRIMARY KEY", meta.primary_key.clone()));
    }
    for u in &meta.unique {
        out.push(("UNIQUE", u.clone()));
    }
    out
}

fn violation(meta: &TableMeta, kind: &str, cols: &[usize]) -> Error {
    let names: Vec<String> =
        cols.iter().map(|&c| format!("{}.{}", meta.name, meta.columns[c].name)).collect();
    Error::Constraint(format!("{kind} constraint failed: {} (duplicate key)", names.join(", ")))
}

/// Encodes the key columns of each row; `None` for a key with a NULL (never a duplicate).
pub(crate) fn encode_keys(columns: &[ArrayRef]) -> Result<Vec<Option<Vec<u8>>>> {
    let fields = columns.iter().map(|c| SortField::new(c.data_type().clone())).collect();
    let conv = RowConverter::new(fields)?;
    let rows = conv.convert_columns(columns)?;
    let n = columns.first().map_or(0, |c| c.len());
    Ok((0..n)
        .map(|i| {
            let has_null = columns.iter().any(|c| c.is_null(i));
            (!has_null).then(|| rows.row(i).as_ref().to_vec())
        })
        .collect())
}

fn keys_of(batches: &[RecordBatch]) -> Result<HashSet<Vec<u8>>> {
    let mut set = HashSet::new();
    for b in batches {
        for k in encode_keys(b.columns())?.into_iter().flatten() {
            set.insert(k);
        }
    }
    Ok(set)
}

/// Checks that `batch` adds no duplicate primary-key or unique key to what the
/// transaction sees, nor within itself.
///
/// # Errors
/// [`Error::Constraint`] naming the constraint.
pub fn check_unique(txn: &Transaction, table: &TableHandle, batch: &RecordBatch) -> Result<()> {
    for (kind, cols) in key_sets(&table.meta) {
        let req = ScanRequest { projection: Some(cols.clone()), ..Default::default() };
        let mut existing = keys_of(&txn.scan(table, &req)?)?;
        let new_cols: Vec<ArrayRef> = cols.iter().map(|&c| Arc::clone(batch.column(c))).collect();
        for k in encode_keys(&new_cols)?.into_iter().flatten() {
            if !existing.insert(k) {
                return Err(violation(&table.meta, kind, &cols));
            }
        }
    }
    Ok(())
}

/// At commit: the rows this transaction inserts must not collide with rows
/// committed by others since its snapshot.
pub(crate) fn validate_at_commit(txn: &Transaction, id: TableId, ch: &TableChanges) -> Result<()> {
    let store = txn.database().store();
    let v = store.current();
    let Some(t) = v.table(id) else { return Ok(()) };
    let meta = versioning::user_meta(t);
    let sets = key_sets(&meta);
    if sets.is_empty() {
        return Ok(());
    }
    let latest = txn.database().last_committed();
    if latest == txn.snapshot() {
        return Ok(());
    }
    let inserted = ch.inserted.live_batches()?;
    for (kind, cols) in sets {
        let req = ScanRequest {
            projection: Some(cols.clone()),
            version: Some(VersionFilter {
                created: versioning::user_columns(t),
                deleted: versioning::user_columns(t) + 1,
                snapshot: latest,
            }),
            exclude: Some(Arc::clone(&ch.deleted)),
            ..Default::default()
        };
        let existing = keys_of(&store.scan(t, &req)?)?;
        for b in &inserted {
            let new_cols: Vec<ArrayRef> = cols.iter().map(|&c| Arc::clone(b.column(c))).collect();
            if encode_keys(&new_cols)?.into_iter().flatten().any(|k| existing.contains(&k)) {
                return Err(violation(&meta, kind, &cols));
            }
        }
    }
    Ok(())
}
