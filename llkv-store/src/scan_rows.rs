//! Scans restricted to given row ids (the candidates of an index lookup).
//!
//! Each segment holding candidates is read like a full scan would read it
//! (zero-copy chunks), then only the candidate rows are taken before the
//! deletion bitmap, the version filter, the exclusions and the predicates are
//! applied to them. Row ids that no segment holds are skipped.

use crate::catalog::TableMeta;
use crate::error::{Error, Result};
use crate::patch::ChunkPatch;
use crate::scan::{ScanRequest, SegmentScan, chunk_keys};
use crate::store::Store;
use crate::table::{Segment, TableData};
use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::array::{BinaryBuilder, StringBuilder, UInt64Array};
use arrow::buffer::Buffer;
use arrow::compute::FilterBuilder;
use arrow::datatypes::DataType;
use arrow::datatypes::SchemaRef;
use rayon::prelude::*;
use std::sync::Arc;

/// Candidate counts up to this are read segment after segment on the caller's thread.
const SEQUENTIAL_ROWS: usize = 4096;

impl Store {
    /// Scans only the rows of `table` named in `row_ids` (sorted ascending),
    /// within the segments `segments`, calling `sink` with each segment's
    /// batch and index. Everything else is as for [`Store::scan_with`].
    ///
    /// # Errors
    /// The first error of a read, a decode or of `sink`.
    pub fn scan_rows_with<F>(
        &self,
        table: &TableData,
        req: &ScanRequest,
        row_ids: &[u64],
        segments: std::ops::Range<usize>,
        sink: F,
    ) -> Result<()>
    where
        F: Fn(usize, RecordBatch) -> Result<()> + Sync,
    {
        let req = req.prepare(&table.meta)?;
        let schema = req.output_schema(&table.meta);
        self.rows_with(table, &req, &schema, row_ids, segments, sink)
    }

    /// [`Store::scan_rows_with`] for a prepared request and its schema.
    fn rows_with<F>(
        &self,
        table: &TableData,
        req: &ScanRequest,
        schema: &SchemaRef,
        row_ids: &[u64],
        segments: std::ops::Range<usize>,
        sink: F,
    ) -> Result<()>
    where
        F: Fn(usize, RecordBatch) -> Result<()> + Sync,
    {
        let segs = table.segments()?;
        let end = segments.end.min(segs.len());
        let start = segments.start.min(end);
        let work: Vec<(usize, &[u64])> = (start..end)
            .filter_map(|i| {
                let seg = &segs[i];
                let lo = row_ids.partition_point(|&r| r < seg.first_row_id);
                let hi = row_ids.partition_point(|&r| r < seg.first_row_id + seg.span());
                (lo < hi).then(|| (i, &row_ids[lo..hi]))
            })
            .collect();
        let one = |(i, ids): &(usize, &[u64])| -> Result<()> {
            match self.scan_segment_rows(table, &segs[*i], req, schema, ids)? {
                Some(b) => sink(*i, b),
                None => Ok(()),
            }
        };
        let total: usize = work.iter().map(|(_, ids)| ids.len()).sum();
        if total <= SEQUENTIAL_ROWS {
            work.iter().try_for_each(one)
        } else {
            work.par_iter().try_for_each(one)
        }
    }

    /// Scans only the rows named in `row_ids` (sorted ascending) and returns
    /// the batches in row-id order.
    ///
    /// # Errors
    /// As for [`Store::scan_rows_with`].
    pub fn scan_rows(
        &self,
        table: &TableData,
        req: &ScanRequest,
        row_ids: &[u64],
    ) -> Result<Vec<RecordBatch>> {
        let req = req.prepare(&table.meta)?;
        let schema = req.output_schema(&table.meta);
        self.rows_in_order(table, &req, &schema, row_ids)
    }

    /// [`Store::scan_rows`] for a request prepared as `scan` (no checks or
    /// schema built again: a point read runs this once per statement).
    ///
    /// # Errors
    /// As for [`Store::scan_rows_with`].
    pub fn scan_rows_prepared(
        &self,
        table: &TableData,
        scan: &SegmentScan,
        row_ids: &[u64],
    ) -> Result<Vec<RecordBatch>> {
        self.rows_in_order(table, &scan.req, &scan.schema, row_ids)
    }

