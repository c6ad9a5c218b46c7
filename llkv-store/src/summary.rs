//! What chunk statistics tell about a scan before it runs: how many rows it
//! returns and each column's null count and bounds, with whether each figure
//! is exact for the scan's snapshot or only a bound.
//!
//! A figure is exact only when nothing the statistics do not see can change
//! it: no predicate, every segment's row versions provably all visible or all
//! invisible to the snapshot, no row of a counted segment excluded by the
//! caller. Null counts and bounds additionally need segments without deleted
//! rows (chunk statistics still count those), and bounds must be whole values
//! (not a cut string prefix).

use crate::scan::ScanRequest;
use crate::stats::{ChunkStats, is_uncut};
use crate::table::{Segment, SegmentBody, TableData};
use arrow::array::{Array, ArrayRef};
use std::ops::Range;

/// A figure known from statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Figure {
    /// The value: exact, or an upper bound.
    pub value: u64,
    /// Whether `value` is exact.
    pub exact: bool,
}

/// What statistics say about one returned column.
#[derive(Debug, Clone)]
pub struct ColumnSummary {
    /// NULLs among the returned rows (an upper bound unless exact).
    pub null_count: Figure,
    /// A lower bound of the non-null values (`None`: unknown or none).
    pub min: Option<ArrayRef>,
    /// An upper bound of the non-null values (`None`: unknown or none).
    pub max: Option<ArrayRef>,
    /// Whether `min` and `max` are the true smallest and largest values.
    pub bounds_exact: bool,
    /// Some non-null value was merged.
    has_values: bool,
    /// Some segment's statistics could not be read: no bounds are known.
    unknown: bool,
}

/// What statistics say about a scan (see the module docs).
#[derive(Debug, Clone)]
pub struct ScanSummary {
    /// Rows the scan returns.
    pub rows: Figure,
    /// One entry per column of the request's projection (row ids not included).
    pub columns: Vec<ColumnSummary>,
}

impl ScanSummary {
    /// The summary of a scan that returns no rows, with `columns` columns.
    pub fn empty(columns: usize) -> Self {
        Self {
            rows: Figure { value: 0, exact: true },
            columns: (0..columns).map(|_| ColumnSummary::empty()).collect(),
        }
    }

    /// Adds rows that are known exactly (already filtered and projected
    /// like the scan's output, e.g. a transaction's own inserted rows).
    /// `columns` may carry extra trailing columns (a row-id column), which are ignored.
    pub fn add_exact_rows(&mut self, rows: usize, columns: &[ArrayRef]) {
        self.rows.value += rows as u64;
        for (c, a) in self.columns.iter_mut().zip(columns) {
            c.null_count.value += a.null_count() as u64;
            widen(c, &ChunkStats::compute(a.as_ref()), true);
        }
    }
}

/// Merges chunk statistics `s` into the column summary `c`; `exact`: the
/// chunk's values are exactly the values the scan returns.
fn widen(c: &mut ColumnSummary, s: &ChunkStats, exact: bool) {
    if c.unknown || s.null_count == s.row_count {
        return;
    }
    let uncut = |v: &Option<ArrayRef>| v.as_ref().is_some_and(|v| is_uncut(v.as_ref()));
    c.bounds_exact &= exact && uncut(&s.min) && uncut(&s.max);
    if !c.has_values {
        c.has_values = true;
        c.min = s.min.clone();
        c.max = s.max.clone();
        return;
    }
    let bounds = |min, max| ChunkStats { row_count: 1, null_count: 0, min, max };
    let merged = bounds(c.min.take(), c.max.take()).widened(&bounds(s.min.clone(), s.max.clone()));
    c.min = merged.min;
    c.max = merged.max;
}

impl ColumnSummary {
    fn empty() -> Self {
        Self {
            null_count: Figure { value: 0, exact: true },
            min: None,
            max: None,
            bounds_exact: true,
            has_values: false,
            unknown: false,
        }
    }
}

