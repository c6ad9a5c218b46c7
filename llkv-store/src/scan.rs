//! Scans: parallel over segments on rayon, reading only the columns asked for,
//! skipping segments whose statistics rule the predicates out.

use crate::catalog::TableMeta;
use crate::chunk;
use crate::error::{Error, Result};
use crate::predicate::Predicate;
use crate::settled::Settled;
use crate::store::Store;
use crate::table::{Segment, SegmentBody, TableData};
use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt64Array};
use arrow::buffer::Buffer;
use arrow::compute::{FilterBuilder, and};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Name of the row-id column a scan adds when asked to.
pub const ROW_ID_COLUMN: &str = "__llkv_row_id";

/// What to read from a table.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Column indexes to return, in this order; `None` for all columns.
    pub projection: Option<Vec<usize>>,
    /// Conditions every returned row meets (a conjunction).
    pub predicates: Vec<Predicate>,
    /// Append a `UInt64` column [`ROW_ID_COLUMN`] with each row's id.
    pub with_row_ids: bool,
    /// Keep only the row versions visible at a point in time.
    pub version: Option<VersionFilter>,
    /// Row ids to leave out.
    pub exclude: Option<Arc<BTreeSet<u64>>>,
}

/// A [`ScanRequest`] checked against one table (column indexes, predicate
/// values cast to the column types), for [`Store::scan_segment`].
#[derive(Debug, Clone)]
pub struct SegmentScan {
    pub(crate) req: ScanRequest,
    pub(crate) schema: SchemaRef,
}

impl SegmentScan {
    /// Checks `req` against `table`'s columns.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a column index the table does not have, and the
    /// errors of casting a predicate's value to its column's type.
    pub fn new(table: &TableMeta, req: &ScanRequest) -> Result<Self> {
        let req = req.prepare(table)?;
        let schema = req.output_schema(table);
        Ok(Self { req, schema })
    }

    /// As [`SegmentScan::new`], with the output schema the caller already
    /// has (`schema` must have the fields of `req.output_schema(table)`).
    ///
    /// # Errors
    /// As for [`SegmentScan::new`].
    pub fn with_schema(table: &TableMeta, req: &ScanRequest, schema: SchemaRef) -> Result<Self> {
        let req = req.prepare(table)?;
        if schema.fields().len() != req.columns(table).len() + usize::from(req.with_row_ids) {
            return Err(Error::Invalid("a scan schema does not fit its request".into()));
        }
        Ok(Self { req, schema })
    }

    /// The schema of the batches read.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

/// Row-version visibility for the layer above: a row is visible when its
/// `created` value is at most `snapshot` and its `deleted` value is NULL or
/// greater than `snapshot`. Segments whose statistics prove every row visible
/// are returned without reading the two columns.
#[derive(Debug, Clone, Copy)]
pub struct VersionFilter {
    /// Index of the `UInt64` column holding the creating commit's timestamp.
    pub created: usize,
    /// Index of the nullable `UInt64` column holding the deleting commit's timestamp.
    pub deleted: usize,
    /// The snapshot's timestamp.
    pub snapshot: u64,
}

impl VersionFilter {
    /// Whether the statistics prove all rows of `seg` visible.
    pub(crate) fn all_visible(&self, seg: &SegmentBody) -> bool {
        let created = &seg.columns[self.created].stats;
        let deleted = &seg.columns[self.deleted].stats;
        let max_created = created.max.as_ref().and_then(|m| {
            m.as_any().downcast_ref::<UInt64Array>().filter(|a| !a.is_empty()).map(|a| a.value(0))
        });
        deleted.null_count == deleted.row_count && max_created.is_some_and(|m| m <= self.snapshot)
    }

    /// Whether the statistics prove no row of `seg` visible.
    pub(crate) fn none_visible(&self, seg: &SegmentBody) -> bool {
        let min_created = seg.columns[self.created].stats.min.as_ref().and_then(|m| {
            m.as_any().downcast_ref::<UInt64Array>().filter(|a| !a.is_empty()).map(|a| a.value(0))
        });
        min_created.is_some_and(|m| m > self.snapshot)
    }

    pub(crate) fn mask(&self, created: &dyn Array, deleted: &dyn Array) -> Result<BooleanArray> {
        let snap = UInt64Array::new_scalar(self.snapshot);
        let born = arrow::compute::kernels::cmp::lt_eq(&created, &snap)?;
        let alive = arrow::compute::kernels::cmp::gt(&deleted, &snap)?;
        let alive = arrow::compute::kernels::boolean::or_kleene(
            &alive,
            &arrow::compute::is_null(deleted)?,
        )?;
        Ok(and(&born, &alive)?)
    }
}

impl ScanRequest {
    /// Every column of every row.
    pub fn all() -> Self {
        Self::default()
    }