    fn rows_in_order(
        &self,
        table: &TableData,
        req: &ScanRequest,
        schema: &SchemaRef,
        row_ids: &[u64],
    ) -> Result<Vec<RecordBatch>> {
        let out = parking_lot::Mutex::new(Vec::new());
        self.rows_with(table, req, schema, row_ids, 0..table.segment_count(), |i, b| {
            out.lock().push((i, b));
            Ok(())
        })?;
        let mut out = out.into_inner();
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, b)| b).collect())
    }

    /// Reads the rows `ids` (all inside `seg`, sorted) of one segment.
    pub(crate) fn scan_segment_rows(
        &self,
        table: &TableData,
        seg: &Segment,
        req: &ScanRequest,
        schema: &SchemaRef,
        ids: &[u64],
    ) -> Result<Option<RecordBatch>> {
        if seg.live_rows() == 0 {
            return Ok(None);
        }
        let body = seg.body()?;
        if !Self::segment_may_match(seg, body, &req.predicates) {
            return Ok(None);
        }
        // A segment compacted by a vacuum holds only some ids of its span.
        let mut held: Vec<u64> = Vec::new();
        let ids = if !seg.is_dense() {
            for &r in ids {
                if seg.offset_of(r)?.is_some() {
                    held.push(r);
                }
            }
            if held.is_empty() {
                return Ok(None);
            }
            &held[..]
        } else {
            ids
        };
        let version = req.version.filter(|v| !v.all_visible(body));
        if version.is_some_and(|v| v.none_visible(body)) {
            return Ok(None);
        }
        let out_cols = req.columns(&table.meta);
        let needed = req.needed_columns(&out_cols, version.as_ref());
        let pos = |c: usize| needed.iter().position(|&x| x == c).unwrap_or_default();
        let mut offsets = Vec::with_capacity(ids.len());
        for &r in ids {
            offsets.push(seg.offset_of(r)?.unwrap_or_default() as u32);
        }
        let offsets = UInt32Array::from(offsets);
        let arrays = self.take_rows(seg, &table.meta, &needed, offsets.values())?;
        let mut masks: Vec<BooleanArray> = Vec::new();
        if let Some(d) = &body.deleted {
            masks.push(offsets.values().iter().map(|&o| Some(!d.value(o as usize))).collect());
        }
        if let Some(v) = version {
            masks.push(v.mask(arrays[pos(v.created)].as_ref(), arrays[pos(v.deleted)].as_ref())?);
        }
        if let Some(ex) = &req.exclude {
            masks.push(ids.iter().map(|r| Some(!ex.contains(r))).collect());
        }
        let column = |c: usize| arrays[pos(c)].as_ref();
        let mask = crate::predicate::apply_all(&req.predicates, column, masks)?;
        let mut columns: Vec<ArrayRef> = arrays[..out_cols.len()].to_vec();
        if req.with_row_ids {
            columns.push(Arc::new(UInt64Array::from(ids.to_vec())));
        }
        let rows = match &mask {
            None => ids.len(),
            Some(m) => {
                let f = FilterBuilder::new(m).optimize().build();
                let n = f.count();
                if n == 0 {
                    return Ok(None);
                }
                if n < ids.len() {
                    columns =
                        columns.iter().map(|c| f.filter(c.as_ref())).collect::<Result<_, _>>()?;
                }
                n
            }
        };
        let opts = RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(Some(RecordBatch::try_new_with_options(Arc::clone(schema), columns, &opts)?))
    }
}

impl Store {
    /// The values of `columns` at row offsets `offsets` of `seg`, patches
    /// applied, reading only those rows of variable-width chunks and
    /// touching only those rows of fixed-width ones (which decode zero-copy).
    pub(crate) fn take_rows(
        &self,
        seg: &Segment,
        meta: &TableMeta,
        columns: &[usize],
        offsets: &[u32],
    ) -> Result<Vec<ArrayRef>> {
        let body = seg.body()?;
        let blobs = self.read_chunks(&chunk_keys(body, columns))?;
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
        for (blob, &c) in blobs.iter().zip(columns) {
            let dt = &meta.columns[c].data_type;
            let base = if is_var_width(dt) {
                take_var_width(blob, &crate::chunk::storage_type(dt), offsets)?
            } else if let Some((first, n)) = contiguous(offsets) {
                // One row (a point read) or a run of rows: a zero-copy slice,
                // and only its rows' validity is looked at.
                crate::chunk::decode_range(blob, dt, first, n)?
            } else {
                // Only the rows between the first and the last one wanted.
                let (lo, hi) =
                    offsets.iter().fold((u32::MAX, 0), |(lo, hi), &o| (lo.min(o), hi.max(o)));
                let a = crate::chunk::decode_range(blob, dt, lo as usize, (hi - lo) as usize + 1)?;
                let idx = UInt32Array::from_iter_values(offsets.iter().map(|&o| o - lo));
                arrow::compute::take(a.as_ref(), &idx, None)?
            };
            arrays.push(match &body.columns[c].patch {
                Some(p) => take_patched(base, p, offsets)?,
                None => base,
            });
        }
        Ok(arrays)
    }
}

