//! Vacuum: the live state of the database written into a fresh backend,
//! which then replaces the old one.
//!
//! simd-r-drive's own `compact()` is not used (it reorders entries, recurses
//! per entry, and loses writes made after it). Instead:
//!
//! ```text
//!  1. under the writer lock, take the current version V
//!  2. start a rewrite: an empty backend (for files: <db>.vacuum)
//!  3. write into it: header (first, so at offset 0), then every record V
//!     reaches — chunks copied under their keys, patched chunks folded and
//!     compacted segments written under fresh keys, segments without a live
//!     row left out — then segments, manifests, the catalog
//!  4. sync; write the commit record (seq + 1); sync
//!  5. install: for files fsync, rename <db>.vacuum over <db>, fsync the dir
//!  6. switch the store to the new backend and publish the new version
//! ```
//!
//! A crash before 5 leaves the old file, complete, and a stale
//! `<db>.vacuum` that the next open removes; after the rename the new file
//! is complete (it was durable before its name replaced the old one). Tables
//! of older versions pin the old backend, so their readers (and zero-copy
//! buffers, which hold their own map) keep working until they are dropped.

use crate::chunk;
use crate::error::{Error, Result};
use crate::pager::{Location, Pager, Placement};
use crate::stats::ChunkStats;
use crate::store::{COMMIT_KEY, FLUSH_BYTES, HEADER_KEY, Store, Version};
use crate::table::{
    ColumnChunk, GenerationPin, RowMap, Segment, SegmentBody, SegmentList, TableData,
};
use arrow::array::BooleanArray;
use arrow::buffer::{BooleanBuffer, Buffer};
use arrow::compute::FilterBuilder;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What a [`Store::vacuum`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumStats {
    /// Backend size before (the file size for files).
    pub bytes_before: u64,
    /// Backend size after.
    pub bytes_after: u64,
    /// Segments left out because none of their rows was live.
    pub segments_dropped: u64,
    /// Deleted rows physically removed.
    pub rows_dropped: u64,
    /// Chunks written anew (patches folded, deleted rows dropped).
    pub chunks_rewritten: u64,
    /// Chunks copied unchanged.
    pub chunks_copied: u64,
}

/// Records queued for the new backend, written in batches.
struct Sink {
    pager: Arc<dyn Pager>,
    pending: Vec<(u64, Buffer)>,
    bytes: usize,
    /// Where the queued records land in the new file.
    placement: Placement,
}

impl Sink {
    fn new(pager: &Arc<dyn Pager>) -> Self {
        let placement = Placement::new(pager.as_ref());
        Self { pager: Arc::clone(pager), pending: Vec::new(), bytes: 0, placement }
    }

    fn put(&mut self, key: u64, blob: Buffer) -> Result<()> {
        self.bytes += blob.len();
        self.placement.place(key, blob.len());
        self.pending.push((key, blob));
        if self.bytes >= FLUSH_BYTES { self.flush() } else { Ok(()) }
    }

    /// The location of a record in the new file (queued or written).
    fn locate(&self, key: u64) -> Option<Location> {
        self.placement.get(self.pager.as_ref(), key)
    }

    fn flush(&mut self) -> Result<()> {
        let entries: Vec<(u64, &[u8])> =
            self.pending.iter().map(|(k, b)| (*k, b.as_slice())).collect();
        self.pager.write(&entries)?;
        self.placement.check(self.pager.as_ref())?;
        self.pending.clear();
        self.bytes = 0;
        Ok(())
    }
}

impl Store {
    /// Rewrites the database with only what its last commit reaches: chunks
    /// superseded by updates disappear, patches are folded into their chunks,
    /// and segments whose rows are all deleted are dropped. Row ids do not
    /// change. Writers wait; readers do not, and tables of older versions stay
    /// readable.
    ///
    /// # Errors
    /// I/O errors. Before the new file replaces the old one, a failure leaves
    /// the database as it was. A failure of the replacement itself leaves the
    /// old or the new database, both complete; the store then refuses writes
    /// ([`Error::PreviousIo`]) until reopened.
    pub fn vacuum(&self) -> Result<VacuumStats> {
        let _writer = self.inner.writer.lock();
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(Error::PreviousIo);
        }
        self.release_retired();
        let current = self.current();
        let mut stats = VacuumStats { bytes_before: self.size_bytes()?, ..Default::default() };
        let rewrite = self.pager().start_rewrite()?;
        let fresh = rewrite.pager();
        let generation = GenerationPin::default();
        let version = match self.copy_live(&current, &fresh, &generation, &mut stats) {
            Ok(v) => v,
            Err(e) => {
                rewrite.abandon();
                return Err(e);
            }
        };
        if let Err(e) = rewrite.install() {
            // Whether the rename happened is unknown: build on neither file.
            self.inner.poisoned.store(true, Ordering::Release);
            return Err(e);
        }
        self.switch_pager(Arc::clone(&fresh), generation);
        *self.inner.current.write() = Arc::new(version);
        stats.bytes_after = fresh.size_bytes()?;
        Ok(stats)
    }

    /// Writes everything `current` reaches into `fresh`; returns the version
    /// that describes `fresh`.
    fn copy_live(
        &self,
        current: &Version,
        fresh: &Arc<dyn Pager>,
        generation: &GenerationPin,
        stats: &mut VacuumStats,
    ) -> Result<Version> {
        let mut v = current.clone();
        let mut sink = Sink::new(fresh);
        let mut header = crate::pager::file::FILE_MAGIC.to_vec();
        header.extend_from_slice(&crate::FORMAT_VERSION.to_le_bytes());
        sink.put(HEADER_KEY, Buffer::from_vec(header))?;
        sink.flush()?;
        let mut next_key = v.next_key;
        let mut alloc = || {
            let k = next_key;
            next_key += 1;
            k
        };
        let ids: Vec<_> = v.tables_mut().keys().copied().collect();
        for id in ids {
            let Some(old) = current.table(id) else { continue };
            let mut table = TableData {
                segs: SegmentList::default(),
                list_key: 0,
                list_location: None,
                generation: generation.clone(),
                ..(**old).clone()
            };
            for seg in old.segments()? {
                if seg.live_rows() == 0 {
                    stats.segments_dropped += 1;
                    stats.rows_dropped += seg.row_count;
                    continue;
                }
                let mut seg = self.compact_segment(old, seg, &mut alloc, &mut sink, stats)?;
                seg.key = alloc();
                let record = seg.encode(&|k| sink.locate(k))?;
                sink.put(seg.key, Buffer::from_vec(record))?;
                table.segments_mut()?.push(Arc::new(seg));
            }
            table.list_key = alloc();
            let list = table.encode_segment_list(&|k| sink.locate(k))?;
            sink.put(table.list_key, Buffer::from_vec(list))?;
            table.list_location = sink.locate(table.list_key);
            table.manifest_key = alloc();
            let manifest = table.encode_manifest(&|k| sink.locate(k));
            sink.put(table.manifest_key, Buffer::from_vec(manifest))?;
            v.tables_mut().insert(id, Arc::new(table));
            sink.flush()?;
        }
        let catalog_key = alloc();
        v.next_key = next_key;
        let catalog = v.encode_catalog(&|k| sink.locate(k));
        sink.put(catalog_key, Buffer::from_vec(catalog))?;
        v.seq += 1;
        sink.flush()?;
        fresh.sync()?;
        fresh.write(&[(COMMIT_KEY, &v.encode_commit(catalog_key))])?;
        fresh.sync()?;
        Ok(v)
    }

    /// The segment as the new backend holds it: chunks copied under their
    /// keys, or rewritten under fresh keys with patches folded.
    fn compact_segment(
        &self,
        table: &TableData,
        seg: &Segment,
        alloc: &mut impl FnMut() -> u64,
        sink: &mut Sink,
        stats: &mut VacuumStats,
    ) -> Result<Segment> {
        let body = seg.body()?;
        let keys: Vec<u64> = body.columns.iter().map(|c| c.key).collect();
        let blobs = self.read_chunks(&keys)?;
        let mut out = body.clone();
        if let Some(deleted) = body.deleted.as_ref().filter(|d| d.count_set_bits() > 0) {
            return self.drop_deleted_rows(table, seg, deleted, &blobs, alloc, sink, stats);
        }
        for (i, (col, blob)) in body.columns.iter().zip(blobs).enumerate() {
            match &col.patch {
                None => {
                    sink.put(col.key, blob)?;
                    stats.chunks_copied += 1;
                }
                Some(patch) => {
                    let base = chunk::decode(&blob, &table.meta.columns[i].data_type)?;
                    let full = patch.apply(&base)?;
                    let key = alloc();
                    sink.put(key, Buffer::from_vec(chunk::encode(full.as_ref())?))?;
                    let stats_now = ChunkStats::compute(full.as_ref());
                    out.columns[i] = ColumnChunk { key, stats: stats_now, patch: None };
                    stats.chunks_rewritten += 1;
                }
            }
        }
        // A new segment (key 0) with its body: it names nothing of the old backend.
        Ok(Segment::new(seg.first_row_id, seg.row_count, out))
    }

    /// The segment with its deleted rows physically removed: every chunk is
    /// rewritten with the live rows only (patches folded), and a [`RowMap`]
    /// keeps each row's id.
    #[expect(clippy::too_many_arguments, reason = "the vacuum's state, passed down")]
    fn drop_deleted_rows(
        &self,
        table: &TableData,
        seg: &Segment,
        deleted: &BooleanBuffer,
        blobs: &[Buffer],
        alloc: &mut impl FnMut() -> u64,
        sink: &mut Sink,
        stats: &mut VacuumStats,
    ) -> Result<Segment> {
        let keep = BooleanArray::new(!deleted, None);
        let filter = FilterBuilder::new(&keep).optimize().build();
        let old = seg.body()?;
        let mut columns = Vec::with_capacity(old.columns.len());
        for (i, (col, blob)) in old.columns.iter().zip(blobs).enumerate() {
            let base = chunk::decode(blob, &table.meta.columns[i].data_type)?;
            let full = match &col.patch {
                Some(p) => p.apply(&base)?,
                None => base,
            };
            let live = filter.filter(full.as_ref())?;
            let key = alloc();
            sink.put(key, Buffer::from_vec(chunk::encode(live.as_ref())?))?;
            columns.push(ColumnChunk {
                key,
                stats: ChunkStats::compute(live.as_ref()),
                patch: None,
            });
            stats.chunks_rewritten += 1;
        }
        // The span's bits: row ids stored before, minus the deleted ones.
        let span = seg.span() as usize;
        let mut bits = arrow::array::BooleanBufferBuilder::new(span);
        bits.append_n(span, false);
        let ids = seg.row_ids()?;
        for (off, id) in ids.values().iter().enumerate() {
            if !deleted.value(off) {
                bits.set_bit((id - seg.first_row_id) as usize, true);
            }
        }
        let dropped = deleted.count_set_bits() as u64;
        stats.rows_dropped += dropped;
        let body = SegmentBody {
            columns,
            deleted: None,
            row_map: Some(Arc::new(RowMap::new(bits.finish()))),
        };
        Ok(Segment::new(seg.first_row_id, seg.row_count - dropped, body))
    }
}
