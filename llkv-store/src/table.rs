//! A table's data: segments of column chunks, and their on-disk records.
//!
//! A table is a list of [`Segment`]s. A segment holds a contiguous range of row
//! ids, one immutable chunk per column, the chunks' statistics and a bitmap of
//! the rows deleted from it. Segments are recorded in their own blobs so that a
//! change to one rewrites only that segment's record, the table's segment list
//! and its manifest.

use crate::catalog::{TableId, TableMeta};
use crate::codec::{
    Decoder, Encoder, LOCATIONS_TAG, decode_locations, encode_locations, open_sealed, seal,
};
use crate::error::{Error, Result};
use crate::pager::Location;
use crate::pager::Pager;
use crate::patch::ChunkPatch;
use crate::stats::ChunkStats;
use arrow::array::ArrayRef;
use arrow::buffer::BooleanBuffer;
use std::sync::{Arc, OnceLock, Weak};

pub(crate) const SEGMENT_MAGIC: [u8; 4] = *b"LKSG";
pub(crate) const MANIFEST_MAGIC: [u8; 4] = *b"LKTM";
pub(crate) const LIST_MAGIC: [u8; 4] = *b"LKSL";

/// Tag of a segment record's optional row-map field.
const ROW_MAP_TAG: u8 = 1;

/// One column's chunk in a segment.
#[derive(Debug, Clone)]
pub struct ColumnChunk {
    /// The chunk blob's key.
    pub key: u64,
    /// Statistics of the chunk's values with the patch laid over them.
    pub stats: ChunkStats,
    /// Changed values kept beside the chunk.
    pub patch: Option<Arc<ChunkPatch>>,
}

/// Which row ids of its span a compacted segment holds: a vacuum drops
/// deleted rows physically, and row ids never change, so the rows left are
/// no longer contiguous. Bit `i` set: row id `first_row_id + i` is stored,
/// at offset = number of set bits before `i`.
#[derive(Debug, Clone)]
pub struct RowMap {
    bits: BooleanBuffer,
    /// Set bits before each block of [`RANK_BLOCK`] bits.
    ranks: Vec<u32>,
}

const RANK_BLOCK: usize = 512;

impl RowMap {
    /// A map over `bits` (one bit per row id of the span).
    pub(crate) fn new(bits: BooleanBuffer) -> Self {
        let mut ranks = Vec::with_capacity(bits.len() / RANK_BLOCK + 1);
        let mut seen = 0u32;
        let mut at = 0;
        while at < bits.len() {
            ranks.push(seen);
            let n = RANK_BLOCK.min(bits.len() - at);
            seen += bits.slice(at, n).count_set_bits() as u32;
            at += n;
        }
        Self { bits, ranks }
    }

    /// Row ids spanned (stored or not).
    pub fn span(&self) -> u64 {
        self.bits.len() as u64
    }

    /// The offset of span position `i`, if that row id is stored.
    fn offset_of(&self, i: usize) -> Option<usize> {
        if i >= self.bits.len() || !self.bits.value(i) {
            return None;
        }
        let block = i / RANK_BLOCK;
        let start = block * RANK_BLOCK;
        Some(self.ranks[block] as usize + self.bits.slice(start, i - start).count_set_bits())
    }

    /// The bits (one per row id of the span).
    pub fn bits(&self) -> &BooleanBuffer {
        &self.bits
    }
}

/// What a segment record holds beyond the summary its table's segment list
/// repeats (row span, deleted count): the chunks, the deletion bitmap and the
/// row map. A segment read from a file decodes it on first use (see [`Segment`]).
#[derive(Debug, Clone)]
pub struct SegmentBody {
    /// One chunk per table column.
    pub columns: Vec<ColumnChunk>,
    /// Bit `i` set: the row at offset `i` is deleted.
    pub deleted: Option<BooleanBuffer>,
    /// For a segment compacted by a vacuum: which row ids of its span it
    /// holds. `None`: the rows are `first_row_id..first_row_id + row_count`.
    pub row_map: Option<Arc<RowMap>>,
}

impl SegmentBody {
    /// Row ids spanned by a segment of `row_count` stored rows with this body.
    fn span(&self, row_count: u64) -> u64 {
        self.row_map.as_ref().map_or(row_count, |m| m.span())
    }

    /// Rows marked in the deletion bitmap.
    fn deleted_rows(&self) -> u64 {
        self.deleted.as_ref().map_or(0, |d| d.count_set_bits() as u64)
    }
}

/// Where a segment not decoded yet finds its record: the backend its table
/// was read from (weakly: a segment never keeps a closed store's file open)
/// and the table's definition (the column types).
pub(crate) struct SegmentSource {
    pub(crate) pager: Weak<dyn Pager>,
    pub(crate) meta: Arc<TableMeta>,
}