    /// The schema of the batches this request yields on `table`.
    pub fn output_schema(&self, table: &TableMeta) -> SchemaRef {
        // Only the output's fields are built (this runs for every statement).
        let field = |c: &crate::ColumnMeta| Field::new(&c.name, c.data_type.clone(), c.nullable);
        let mut fields: Vec<Field> = match &self.projection {
            Some(p) => p.iter().filter_map(|&i| table.columns.get(i)).map(field).collect(),
            None => table.columns.iter().map(field).collect(),
        };
        if self.with_row_ids {
            fields.push(Field::new(ROW_ID_COLUMN, DataType::UInt64, false));
        }
        Arc::new(Schema::new(fields))
    }

    pub(crate) fn columns(&self, table: &TableMeta) -> Vec<usize> {
        match &self.projection {
            Some(p) => p.clone(),
            None => (0..table.columns.len()).collect(),
        }
    }

    /// The columns a segment read needs: `out_cols` first (in order), then
    /// those only the predicates or the version filter read.
    pub(crate) fn needed_columns(
        &self,
        out_cols: &[usize],
        version: Option<&VersionFilter>,
    ) -> Vec<usize> {
        let mut needed = out_cols.to_vec();
        let extra = self
            .predicates
            .iter()
            .map(|p| p.column())
            .chain(version.into_iter().flat_map(|v| [v.created, v.deleted]));
        for c in extra {
            if !needed.contains(&c) {
                needed.push(c);
            }
        }
        needed
    }

