//! Constraints every route gets: column types, NOT NULL, PRIMARY KEY and UNIQUE.

use crate::error::{Error, Result};
use crate::index::{indexes_of, unique_sets};
use crate::transaction::{TableChanges, TableHandle, Transaction};
use crate::versioning;
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::row::{RowConverter, SortField};
use llkv_store::{ScanRequest, TableData, TableId, TableMeta, VersionFilter};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Casts a batch's columns (by position) to the table's types and checks NOT NULL.
///
/// # Errors
/// [`Error::Constraint`] for a wrong column count or a NULL in a NOT NULL
/// column; store errors for values that cannot be cast.
pub fn conform(meta: &TableMeta, batch: &RecordBatch) -> Result<RecordBatch> {
    conform_to(meta, meta.schema(), batch)
}

/// [`conform`] with the schema of `meta` already built.
pub(crate) fn conform_to(
    meta: &TableMeta,
    schema: arrow::datatypes::SchemaRef,
    batch: &RecordBatch,
) -> Result<RecordBatch> {
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
    Ok(RecordBatch::try_new_with_options(schema, cols, &opts)?)
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

/// Whether two rows of `columns` share a key without NULLs. Keys of one or
/// two integer columns without NULLs are compared as integers (one pass when
/// they arrive in increasing order, as in a bulk load in key order; else a
/// sorted copy); others in Arrow's row format, borrowed: nothing is
/// allocated per row.
fn has_duplicate(columns: &[ArrayRef]) -> Result<bool> {
    if let Some(dup) = integer_duplicate(columns)? {
        return Ok(dup);
    }
    let fields = columns.iter().map(|c| SortField::new(c.data_type().clone())).collect();
    let conv = RowConverter::new(fields)?;
    let rows = conv.convert_columns(columns)?;
    let nulls = columns.iter().fold(None, |acc, c| {
        arrow::buffer::NullBuffer::union(acc.as_ref(), c.logical_nulls().as_ref())
    });
    let n = columns.first().map_or(0, |c| c.len());
    let mut seen = HashSet::with_capacity(n);
    Ok((0..n).any(|i| nulls.as_ref().is_none_or(|m| m.is_valid(i)) && !seen.insert(rows.row(i))))
}

/// [`has_duplicate`] for keys of one or two integer columns without NULLs;
/// `None` for other keys.
fn integer_duplicate(columns: &[ArrayRef]) -> Result<Option<bool>> {
    use arrow::datatypes::{DataType as D, Int64Type};
    let integer = |c: &ArrayRef| {
        matches!(
            c.data_type(),
            D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32
        ) && c.null_count() == 0
    };
    if columns.is_empty() || columns.len() > 2 || !columns.iter().all(integer) {
        return Ok(None);
    }
    let wide: Vec<ArrayRef> = columns
        .iter()
        .map(|c| arrow::compute::cast(c, &D::Int64))
        .collect::<std::result::Result<_, _>>()?;
    let vals: Vec<&[i64]> =
        wide.iter().map(|c| c.as_primitive::<Int64Type>().values().as_ref()).collect();
    Ok(Some(match vals.as_slice() {
        [a] => {
            if a.windows(2).all(|w| w[0] < w[1]) {
                false
            } else {
                let mut s = a.to_vec();
                s.sort_unstable();
                s.windows(2).any(|w| w[0] == w[1])
            }
        }
        [a, b] => {
            let n = a.len().min(b.len());
            if (1..n).all(|i| (a[i - 1], b[i - 1]) < (a[i], b[i])) {
                false
            } else {
                let mut s: Vec<(i64, i64)> = a.iter().copied().zip(b.iter().copied()).collect();
                s.sort_unstable();
                s.windows(2).any(|w| w[0] == w[1])
            }
        }
        _ => return Ok(None),
    }))
}

/// Whether a committed row of `t` visible at `snapshot` (and not in
/// `exclude`) has one of the keys in `keys` on `cols`: an index probe, then
/// the visibility check on the candidates only.
fn committed_hit(
    store: &llkv_store::Store,
    t: &TableData,
    cols: &[usize],
    keys: &[ArrayRef],
    snapshot: u64,
    exclude: &Arc<BTreeSet<u64>>,
) -> Result<bool> {
    let ids = store.index_probe(t, cols, keys)?;
    if ids.is_empty() {
        return Ok(false);
    }
    let req = ScanRequest {
        projection: Some(vec![]),
        version: Some(VersionFilter {
            created: versioning::user_columns(t),
            deleted: versioning::user_columns(t) + 1,
            snapshot,
        }),
        exclude: Some(Arc::clone(exclude)),
        ..Default::default()
    };
    Ok(crate::scan::count_rows(&store.scan_rows(t, &req, &ids)?) > 0)
}

/// Checks that `batch` adds no duplicate primary-key or unique key (UNIQUE
/// constraints and UNIQUE indexes) to what the transaction sees, nor within
/// itself. Committed rows are found through the key's index; the
/// transaction's own rows through a key map kept with them.
///
/// # Errors
/// [`Error::Constraint`] naming the constraint.
pub fn check_unique(txn: &Transaction, table: &TableHandle, batch: &RecordBatch) -> Result<()> {
    let sets = unique_sets(&txn.indexes(table));
    if sets.is_empty() {
        return Ok(());
    }
    let stored = txn.stored_table(table);
    let deleted = txn.deleted_rows(table);
    for (kind, cols) in &sets {
        let new_cols: Vec<ArrayRef> = cols.iter().map(|&c| Arc::clone(batch.column(c))).collect();
        if has_duplicate(&new_cols)? {
            return Err(violation(&table.meta, kind, cols));
        }
        // A table without segments has no committed rows to collide with.
        if let Some(t) = &stored
            && t.segment_count() > 0
            && committed_hit(txn.database().store(), t, cols, &new_cols, txn.snapshot(), &deleted)?
        {
            return Err(violation(&table.meta, kind, cols));
        }
        // The transaction's own rows (owned keys only when it has some).
        if txn.has_local_rows(table) && txn.local_key_hit(table, cols, &encode_keys(&new_cols)?)? {
            return Err(violation(&table.meta, kind, cols));
        }
    }
    Ok(())
}

/// Checks that no two rows of `table` visible to `txn` share a key without
/// NULLs on `cols` (before a UNIQUE index is created over them).
///
/// # Errors
/// [`Error::Constraint`] naming the columns.
pub fn check_no_duplicates(txn: &Transaction, table: &TableHandle, cols: &[usize]) -> Result<()> {
    let req = ScanRequest { projection: Some(cols.to_vec()), ..Default::default() };
    let mut seen = HashSet::new();
    for b in txn.scan(table, &req)? {
        for k in encode_keys(b.columns())?.into_iter().flatten() {
            if !seen.insert(k) {
                return Err(violation(&table.meta, "UNIQUE", cols));
            }
        }
    }
    Ok(())
}

/// Keys of a transaction's own inserted rows, per key column set, kept up to
/// date lazily (rows are only ever added; deleted rows are skipped on use).
#[derive(Default)]
pub(crate) struct LocalKeys {
    /// Local ids below this are in `map`.
    rows: u64,
    map: HashMap<Vec<u8>, Vec<u64>>,
}

impl TableChanges {
    /// Whether a live inserted row has one of `keys` on `cols`.
    pub(crate) fn local_key_hit(
        &mut self,
        cols: &[usize],
        keys: &[Option<Vec<u8>>],
    ) -> Result<bool> {
        let TableChanges { inserted, local_keys, .. } = self;
        let lk = local_keys.entry(cols.to_vec()).or_default();
        for (start, b) in inserted.rows_since(lk.rows) {
            let kc: Vec<ArrayRef> = cols.iter().map(|&c| Arc::clone(b.column(c))).collect();
            for (i, k) in encode_keys(&kc)?.into_iter().enumerate() {
                if let Some(k) = k {
                    lk.map.entry(k).or_default().push(start + i as u64);
                }
            }
        }
        lk.rows = inserted.len();
        Ok(keys.iter().flatten().any(|k| {
            lk.map.get(k).is_some_and(|ids| ids.iter().any(|id| !inserted.is_deleted(*id)))
        }))
    }
}

/// At commit: the rows this transaction inserts must not collide with rows
/// committed by others since its snapshot. `props` are the `index.*`
/// properties as the transaction sees them.
pub(crate) fn validate_at_commit(
    txn: &Transaction,
    id: TableId,
    ch: &TableChanges,
    props: &BTreeMap<String, String>,
) -> Result<()> {
    let latest = txn.database().last_committed();
    if latest == txn.snapshot() {
        return Ok(());
    }
    let store = txn.database().store();
    let v = store.current();
    let Some(t) = v.table(id) else { return Ok(()) };
    let meta = versioning::user_meta(t);
    let sets = unique_sets(&indexes_of(&meta, props.iter()));
    if sets.is_empty() {
        return Ok(());
    }
    let inserted = ch.inserted.live_batches()?;
    for (kind, cols) in sets {
        for b in &inserted {
            let new_cols: Vec<ArrayRef> = cols.iter().map(|&c| Arc::clone(b.column(c))).collect();
            if committed_hit(store, t, &cols, &new_cols, latest, &ch.deleted)? {
                return Err(violation(&meta, kind, &cols));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod duplicate_tests {
    use super::*;
    use arrow::array::{Int32Array, Int64Array, StringArray};

    #[test]
    fn duplicates_are_found_and_keys_with_a_null_never_collide() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(1), None, None, Some(2)]));
        let b: ArrayRef =
            Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("z"), Some("z"), None]));
        assert!(!has_duplicate(&[Arc::clone(&a), Arc::clone(&b)]).unwrap());
        // On `a` alone, the two 1s collide; the NULLs do not.
        assert!(has_duplicate(&[Arc::clone(&a)]).unwrap());
        let c: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), None, None, Some(3)]));
        assert!(!has_duplicate(&[c]).unwrap());
        let d: ArrayRef =
            Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("z"), Some("z"), None]));
        assert!(has_duplicate(&[Arc::clone(&a), Arc::clone(&b), d]).is_ok());
        let e: ArrayRef =
            Arc::new(Int64Array::from(vec![Some(7), Some(8), Some(9), Some(9), None]));
        assert!(has_duplicate(&[e, b]).unwrap());
    }

    #[test]
    fn integer_keys_in_order_or_not_find_exactly_the_duplicates() {
        let i64s = |v: Vec<i64>| -> ArrayRef { Arc::new(Int64Array::from(v)) };
        let i32s = |v: Vec<i32>| -> ArrayRef { Arc::new(Int32Array::from(v)) };
        // In key order (one pass), a repeat anywhere, out of order (sorted copy).
        assert!(!has_duplicate(&[i64s(vec![1, 2, 5, 9])]).unwrap());
        assert!(has_duplicate(&[i64s(vec![1, 2, 5, 5])]).unwrap());
        assert!(has_duplicate(&[i64s(vec![9, 1, 5, 1])]).unwrap());
        assert!(!has_duplicate(&[i64s(vec![9, 1, 5, 2])]).unwrap());
        // Two columns: (order, line) as in lineitem.
        let (o, l) = (i64s(vec![1, 1, 1, 2, 2, 3]), i32s(vec![1, 2, 3, 1, 2, 1]));
        assert!(!has_duplicate(&[Arc::clone(&o), Arc::clone(&l)]).unwrap());
        assert!(has_duplicate(&[Arc::clone(&o)]).unwrap());
        let l_dup = i32s(vec![1, 2, 3, 1, 1, 1]);
        assert!(has_duplicate(&[Arc::clone(&o), l_dup]).unwrap());
        let (o2, l2) = (i64s(vec![2, 1, 2, 1]), i32s(vec![1, 1, 2, 2]));
        assert!(!has_duplicate(&[Arc::clone(&o2), Arc::clone(&l2)]).unwrap());
        let l2_dup = i32s(vec![1, 1, 2, 1]);
        assert!(has_duplicate(&[o2, l2_dup]).unwrap());
        // Descending, and equal first columns with descending second ones.
        assert!(!has_duplicate(&[i64s(vec![3, 2, 1])]).unwrap());
        assert!(!has_duplicate(&[i64s(vec![1, 1]), i32s(vec![2, 1])]).unwrap());
        // Three columns take the row-format path.
        let three = [i64s(vec![1, 1, 1]), i64s(vec![2, 2, 2]), i32s(vec![1, 2, 1])];
        assert!(has_duplicate(&three).unwrap());
        assert!(!has_duplicate(&[i64s(vec![])]).unwrap());
    }
}