impl std::fmt::Debug for SegmentSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSource").field("table", &self.meta.name).finish()
    }
}

/// A range of row ids stored as one chunk per column.
///
/// The row range, the span and the number of deleted rows come from the
/// table's segment list and are always at hand. The rest (chunks with their
/// statistics and patches, the deletion bitmap, the row map) is the
/// [`SegmentBody`]: a segment read from a file at open decodes its record
/// (checksum first) the first time something needs it, and keeps it. A
/// damaged record is reported then, as [`Error::Corrupt`] naming the segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Key of the segment record; 0 while the segment is new or changed and not yet written.
    pub(crate) key: u64,
    /// Row id of the first row.
    pub first_row_id: u64,
    /// Rows stored in the segment, deleted ones included.
    pub row_count: u64,
    /// Row ids spanned (stored or not).
    span: u64,
    /// Rows marked in the deletion bitmap.
    deleted_rows: u64,
    /// The record's file location, when the segment list gave one.
    location: Option<Location>,
    /// Where to decode the body from; `None` once it is set for good.
    source: Option<Arc<SegmentSource>>,
    body: OnceLock<Arc<SegmentBody>>,
    /// The rows every snapshot past the segment's last change sees (see
    /// `settled.rs`); computed by the first scan that needs it.
    settled: OnceLock<Arc<crate::settled::Settled>>,
    /// Variable-width chunks without a patch, decoded once (see
    /// [`Segment::decoded`]), by column index.
    decoded: Arc<crate::decoded::DecodedChunks>,
}

impl Segment {
    /// A segment with its body at hand (new, changed, or decoded eagerly).
    pub(crate) fn new(first_row_id: u64, row_count: u64, body: SegmentBody) -> Self {
        Self {
            key: 0,
            first_row_id,
            row_count,
            span: body.span(row_count),
            deleted_rows: body.deleted_rows(),
            location: None,
            source: None,
            body: OnceLock::from(Arc::new(body)),
            settled: OnceLock::new(),
            decoded: Arc::default(),
        }
    }

    /// A segment whose record is decoded on first use: `span` and `deleted`
    /// as the segment list gives them (the decoded record must agree).
    pub(crate) fn lazy(
        key: u64,
        first_row_id: u64,
        row_count: u64,
        span: u64,
        deleted_rows: u64,
        location: Option<Location>,
        source: Arc<SegmentSource>,
    ) -> Self {
        Self {
            key,
            first_row_id,
            row_count,
            span,
            deleted_rows,
            location,
            source: Some(source),
            body: OnceLock::new(),
            settled: OnceLock::new(),
            decoded: Arc::default(),
        }
    }

    /// Whether the body is decoded (always, but for segments read lazily).
    pub fn is_loaded(&self) -> bool {
        self.body.get().is_some()
    }

    /// The body, decoded from the segment record on first use.
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the segment when its record is missing,
    /// fails its checksum or disagrees with the segment list; [`Error::Invalid`]
    /// when the store the table was read from is closed.
    pub fn body(&self) -> Result<&SegmentBody> {
        if let Some(b) = self.body.get() {
            return Ok(b);
        }
        let decoded = Arc::new(self.load()?);
        Ok(self.body.get_or_init(|| decoded))
    }

    /// Decodes the segment record from its source.
    fn load(&self) -> Result<SegmentBody> {
        let src = self.source.as_ref().ok_or_else(|| {
            Error::Corrupt(format!("segment {} has neither a body nor a record", self.key))
        })?;
        let pager = src.pager.upgrade().ok_or_else(|| {
            Error::Invalid(format!("table {} was read from a store that is closed", src.meta.name))
        })?;
        let damaged = |e: Error| match e {
            Error::Corrupt(m) => Error::Corrupt(format!(
                "segment {} (rows {}..) of table {}: {m}",
                self.key, self.first_row_id, src.meta.name
            )),
            other => other,
        };
        if let Some(loc) = self.location {
            pager.learn(&[(self.key, loc)]);
        }
        let blob = crate::pager::read_one(pager.as_ref(), self.key)?
            .ok_or_else(|| damaged(Error::Corrupt("the record is missing".into())))?;
        let (seg, locations) =
            Segment::decode(self.key, blob.as_slice(), &src.meta).map_err(damaged)?;
        if seg.first_row_id != self.first_row_id
            || seg.row_count != self.row_count
            || seg.span != self.span
            || seg.deleted_rows != self.deleted_rows
        {
            return Err(damaged(Error::Corrupt(
                "the record does not match the segment list".into(),
            )));
        }
        pager.learn(&locations);
        let body = seg
            .body
            .into_inner()
            .ok_or_else(|| damaged(Error::Corrupt("the record decoded to no body".into())))?;
        Ok(Arc::unwrap_or_clone(body))
    }

