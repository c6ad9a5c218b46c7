//! A table's data: segments of column chunks, and their on-disk records.
//!
//! A table is a list of [`Segment`]s. A segment holds a contiguous range of row
//! ids, one immutable chunk per column, the chunks' statistics and a bitmap of
//! the rows deleted from it. Segments are recorded in their own blobs so that a
//! change to one rewrites only that segment's record and the table's manifest.

use crate::catalog::{TableId, TableMeta};
use crate::codec::{
    Decoder, Encoder, LOCATIONS_TAG, decode_locations, encode_locations, open_sealed, seal,
};
use crate::error::{Error, Result};
use crate::pager::Location;
use crate::patch::ChunkPatch;
use crate::stats::ChunkStats;
use arrow::buffer::BooleanBuffer;
use std::sync::Arc;

pub(crate) const SEGMENT_MAGIC: [u8; 4] = *b"LKSG";
pub(crate) const MANIFEST_MAGIC: [u8; 4] = *b"LKTM";
/// Blob locations that a record carries, by key.
pub(crate) type Locations = Vec<(u64, Location)>;

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

/// A range of row ids stored as one chunk per column.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Key of the segment record; 0 while the segment is new or changed and not yet written.
    pub(crate) key: u64,
    /// Row id of the first row.
    pub first_row_id: u64,
    /// Rows stored in the segment, deleted ones included.
    pub row_count: u64,
    /// One chunk per table column.
    pub columns: Vec<ColumnChunk>,
    /// Bit `i` set: the row at offset `i` is deleted.
    pub deleted: Option<BooleanBuffer>,
    /// For a segment compacted by a vacuum: which row ids of its span it
    /// holds. `None`: the rows are `first_row_id..first_row_id + row_count`.
    pub row_map: Option<Arc<RowMap>>,
}

impl Segment {
    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        self.row_count - self.deleted.as_ref().map_or(0, |d| d.count_set_bits() as u64)
    }

    /// Row ids spanned: `first_row_id + span()` is past the last one.
    pub fn span(&self) -> u64 {
        self.row_map.as_ref().map_or(self.row_count, |m| m.span())
    }

    /// Whether `row_id` is stored in this segment.
    pub fn contains(&self, row_id: u64) -> bool {
        self.offset_of(row_id).is_some()
    }

    /// The offset (in the chunks) of `row_id`, if this segment stores it.
    pub fn offset_of(&self, row_id: u64) -> Option<usize> {
        let i = row_id.checked_sub(self.first_row_id)?;
        if i >= self.span() {
            return None;
        }
        match &self.row_map {
            None => Some(i as usize),
            Some(m) => m.offset_of(i as usize),
        }
    }

    /// The row id of every stored row, in offset order.
    pub fn row_ids(&self) -> arrow::array::UInt64Array {
        let first = self.first_row_id;
        match &self.row_map {
            None => arrow::array::UInt64Array::from_iter_values(first..first + self.row_count),
            Some(m) => arrow::array::UInt64Array::from_iter_values(
                m.bits.set_indices().map(|i| first + i as u64),
            ),
        }
    }

    /// The segment record; `locate` gives the chunks' file locations, when known.
    pub(crate) fn encode(&self, locate: &dyn Fn(u64) -> Option<Location>) -> Result<Vec<u8>> {
        let mut e = Encoder::default();
        e.u64(self.first_row_id);
        e.u64(self.row_count);
        e.u64(self.columns.len() as u64);
        for c in &self.columns {
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
        match &self.deleted {
            Some(bits) => {
                e.u8(1);
                e.bytes(bits.sliced().as_slice());
            }
            None => e.u8(0),
        }
        // Optional trailing field (absent in records written before vacuum existed).
        if let Some(m) = &self.row_map {
            e.u8(ROW_MAP_TAG);
            e.u64(m.span());
            e.bytes(m.bits.sliced().as_slice());
        }
        let keys: Vec<u64> = self.columns.iter().map(|c| c.key).collect();
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
        Ok((Self { key, first_row_id, row_count, columns, deleted, row_map }, locations))
    }
}

/// A table as of one version of the store.
#[derive(Debug, Clone)]
pub struct TableData {
    /// The table's id.
    pub id: TableId,
    /// The table's definition.
    pub meta: Arc<TableMeta>,
    /// Segments in row-id order.
    pub segments: Vec<Arc<Segment>>,
    /// The id the next appended row gets.
    pub next_row_id: u64,
    /// Key of the manifest record; 0 while changed and not yet written.
    pub(crate) manifest_key: u64,
    /// The backend generation this table was read from or written to: while
    /// it lives, the store keeps a backend replaced by a vacuum readable.
    #[expect(dead_code, reason = "held, never read: its count is what matters")]
    pub(crate) generation: GenerationPin,
}

/// A token of one backend generation (the store replaces its backend on vacuum).
#[derive(Debug, Clone, Default)]
pub(crate) struct GenerationPin(pub(crate) Arc<()>);

impl TableData {
    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        self.segments.iter().map(|s| s.live_rows()).sum()
    }

    /// The index of the segment holding `row_id`.
    pub fn segment_of(&self, row_id: u64) -> Option<usize> {
        let i = self.segments.partition_point(|s| s.first_row_id + s.span() <= row_id);
        (i < self.segments.len() && self.segments[i].contains(row_id)).then_some(i)
    }

    /// The manifest record; `locate` gives the segment records' file locations.
    pub(crate) fn encode_manifest(&self, locate: &dyn Fn(u64) -> Option<Location>) -> Vec<u8> {
        let mut e = Encoder::default();
        e.u64(self.id);
        e.u64(self.next_row_id);
        self.meta.encode(&mut e);
        e.u64(self.segments.len() as u64);
        for s in &self.segments {
            e.u64(s.key);
            e.u64(s.first_row_id);
            e.u64(s.row_count);
        }
        let keys: Vec<u64> = self.segments.iter().map(|s| s.key).collect();
        encode_locations(&mut e, &keys, locate);
        seal(MANIFEST_MAGIC, &e.buf)
    }

    /// Decodes a manifest into the table, its segments' keys and the segment
    /// records' locations it carries.
    pub(crate) fn decode_manifest(
        key: u64,
        bytes: &[u8],
        generation: GenerationPin,
    ) -> Result<(Self, Vec<u64>, Locations)> {
        let body = open_sealed(MANIFEST_MAGIC, bytes, "table manifest")?;
        let mut d = Decoder::new(body, "table manifest");
        let id = d.u64()?;
        let next_row_id = d.u64()?;
        let meta = Arc::new(TableMeta::decode(&mut d)?);
        let n = d.count(24)?;
        let mut keys = Vec::with_capacity(n);
        for _ in 0..n {
            keys.push(d.u64()?);
            d.u64()?;
            d.u64()?;
        }
        let locations = if !d.at_end() && d.u8()? == LOCATIONS_TAG {
            decode_locations(&mut d, &keys)?
        } else {
            Vec::new()
        };
        let table =
            Self { id, meta, segments: Vec::new(), next_row_id, manifest_key: key, generation };
        Ok((table, keys, locations))
    }
}
