//! Sums of DECIMAL columns over the rows a scan keeps, read from the
//! chunks' narrowed codes (see `narrow.rs`) without widening them: a sum
//! then reads 1 to 8 bytes a value from memory instead of writing and
//! reading back 16.

use crate::chunk;
use crate::error::{Error, Result};
use crate::scan::{FilteredRows, SegmentPlan, SegmentScan};
use crate::store::Store;
use crate::table::TableData;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Decimal128Type};

/// The sum and count of the non-NULL values of one DECIMAL column over the
/// rows of a segment that a scan keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecimalSum {
    /// The sum of the unscaled values.
    pub sum: i128,
    /// How many non-NULL values were added.
    pub count: u64,
}

/// What [`Store::segment_sums`] finds in one segment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentSums {
    /// Rows the scan keeps.
    pub rows: u64,
    /// For each column of the scan's projection, in order: its sum, or
    /// `None` when the sum does not fit an `i128`.
    pub sums: Vec<Option<DecimalSum>>,
}

impl Store {
    /// For segment `i` of `table`, the rows `scan` keeps and, for each
    /// column of its projection (all DECIMAL), the sum and count of those
    /// rows' non-NULL values; `None` when no row qualifies. The same figures
    /// as summing [`Store::scan_segment`]'s batch, without widening the
    /// stored codes. A scan with row ids is not summed.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a projected column that is not DECIMAL or a
    /// scan with row ids; read and decode errors.
    pub fn segment_sums(
        &self,
        table: &TableData,
        scan: &SegmentScan,
        i: usize,
    ) -> Result<Option<SegmentSums>> {
        let req = &scan.req;
        let columns = req.columns(&table.meta);
        if req.with_row_ids
            || columns
                .iter()
                .any(|&c| !matches!(table.meta.columns[c].data_type, DataType::Decimal128(_, _)))
        {
            return Err(Error::Invalid("a sum over columns that are not all DECIMAL".into()));
        }
        let Some(seg) = table.segments()?.get(i) else { return Ok(None) };
        let (body, keep) = match self.plan_segment(table, seg, req)? {
            SegmentPlan::Empty => return Ok(None),
            SegmentPlan::Settled(body, settled) if req.predicates.is_empty() => {
                (body, settled.visible().cloned())
            }
            // Predicates over a settled segment's visible rows: summed from
            // the rows the scan reads.
            SegmentPlan::Settled(..) => return self.sums_of_read_rows(table, scan, i),
            SegmentPlan::Rows(body, version) => {
                let FilteredRows { mask, .. } =
                    self.filter_rows(table, seg, body, req, version, &[])?;
                (body, mask.map(|m| crate::predicate::without_nulls(m).values().clone()))
            }
        };
        let rows = keep.as_ref().map_or(seg.row_count as usize, BooleanBuffer::count_set_bits);
        if rows == 0 {
            return Ok(None);
        }
        let blobs = self.read_chunks(&crate::scan::chunk_keys(body, &columns))?;
        let sums = columns
            .iter()
            .zip(&blobs)
            .map(|(&c, blob)| {
                let dt = &table.meta.columns[c].data_type;
                let found = match &body.columns[c].patch {
                    None => chunk::decimal_sum(blob, dt, keep.as_ref())?,
                    Some(p) => {
                        array_sum(p.apply(&chunk::decode(blob, dt)?)?.as_ref(), keep.as_ref())
                    }
                };
                Ok(found.map(|(sum, count)| DecimalSum { sum, count }))
            })
            .collect::<Result<_>>()?;
        Ok(Some(SegmentSums { rows: rows as u64, sums }))
    }

    /// [`Store::segment_sums`] by reading the segment's kept rows.
    fn sums_of_read_rows(
        &self,
        table: &TableData,
        scan: &SegmentScan,
        i: usize,
    ) -> Result<Option<SegmentSums>> {
        let Some(m) = self.scan_segment_masked(table, scan, i, false)? else { return Ok(None) };
        let keep = m.keep.as_ref().map(|k| k.values().clone());
        Ok(Some(SegmentSums::of_rows(m.batch.columns(), m.rows, keep.as_ref())))
    }
}