    /// Changes the body (decoding it first if needed); the segment becomes
    /// new (key 0, to be written at commit) and its summary follows the change.
    ///
    /// # Errors
    /// As for [`Segment::body`].
    pub(crate) fn modify<R>(&mut self, f: impl FnOnce(&mut SegmentBody) -> R) -> Result<R> {
        let mut body = self.body()?.clone();
        let r = f(&mut body);
        *self = Segment::new(self.first_row_id, self.row_count, body);
        Ok(r)
    }

    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        self.row_count - self.deleted_rows
    }

    /// The settled visibility for `v` (which must settle this segment),
    /// computed on first use from the `deleted` column that `read` gives.
    pub(crate) fn settled(
        &self,
        v: &crate::scan::VersionFilter,
        body: &SegmentBody,
        budget: &Arc<std::sync::atomic::AtomicUsize>,
        read: impl FnOnce() -> Result<arrow::array::ArrayRef>,
    ) -> Result<Option<Arc<crate::settled::Settled>>> {
        if let Some(s) = self.settled.get() {
            return Ok(s.fits(v).then(|| Arc::clone(s)));
        }
        let computed =
            crate::settled::Settled::compute(v, body, read()?.as_ref(), Arc::clone(budget))?;
        let s = self.settled.get_or_init(|| Arc::new(computed));
        Ok(s.fits(v).then(|| Arc::clone(s)))
    }

    /// Column `c`'s `array`, read from this segment, with `Utf8` as
    /// `Utf8View`; built once per segment when `array` is the kept decoded
    /// chunk (see `decoded.rs`).
    pub(crate) fn string_view(&self, c: usize, array: &ArrayRef) -> ArrayRef {
        self.decoded.string_view(c, array)
    }

    /// Column `c`'s chunk as decoded by an earlier scan (see [`Segment::keep_decoded`]).
    pub(crate) fn decoded(&self, c: usize) -> Option<ArrayRef> {
        self.decoded.get(c)
    }

    /// Keeps column `c`'s decoded chunk `array` for later scans when its type
    /// has variable-width values and the chunk has no patch. Decoding a chunk
    /// validates its buffers against the column type, which for strings
    /// means checking every offset and the UTF-8 of every value: per scan
    /// that cost as much as a query's own work on short strings. Such an
    /// array is a zero-copy view of the file's bytes, so keeping it copies no
    /// data; the segment is immutable (a change makes a new one), so it stays
    /// right for the segment's life. A patched chunk's array is a copy and is
    /// not kept.
    pub(crate) fn keep_decoded(&self, c: usize, chunk: &ColumnChunk, array: &ArrayRef) {
        if chunk.patch.is_none() && crate::chunk::is_variable_width(array.data_type()) {
            self.decoded.keep(c, array);
        }
    }

    /// Rows marked in the deletion bitmap.
    pub fn deleted_rows(&self) -> u64 {
        self.deleted_rows
    }

    /// Row ids spanned: `first_row_id + span()` is past the last one.
    pub fn span(&self) -> u64 {
        self.span
    }

    /// Whether the segment's rows are `first_row_id..first_row_id + row_count`
    /// (no row map); known without the body.
    pub fn is_dense(&self) -> bool {
        self.span == self.row_count
    }

    /// Whether `row_id` is stored in this segment.
    ///
    /// # Errors
    /// As for [`Segment::body`] (read only for a segment compacted by a vacuum).
    pub fn contains(&self, row_id: u64) -> Result<bool> {
        Ok(self.offset_of(row_id)?.is_some())
    }

    /// The offset (in the chunks) of `row_id`, if this segment stores it.
    ///
    /// # Errors
    /// As for [`Segment::body`] (read only for a segment compacted by a vacuum).
    pub fn offset_of(&self, row_id: u64) -> Result<Option<usize>> {
        let Some(i) = row_id.checked_sub(self.first_row_id) else { return Ok(None) };
        if i >= self.span {
            return Ok(None);
        }
        if self.is_dense() {
            return Ok(Some(i as usize));
        }
        Ok(match &self.body()?.row_map {
            None => Some(i as usize),
            Some(m) => m.offset_of(i as usize),
        })
    }

    /// The row id of every stored row, in offset order.
    ///
    /// # Errors
    /// As for [`Segment::body`] (read only for a segment compacted by a vacuum).
    pub fn row_ids(&self) -> Result<arrow::array::UInt64Array> {
        let first = self.first_row_id;
        let map = if self.is_dense() { None } else { self.body()?.row_map.as_ref() };
        Ok(match map {
            None => arrow::array::UInt64Array::from_iter_values(first..first + self.row_count),
            Some(m) => arrow::array::UInt64Array::from_iter_values(
                m.bits.set_indices().map(|i| first + i as u64),
            ),
        })
    }

    /// The segment record; `locate` gives the chunks' file locations, when known.
    pub(crate) fn encode(&self, locate: &dyn Fn(u64) -> Option<Location>) -> Result<Vec<u8>> {
        let body = self.body()?;
        let mut e = Encoder::default();
        e.u64(self.first_row_id);
        e.u64(self.row_count);
        e.u64(body.columns.len() as u64);
        for c in &body.columns {
            e.u64(c.key);
            c.stats.encode(&mut e)?;
            match &c.patch {
                Some(p) => {
                    e.u8(1);
                    e.u64(p.offsets.len() as u64);
                    for &o in &p.offsets {
                        e.u32(o);
                    }
                    e.bytes(&crate::chunk::encode(p.values.as_ref())?);
                }
                None => e.u8(0),
            }
        }
        match &body.deleted {
            Some(bits) => {
                e.u8(1);
                e.bytes(bits.sliced().as_slice());
            }
            None => e.u8(0),
        }
        // Optional trailing field (absent in records written before vacuum existed).
        if let Some(m) = &body.row_map {
            e.u8(ROW_MAP_TAG);
            e.u64(m.span());
            e.bytes(m.bits.sliced().as_slice());
        }
        let keys: Vec<u64> = body.columns.iter().map(|c| c.key).collect();
        encode_locations(&mut e, &keys, locate);
        Ok(seal(SEGMENT_MAGIC, &e.buf))
    }

    /// Decodes a segment record, with the chunk locations it carries.
    pub(crate) fn decode(
        key: u64,
        bytes: &[u8],
        meta: &TableMeta,
    ) -> Result<(Self, Vec<(u64, Location)>)> {
        let body = open_sealed(SEGMENT_MAGIC, bytes, "segment")?;
        let mut d = Decoder::new(body, "segment");
        let first_row_id = d.u64()?;
        let row_count = d.u64()?;
        let n = d.count(17)?;
        if n != meta.columns.len() {
            return Err(Error::Corrupt(format!(
                "segment of table {} has {n} columns, the table {}",
                meta.name,
                meta.columns.len()
            )));
        }
        let mut columns = Vec::with_capacity(n);
        for c in &meta.columns {
            let key = d.u64()?;
            let stats = ChunkStats::decode(&mut d, &c.data_type)?;
            if stats.row_count != row_count {
                return Err(Error::Corrupt("segment chunk has the wrong row count".into()));
            }
            let patch = match d.u8()? {
                0 => None,
                _ => {
                    let n = d.count(4)?;
                    let offsets = (0..n).map(|_| d.u32()).collect::<Result<Vec<u32>>>()?;
                    let bytes = d.bytes()?;
                    crate::chunk::verify(bytes)?;
                    let mut buf = arrow::buffer::MutableBuffer::new(bytes.len());
                    buf.extend_from_slice(bytes);
                    let values = crate::chunk::decode(&buf.into(), &c.data_type)?;
                    if values.len() != n || offsets.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(Error::Corrupt("segment holds an invalid chunk patch".into()));
                    }
                    Some(Arc::new(ChunkPatch { offsets, values }))
                }
            };
            columns.push(ColumnChunk { key, stats, patch });
        }
        let deleted = match d.u8()? {
            0 => None,
            _ => {
                let bytes = d.bytes()?;
                if (bytes.len() as u64) * 8 < row_count {
                    return Err(Error::Corrupt("segment deletion bitmap is too short".into()));
                }
                let buf = arrow::buffer::Buffer::from(bytes.to_vec());
                Some(BooleanBuffer::new(buf, 0, row_count as usize))
            }
        };
        // Optional trailing fields, each behind a tag.
        let mut row_map = None;
        let mut locations = Vec::new();
        while !d.at_end() {
            match d.u8()? {
                ROW_MAP_TAG if row_map.is_none() => {
                    let span = d.u64()?;
                    let bytes = d.bytes()?;
                    if (bytes.len() as u64).saturating_mul(8) < span {
                        return Err(Error::Corrupt("segment row map is too short".into()));
                    }
                    let bits = BooleanBuffer::new(bytes.to_vec().into(), 0, span as usize);
                    if bits.count_set_bits() as u64 != row_count {
                        return Err(Error::Corrupt(
                            "segment row map does not match its rows".into(),
                        ));
                    }
                    row_map = Some(Arc::new(RowMap::new(bits)));
                }
                LOCATIONS_TAG if locations.is_empty() => {
                    let keys: Vec<u64> = columns.iter().map(|c| c.key).collect();
                    locations = decode_locations(&mut d, &keys)?;
                }
                tag => {
                    return Err(Error::Corrupt(format!(
                        "segment record has a bad field tag {tag}"
                    )));
                }
            }
        }
        let mut seg = Self::new(first_row_id, row_count, SegmentBody { columns, deleted, row_map });
        seg.key = key;
        Ok((seg, locations))
    }
}