/// `base` (the chunk's values at `offsets`) with the patched ones among them
/// replaced by the patch's values: only the taken rows are looked up.
fn take_patched(base: ArrayRef, patch: &ChunkPatch, offsets: &[u32]) -> Result<ArrayRef> {
    if patch.values.len() != patch.offsets.len() {
        return Err(Error::Corrupt("a chunk patch does not fit its chunk".into()));
    }
    let picks: Vec<(usize, usize)> = offsets
        .iter()
        .enumerate()
        .map(|(i, o)| match patch.offsets.binary_search(o) {
            Ok(j) => (1, j),
            Err(_) => (0, i),
        })
        .collect();
    if picks.iter().all(|&(s, _)| s == 0) {
        return Ok(base);
    }
    Ok(arrow::compute::interleave(&[base.as_ref(), patch.values.as_ref()], &picks)?)
}

/// The first offset and the count when `offsets` are consecutive ascending rows.
fn contiguous(offsets: &[u32]) -> Option<(usize, usize)> {
    let first = *offsets.first()?;
    let run = offsets.iter().enumerate().all(|(i, &o)| u64::from(o) == u64::from(first) + i as u64);
    run.then_some((first as usize, offsets.len()))
}

fn is_var_width(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::Binary | DataType::Utf8View | DataType::BinaryView)
}

