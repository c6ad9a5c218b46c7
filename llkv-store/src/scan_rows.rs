//! Scans restricted to given row ids (the candidates of an index lookup).
//!
//! Each segment holding candidates is read like a full scan would read it
//! (zero-copy chunks), then only the candidate rows are taken before the
//! deletion bitmap, the version filter, the exclusions and the predicates are
//! applied to them. Row ids that no segment holds are skipped.

use crate::error::Result;
use crate::scan::{ScanRequest, chunk_keys, decode_columns};
use crate::store::Store;
use crate::table::{Segment, TableData};
use arrow::array::UInt64Array;
use arrow::array::{ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow::compute::{FilterBuilder, and};
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
        let end = segments.end.min(table.segments.len());
        let start = segments.start.min(end);
        let work: Vec<(usize, &[u64])> = (start..end)
            .filter_map(|i| {
                let seg = &table.segments[i];
                let lo = row_ids.partition_point(|&r| r < seg.first_row_id);
                let hi = row_ids.partition_point(|&r| r < seg.first_row_id + seg.span());
                (lo < hi).then(|| (i, &row_ids[lo..hi]))
            })
            .collect();
        let one = |(i, ids): &(usize, &[u64])| -> Result<()> {
            match self.scan_segment_rows(table, &table.segments[*i], &req, &schema, ids)? {
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
        let out = parking_lot::Mutex::new(Vec::new());
        self.scan_rows_with(table, req, row_ids, 0..table.segments.len(), |i, b| {
            out.lock().push((i, b));
            Ok(())
        })?;
        let mut out = out.into_inner();
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, b)| b).collect())
    }

    /// Reads the rows `ids` (all inside `seg`, sorted) of one segment.
    fn scan_segment_rows(
        &self,
        table: &TableData,
        seg: &Segment,
        req: &ScanRequest,
        schema: &SchemaRef,
        ids: &[u64],
    ) -> Result<Option<RecordBatch>> {
        if !Self::segment_may_match(seg, &req.predicates) {
            return Ok(None);
        }
        // A segment compacted by a vacuum holds only some ids of its span.
        let held: Vec<u64>;
        let ids = if seg.row_map.is_some() {
            held = ids.iter().copied().filter(|&r| seg.offset_of(r).is_some()).collect();
            if held.is_empty() {
                return Ok(None);
            }
            &held[..]
        } else {
            ids
        };
        let version = req.version.filter(|v| !v.all_visible(seg));
        if version.is_some_and(|v| v.none_visible(seg)) {
            return Ok(None);
        }
        let out_cols = req.columns(&table.meta);
        let mut needed = out_cols.clone();
        let extra = req
            .predicates
            .iter()
            .map(|p| p.column())
            .chain(version.iter().flat_map(|v| [v.created, v.deleted]));
        for c in extra {
            if !needed.contains(&c) {
                needed.push(c);
            }
        }
        let pos = |c: usize| needed.iter().position(|&x| x == c).unwrap_or_default();
        let offsets = UInt32Array::from_iter_values(
            ids.iter().map(|&r| seg.offset_of(r).unwrap_or_default() as u32),
        );
        let blobs = self.read_chunks(&chunk_keys(seg, &needed))?;
        let arrays: Vec<ArrayRef> = decode_columns(seg, &blobs, &table.meta, &needed)?
            .iter()
            .map(|a| arrow::compute::take(a.as_ref(), &offsets, None))
            .collect::<Result<_, _>>()?;
        let mut masks: Vec<BooleanArray> = Vec::new();
        if let Some(d) = &seg.deleted {
            masks.push(offsets.values().iter().map(|&o| Some(!d.value(o as usize))).collect());
        }
        if let Some(v) = version {
            masks.push(v.mask(arrays[pos(v.created)].as_ref(), arrays[pos(v.deleted)].as_ref())?);
        }
        if let Some(ex) = &req.exclude {
            masks.push(ids.iter().map(|r| Some(!ex.contains(r))).collect());
        }
        for p in &req.predicates {
            masks.push(p.evaluate(arrays[pos(p.column())].as_ref())?);
        }
        let mut mask: Option<BooleanArray> = None;
        for m in masks {
            mask = Some(match mask {
                Some(prev) => and(&prev, &m)?,
                None => m,
            });
        }
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

#[cfg(test)]
mod tests {
    use crate::{ColumnMeta, ScanRequest, Store, TableMeta};
    use arrow::array::{Array, Int64Array, RecordBatch, UInt64Array};
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
            .create_table(TableMeta::new("t", vec![ColumnMeta::new("a", DataType::Int64, true)]))
            .unwrap();
        let schema = w.version().table(id).unwrap().meta.schema();
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..35))])
                .unwrap();
        w.append(id, &batch).unwrap();
        w.delete(id, &[12]).unwrap();
        w.commit().unwrap();
        let v = store.current();
        let t = v.table(id).unwrap();
        let req = ScanRequest { with_row_ids: true, ..Default::default() };
        let got = store.scan_rows(t, &req, &[3, 12, 13, 29, 34, 99]).unwrap();
        let ids: Vec<u64> = got
            .iter()
            .flat_map(|b| {
                let c = b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap();
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
}