/// A table as of one version of the store.
#[derive(Debug, Clone)]
pub struct TableData {
    /// The table's id.
    pub id: TableId,
    /// The table's definition.
    pub meta: Arc<TableMeta>,
    /// Segments in row-id order (see [`TableData::segments`]).
    pub(crate) segs: SegmentList,
    /// The id the next appended row gets.
    pub next_row_id: u64,
    /// Key of the manifest record; 0 while changed and not yet written.
    pub(crate) manifest_key: u64,
    /// Key of the segment list record; 0 while the segments changed and
    /// the list is not yet written.
    pub(crate) list_key: u64,
    /// The segment list record's file location, when known.
    pub(crate) list_location: Option<Location>,
    /// The backend generation this table was read from or written to: while
    /// it lives, the store keeps a backend replaced by a vacuum readable.
    #[expect(dead_code, reason = "held, never read: its count is what matters")]
    pub(crate) generation: GenerationPin,
}

/// A token of one backend generation (the store replaces its backend on vacuum).
#[derive(Debug, Clone, Default)]
pub(crate) struct GenerationPin(pub(crate) Arc<()>);

/// A table's segments: for a table read at open, built from its segment
/// list record (read and checked on first use) the first time they are asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct SegmentList {
    pub(crate) built: OnceLock<Vec<Arc<Segment>>>,
    pending: Option<Arc<PendingSegments>>,
}

