//! Row changes inside a [`WriteTxn`]: append, update by row id, delete by row id.
//!
//! New rows go to new segments. Small trailing segments are merged like a
//! binary counter (a segment is merged into its predecessor once it is at
//! least as large), so single-row appends cost O(log chunk_rows) rewrites per
//! row and a table keeps at most about log2(chunk_rows) small segments at its tail.

use crate::catalog::TableId;
use crate::chunk;
use crate::error::{Error, Result};
use crate::patch::{ChunkPatch, fold_threshold};
use crate::scan::{chunk_keys, decode_columns};
use crate::stats::ChunkStats;
use crate::store::WriteTxn;
use crate::table::{ColumnChunk, Segment, SegmentBody, TableData};
use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::buffer::BooleanBuffer;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Segments of an append encoded together (in parallel) before their blobs
/// are queued: bounds the encoded bytes held at once.
const APPEND_GROUP: usize = 8;

/// A group's encoded chunks: per segment, per column, statistics and blob.
type EncodedGroup = Vec<Vec<(ChunkStats, Vec<u8>)>>;

impl WriteTxn<'_> {
    /// Appends rows; returns the row id of the first one (the rest follow in order).
    ///
    /// Columns are matched by position and cast to the table's types when they
    /// differ (for example `Utf8View` to `Utf8`).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a wrong column count, an impossible cast, or a NULL
    /// in a NOT NULL column.
    pub fn append(&mut self, id: TableId, batch: &RecordBatch) -> Result<u64> {
        let table = self.work.table(id).ok_or_else(|| Error::NotFound(format!("table {id}")))?;
        let columns = conform(table, batch.columns())?;
        let first = table.next_row_id;
        let rows = batch.num_rows();
        if rows == 0 {
            return Ok(first);
        }
        let cap = self.store.inner.options.chunk_rows.max(1);
        let pieces: Vec<(usize, usize)> =
            (0..rows).step_by(cap).map(|start| (start, cap.min(rows - start))).collect();
        // Statistics and chunk encoding (copy + checksum) of a group of
        // segments run on rayon, one task per (segment, column); the blobs
        // are then queued in order. The next group is encoded (on another
        // thread, with rayon) while this one is queued and possibly written,
        // so the file write overlaps the encoding.
        let columns = &columns;
        let encode = |group: &[(usize, usize)]| -> Result<EncodedGroup> {
            group
                .par_iter()
                .map(|&(start, len)| {
                    columns
                        .par_iter()
                        .map(|c| {
                            let piece = c.slice(start, len);
                            Ok((
                                ChunkStats::compute(piece.as_ref()),
                                chunk::encode(piece.as_ref())?,
                            ))
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .collect()
        };
        let encode = &encode;
        let groups: Vec<&[(usize, usize)]> = pieces.chunks(APPEND_GROUP).collect();
        let mut ready = match groups.first() {
            Some(g) => Some(encode(g)?),
            None => None,
        };
        for (gi, group) in groups.iter().enumerate() {
            let Some(encoded) = ready.take() else { break };
            let next = groups.get(gi + 1).copied();
            ready = std::thread::scope(|s| -> Result<Option<EncodedGroup>> {
                let handle = next.map(|g| s.spawn(move || encode(g)));
                let queued = self.queue_segments(id, first, group, encoded);
                let next_encoded = match handle {
                    Some(h) => Some(h.join().map_err(|_| {
                        Error::Io(std::io::Error::other("encoding column chunks panicked"))
                    })??),
                    None => None,
                };
                queued?;
                Ok(next_encoded)
            })?;
        }
        self.table_mut(id)?.next_row_id = first + rows as u64;
        self.merge_tail(id)?;
        Ok(first)
    }

    /// Queues the encoded chunks of `group` (segments of an append starting
    /// at row id `first`) and adds the segments to the table.
    fn queue_segments(
        &mut self,
        id: TableId,
        first: u64,
        group: &[(usize, usize)],
        encoded: EncodedGroup,
    ) -> Result<()> {
        for (&(start, len), cols) in group.iter().zip(encoded) {
            let mut chunks = Vec::with_capacity(cols.len());
            for (stats, bytes) in cols {
                let key = self.put_blob(bytes)?;
                chunks.push(ColumnChunk { key, stats, patch: None });
            }
            let body = SegmentBody { columns: chunks, deleted: None, row_map: None };
            let seg = Segment::new(first + start as u64, len as u64, body);
            self.table_mut(id)?.segments_mut()?.push(Arc::new(seg));
        }
        Ok(())
    }

    /// Writes the chunks of a new segment.
    fn write_segment(
        &mut self,
        first_row_id: u64,
        columns: &[ArrayRef],
        deleted: Option<BooleanBuffer>,
    ) -> Result<Segment> {
        let row_count = columns.first().map_or(0, |c| c.len()) as u64;
        let mut chunks = Vec::with_capacity(columns.len());
        for col in columns {
            let stats = ChunkStats::compute(col.as_ref());
            let key = self.put_blob(chunk::encode(col.as_ref())?)?;
            chunks.push(ColumnChunk { key, stats, patch: None });
        }
        let deleted = deleted.filter(|d| d.count_set_bits() > 0);
        Ok(Segment::new(
            first_row_id,
            row_count,
            SegmentBody { columns: chunks, deleted, row_map: None },
        ))
    }

    /// Merges trailing segments while the last is at least as large as the one
    /// before it and both are below the chunk size.
    fn merge_tail(&mut self, id: TableId) -> Result<()> {
        let cap = self.store.inner.options.chunk_rows as u64;
        loop {
            let segs = &self
                .work
                .table(id)
                .ok_or_else(|| Error::NotFound(format!("table {id}")))?
                .segments()?;
            let n = segs.len();
            if n < 2 {
                return Ok(());
            }
            let (a, b) = (&segs[n - 2], &segs[n - 1]);
            if a.row_count >= cap || b.row_count >= cap || a.row_count > b.row_count {
                return Ok(());
            }
            // Only two dense, adjacent segments concatenate into one: a
            // vacuum may have compacted a segment or dropped one in between.
            let adjacent = a.first_row_id + a.row_count == b.first_row_id;
            if !adjacent || !a.is_dense() || !b.is_dense() {
                return Ok(());
            }
            let (a, b) = (Arc::clone(a), Arc::clone(b));
            let (ba, bb) = (a.body()?, b.body()?);
            let ncols = ba.columns.len();
            let all: Vec<usize> = (0..ncols).collect();
            let meta = self.work.tables_meta(id)?;
            let ca = decode_columns(ba, &self.read_chunks(&chunk_keys(ba, &all))?, &meta, &all)?;
            let cb = decode_columns(bb, &self.read_chunks(&chunk_keys(bb, &all))?, &meta, &all)?;
            let merged: Vec<ArrayRef> = ca
                .iter()
                .zip(&cb)
                .map(|(x, y)| arrow::compute::concat(&[x.as_ref(), y.as_ref()]))
                .collect::<Result<_, _>>()?;
            let deleted = concat_deleted(&a, ba, &b, bb);
            let total = a.row_count + b.row_count;
            let first_len = total.min(cap) as usize;
            let mut new_segs = Vec::new();
            let head: Vec<ArrayRef> = merged.iter().map(|c| c.slice(0, first_len)).collect();
            let head_del = deleted.as_ref().map(|d| d.slice(0, first_len));
            new_segs.push(self.write_segment(a.first_row_id, &head, head_del)?);
            if (first_len as u64) < total {
                let rest = total as usize - first_len;
                let tail: Vec<ArrayRef> = merged.iter().map(|c| c.slice(first_len, rest)).collect();
                let tail_del = deleted.as_ref().map(|d| d.slice(first_len, rest));
                new_segs.push(self.write_segment(
                    a.first_row_id + first_len as u64,
                    &tail,
                    tail_del,
                )?);
            }
            let t = self.table_mut(id)?;
            let segs = t.segments_mut()?;
            segs.truncate(n - 2);
            segs.extend(new_segs.into_iter().map(Arc::new));
            if segs.len() == n {
                // The pair became a full segment and a remainder: stop, the
                // remainder is smaller than the full one before it.
                return Ok(());
            }
        }
    }

    /// Overwrites `column` at the given rows with `values` (one per row id, in order).
    ///
    /// # Errors
    /// [`Error::NotFound`] for a row id that does not exist or is deleted,
    /// [`Error::Invalid`] for mismatched lengths, types or a NULL in a NOT NULL column.
    pub fn update(
        &mut self,
        id: TableId,
        column: usize,
        row_ids: &[u64],
        values: &ArrayRef,
    ) -> Result<()> {
        if row_ids.len() != values.len() {
            return Err(Error::Invalid("update needs one value per row id".into()));
        }
        let table =
            Arc::clone(self.work.table(id).ok_or_else(|| Error::NotFound(format!("table {id}")))?);
        let col_meta = table.meta.columns.get(column).ok_or_else(|| {
            Error::Invalid(format!("table {} has no column {column}", table.meta.name))
        })?;
        let values = conform_column(col_meta, values)?;
        self.rewritten.push((id, Some(column)));
        for (seg_idx, items) in group_by_segment(&table, row_ids)? {
            let seg = &table.segments()?[seg_idx];
            let old = &seg.body()?.columns[column];
            let patch = ChunkPatch::merged(old.patch.as_deref(), &items, &values)?;
            let blobs = self.read_chunks(&[old.key])?;
            let new_chunk = if patch.offsets.len() > fold_threshold(seg.row_count) {
                // Fold the patch into a freshly written chunk with exact statistics.
                let base = crate::chunk::decode(&blobs[0], &col_meta.data_type)?;
                let full = patch.apply(&base)?;
                let stats = ChunkStats::compute(full.as_ref());
                let key = self.put_blob(chunk::encode(full.as_ref())?)?;
                ColumnChunk { key, stats, patch: None }
            } else {
                // Keep the chunk; the null count stays exact, min/max widen.
                // Only the chunk's validity is needed: no decode (and no UTF-8
                // check) of its values.
                let (rows, nulls, _) = crate::chunk::decode_parts(&blobs[0])?;
                if patch.offsets.last().is_some_and(|&o| o as usize >= rows) {
                    return Err(Error::Corrupt("a chunk patch does not fit its chunk".into()));
                }
                let is_null = |o: u32| nulls.as_ref().is_some_and(|n| n.is_null(o as usize));
                let base_nulls_patched =
                    patch.offsets.iter().filter(|&&o| is_null(o)).count() as u64;
                let base_nulls = nulls.as_ref().map_or(0, |n| n.null_count()) as u64;
                let patch_stats = ChunkStats::compute(patch.values.as_ref());
                let mut stats = old.stats.widened(&patch_stats);
                stats.null_count =
                    base_nulls - base_nulls_patched + patch.values.null_count() as u64;
                ColumnChunk { key: old.key, stats, patch: Some(Arc::new(patch)) }
            };
            let t = self.table_mut(id)?;
            Arc::make_mut(&mut t.segments_mut()?[seg_idx])
                .modify(|b| b.columns[column] = new_chunk)?;
        }
        Ok(())
    }

    /// Deletes rows by id.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a row id that does not exist or is already deleted.
    pub fn delete(&mut self, id: TableId, row_ids: &[u64]) -> Result<()> {
        let table =
            Arc::clone(self.work.table(id).ok_or_else(|| Error::NotFound(format!("table {id}")))?);
        for (seg_idx, items) in group_by_segment(&table, row_ids)? {
            let seg = &table.segments()?[seg_idx];
            let mut bits = match &seg.body()?.deleted {
                Some(d) => d.iter().collect::<Vec<bool>>(),
                None => vec![false; seg.row_count as usize],
            };
            for (offset, _) in items {
                bits[offset] = true;
            }
            let t = self.table_mut(id)?;
            let bits = BooleanBuffer::from(bits);
            Arc::make_mut(&mut t.segments_mut()?[seg_idx]).modify(|b| b.deleted = Some(bits))?;
        }
        Ok(())
    }
}

impl crate::store::Version {
    pub(crate) fn tables_meta(&self, id: TableId) -> Result<Arc<crate::catalog::TableMeta>> {
        Ok(Arc::clone(&self.table(id).ok_or_else(|| Error::NotFound(format!("table {id}")))?.meta))
    }
}

/// Groups row ids by segment: segment index → (offset in segment, position in the input).
fn group_by_segment(
    table: &TableData,
    row_ids: &[u64],
) -> Result<BTreeMap<usize, Vec<(usize, usize)>>> {
    let mut groups: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, &rid) in row_ids.iter().enumerate() {
        let missing = || Error::NotFound(format!("row {rid} of table {}", table.meta.name));
        let s = table.segment_of(rid)?.ok_or_else(missing)?;
        let seg = &table.segments()?[s];
        let off = seg.offset_of(rid)?.ok_or_else(missing)?;
        if seg.body()?.deleted.as_ref().is_some_and(|d| d.value(off)) {
            return Err(missing());
        }
        groups.entry(s).or_default().push((off, i));
    }
    Ok(groups)
}

fn concat_deleted(
    a: &Segment,
    ba: &SegmentBody,
    b: &Segment,
    bb: &SegmentBody,
) -> Option<BooleanBuffer> {
    if ba.deleted.is_none() && bb.deleted.is_none() {
        return None;
    }
    let bits = |s: &Segment, body: &SegmentBody| match &body.deleted {
        Some(d) => d.iter().collect::<Vec<bool>>(),
        None => vec![false; s.row_count as usize],
    };
    let mut all = bits(a, ba);
    all.extend(bits(b, bb));
    Some(BooleanBuffer::from(all))
}

/// Checks and casts a batch's columns to the table's column types.
fn conform(table: &TableData, columns: &[ArrayRef]) -> Result<Vec<ArrayRef>> {
    if columns.len() != table.meta.columns.len() {
        return Err(Error::Invalid(format!(
            "table {} has {} columns, the rows {}",
            table.meta.name,
            table.meta.columns.len(),
            columns.len()
        )));
    }
    table.meta.columns.iter().zip(columns).map(|(m, c)| conform_column(m, c)).collect()
}

fn conform_column(meta: &crate::catalog::ColumnMeta, col: &ArrayRef) -> Result<ArrayRef> {
    let col = if col.data_type() == &meta.data_type {
        Arc::clone(col)
    } else {
        arrow::compute::cast(col, &meta.data_type).map_err(|e| {
            Error::Invalid(format!(
                "column {}: cannot store {} as {}: {e}",
                meta.name,
                col.data_type(),
                meta.data_type
            ))
        })?
    };
    if !meta.nullable && col.null_count() > 0 {
        return Err(Error::Invalid(format!("NOT NULL constraint failed: column {}", meta.name)));
    }
    Ok(col)
}
