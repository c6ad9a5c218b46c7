//! Settled rows: which rows of a segment every snapshot from some point on
//! sees, computed once per segment and reused by every later scan.
//!
//! A row version is visible to snapshot `S` when `created <= S` and
//! (`deleted` is NULL or `deleted > S`). Once `S` is at least the largest
//! `created` and the largest `deleted` of the segment (an upper bound from the
//! chunk statistics, which are exact or widened bounds), this is simply
//! "`deleted` is NULL", the same for every such `S`: the segment's visibility
//! has *settled*. Segments are immutable (a change makes a new one, with an
//! empty cache), so the result stays valid for the segment's life.
//!
//! Computed once per segment: the selection (and its filter plan), so a scan
//! no longer reads the two version columns nor evaluates them; and, within a
//! per-store byte budget ([`SETTLED_CACHE_BYTES`]), each scanned column's
//! visible rows copied once, so later scans hand out the copy with no filter
//! at all. A selection that is one contiguous run is applied as a zero-copy
//! slice instead. Older snapshots (`S` below the bound) take the general path.

use crate::error::Result;
use crate::scan::VersionFilter;
use crate::table::SegmentBody;
use arrow::array::{Array, ArrayRef, BooleanArray, UInt64Array};
use arrow::buffer::{BooleanBuffer, Buffer};
use arrow::compute::{FilterBuilder, FilterPredicate, SlicesIterator};
use arrow::datatypes::DataType;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of copied visible rows that one store's settled caches may hold.
pub const SETTLED_CACHE_BYTES: usize = 512 << 20;

/// Key of the row-id column in [`Settled`]'s copies.
const ROW_IDS: usize = usize::MAX;

impl VersionFilter {
    /// Whether this filter's snapshot is past every commit that created or
    /// deleted a row of the segment (see the module docs).
    pub(crate) fn settles(&self, body: &SegmentBody) -> bool {
        let max_of = |c: usize| {
            body.columns[c].stats.max.as_ref().and_then(|m| {
                m.as_any()
                    .downcast_ref::<UInt64Array>()
                    .filter(|a| a.len() == 1 && a.is_valid(0))
                    .map(|a| a.value(0))
            })
        };
        let deleted = &body.columns[self.deleted].stats;
        let deletes_settled = deleted.null_count == deleted.row_count
            || max_of(self.deleted).is_some_and(|m| m <= self.snapshot);
        deletes_settled && max_of(self.created).is_some_and(|m| m <= self.snapshot)
    }
}

/// A segment's settled visibility, for one pair of version columns.
pub(crate) struct Settled {
    /// The version columns it was computed for.
    columns: (usize, usize),
    /// Visible rows.
    rows: usize,
    /// The visible rows as one contiguous run `(start, len)`, when they are.
    run: Option<(usize, usize)>,
    /// The selection, planned once (`None`: every row is visible).
    filter: Option<FilterPredicate>,
    /// The visible rows of the segment (`None`: all of them).
    visible: Option<BooleanBuffer>,
    /// Visible rows of columns (by index; [`ROW_IDS`] for row ids), copied once.
    copies: Mutex<HashMap<usize, ArrayRef>>,
    /// The store's count of bytes held in copies.
    budget: Arc<AtomicUsize>,
    /// Bytes this one holds.
    held: AtomicUsize,
}

impl std::fmt::Debug for Settled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settled").field("rows", &self.rows).field("run", &self.run).finish()
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        self.budget.fetch_sub(*self.held.get_mut(), Ordering::AcqRel);
    }
}