/// A table's segment list not read yet: what its manifest says about it.
struct PendingSegments {
    /// Segment count and live rows, from the manifest (the list must agree).
    n: usize,
    live_rows: u64,
    table_id: TableId,
    /// The segment list record's key and location.
    key: u64,
    location: Option<Location>,
    source: Arc<SegmentSource>,
    /// The list record with its header checked (a failure is not kept).
    record: OnceLock<ListRecord>,
    /// Segments handed out one by one before the list was built (a row
    /// read), reused when it is, so no record is decoded twice.
    made: parking_lot::Mutex<std::collections::HashMap<usize, Arc<Segment>>>,
}

impl std::fmt::Debug for PendingSegments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSegments").field("n", &self.n).field("key", &self.key).finish()
    }
}

/// A segment list record whose header is checked; its pages are checked
/// one by one on first use.
struct ListRecord {
    buf: arrow::buffer::Buffer,
    /// Where the header body (after the seal's frame) and the pages start.
    header_at: usize,
    pages_at: usize,
    page_size: usize,
    pages: usize,
    /// Set once page `j` passed its checks.
    checked: Vec<OnceLock<()>>,
}

/// The little-endian u64 at `at` of `b` (0 past the end: lengths are checked
/// when the list record is read).
fn word(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()).map_or(0, u64::from_le_bytes)
}

/// Size of a sealed record's frame (see `codec::seal`).
const SEAL_FRAME: usize = 24;
/// Segments per page of a segment list: a row read checks one page.
const LIST_PAGE: usize = 64;
/// Segment list header: table id, segment count, page size, page count,
/// then per page its checksum, first row id, end row id and live rows.
const LIST_HEAD: usize = 32;
const PAGE_HEAD: usize = 32;
/// Per segment in a page: the entry (key, first row id, rows), then the
/// location (offset, length; `(0, 0)` unknown), then the summary (span,
/// deleted rows); a page holds its entries, then its locations, then its summaries.
const ENTRY: usize = 24;
const LOC: usize = 16;
const SUMMARY: usize = 16;
const PER_SEGMENT: usize = ENTRY + LOC + SUMMARY;

impl ListRecord {
    fn bytes(&self) -> &[u8] {
        self.buf.as_slice()
    }
    /// Page `j`'s header field `f` (0 checksum, 1 first row id, 2 end, 3 live).
    fn page_field(&self, j: usize, f: usize) -> u64 {
        word(self.bytes(), self.header_at + LIST_HEAD + j * PAGE_HEAD + f * 8)
    }
    /// Segments in page `j`, and where its bytes start.
    fn page_span(&self, j: usize, n: usize) -> (usize, usize) {
        let count = self.page_size.min(n - j * self.page_size);
        (count, self.pages_at + j * self.page_size * PER_SEGMENT)
    }
}

impl PendingSegments {
    fn damaged(&self, m: &str) -> Error {
        Error::Corrupt(format!("segment list {} of table {}: {m}", self.key, self.source.meta.name))
    }

    /// The list record with its header checked, read on first use.
    fn record(&self) -> Result<&ListRecord> {
        if let Some(r) = self.record.get() {
            return Ok(r);
        }
        let record = self.load()?;
        Ok(self.record.get_or_init(|| record))
    }

