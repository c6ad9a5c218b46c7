//! A table's data: segments of column chunks, and their on-disk records.
//!
//! A table is a list of [`Segment`]s. A segment holds a contiguous range of row
//! ids, one immutable chunk per column, the chunks' statistics and a bitmap of
//! the rows deleted from it. Segments are recorded in their own blobs so that a
//! change to one rewrites only that segment's record and the table's manifest.

use crate::catalog::{TableId, TableMeta};
use crate::codec::{Decoder, Encoder, open_sealed, seal};
use crate::error::{Error, Result};
use crate::patch::ChunkPatch;
use crate::stats::ChunkStats;
use arrow::buffer::BooleanBuffer;
use std::sync::Arc;

pub(crate) const SEGMENT_MAGIC: [u8; 4] = *b"LKSG";
pub(crate) const MANIFEST_MAGIC: [u8; 4] = *b"LKTM";

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

/// A contiguous range of rows stored as one chunk per column.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Key of the segment record; 0 while the segment is new or changed and not yet written.
    pub(crate) key: u64,
    /// Row id of the first row.
    pub first_row_id: u64,
    /// Rows in the segment, deleted ones included.
    pub row_count: u64,
    /// One chunk per table column.
    pub columns: Vec<ColumnChunk>,
    /// Bit `i` set: row `first_row_id + i` is deleted.
    pub deleted: Option<BooleanBuffer>,
}

impl Segment {
    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        self.row_count - self.deleted.as_ref().map_or(0, |d| d.count_set_bits() as u64)
    }

    /// Whether `row_id` falls in this segment.
    pub fn contains(&self, row_id: u64) -> bool {
        row_id >= self.first_row_id && row_id < self.first_row_id + self.row_count
    }

    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
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
        Ok(seal(SEGMENT_MAGIC, &e.buf))
    }

    pub(crate) fn decode(key: u64, bytes: &[u8], meta: &TableMeta) -> Result<Self> {
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
        Ok(Self { key, first_row_id, row_count, columns, deleted })
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
    /// The backend this table's records were read from or written to. It
    /// keeps a backend replaced by a vacuum readable while this table lives.
    #[expect(dead_code, reason = "held, never read: it keeps the backend alive")]
    pub(crate) pager: PagerPin,
}

/// A strong reference to a backend, held by the tables that read from it.
#[derive(Clone)]
pub(crate) struct PagerPin(
    #[expect(dead_code, reason = "held, never read: it keeps the backend alive")]
    pub(crate)  Arc<dyn crate::pager::Pager>,
);

impl std::fmt::Debug for PagerPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PagerPin")
    }
}

impl TableData {
    /// Rows not deleted.
    pub fn live_rows(&self) -> u64 {
        self.segments.iter().map(|s| s.live_rows()).sum()
    }

    /// The index of the segment holding `row_id`.
    pub fn segment_of(&self, row_id: u64) -> Option<usize> {
        let i = self.segments.partition_point(|s| s.first_row_id + s.row_count <= row_id);
        (i < self.segments.len() && self.segments[i].contains(row_id)).then_some(i)
    }

    pub(crate) fn encode_manifest(&self) -> Vec<u8> {
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
        seal(MANIFEST_MAGIC, &e.buf)
    }

    /// Decodes a manifest into the table and its segments' keys.
    pub(crate) fn decode_manifest(
        key: u64,
        bytes: &[u8],
        pager: Arc<dyn crate::pager::Pager>,
    ) -> Result<(Self, Vec<u64>)> {
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
        let pager = PagerPin(pager);
        Ok((Self { id, meta, segments: Vec::new(), next_row_id, manifest_key: key, pager }, keys))
    }
}