impl ScanRequest {
    /// What the statistics of `segments` of `table` say about this scan.
    pub fn summarize(&self, table: &TableData, segments: Range<usize>) -> ScanSummary {
        let columns = self.columns(&table.meta);
        let mut out = ScanSummary::empty(columns.len());
        out.rows.exact = self.predicates.is_empty();
        let Ok(segs) = table.segments() else {
            // A segment list that cannot be read (the scan reports why):
            // only the table's live row count is known, as a bound.
            out.rows.value = table.live_rows();
            out.rows.exact = false;
            for c in &mut out.columns {
                c.null_count = Figure { value: table.live_rows(), exact: false };
                (c.unknown, c.min, c.max, c.bounds_exact) = (true, None, None, false);
            }
            return out;
        };
        let end = segments.end.min(segs.len());
        let start = segments.start.min(end);
        for seg in &segs[start..end] {
            let Ok(body) = seg.body() else {
                // A segment record that cannot be read (the scan reports
                // why): only its row count is known, as a bound.
                out.rows.value += seg.live_rows();
                out.rows.exact = false;
                for c in &mut out.columns {
                    c.null_count.value += seg.live_rows();
                    (c.unknown, c.min, c.max) = (true, None, None);
                }
                continue;
            };
            let (rows, rows_exact) = self.segment_rows(seg, body);
            if rows == 0 && rows_exact {
                continue;
            }
            out.rows.value += rows;
            out.rows.exact &= rows_exact;
            let values_exact = out.rows.exact && body.deleted.is_none();
            for (c, &col) in out.columns.iter_mut().zip(&columns) {
                let s = &body.columns[col].stats;
                c.null_count.value += s.null_count.min(rows);
                c.null_count.exact &= values_exact;
                widen(c, s, values_exact);
            }
        }
        if !out.rows.exact {
            for c in &mut out.columns {
                c.null_count.exact = false;
                c.bounds_exact = false;
            }
        }
        out
    }

    /// Rows of `seg` the scan can return, and whether that count is exact.
    fn segment_rows(&self, seg: &Segment, body: &SegmentBody) -> (u64, bool) {
        if let Some(v) = &self.version {
            if v.none_visible(body) {
                return (0, true);
            }
            if !v.all_visible(body) {
                return (seg.live_rows(), false);
            }
        }
        let excluded = self.exclude.as_ref().is_some_and(|ex| {
            ex.range(seg.first_row_id..seg.first_row_id + seg.row_count).next().is_some()
        });
        (seg.live_rows(), !excluded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CmpOp, ColumnMeta, Predicate, Store, TableMeta};
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::DataType;
    use std::sync::Arc;

    fn table() -> (Store, u64) {
        let store = Store::in_memory();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("x", DataType::Int64, true),
                ColumnMeta::new("s", DataType::Utf8, true),
            ],
        );
        let id = w.create_table(meta).unwrap();
        let schema = w.version().table(id).unwrap().meta.schema();
        let long = "q".repeat(100);
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![Some(4), None, Some(-2), Some(9)])),
                Arc::new(StringArray::from(vec![Some("b"), Some(long.as_str()), None, Some("a")])),
            ],
        )
        .unwrap();
        w.append(id, &batch).unwrap();
        w.commit().unwrap();
        (store, id)
    }

    fn int(a: &Option<ArrayRef>) -> Option<i64> {
        a.as_ref()?.as_any().downcast_ref::<Int64Array>().map(|a| a.value(0))
    }

    #[test]
    fn a_plain_scan_has_exact_counts_and_bounds() {
        let (store, id) = table();
        let v = store.current();
        let t = v.table(id).unwrap();
        let s = ScanRequest::all().summarize(t, 0..t.segment_count());
        assert_eq!(s.rows, Figure { value: 4, exact: true });
        assert_eq!(s.columns[0].null_count, Figure { value: 1, exact: true });
        assert_eq!((int(&s.columns[0].min), int(&s.columns[0].max)), (Some(-2), Some(9)));
        assert!(s.columns[0].bounds_exact);
        // A long string has no kept maximum: the bounds are not exact.
        assert!(!s.columns[1].bounds_exact);
    }

    #[test]
    fn predicates_deletes_and_exclusions_make_figures_bounds() {
        let (store, id) = table();
        let v = store.current();
        let t = v.table(id).unwrap();
        let filtered = ScanRequest {
            predicates: vec![Predicate::Compare {
                column: 0,
                op: CmpOp::Gt,
                value: Arc::new(Int64Array::from(vec![0])),
            }],
            ..Default::default()
        };
        let s = filtered.summarize(t, 0..1);
        assert_eq!(s.rows, Figure { value: 4, exact: false });
        assert!(!s.columns[0].bounds_exact && !s.columns[0].null_count.exact);
        let excluded = ScanRequest {
            exclude: Some(Arc::new([t.segments().unwrap()[0].first_row_id].into_iter().collect())),
            ..Default::default()
        };
        assert!(!excluded.summarize(t, 0..1).rows.exact);
        let mut w = store.begin_write().unwrap();
        w.delete(id, &[t.segments().unwrap()[0].first_row_id + 3]).unwrap();
        w.commit().unwrap();
        let v = store.current();
        let t = v.table(id).unwrap();
        let s = ScanRequest::all().summarize(t, 0..1);
        // The row count follows the deletion bitmap; the chunk's bounds still
        // include the deleted 9, so they are only bounds now.
        assert_eq!(s.rows, Figure { value: 3, exact: true });
        assert!(!s.columns[0].bounds_exact && !s.columns[0].null_count.exact);
        assert_eq!(int(&s.columns[0].max), Some(9));
    }
}