    /// Reads the list record and checks its header against the manifest:
    /// checksum, table id, count, page layout and length, pages ordered,
    /// and the live rows the manifest states.
    fn load(&self) -> Result<ListRecord> {
        let src = &self.source;
        let pager = src.pager.upgrade().ok_or_else(|| {
            Error::Invalid(format!("table {} was read from a store that is closed", src.meta.name))
        })?;
        if let Some(loc) = self.location {
            pager.learn(&[(self.key, loc)]);
        }
        let buf = crate::pager::read_one(pager.as_ref(), self.key)?
            .ok_or_else(|| self.damaged("the record is missing"))?;
        let b = buf.as_slice();
        let head_len = usize::try_from(word(b, 8)).unwrap_or(usize::MAX);
        let pages_at = SEAL_FRAME.saturating_add(head_len);
        let head = b.get(..pages_at).ok_or_else(|| self.damaged("the record is truncated"))?;
        let h = open_sealed(LIST_MAGIC, head, "segment list").map_err(|e| match e {
            Error::Corrupt(m) => self.damaged(&m),
            other => other,
        })?;
        let page_size = usize::try_from(word(h, 16)).unwrap_or(0);
        let pages = usize::try_from(word(h, 24)).unwrap_or(usize::MAX);
        let layout_ok = word(h, 0) == self.table_id
            && word(h, 8) == self.n as u64
            && page_size > 0
            && pages == self.n.div_ceil(page_size)
            && h.len() == LIST_HEAD + pages * PAGE_HEAD
            && b.len() - pages_at == self.n * PER_SEGMENT;
        if !layout_ok {
            return Err(self.damaged("the record does not match the table manifest"));
        }
        let (mut prev_end, mut live) = (0u64, 0u64);
        for j in 0..pages {
            let at = LIST_HEAD + j * PAGE_HEAD;
            let (first, end) = (word(h, at + 8), word(h, at + 16));
            if first < prev_end || end < first {
                return Err(self.damaged("it lists overlapping segments"));
            }
            prev_end = end;
            live = live.saturating_add(word(h, at + 24));
        }
        if live != self.live_rows {
            return Err(self.damaged("its rows do not match the table manifest"));
        }
        let checked = (0..pages).map(|_| OnceLock::new()).collect();
        Ok(ListRecord { buf, header_at: SEAL_FRAME, pages_at, page_size, pages, checked })
    }

    /// Page `j`'s bytes (and segment count), checked on first use: checksum,
    /// then its segments ordered, disjoint, with possible summaries, spanning
    /// exactly the page's range, with the page's live rows.
    fn page(&self, j: usize) -> Result<(&ListRecord, usize, &[u8])> {
        let r = self.record()?;
        if j >= r.pages {
            return Err(self.damaged(&format!("it has no page {j}")));
        }
        let (count, at) = r.page_span(j, self.n);
        let page = r.bytes().get(at..at + count * PER_SEGMENT).unwrap_or_default();
        if r.checked.get(j).is_some_and(|c| c.get().is_some()) {
            return Ok((r, count, page));
        }
        if crate::codec::checksum(page) != r.page_field(j, 0) {
            return Err(self.damaged(&format!("page {j} fails its checksum")));
        }
        let (mut prev_end, mut live) = (r.page_field(j, 1), 0u64);
        for k in 0..count {
            let (first, rows) = (word(page, k * ENTRY + 8), word(page, k * ENTRY + 16));
            let s = count * (ENTRY + LOC) + k * SUMMARY;
            let (span, deleted) = (word(page, s), word(page, s + 8));
            if span < rows || deleted > rows {
                return Err(self.damaged("it has an impossible segment summary"));
            }
            if first < prev_end || (k == 0 && first != prev_end) {
                return Err(self.damaged("it lists overlapping segments"));
            }
            prev_end = first.saturating_add(span);
            live = live.saturating_add(rows - deleted);
        }
        if prev_end != r.page_field(j, 2) || live != r.page_field(j, 3) {
            return Err(self.damaged(&format!("page {j} does not match the list's header")));
        }
        if let Some(c) = r.checked.get(j) {
            c.get_or_init(|| ());
        }
        Ok((r, count, page))
    }

    /// The page holding the span that covers `row_id`, if any.
    fn page_of(&self, row_id: u64) -> Result<Option<usize>> {
        let r = self.record()?;
        let (mut lo, mut hi) = (0, r.pages);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if r.page_field(mid, 2) <= row_id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok((lo < r.pages && r.page_field(lo, 1) <= row_id).then_some(lo))
    }