impl Settled {
    /// Computes the settled visibility from the `deleted` column's values
    /// and the store's deletion bitmap.
    pub(crate) fn compute(
        v: &VersionFilter,
        body: &SegmentBody,
        deleted: &dyn Array,
        budget: Arc<AtomicUsize>,
    ) -> Result<Self> {
        let alive = arrow::compute::is_null(deleted)?;
        let keep = match &body.deleted {
            Some(bits) => arrow::compute::and(&alive, &BooleanArray::new(!bits, None))?,
            None => alive,
        };
        let rows = keep.true_count();
        let run = {
            let mut it = SlicesIterator::new(&keep);
            match (it.next(), it.next()) {
                (Some((s, e)), None) => Some((s, e - s)),
                _ => None,
            }
        };
        let filter = (rows < keep.len() && run.is_none())
            .then(|| FilterBuilder::new(&keep).optimize().build());
        let visible = (rows < keep.len()).then(|| keep.values().clone());
        Ok(Self {
            columns: (v.created, v.deleted),
            rows,
            run,
            filter,
            visible,
            copies: Mutex::new(HashMap::new()),
            budget,
            held: AtomicUsize::new(0),
        })
    }

    /// Whether this was computed for `v`'s version columns.
    pub(crate) fn fits(&self, v: &VersionFilter) -> bool {
        self.columns == (v.created, v.deleted)
    }

    /// Visible rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Which rows of the segment are visible (`None`: all of them).
    pub(crate) fn visible(&self) -> Option<&BooleanBuffer> {
        self.visible.as_ref()
    }

    /// The visible rows of a DECIMAL chunk, widened from its narrowed codes
    /// for those rows only and not kept: a kept copy would be 16 bytes a
    /// value, which a scan then reads from memory (see `narrow.rs`).
    pub(crate) fn decimal_column(&self, blob: &Buffer, dt: &DataType) -> Result<ArrayRef> {
        match (&self.filter, self.run) {
            (Some(f), _) => crate::chunk::decode_filtered(blob, dt, f),
            (None, Some((start, len))) => crate::chunk::decode_range(blob, dt, start, len),
            (None, None) => crate::chunk::decode(blob, dt),
        }
    }

    /// The visible rows of column `c`, whose full chunk `full()` gives:
    /// the cached copy, a zero-copy slice, or filtered now (and cached
    /// while the store's budget allows).
    pub(crate) fn column(
        &self,
        c: Option<usize>,
        full: impl FnOnce() -> Result<ArrayRef>,
    ) -> Result<ArrayRef> {
        let key = c.unwrap_or(ROW_IDS);
        if let Some(a) = self.copies.lock().get(&key) {
            return Ok(Arc::clone(a));
        }
        let full = full()?;
        let Some(filter) = &self.filter else {
            return Ok(match self.run {
                Some((start, len)) => full.slice(start, len),
                None => full,
            });
        };
        let copy = filter.filter(full.as_ref())?;
        let bytes = copy.get_array_memory_size();
        let before = self.budget.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > SETTLED_CACHE_BYTES {
            self.budget.fetch_sub(bytes, Ordering::AcqRel);
            return Ok(copy);
        }
        let mut copies = self.copies.lock();
        if let Some(a) = copies.get(&key) {
            // Another scan cached it meanwhile.
            self.budget.fetch_sub(bytes, Ordering::AcqRel);
            return Ok(Arc::clone(a));
        }
        self.held.fetch_add(bytes, Ordering::AcqRel);
        copies.insert(key, Arc::clone(&copy));
        Ok(copy)
    }
}