impl SegmentSums {
    /// The sums of `columns` (DECIMAL; a column of another type sums to
    /// `None`) over the rows `keep` marks (all when `None`), `rows` of them.
    pub fn of_rows(columns: &[ArrayRef], rows: usize, keep: Option<&BooleanBuffer>) -> Self {
        let sums = columns.iter().map(|a| array_sum(a.as_ref(), keep));
        let sums = sums.map(|s| s.map(|(sum, count)| DecimalSum { sum, count })).collect();
        Self { rows: rows as u64, sums }
    }

    /// Adds `other`'s figures (for the same columns) to these; a sum that
    /// overflows becomes `None`.
    pub fn absorb(&mut self, other: &SegmentSums) {
        self.rows += other.rows;
        for (s, o) in self.sums.iter_mut().zip(&other.sums) {
            *s = match (*s, *o) {
                (Some(a), Some(b)) => {
                    a.sum.checked_add(b.sum).map(|sum| DecimalSum { sum, count: a.count + b.count })
                }
                _ => None,
            };
        }
    }
}

/// The sum and count of the non-NULL values of a DECIMAL `array` among the
/// rows `keep` marks (all when `None`); `None` when the sum overflows.
fn array_sum(array: &dyn Array, keep: Option<&BooleanBuffer>) -> Option<(i128, u64)> {
    let a = array.as_primitive_opt::<Decimal128Type>()?;
    let mut sum = 0i128;
    let mut count = 0u64;
    for i in 0..a.len() {
        if a.is_valid(i) && keep.is_none_or(|k| k.value(i)) {
            sum = sum.checked_add(a.value(i))?;
            count += 1;
        }
    }
    Some((sum, count))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnMeta, Predicate, ScanRequest, TableMeta, VersionFilter};
    use arrow::array::{Decimal128Array, Int64Array, RecordBatch, UInt64Array};
    use std::sync::Arc;

    /// A table (k BIGINT, price DECIMAL(15,2), tax DECIMAL(15,2) with NULLs,
    /// created, deleted) of `n` rows created at 1, in one segment.
    fn table(n: i64) -> (Store, TableMeta) {
        let store = Store::in_memory();
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("k", DataType::Int64, false),
                ColumnMeta::new("price", DataType::Decimal128(15, 2), false),
                ColumnMeta::new("tax", DataType::Decimal128(15, 2), true),
                ColumnMeta::new("created", DataType::UInt64, false),
                ColumnMeta::new("deleted", DataType::UInt64, true),
            ],
        );
        let mut w = store.begin_write().unwrap();
        let id = w.create_table(meta.clone()).unwrap();
        let price = Decimal128Array::from_iter_values((0..n).map(|i| 90_000 + i128::from(i) * 37))
            .with_precision_and_scale(15, 2)
            .unwrap();
        let tax =
            Decimal128Array::from_iter((0..n).map(|i| (i % 5 != 0).then_some(i128::from(i % 9))))
                .with_precision_and_scale(15, 2)
                .unwrap();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(price),
            Arc::new(tax),
            Arc::new(UInt64Array::from(vec![1u64; n as usize])),
            Arc::new(UInt64Array::from(vec![None::<u64>; n as usize])),
        ];
        w.append(id, &RecordBatch::try_new(meta.schema(), cols).unwrap()).unwrap();
        w.commit().unwrap();
        (store, meta)
    }

    /// `k BETWEEN low AND high`.
    fn between(low: i64, high: i64) -> Predicate {
        let bound = |v: i64| -> ArrayRef { Arc::new(Int64Array::from(vec![v])) };
        Predicate::Between { column: 0, low: bound(low), high: bound(high) }
    }

    /// Sums by [`Store::segment_sums`] and by summing the scanned rows.
    fn both(store: &Store, req: &ScanRequest) -> (Vec<Option<SegmentSums>>, SegmentSums) {
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        let scan = SegmentScan::new(&t.meta, req).unwrap();
        let fast: Vec<_> =
            (0..t.segment_count()).map(|i| store.segment_sums(t, &scan, i).unwrap()).collect();
        let batches = store.scan(t, req).unwrap();
        let width = req.projection.as_ref().map_or(0, Vec::len);
        let mut slow = SegmentSums { rows: 0, sums: vec![Some(DecimalSum::default()); width] };
        for b in &batches {
            slow.absorb(&SegmentSums::of_rows(b.columns(), b.num_rows(), None));
        }
        (fast, slow)
    }

    fn total(fast: &[Option<SegmentSums>], width: usize) -> SegmentSums {
        let mut out = SegmentSums { rows: 0, sums: vec![Some(DecimalSum::default()); width] };
        for s in fast.iter().flatten() {
            out.absorb(s);
        }
        out
    }

    #[test]
    fn sums_from_codes_equal_sums_of_the_scanned_rows() {
        let (store, _) = table(3000);
        let version = VersionFilter { created: 3, deleted: 4, snapshot: 10 };
        let reqs = [
            ScanRequest { projection: Some(vec![1, 2]), ..Default::default() },
            ScanRequest { projection: Some(vec![2]), version: Some(version), ..Default::default() },
            ScanRequest {
                projection: Some(vec![1, 2]),
                predicates: vec![between(100, 1999)],
                ..Default::default()
            },
        ];
        for req in &reqs {
            let (fast, slow) = both(&store, req);
            assert_eq!(total(&fast, slow.sums.len()), slow, "{req:?}");
            assert!(slow.rows > 0);
        }
    }

    #[test]
    fn sums_skip_deleted_and_invisible_rows_on_every_path() {
        let (store, _) = table(3000);
        // Commit 5 marks every third row deleted; then rows 10..20 are
        // deleted from the store's bitmap too.
        let v = store.current();
        let id = v.table_by_name("t").unwrap().id;
        let mut w = store.begin_write().unwrap();
        let ids: Vec<u64> = (0..3000).filter(|i| i % 3 == 0).collect();
        let stamps: ArrayRef = Arc::new(UInt64Array::from(vec![5u64; ids.len()]));
        w.update(id, 4, &ids, &stamps).unwrap();
        w.delete(id, &(10..20).collect::<Vec<u64>>()).unwrap();
        // A patched price chunk is summed from its patched values.
        let prices =
            Decimal128Array::from(vec![1_000_000i128, -7]).with_precision_and_scale(15, 2).unwrap();
        w.update(id, 1, &[40, 41], &(Arc::new(prices) as ArrayRef)).unwrap();
        w.commit().unwrap();
        for snapshot in [3, 5, 10] {
            let version = VersionFilter { created: 3, deleted: 4, snapshot };
            for predicates in [vec![], vec![between(500, 2500)]] {
                let req = ScanRequest {
                    projection: Some(vec![1, 2]),
                    version: Some(version),
                    predicates,
                    ..Default::default()
                };
                // Twice: the second read finds the settled visibility kept.
                for _ in 0..2 {
                    let (fast, slow) = both(&store, &req);
                    assert_eq!(total(&fast, 2), slow, "snapshot {snapshot}, {req:?}");
                }
            }
        }
    }

    #[test]
    fn a_sum_of_a_column_that_is_not_decimal_is_an_error() {
        let (store, meta) = table(10);
        let v = store.current();
        let t = v.table_by_name(&meta.name).unwrap();
        let req = ScanRequest { projection: Some(vec![0]), ..Default::default() };
        let scan = SegmentScan::new(&t.meta, &req).unwrap();
        assert!(matches!(store.segment_sums(t, &scan, 0), Err(Error::Invalid(_))));
    }
}