/// The rows `offsets` of a Utf8 or Binary chunk, reading (and checking) only
/// their bytes: decoding the whole chunk would validate every value.
fn take_var_width(blob: &Buffer, dt: &DataType, offsets: &[u32]) -> Result<ArrayRef> {
    let (rows, bits, buffers) = crate::chunk::decode_raw(blob)?;
    // Validity bits are looked at only for the rows taken.
    let nulls = bits.map(|b| arrow::buffer::BooleanBuffer::new(b, 0, rows));
    let bad = || Error::Corrupt(format!("column chunk does not match its type {dt}"));
    let [ends, values_buf] = buffers.as_slice() else { return Err(bad()) };
    let (ends, values) = (ends.as_slice(), values_buf.as_slice());
    if ends.len() < (rows + 1) * 4 {
        return Err(bad());
    }
    let end_at = |i: usize| {
        let b = &ends[i * 4..i * 4 + 4];
        i32::from_le_bytes([b[0], b[1], b[2], b[3]])
    };
    let value = |o: usize| -> Result<Option<&[u8]>> {
        if o >= rows {
            return Err(bad());
        }
        if nulls.as_ref().is_some_and(|n| !n.value(o)) {
            return Ok(None);
        }
        let (start, end) = (end_at(o), end_at(o + 1));
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(bad());
        };
        values.get(start..end).map(Some).ok_or_else(bad)
    };
    if let [o] = offsets {
        // One row (a point read): its bytes stay in the chunk (zero-copy),
        // with offsets of their own; only they are checked.
        let o = *o as usize;
        let one = value(o)?.map(|v| {
            let start = v.as_ptr() as usize - values.as_ptr() as usize;
            values_buf.slice_with_length(start, v.len())
        });
        return one_value(dt, one).map_err(|_| bad());
    }
    let vals = offsets.iter().map(|&o| value(o as usize)).collect::<Result<Vec<_>>>()?;
    let bytes = vals.iter().flatten().map(|v| v.len()).sum();
    Ok(match dt {
        DataType::Utf8 => {
            let mut b = StringBuilder::with_capacity(vals.len(), bytes);
            for v in vals {
                match v {
                    Some(v) => b.append_value(std::str::from_utf8(v).map_err(|_| bad())?),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        _ => {
            let mut b = BinaryBuilder::with_capacity(vals.len(), bytes);
            for v in vals {
                b.append_option(v);
            }
            Arc::new(b.finish())
        }
    })
}

/// A one-row Utf8 or Binary array of `value` (its bytes; `None` for NULL).
///
/// # Errors
/// Arrow's error when the bytes are not UTF-8 for a Utf8 array.
fn one_value(dt: &DataType, value: Option<Buffer>) -> Result<ArrayRef> {
    use arrow::array::{BinaryArray, StringArray};
    use arrow::buffer::OffsetBuffer;
    let Some(bytes) = value else { return Ok(arrow::array::new_null_array(dt, 1)) };
    let offsets = OffsetBuffer::<i32>::from_lengths([bytes.len()]);
    Ok(match dt {
        DataType::Utf8 => Arc::new(StringArray::try_new(offsets, bytes, None)?),
        _ => Arc::new(BinaryArray::try_new(offsets, bytes, None)?),
    })
}

#[cfg(test)]
mod tests {
    use crate::{ColumnMeta, ScanRequest, Store, TableMeta};
    use arrow::array::{Array, BinaryArray, Int64Array, RecordBatch, StringArray, UInt64Array};
    use arrow::datatypes::DataType;
    use std::sync::Arc;

    #[test]
    fn only_existing_live_requested_rows_come_back() {
        let store = Store::with_pager(
            Arc::new(crate::pager::MemoryPager::new()),
            crate::StoreOptions { chunk_rows: 10, durability: crate::Durability::Buffered },
        )
        .unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w
            .create_table(TableMeta::new(
                "t",
                vec![
                    ColumnMeta::new("a", DataType::Int64, true),
                    ColumnMeta::new("s", DataType::Utf8, true),
                    ColumnMeta::new("b", DataType::Binary, true),
                ],
            ))
            .unwrap();
        let schema = w.version().table(id).unwrap().meta.schema();
        let s: Vec<Option<String>> =
            (0..35).map(|i| (i % 3 != 0).then(|| format!("v{i}"))).collect();
        let b: Vec<Option<Vec<u8>>> =
            (0..35).map(|i| (i % 4 != 0).then(|| vec![i as u8; 2])).collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..35)),
                Arc::new(StringArray::from(s)),
                Arc::new(BinaryArray::from_iter(b)),
            ],
        )
        .unwrap();
        w.append(id, &batch).unwrap();
        w.delete(id, &[12]).unwrap();
        w.commit().unwrap();
        let v = store.current();
        let t = v.table(id).unwrap();
        let req = ScanRequest { with_row_ids: true, ..Default::default() };
        let got = store.scan_rows(t, &req, &[3, 12, 13, 29, 34, 99]).unwrap();
        // The variable-width columns equal those of a full scan taken at the same rows.
        let full = arrow::compute::concat_batches(
            &got[0].schema(),
            &store.scan(t, &ScanRequest { with_row_ids: true, ..Default::default() }).unwrap(),
        )
        .unwrap();
        let picked = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
        let idx = UInt64Array::from(vec![3, 12, 28, 33]); // positions after deleted row 12
        for c in [1, 2] {
            let want = arrow::compute::take(full.column(c).as_ref(), &idx, None).unwrap();
            assert_eq!(picked.column(c).as_ref(), want.as_ref());
        }
        let ids: Vec<u64> = got
            .iter()
            .flat_map(|b| {
                let c = b.column(3).as_any().downcast_ref::<UInt64Array>().unwrap();
                c.values().to_vec()
            })
            .collect();
        assert_eq!(ids, vec![3, 13, 29, 34]);
        let vals: Vec<i64> = got
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..c.len()).map(|i| c.value(i)).collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(vals, vec![3, 13, 29, 34]);
    }

    #[test]
    fn patched_rows_read_by_id_equal_a_full_scan() {
        let store = Store::with_pager(
            Arc::new(crate::pager::MemoryPager::new()),
            crate::StoreOptions { chunk_rows: 10, durability: crate::Durability::Buffered },
        )
        .unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w
            .create_table(TableMeta::new(
                "t",
                vec![
                    ColumnMeta::new("a", DataType::Int64, true),
                    ColumnMeta::new("s", DataType::Utf8, true),
                ],
            ))
            .unwrap();
        let schema = w.version().table(id).unwrap().meta.schema();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..25)),
                Arc::new(StringArray::from_iter_values((0..25).map(|i| format!("s{i}")))),
            ],
        )
        .unwrap();
        w.append(id, &batch).unwrap();
        let a: arrow::array::ArrayRef = Arc::new(Int64Array::from(vec![Some(-1), None]));
        w.update(id, 0, &[4, 13], &a).unwrap();
        let s: arrow::array::ArrayRef = Arc::new(StringArray::from(vec![None, Some("new")]));
        w.update(id, 1, &[5, 13], &s).unwrap();
        w.commit().unwrap();
        let v = store.current();
        let t = v.table(id).unwrap();
        let ids = [2u64, 4, 5, 13, 14];
        let got = store.scan_rows(t, &ScanRequest::default(), &ids).unwrap();
        let got = arrow::compute::concat_batches(&got[0].schema(), &got).unwrap();
        let full = store.scan(t, &ScanRequest::default()).unwrap();
        let full = arrow::compute::concat_batches(&got.schema(), &full).unwrap();
        let idx = UInt64Array::from(ids.to_vec());
        for c in 0..2 {
            let want = arrow::compute::take(full.column(c).as_ref(), &idx, None).unwrap();
            assert_eq!(got.column(c).as_ref(), want.as_ref());
        }
        let s = got.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        assert!(s.is_null(2));
        assert_eq!(s.value(3), "new");
        let a = got.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        assert_eq!((a.value(1), a.is_null(3), a.value(4)), (-1, true, 14));
        // read_rows takes the same narrow path, in the order given.
        let r = store.read_rows(t, &[13, 2], &[1, 0]).unwrap();
        let s = r.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((s.value(0), s.value(1)), ("new", "s2"));
    }
}