    /// Checks column indexes and casts predicate values to the column types.
    pub(crate) fn prepare(&self, table: &TableMeta) -> Result<ScanRequest> {
        let n = table.columns.len();
        let bad = |i: usize| Error::Invalid(format!("table {} has no column {i}", table.name));
        for &i in self.projection.iter().flatten() {
            if i >= n {
                return Err(bad(i));
            }
        }
        let predicates = self
            .predicates
            .iter()
            .map(|p| {
                let c = p.column();
                if c >= n {
                    return Err(bad(c));
                }
                p.clone().cast_to(&table.columns[c].data_type)
            })
            .collect::<Result<_>>()?;
        if let Some(v) = &self.version
            && (v.created >= n || v.deleted >= n)
        {
            return Err(bad(v.created.max(v.deleted)));
        }
        Ok(ScanRequest { predicates, ..self.clone() })
    }
}

/// The keys of the chunks of `columns` in `seg`.
pub(crate) fn chunk_keys(seg: &SegmentBody, columns: &[usize]) -> Vec<u64> {
    columns.iter().map(|&c| seg.columns[c].key).collect()
}

/// Wraps chunk blobs as arrays of the columns' types (zero-copy).
///
/// A chunk that carries a patch is copied with the patch laid over it.
pub(crate) fn decode_columns(
    seg: &SegmentBody,
    blobs: &[Buffer],
    meta: &TableMeta,
    columns: &[usize],
) -> Result<Vec<ArrayRef>> {
    blobs
        .iter()
        .zip(columns)
        .map(|(b, &c)| {
            let base = chunk::decode(b, &meta.columns[c].data_type)?;
            match &seg.columns[c].patch {
                Some(p) => p.apply(&base),
                None => Ok(base),
            }
        })
        .collect()
}

/// Whether column `c` of a segment is a DECIMAL chunk without a patch: its
/// values are narrowed codes (see `narrow.rs`), so a scan widens only the
/// rows it returns instead of decoding the chunk whole first.
fn widened_on_read(meta: &TableMeta, body: &SegmentBody, c: usize) -> bool {
    matches!(meta.columns[c].data_type, DataType::Decimal128(_, _))
        && body.columns[c].patch.is_none()
}

/// How a scan reads one segment (see [`Store::plan_segment`]).
pub(crate) enum SegmentPlan<'a> {
    /// No row of the segment qualifies.
    Empty,
    /// The snapshot is past the segment's last change: its visible rows
    /// are known (see `settled.rs`) and only the predicates are left.
    Settled(&'a SegmentBody, Arc<Settled>),
    /// The row filter is evaluated over the segment's rows, with the
    /// version filter when some row may be invisible.
    Rows(&'a SegmentBody, Option<VersionFilter>),
}

/// A segment's row filter evaluated (see [`Store::filter_rows`]).
pub(crate) struct FilteredRows {
    /// The columns read, in the order of `arrays`.
    pub(crate) needed: Vec<usize>,
    /// Their chunks, patches applied.
    pub(crate) arrays: Vec<ArrayRef>,
    /// The rows kept; `None` when all are.
    pub(crate) mask: Option<BooleanArray>,
}

/// A segment's rows with the rows a scan keeps marked rather than filtered
/// out (see [`Store::scan_segment_masked`]).
#[derive(Debug, Clone)]
pub struct MaskedBatch {
    /// The projected columns of every row of the segment; or, when the
    /// scan keeps few of them (under a quarter) and returns a DECIMAL column,
    /// of the kept rows only (`keep` is then `None`), so that only those
    /// are widened (see `narrow.rs`).
    pub batch: RecordBatch,
    /// The rows the scan keeps (no NULLs); `None` when it keeps them all.
    pub keep: Option<BooleanArray>,
    /// How many rows the scan keeps.
    pub rows: usize,
}

impl MaskedBatch {
    /// `None` when `mask` keeps no row; the mask is dropped when it keeps
    /// all of them.
    fn new(
        schema: &SchemaRef,
        columns: Vec<ArrayRef>,
        len: usize,
        mask: Option<BooleanArray>,
    ) -> Result<Option<Self>> {
        let opts = RecordBatchOptions::new().with_row_count(Some(len));
        let batch = RecordBatch::try_new_with_options(Arc::clone(schema), columns, &opts)?;
        let (keep, rows) = match mask {
            None => (None, len),
            Some(m) => {
                // A NULL in a mask never keeps its row.
                let m = crate::predicate::without_nulls(m);
                let n = m.true_count();
                match n {
                    0 => return Ok(None),
                    n if n == len => (None, n),
                    n => (Some(m), n),
                }
            }
        };
        Ok(Some(Self { batch, keep, rows }))
    }

    /// The kept rows as one batch (a copy of them unless all are kept).
    ///
    /// # Errors
    /// Arrow's filter errors.
    pub fn into_filtered(self) -> Result<RecordBatch> {
        match &self.keep {
            None => Ok(self.batch),
            Some(m) => {
                let f = FilterBuilder::new(m).optimize().build();
                let columns = self
                    .batch
                    .columns()
                    .iter()
                    .map(|c| f.filter(c.as_ref()))
                    .collect::<Result<_, _>>()?;
                let opts = RecordBatchOptions::new().with_row_count(Some(self.rows));
                Ok(RecordBatch::try_new_with_options(self.batch.schema(), columns, &opts)?)
            }
        }
    }
}

impl Store {
    /// The chunks of `columns` in `seg` as arrays (patches applied), reading
    /// in one batch those not decoded by an earlier scan (see
    /// [`Segment::keep_decoded`]).
    pub(crate) fn segment_columns(
        &self,
        table: &TableData,
        seg: &Segment,
        body: &SegmentBody,
        columns: &[usize],
    ) -> Result<Vec<ArrayRef>> {
        let mut out: Vec<Option<ArrayRef>> = columns.iter().map(|&c| seg.decoded(c)).collect();
        let missing: Vec<usize> = (0..columns.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let cols: Vec<usize> = missing.iter().map(|&i| columns[i]).collect();
            let blobs = self.read_chunks(&chunk_keys(body, &cols))?;
            let arrays = decode_columns(body, &blobs, &table.meta, &cols)?;
            for ((i, c), a) in missing.into_iter().zip(cols).zip(arrays) {
                seg.keep_decoded(c, &body.columns[c], &a);
                out[i] = Some(a);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Whether any row of `seg` may satisfy all predicates.
    pub(crate) fn segment_may_match(
        seg: &Segment,
        body: &SegmentBody,
        predicates: &[Predicate],
    ) -> bool {
        seg.live_rows() > 0
            && predicates.iter().all(|p| p.may_match(&body.columns[p.column()].stats))
    }

    /// Reads one segment; `None` when no row qualifies.
    fn scan_one(
        &self,
        table: &TableData,
        seg: &Segment,
        req: &ScanRequest,
        schema: &SchemaRef,
    ) -> Result<Option<RecordBatch>> {
        self.scan_one_masked(table, seg, req, schema)?.map(MaskedBatch::into_filtered).transpose()
    }

    /// How segment `seg` is read for `req`, decided before any chunk of it
    /// is (the settled visibility may read the `deleted` column once).
    pub(crate) fn plan_segment<'a>(
        &self,
        table: &TableData,
        seg: &'a Segment,
        req: &ScanRequest,
    ) -> Result<SegmentPlan<'a>> {
        if seg.live_rows() == 0 {
            return Ok(SegmentPlan::Empty);
        }
        let body = seg.body()?;
        if !Self::segment_may_match(seg, body, &req.predicates) {
            return Ok(SegmentPlan::Empty);
        }
        let version = req.version.filter(|v| !v.all_visible(body));
        if version.is_some_and(|v| v.none_visible(body)) {
            return Ok(SegmentPlan::Empty);
        }
        let excluded = req.exclude.as_ref().is_some_and(|ex| {
            ex.range(seg.first_row_id..seg.first_row_id + seg.span()).next().is_some()
        });
        if let Some(v) = version.filter(|v| !excluded && v.settles(body)) {
            let read = || self.read_column(table, seg, body, v.deleted);
            if let Some(settled) = seg.settled(&v, body, &self.inner.settled_bytes, read)? {
                return Ok(match settled.rows() {
                    0 => SegmentPlan::Empty,
                    _ => SegmentPlan::Settled(body, settled),
                });
            }
        }
        Ok(SegmentPlan::Rows(body, version))
    }

    /// Evaluates `req`'s row filter (deleted rows, the version filter,
    /// exclusions, the predicates) over every row of `seg`: the arrays of
    /// the columns `read` and of those the filter reads (in `needed`'s
    /// order), and the rows kept (`None`: all of them).
    pub(crate) fn filter_rows(
        &self,
        table: &TableData,
        seg: &Segment,
        body: &SegmentBody,
        req: &ScanRequest,
        version: Option<VersionFilter>,
        read: &[usize],
    ) -> Result<FilteredRows> {
        let needed = req.needed_columns(read, version.as_ref());
        let pos = |c: usize| needed.iter().position(|&x| x == c).unwrap_or_default();
        let arrays = self.segment_columns(table, seg, body, &needed)?;
        let mut masks: Vec<BooleanArray> =
            body.deleted.iter().map(|d| BooleanArray::new(!d, None)).collect();
        if let Some(v) = version {
            masks.push(v.mask(arrays[pos(v.created)].as_ref(), arrays[pos(v.deleted)].as_ref())?);
        }
        if let Some(ex) = &req.exclude {
            let mut hit = ex.range(seg.first_row_id..seg.first_row_id + seg.span()).peekable();
            if hit.peek().is_some() {
                let mut keep = arrow::array::BooleanBufferBuilder::new(seg.row_count as usize);
                keep.append_n(seg.row_count as usize, true);
                for &r in hit {
                    if let Some(off) = seg.offset_of(r)? {
                        keep.set_bit(off, false);
                    }
                }
                masks.push(BooleanArray::new(keep.finish(), None));
            }
        }
        let column = |c: usize| arrays[pos(c)].as_ref();
        let predicates = crate::predicate::for_chunk(&req.predicates, |c| &body.columns[c].stats);
        let mask = crate::predicate::apply_all(&predicates, column, masks)?;
        Ok(FilteredRows { needed, arrays, mask })
    }

    /// Reads one segment without applying the row filter: its projected
    /// columns and the rows the scan keeps; `None` when no row qualifies.
    fn scan_one_masked(
        &self,
        table: &TableData,
        seg: &Segment,
        req: &ScanRequest,
        schema: &SchemaRef,
    ) -> Result<Option<MaskedBatch>> {
        let (body, version) = match self.plan_segment(table, seg, req)? {
            SegmentPlan::Empty => return Ok(None),
            SegmentPlan::Settled(body, settled) => {
                return self.scan_settled(table, seg, body, req, schema, &settled);
            }
            SegmentPlan::Rows(body, version) => (body, version),
        };
        let out_cols = req.columns(&table.meta);
        // Returned DECIMAL columns nothing else reads are read once the rows
        // are known (their chunks are widened on read, see `narrow.rs`).
        let filter_reads = |c: usize| {
            req.predicates.iter().any(|p| p.column() == c)
                || version.as_ref().is_some_and(|v| v.created == c || v.deleted == c)
        };
        let deferred: Vec<usize> = out_cols
            .iter()
            .copied()
            .filter(|&c| widened_on_read(&table.meta, body, c) && !filter_reads(c))
            .collect();
        let read: Vec<usize> = out_cols.iter().copied().filter(|c| !deferred.contains(c)).collect();
        let FilteredRows { needed, arrays, mask } =
            self.filter_rows(table, seg, body, req, version, &read)?;
        let pos = |c: usize| needed.iter().position(|&x| x == c).unwrap_or_default();
        let rows = seg.row_count as usize;
        let few = |m: &BooleanArray| {
            (m.true_count() as f64) < crate::predicate::SPARSE_MASK_SHARE * rows as f64
        };
        let blobs = self.read_chunks(&chunk_keys(body, &deferred))?;
        let deferred_blob =
            |c: usize| deferred.iter().position(|&d| d == c).map(|k| (&blobs[k], c));
        if let Some(m) = mask.as_ref().filter(|m| !deferred.is_empty() && few(m)) {
            // Few rows kept: every returned column filtered here, the
            // deferred ones widened for the kept rows only.
            let f = FilterBuilder::new(m).optimize().build();
            let mut columns = out_cols
                .iter()
                .map(|&c| match deferred_blob(c) {
                    Some((blob, c)) => {
                        chunk::decode_filtered(blob, &table.meta.columns[c].data_type, &f)
                    }
                    None => Ok(f.filter(arrays[pos(c)].as_ref())?),
                })
                .collect::<Result<Vec<_>>>()?;
            if req.with_row_ids {
                columns.push(f.filter(&seg.row_ids()?)?);
            }
            return MaskedBatch::new(schema, columns, m.true_count(), None);
        }
        let mut columns = out_cols
            .iter()
            .map(|&c| match deferred_blob(c) {
                Some((blob, c)) => chunk::decode(blob, &table.meta.columns[c].data_type),
                None => Ok(Arc::clone(&arrays[pos(c)])),
            })
            .collect::<Result<Vec<_>>>()?;
        if req.with_row_ids {
            columns.push(Arc::new(seg.row_ids()?));
        }
        MaskedBatch::new(schema, columns, rows, mask)
    }

    /// One column of a segment, patch applied.
    fn read_column(
        &self,
        table: &TableData,
        seg: &Segment,
        body: &SegmentBody,
        c: usize,
    ) -> Result<ArrayRef> {
        self.segment_columns(table, seg, body, &[c])?
            .pop()
            .ok_or_else(|| Error::Corrupt("a column chunk decoded to nothing".into()))
    }

    /// Reads one segment whose visibility has settled for the scan's
    /// snapshot: only the visible rows, without the version columns.
    fn scan_settled(
        &self,
        table: &TableData,
        seg: &Segment,
        body: &SegmentBody,
        req: &ScanRequest,
        schema: &SchemaRef,
        settled: &Settled,
    ) -> Result<Option<MaskedBatch>> {
        if settled.rows() == 0 {
            return Ok(None);
        }
        let out_cols = req.columns(&table.meta);
        let needed = req.needed_columns(&out_cols, None);
        let arrays = needed
            .iter()
            .map(|&c| {
                if widened_on_read(&table.meta, body, c) {
                    let blobs = self.read_chunks(&[body.columns[c].key])?;
                    return settled.decimal_column(&blobs[0], &table.meta.columns[c].data_type);
                }
                settled.column(Some(c), || self.read_column(table, seg, body, c))
            })
            .collect::<Result<Vec<_>>>()?;
        let pos = |c: usize| needed.iter().position(|&x| x == c).unwrap_or_default();
        let column = |c: usize| arrays[pos(c)].as_ref();
        let predicates = crate::predicate::for_chunk(&req.predicates, |c| &body.columns[c].stats);
        let mask = crate::predicate::apply_all(&predicates, column, Vec::new())?;
        let mut columns: Vec<ArrayRef> = arrays[..out_cols.len()].to_vec();
        if req.with_row_ids {
            columns.push(settled.column(None, || Ok(Arc::new(seg.row_ids()?)))?);
        }
        MaskedBatch::new(schema, columns, settled.rows(), mask)
    }

    /// Scans `table`, calling `sink` with each segment's batch (in parallel,
    /// in no particular order) together with the segment's index.
    ///
    /// # Errors
    /// The first error of a read, a decode or of `sink`.
    pub fn scan_with<F>(
        &self,
        table: &TableData,
        req: &ScanRequest,
        segments: std::ops::Range<usize>,
        sink: F,
    ) -> Result<()>
    where
        F: Fn(usize, RecordBatch) -> Result<()> + Sync,
    {
        let req = req.prepare(&table.meta)?;
        let schema = req.output_schema(&table.meta);
        let segs = table.segments()?;
        let end = segments.end.min(segs.len());
        let start = segments.start.min(end);
        (start..end).into_par_iter().try_for_each(|i| {
            match self.scan_one(table, &segs[i], &req, &schema)? {
                Some(batch) => sink(i, batch),
                None => Ok(()),
            }
        })
    }

    /// Reads segment `i` of `table` on the caller's thread (`None` when no
    /// row of it qualifies or there is no such segment): the unit of work of
    /// [`Store::scan_with`], for a caller that reads segments one at a time.
    /// With `row_ids` (sorted ascending, may reach beyond the segment) only
    /// those rows of the segment are read, as [`Store::scan_rows_with`] does.
    ///
    /// # Errors
    /// A read or decode error.
    pub fn scan_segment(
        &self,
        table: &TableData,
        scan: &SegmentScan,
        i: usize,
        row_ids: Option<&[u64]>,
    ) -> Result<Option<RecordBatch>> {
        let Some(seg) = table.segments()?.get(i) else { return Ok(None) };
        match row_ids {
            None => self.scan_one(table, seg, &scan.req, &scan.schema),
            Some(ids) => {
                let lo = ids.partition_point(|&r| r < seg.first_row_id);
                let hi = ids.partition_point(|&r| r < seg.first_row_id + seg.span());
                if lo == hi {
                    return Ok(None);
                }
                self.scan_segment_rows(table, seg, &scan.req, &scan.schema, &ids[lo..hi])
            }
        }
    }

    /// Segment `i` of `table` as [`Store::scan_segment`] reads it, but with
    /// the row filter (deleted rows, the version filter, exclusions and the
    /// predicates) left unapplied: the batch holds the segment's rows and
    /// [`MaskedBatch::keep`] says which of them the scan returns. A reader
    /// that hands rows on in small slices filters each slice itself and
    /// never copies the whole segment (`scan_segment` with row ids filters).
    ///
    /// With `string_views`, `Utf8` columns come as `Utf8View` (built once
    /// per segment and column, see [`crate::STRING_VIEW_CACHE_BYTES`]).
    ///
    /// # Errors
    /// As for [`Store::scan_segment`].
    pub fn scan_segment_masked(
        &self,
        table: &TableData,
        scan: &SegmentScan,
        i: usize,
        string_views: bool,
    ) -> Result<Option<MaskedBatch>> {
        let Some(seg) = table.segments()?.get(i) else { return Ok(None) };
        let Some(mut m) = self.scan_one_masked(table, seg, &scan.req, &scan.schema)? else {
            return Ok(None);
        };
        if string_views && scan.schema.fields().iter().any(|f| f.data_type() == &DataType::Utf8) {
            let out_cols = scan.req.columns(&table.meta);
            // A batch already filtered (few rows kept) converts its own
            // strings; the segment's kept views are of all its rows.
            let whole = m.batch.num_rows() == seg.row_count as usize;
            let columns: Vec<ArrayRef> = m
                .batch
                .columns()
                .iter()
                .enumerate()
                .map(|(k, a)| match out_cols.get(k) {
                    Some(&c) if whole => Ok(seg.string_view(c, a)),
                    Some(_) if a.data_type() == &DataType::Utf8 => {
                        Ok(arrow::compute::cast(a, &DataType::Utf8View)?)
                    }
                    _ => Ok(Arc::clone(a)),
                })
                .collect::<Result<_>>()?;
            let fields: Vec<Field> = scan
                .schema
                .fields()
                .iter()
                .zip(&columns)
                .map(|(f, a)| f.as_ref().clone().with_data_type(a.data_type().clone()))
                .collect();
            let opts = RecordBatchOptions::new().with_row_count(Some(m.batch.num_rows()));
            m.batch =
                RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), columns, &opts)?;
        }
        Ok(Some(m))
    }

    /// Scans `table` and returns the batches in row-id order.
    ///
    /// # Errors
    /// As for [`Store::scan_with`].
    pub fn scan(&self, table: &TableData, req: &ScanRequest) -> Result<Vec<RecordBatch>> {
        let req = req.prepare(&table.meta)?;
        let schema = req.output_schema(&table.meta);
        let batches: Vec<Option<RecordBatch>> = table
            .segments()?
            .par_iter()
            .map(|seg| self.scan_one(table, seg, &req, &schema))
            .collect::<Result<_>>()?;
        Ok(batches.into_iter().flatten().collect())
    }

    /// Reads the given rows (by id, in the order given) of the given columns.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a row id that does not exist or is deleted.
    pub fn read_rows(
        &self,
        table: &TableData,
        row_ids: &[u64],
        columns: &[usize],
    ) -> Result<RecordBatch> {
        let schema = ScanRequest { projection: Some(columns.to_vec()), ..Default::default() }
            .output_schema(&table.meta);
        // Row offsets per segment (in first-seen order), then each row's source.
        let mut wanted: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut seg_source: std::collections::HashMap<usize, usize> = Default::default();
        let mut picks = Vec::with_capacity(row_ids.len());
        for &rid in row_ids {
            let missing = || Error::NotFound(format!("row {rid} of table {}", table.meta.name));
            let s = table.segment_of(rid)?.ok_or_else(missing)?;
            let seg = table.segment(s)?.ok_or_else(missing)?;
            let off = seg.offset_of(rid)?.ok_or_else(missing)?;
            if seg.body()?.deleted.as_ref().is_some_and(|d| d.value(off)) {
                return Err(missing());
            }
            let src = *seg_source.entry(s).or_insert_with(|| {
                wanted.push((s, Vec::new()));
                wanted.len() - 1
            });
            picks.push((src, wanted[src].1.len()));
            wanted[src].1.push(off as u32);
        }
        let mut sources: Vec<Vec<ArrayRef>> = wanted
            .iter()
            .map(|(s, offs)| {
                let seg = table.segment(*s)?.ok_or_else(|| {
                    Error::NotFound(format!("segment {s} of table {}", table.meta.name))
                })?;
                self.take_rows(&seg, &table.meta, columns, offs)
            })
            .collect::<Result<_>>()?;
        if let [(_, offs)] = wanted.as_slice()
            && picks.iter().enumerate().all(|(i, &(_, j))| i == j)
            && offs.len() == row_ids.len()
            && let Some(only) = sources.pop()
        {
            // One segment, rows in the order read: its arrays as they are.
            let opts = RecordBatchOptions::new().with_row_count(Some(row_ids.len()));
            return Ok(RecordBatch::try_new_with_options(schema, only, &opts)?);
        }
        let out: Vec<ArrayRef> = (0..columns.len())
            .map(|c| {
                let arrays: Vec<&dyn Array> = sources.iter().map(|s| s[c].as_ref()).collect();
                if arrays.is_empty() {
                    return Ok(arrow::array::new_empty_array(schema.field(c).data_type()));
                }
                arrow::compute::interleave(&arrays, &picks)
            })
            .collect::<Result<_, _>>()?;
        let opts = RecordBatchOptions::new().with_row_count(Some(row_ids.len()));
        Ok(RecordBatch::try_new_with_options(schema, out, &opts)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::{ColumnMeta, ScanRequest, Store, TableMeta};
    use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::DataType;
    use std::sync::Arc;

    fn strings(store: &Store) -> Vec<String> {
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        let req = ScanRequest { projection: Some(vec![1]), ..Default::default() };
        let mut out = Vec::new();
        for b in store.scan(t, &req).unwrap() {
            out.extend(b.column(0).as_string::<i32>().iter().map(|s| s.unwrap().to_string()));
        }
        out
    }

    #[test]
    fn string_chunks_are_decoded_once_and_changes_are_seen() {
        let store = Store::in_memory();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("x", DataType::Int64, false),
                ColumnMeta::new("s", DataType::Utf8, false),
            ],
        );
        let id = w.create_table(meta.clone()).unwrap();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..100)),
            Arc::new(StringArray::from_iter_values((0..100).map(|i| format!("v{i}")))),
        ];
        w.append(id, &RecordBatch::try_new(meta.schema(), cols).unwrap()).unwrap();
        w.commit().unwrap();
        let want: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        assert_eq!(strings(&store), want);
        // The string chunk is kept; the integer chunk is not.
        let v = store.current();
        let seg = Arc::clone(&v.table_by_name("t").unwrap().segments().unwrap()[0]);
        let kept = seg.decoded(1).expect("the string chunk is kept");
        assert!(seg.decoded(0).is_none());
        assert_eq!(strings(&store), want);
        let again = seg.decoded(1).unwrap();
        assert_eq!(kept.to_data().buffers()[1].as_ptr(), again.to_data().buffers()[1].as_ptr());
        // A change makes a new segment whose scans see the new value.
        let mut w = store.begin_write().unwrap();
        let new: ArrayRef = Arc::new(StringArray::from(vec!["changed"]));
        w.update(id, 1, &[7], &new).unwrap();
        w.commit().unwrap();
        let mut want2 = want.clone();
        want2[7] = "changed".into();
        assert_eq!(strings(&store), want2);
        assert_eq!(strings(&store), want2);
        assert!(
            store.current().table_by_name("t").unwrap().segments().unwrap()[0].decoded(1).is_none()
        );
    }

    /// The masked read of segment 0 of `t` with `x < 50` (columns s, x).
    fn masked(store: &Store, views: bool) -> crate::MaskedBatch {
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        let req = ScanRequest {
            projection: Some(vec![1, 0]),
            predicates: vec![crate::Predicate::Compare {
                column: 0,
                op: crate::CmpOp::Lt,
                value: Arc::new(Int64Array::from(vec![50])),
            }],
            ..Default::default()
        };
        let scan = crate::SegmentScan::new(&t.meta, &req).unwrap();
        store.scan_segment_masked(t, &scan, 0, views).unwrap().expect("rows match")
    }

    #[test]
    fn a_masked_read_marks_the_kept_rows_and_can_hand_out_string_views() {
        let store = Store::in_memory();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("x", DataType::Int64, false),
                ColumnMeta::new("s", DataType::Utf8, true),
            ],
        );
        let id = w.create_table(meta.clone()).unwrap();
        let s: Vec<Option<String>> =
            (0..100).map(|i| (i % 7 != 3).then(|| format!("value number {i}"))).collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..100)),
            Arc::new(StringArray::from(s.clone())),
        ];
        w.append(id, &RecordBatch::try_new(meta.schema(), cols).unwrap()).unwrap();
        w.commit().unwrap();
        let plain = masked(&store, false);
        assert_eq!((plain.batch.num_rows(), plain.rows), (100, 50));
        let keep = plain.keep.clone().expect("half the rows are kept");
        assert!((0..100).all(|i| keep.value(i) == (i < 50)));
        assert_eq!(plain.batch.schema().field(0).data_type(), &DataType::Utf8);
        let filtered = plain.into_filtered().unwrap();
        assert_eq!(filtered.num_rows(), 50);
        // With views: the same values, as Utf8View, built once per segment.
        let a = masked(&store, true);
        assert_eq!(a.batch.schema().field(0).data_type(), &DataType::Utf8View);
        let got: Vec<Option<String>> =
            a.batch.column(0).as_string_view().iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(got, s);
        let b = masked(&store, true);
        assert!(Arc::ptr_eq(a.batch.column(0), b.batch.column(0)), "the views are kept");
        // A patched chunk (after an update) is viewed per read, and right.
        let mut w = store.begin_write().unwrap();
        let new: ArrayRef = Arc::new(StringArray::from(vec!["changed"]));
        w.update(id, 1, &[7], &new).unwrap();
        w.commit().unwrap();
        let c = masked(&store, true);
        let col = c.batch.column(0).as_string_view();
        assert_eq!(col.value(7), "changed");
        assert_eq!(col.value(8), "value number 8");
        assert!(col.is_null(3));
    }

    /// A selective read of a segment with a DECIMAL column widens only the
    /// kept rows and returns them filtered; a less selective one returns
    /// every row with a mask. Both give the rows and values a plain scan
    /// gives, views, NULLs, row ids and patched chunks included.
    #[test]
    fn a_selective_read_widens_only_the_kept_decimals() {
        use arrow::array::Decimal128Array;
        let store = Store::in_memory();
        let mut w = store.begin_write().unwrap();
        let dec = DataType::Decimal128(15, 2);
        let meta = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("x", DataType::Int64, false),
                ColumnMeta::new("d", dec.clone(), true),
                ColumnMeta::new("s", DataType::Utf8, true),
                ColumnMeta::new("e", dec.clone(), true),
            ],
        );
        let id = w.create_table(meta.clone()).unwrap();
        let n = 1000i64;
        let d = |i: i64| (i % 9 != 4).then_some(90_100 + i128::from(i) * 9_973);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(
                Decimal128Array::from_iter((0..n).map(d)).with_precision_and_scale(15, 2).unwrap(),
            ),
            Arc::new(StringArray::from_iter((0..n).map(|i| (i % 5 != 1).then(|| format!("s{i}"))))),
            Arc::new(
                Decimal128Array::from_iter((0..n).map(|i| Some(-i128::from(i))))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
        ];
        w.append(id, &RecordBatch::try_new(meta.schema(), cols.clone()).unwrap()).unwrap();
        w.commit().unwrap();
        // A patch on `e` keeps that column on the whole-chunk path.
        let mut w = store.begin_write().unwrap();
        let new: ArrayRef =
            Arc::new(Decimal128Array::from(vec![777]).with_precision_and_scale(15, 2).unwrap());
        w.update(id, 3, &[12], &new).unwrap();
        w.commit().unwrap();
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        for (upto, filtered_here) in [(20i64, true), (700, false)] {
            let req = ScanRequest {
                projection: Some(vec![1, 2, 3, 0]),
                predicates: vec![crate::Predicate::Compare {
                    column: 0,
                    op: crate::CmpOp::Lt,
                    value: Arc::new(Int64Array::from(vec![upto])),
                }],
                with_row_ids: true,
                ..Default::default()
            };
            // The table's first `upto` rows, with the patched value.
            let e: Vec<Option<i128>> =
                (0..upto).map(|i| Some(if i == 12 { 777 } else { -i128::from(i) })).collect();
            let e: ArrayRef =
                Arc::new(Decimal128Array::from(e).with_precision_and_scale(15, 2).unwrap());
            let len = upto as usize;
            let want = [cols[1].slice(0, len), cols[2].slice(0, len), e, cols[0].slice(0, len)];
            let plain = store.scan(t, &req).unwrap();
            let plain = arrow::compute::concat_batches(&plain[0].schema(), &plain).unwrap();
            for (k, col) in want.iter().enumerate() {
                assert_eq!(plain.column(k).as_ref(), col.as_ref(), "scan, column {k}");
            }
            let scan = crate::SegmentScan::new(&t.meta, &req).unwrap();
            for views in [false, true] {
                let m = store.scan_segment_masked(t, &scan, 0, views).unwrap().unwrap();
                assert_eq!(m.rows as i64, upto);
                assert_eq!(m.keep.is_none(), filtered_here, "upto {upto}");
                let got = m.into_filtered().unwrap();
                for (k, col) in got.columns().iter().enumerate() {
                    let col = match col.data_type() {
                        DataType::Utf8View => arrow::compute::cast(col, &DataType::Utf8).unwrap(),
                        _ => Arc::clone(col),
                    };
                    assert_eq!(col.as_ref(), plain.column(k).as_ref(), "column {k}, upto {upto}");
                }
            }
        }
    }
}