    /// The index of the segment whose span covers `row_id`.
    fn segment_of(&self, row_id: u64) -> Result<Option<usize>> {
        let Some(j) = self.page_of(row_id)? else { return Ok(None) };
        let (r, count, page) = self.page(j)?;
        let range =
            |k: usize| (word(page, k * ENTRY + 8), word(page, count * (ENTRY + LOC) + k * SUMMARY));
        let (mut lo, mut hi) = (0, count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (first, span) = range(mid);
            if first.saturating_add(span) <= row_id {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok((lo < count && range(lo).0 <= row_id).then_some(j * r.page_size + lo))
    }

    /// Segment `i`, made once.
    fn one(&self, i: usize) -> Result<Arc<Segment>> {
        let page_size = self.record()?.page_size;
        let (_, count, page) = self.page(i / page_size)?;
        let mut made = self.made.lock();
        Ok(Arc::clone(made.entry(i).or_insert_with(|| self.make(page, count, i % page_size))))
    }

    fn build(&self) -> Result<Vec<Arc<Segment>>> {
        let pages = self.record()?.pages;
        let mut out = Vec::with_capacity(self.n);
        for j in 0..pages {
            let (r, count, page) = self.page(j)?;
            let made = self.made.lock();
            for k in 0..count {
                let i = j * r.page_size + k;
                out.push(made.get(&i).cloned().unwrap_or_else(|| self.make(page, count, k)));
            }
        }
        Ok(out)
    }

    /// Segment `k` of a checked page of `count` segments.
    fn make(&self, page: &[u8], count: usize, k: usize) -> Arc<Segment> {
        let e = k * ENTRY;
        let (key, first, rows) = (word(page, e), word(page, e + 8), word(page, e + 16));
        let l = count * ENTRY + k * LOC;
        let (start, len) = (word(page, l), word(page, l + 8));
        let location = (len > 0).then_some(Location { start, len });
        let sm = count * (ENTRY + LOC) + k * SUMMARY;
        let (span, deleted) = (word(page, sm), word(page, sm + 8));
        Arc::new(Segment::lazy(key, first, rows, span, deleted, location, Arc::clone(&self.source)))
    }
}

impl TableData {
    /// A new table with no rows.
    pub(crate) fn new(id: TableId, meta: Arc<TableMeta>, generation: GenerationPin) -> Self {
        Self {
            id,
            meta,
            segs: SegmentList::default(),
            next_row_id: 0,
            manifest_key: 0,
            list_key: 0,
            list_location: None,
            generation,
        }
    }

    /// The segments, in row-id order. For a table read at open they are
    /// built on first use from its segment list record, which is read and
    /// checked then (none of the segments' records is decoded for that).
    ///
    /// # Errors
    /// [`Error::Corrupt`] naming the table when its segment list record is
    /// missing, damaged or disagrees with the manifest (on every call: a
    /// failure is not kept); [`Error::Invalid`] when the store the table was
    /// read from is closed.
    pub fn segments(&self) -> Result<&[Arc<Segment>]> {
        if let Some(b) = self.segs.built.get() {
            return Ok(b);
        }
        let list = match &self.segs.pending {
            Some(p) => p.build()?,
            None => Vec::new(),
        };
        Ok(self.segs.built.get_or_init(|| list))
    }

    /// Segment `i` (as [`TableData::segments`]`()[i]`, without building
    /// the whole list when it is not built yet).
    ///
    /// # Errors
    /// As for [`TableData::segments`].
    pub fn segment(&self, i: usize) -> Result<Option<Arc<Segment>>> {
        match (self.segs.built.get(), &self.segs.pending) {
            (None, Some(p)) => (i < p.n).then(|| p.one(i)).transpose(),
            _ => Ok(self.segments()?.get(i).cloned()),
        }
    }

    /// Whether the segment list record was read (or the list is at hand).
    #[cfg(test)]
    pub(crate) fn segment_list_read(&self) -> bool {
        self.segs.built.get().is_some()
            || self.segs.pending.as_ref().is_some_and(|p| p.record.get().is_some())
    }

    /// How many segments the table has (known without reading its list).
    pub fn segment_count(&self) -> usize {
        match (self.segs.built.get(), &self.segs.pending) {
            (None, Some(p)) => p.n,
            (Some(b), _) => b.len(),
            (None, None) => 0,
        }
    }

    /// The segments, to change (the segment list is written anew at commit).
    ///
    /// # Errors
    /// As for [`TableData::segments`].
    pub(crate) fn segments_mut(&mut self) -> Result<&mut Vec<Arc<Segment>>> {
        self.segments()?;
        self.segs.pending = None;
        self.list_key = 0;
        self.list_location = None;
        self.segs.built.get_or_init(Vec::new);
        match self.segs.built.get_mut() {
            Some(v) => Ok(v),
            // Initialized just above.
            None => unreachable!("the segment list was just built"),
        }
    }

    /// Rows not deleted (from the manifest when the segments are not built
    /// yet, without reading the segment list).
    pub fn live_rows(&self) -> u64 {
        match (self.segs.built.get(), &self.segs.pending) {
            (None, Some(p)) => p.live_rows,
            (Some(b), _) => b.iter().map(|s| s.live_rows()).sum(),
            (None, None) => 0,
        }
    }

    /// The index of the segment whose span covers `row_id` (whether it
    /// stores that row, [`Segment::offset_of`] tells).
    ///
    /// # Errors
    /// As for [`TableData::segments`].
    pub fn segment_of(&self, row_id: u64) -> Result<Option<usize>> {
        if let (None, Some(p)) = (self.segs.built.get(), &self.segs.pending) {
            // Binary search over the list's pages, then in one page: nothing is built.
            return p.segment_of(row_id);
        }
        let segs = self.segments()?;
        let i = segs.partition_point(|s| s.first_row_id + s.span() <= row_id);
        Ok((i < segs.len() && segs[i].first_row_id <= row_id).then_some(i))
    }

    /// The segment list record; `locate` gives the segment records' file
    /// locations (a segment not decoded since open knows its own).
    ///
    /// # Errors
    /// As for [`TableData::segments`].
    pub(crate) fn encode_segment_list(
        &self,
        locate: &dyn Fn(u64) -> Option<Location>,
    ) -> Result<Vec<u8>> {
        let segs = self.segments()?;
        let mut head = Encoder::default();
        head.u64(self.id);
        head.u64(segs.len() as u64);
        head.u64(LIST_PAGE as u64);
        head.u64(segs.len().div_ceil(LIST_PAGE) as u64);
        let mut pages = Encoder::default();
        for page in segs.chunks(LIST_PAGE) {
            let mut e = Encoder::default();
            for s in page {
                e.u64(s.key);
                e.u64(s.first_row_id);
                e.u64(s.row_count);
            }
            for s in page {
                let loc = locate(s.key).or(s.location).unwrap_or(Location { start: 0, len: 0 });
                e.u64(loc.start);
                e.u64(loc.len);
            }
            for s in page {
                e.u64(s.span());
                e.u64(s.deleted_rows());
            }
            let first = page.first().map_or(0, |s| s.first_row_id);
            let end = page.last().map_or(0, |s| s.first_row_id + s.span());
            head.u64(crate::codec::checksum(&e.buf));
            head.u64(first);
            head.u64(end);
            head.u64(page.iter().map(|s| s.live_rows()).sum());
            pages.buf.extend_from_slice(&e.buf);
        }
        let mut out = seal(LIST_MAGIC, &head.buf);
        out.extend_from_slice(&pages.buf);
        Ok(out)
    }

    /// The manifest record (its segment list must be written: `list_key`
    /// set); `locate` gives the list's file location when the table does
    /// not know it.
    pub(crate) fn encode_manifest(&self, locate: &dyn Fn(u64) -> Option<Location>) -> Vec<u8> {
        let mut e = Encoder::default();
        e.u64(self.id);
        e.u64(self.next_row_id);
        self.meta.encode(&mut e);
        e.u64(self.segment_count() as u64);
        e.u64(self.live_rows());
        e.u64(self.list_key);
        let loc = self
            .list_location
            .or_else(|| locate(self.list_key))
            .unwrap_or(Location { start: 0, len: 0 });
        e.u64(loc.start);
        e.u64(loc.len);
        seal(MANIFEST_MAGIC, &e.buf)
    }

    /// Decodes a manifest into the table. Its segment list record is read
    /// (and checked) on first use, from `pager`.
    pub(crate) fn decode_manifest(
        key: u64,
        record: &[u8],
        generation: GenerationPin,
        pager: &Arc<dyn Pager>,
    ) -> Result<Self> {
        let body = open_sealed(MANIFEST_MAGIC, record, "table manifest")?;
        let mut d = Decoder::new(body, "table manifest");
        let id = d.u64()?;
        let next_row_id = d.u64()?;
        let meta = Arc::new(TableMeta::decode(&mut d)?);
        let n = d.u64()?;
        let live_rows = d.u64()?;
        let list_key = d.u64()?;
        let (start, len) = (d.u64()?, d.u64()?);
        if !d.at_end() {
            return Err(Error::Corrupt(format!(
                "manifest of table {} has trailing bytes",
                meta.name
            )));
        }
        // A list of n segments is at least this long; a larger count is damage.
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| n <= usize::MAX / (PER_SEGMENT + PAGE_HEAD))
            .filter(|_| list_key != 0)
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "manifest of table {} has an impossible segment count",
                    meta.name
                ))
            })?;
        let mut table = Self::new(id, Arc::clone(&meta), generation);
        table.next_row_id = next_row_id;
        table.manifest_key = key;
        table.list_key = list_key;
        table.list_location = (len > 0).then_some(Location { start, len });
        let source = Arc::new(SegmentSource { pager: Arc::downgrade(pager), meta });
        table.segs.pending = Some(Arc::new(PendingSegments {
            n,
            live_rows,
            table_id: id,
            key: list_key,
            location: table.list_location,
            source,
            record: OnceLock::new(),
            made: Default::default(),
        }));
        Ok(table)
    }
}