#[cfg(test)]
mod tests {
    use crate::{ColumnMeta, ScanRequest, Store, TableMeta, VersionFilter};
    use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, UInt64Array};
    use arrow::datatypes::{DataType, Int64Type};
    use std::sync::Arc;

    /// Sum of x over the rows visible at `snapshot`.
    fn sum_at(store: &Store, snapshot: u64) -> i64 {
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        let req = ScanRequest {
            projection: Some(vec![0]),
            version: Some(VersionFilter { created: 1, deleted: 2, snapshot }),
            ..Default::default()
        };
        store
            .scan(t, &req)
            .unwrap()
            .iter()
            .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Int64Type>()).unwrap_or(0))
            .sum()
    }

    #[test]
    fn the_cache_serves_only_snapshots_past_the_segments_last_change() {
        let store = Store::in_memory();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("x", DataType::Int64, false),
                ColumnMeta::new("created", DataType::UInt64, false),
                ColumnMeta::new("deleted", DataType::UInt64, true),
            ],
        );
        let id = w.create_table(meta.clone()).unwrap();
        let n = 1_000i64;
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(UInt64Array::from_iter_values((0..n).map(|i| 1 + (i % 2) as u64))),
            Arc::new(UInt64Array::from(vec![None::<u64>; n as usize])),
        ];
        w.append(id, &RecordBatch::try_new(meta.schema(), cols).unwrap()).unwrap();
        w.commit().unwrap();
        // Commit 3 deletes every row whose x is a multiple of 3.
        let mut w = store.begin_write().unwrap();
        let ids: Vec<u64> = (0..n as u64).filter(|i| i % 3 == 0).collect();
        let stamps: ArrayRef = Arc::new(UInt64Array::from(vec![3u64; ids.len()]));
        w.update(id, 2, &ids, &stamps).unwrap();
        w.commit().unwrap();

        let all: i64 = (0..n).sum();
        let odd_created: i64 = (0..n).filter(|i| i % 2 == 0).sum();
        let after: i64 = (0..n).filter(|i| i % 3 != 0).sum();
        // The newest snapshot builds the cache, then reuses it.
        assert_eq!(sum_at(&store, 3), after);
        assert!(store.settled_cache_bytes() > 0);
        assert_eq!(sum_at(&store, 9), after);
        // Older snapshots read the same segments but not through the cache.
        assert_eq!(sum_at(&store, 2), all);
        assert_eq!(sum_at(&store, 1), odd_created);
        assert_eq!(sum_at(&store, 3), after);
    }

    /// A DECIMAL column of a settled segment is read from its narrowed
    /// codes for the visible rows, not kept: the same values as a plain
    /// read, deleted rows left out, in a run or a scattered selection.
    #[test]
    fn a_settled_decimal_column_is_read_from_its_codes() {
        use arrow::array::Decimal128Array;
        let store = Store::in_memory();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("d", DataType::Decimal128(15, 2), true),
                ColumnMeta::new("created", DataType::UInt64, false),
                ColumnMeta::new("deleted", DataType::UInt64, true),
            ],
        );
        let id = w.create_table(meta.clone()).unwrap();
        let n = 1_000i64;
        let value = |i: i64| (i % 11 != 5).then_some(10_000 + i128::from(i) * 37);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(
                Decimal128Array::from_iter((0..n).map(value))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
            Arc::new(UInt64Array::from_iter_values((0..n).map(|_| 1))),
            Arc::new(UInt64Array::from(vec![None::<u64>; n as usize])),
        ];
        w.append(id, &RecordBatch::try_new(meta.schema(), cols).unwrap()).unwrap();
        w.commit().unwrap();
        for (stamp, gone) in
            [(2u64, (0..n).filter(|i| i % 3 == 0).collect::<Vec<_>>()), (3, (900..n).collect())]
        {
            let mut w = store.begin_write().unwrap();
            let ids: Vec<u64> = gone.iter().map(|&i| i as u64).collect();
            let stamps: ArrayRef = Arc::new(UInt64Array::from(vec![stamp; ids.len()]));
            w.update(id, 2, &ids, &stamps).unwrap();
            w.commit().unwrap();
            let v = store.current();
            let t = v.table_by_name("t").unwrap();
            let req = ScanRequest {
                projection: Some(vec![0]),
                version: Some(VersionFilter { created: 1, deleted: 2, snapshot: stamp }),
                ..Default::default()
            };
            let want: Vec<Option<i128>> =
                (0..n).filter(|i| i % 3 != 0 && (stamp < 3 || *i < 900)).map(value).collect();
            for _ in 0..2 {
                let got: Vec<Option<i128>> = store
                    .scan(t, &req)
                    .unwrap()
                    .iter()
                    .flat_map(|b| {
                        b.column(0)
                            .as_primitive::<arrow::datatypes::Decimal128Type>()
                            .iter()
                            .collect::<Vec<_>>()
                    })
                    .collect();
                assert_eq!(got, want, "after commit {stamp}");
            }
        }
    }
}
