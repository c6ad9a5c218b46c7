//! Reading a table as a transaction sees it, and the transaction's own rows.

use crate::error::Result;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, RecordBatchOptions, UInt64Array,
};
use arrow::compute::{and, filter_record_batch};
use arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef};
use arrow::row::{RowConverter, SortField};
use llkv_store::{
    CmpOp, MaskedBatch, Predicate, ROW_ID_COLUMN, ScanRequest, ScanSummary, SegmentScan,
    SegmentSums, Store, TableData, TableMeta,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Small inserted batches are merged while the merged batch stays below this many rows.
const MERGE_ROWS: usize = 64 * 1024;

/// Batches of fewer rows than this are merged in groups of [`TAIL_BATCHES`].
const SMALL_ROWS: usize = 64;

/// How many small batches wait at the end before they are merged.
const TAIL_BATCHES: usize = 16;

/// How many batches of about one size are merged into one.
const MERGE_FAN: usize = 8;

/// Rows a transaction inserted, with their local ids (position in insert order).
///
/// Many small inserts (one per single-row UPDATE, say) would leave as many
/// one-row batches, and every later statement scans them all. So consecutive
/// batches are merged like a counter in base [`MERGE_FAN`]: when the last
/// `MERGE_FAN` batches are about equal in size (and together small), they
/// become one. Each row is then copied O(log n / log MERGE_FAN) times, and a
/// transaction with n inserted rows keeps O(MERGE_FAN log n) batches. Batches below [`SMALL_ROWS`] rows
/// are first gathered [`TAIL_BATCHES`] at a time, so most single-row pushes
/// copy nothing. Merging keeps insert order, so local ids do not change.
///
/// A statement looking rows up by key (`WHERE pk = v`) would still evaluate
/// its predicate on every inserted row, so a transaction of n single-row
/// UPDATEs would cost O(n) per statement. Equality predicates on a column
/// that starts the primary key or a UNIQUE constraint are therefore answered
/// from a hash index of the inserted rows by that column's value
/// ([`ColumnIndex`]), built on first use and extended lazily.
#[derive(Default)]
pub(crate) struct LocalRows {
    batches: Vec<RecordBatch>,
    /// Local id of the first row of each batch.
    starts: Vec<u64>,
    len: u64,
    deleted: BTreeSet<u64>,
    /// Hash indexes of the rows by one column's value, by column.
    indexes: HashMap<usize, ColumnIndex>,
}

/// Below this many inserted rows a scan evaluates predicates on every row
/// instead of building an index.
const INDEX_MIN_ROWS: u64 = 64;

/// Local ids of the inserted rows by the value of one column. NULLs are not
/// indexed (an equality never matches them). Ids of deleted rows are dropped
/// when met.
struct ColumnIndex {
    /// Local ids below this are in the index.
    rows: u64,
    keys: IndexKeys,
}

/// The index's map: integer columns by value; other types by their
/// [`RowConverter`] encoding, whose equality is the equality of the
/// comparison kernels (floats by total order).
enum IndexKeys {
    Int64(HashMap<i64, Ids>),
    Int32(HashMap<i32, Ids>),
    Encoded { conv: RowConverter, map: HashMap<Box<[u8]>, Ids> },
}

/// The local ids of one key: almost always one (a key of the inserted rows).
enum Ids {
    One(u64),
    Many(Vec<u64>),
}

impl Ids {
    fn push(&mut self, id: u64) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
            Ids::Many(v) => v.push(id),
        }
    }

    /// The ids not in `deleted` (ascending, as pushed); whether none are left.
    fn live(&mut self, deleted: &BTreeSet<u64>) -> (Vec<u64>, bool) {
        match self {
            Ids::One(id) if deleted.contains(id) => (Vec::new(), true),
            Ids::One(id) => (vec![*id], false),
            Ids::Many(v) => {
                v.retain(|id| !deleted.contains(id));
                (v.clone(), v.is_empty())
            }
        }
    }
}

/// Adds `id` under `key`.
fn add<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Ids>, key: K, id: u64) {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(id),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(Ids::One(id));
        }
    }
}

/// The live ids under `key`, forgetting the key when none are left.
fn live<K, Q>(map: &mut HashMap<K, Ids>, key: &Q, deleted: &BTreeSet<u64>) -> Vec<u64>
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    let Some(ids) = map.get_mut(key) else { return Vec::new() };
    let (out, gone) = ids.live(deleted);
    if gone {
        map.remove(key);
    }
    out
}

impl ColumnIndex {
    fn new(dt: &DataType) -> Result<Self> {
        let keys = match dt {
            DataType::Int64 => IndexKeys::Int64(HashMap::new()),
            DataType::Int32 => IndexKeys::Int32(HashMap::new()),
            _ => IndexKeys::Encoded {
                conv: RowConverter::new(vec![SortField::new(dt.clone())])?,
                map: HashMap::new(),
            },
        };
        Ok(Self { rows: 0, keys })
    }

    /// Adds the rows inserted since the last call.
    fn catch_up(&mut self, rows: LocalRowsView<'_>, column: usize) -> Result<()> {
        for (start, b) in rows.rows_since(self.rows) {
            let col = b.column(column);
            let valid = |i: &usize| col.is_valid(*i);
            match &mut self.keys {
                IndexKeys::Int64(map) => {
                    let vals = col.as_primitive_opt::<Int64Type>().ok_or_else(not_indexable)?;
                    for i in (0..b.num_rows()).filter(valid) {
                        add(map, vals.value(i), start + i as u64);
                    }
                }
                IndexKeys::Int32(map) => {
                    let vals = col.as_primitive_opt::<Int32Type>().ok_or_else(not_indexable)?;
                    for i in (0..b.num_rows()).filter(valid) {
                        add(map, vals.value(i), start + i as u64);
                    }
                }
                IndexKeys::Encoded { conv, map } => {
                    let encoded = conv.convert_columns(std::slice::from_ref(col))?;
                    for i in (0..b.num_rows()).filter(valid) {
                        add(map, encoded.row(i).as_ref().into(), start + i as u64);
                    }
                }
            }
        }
        self.rows = rows.len;
        Ok(())
    }

    /// The live local ids whose value equals `value` (a one-element array of
    /// the column's type), ascending.
    fn lookup(&mut self, value: &ArrayRef, deleted: &BTreeSet<u64>) -> Result<Vec<u64>> {
        Ok(match &mut self.keys {
            IndexKeys::Int64(map) => {
                let v = value.as_primitive_opt::<Int64Type>().ok_or_else(not_indexable)?;
                live(map, &v.value(0), deleted)
            }
            IndexKeys::Int32(map) => {
                let v = value.as_primitive_opt::<Int32Type>().ok_or_else(not_indexable)?;
                live(map, &v.value(0), deleted)
            }
            IndexKeys::Encoded { conv, map } => {
                let encoded = conv.convert_columns(std::slice::from_ref(value))?;
                live(map, encoded.row(0).as_ref(), deleted)
            }
        })
    }
}

/// A column or value of another type than the index's (the caller then scans).
fn not_indexable() -> crate::error::Error {
    llkv_store::Error::Invalid("a value of another type than the indexed column".into()).into()
}

/// The batches of [`LocalRows`] without its indexes (to borrow them apart).
#[derive(Clone, Copy)]
struct LocalRowsView<'a> {
    batches: &'a [RecordBatch],
    starts: &'a [u64],
    len: u64,
}

impl<'a> LocalRowsView<'a> {
    /// The rows with local ids from `from` on, as batch slices, each with the
    /// local id of its first row.
    fn rows_since(self, from: u64) -> impl Iterator<Item = (u64, RecordBatch)> + 'a {
        self.starts.iter().copied().zip(self.batches).filter_map(move |(start, b)| {
            let end = start + b.num_rows() as u64;
            if end <= from {
                return None;
            }
            let skip = from.saturating_sub(start);
            Some((start + skip, b.slice(skip as usize, (end - start - skip) as usize)))
        })
    }
}

impl LocalRows {
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<()> {
        self.starts.push(self.len);
        self.len += batch.num_rows() as u64;
        self.batches.push(batch);
        // Small batches wait at the end until there are `TAIL_BATCHES` of
        // them, and are then merged in one go (one copy instead of one per
        // single-row push).
        let small = self.batches.iter().rev().take_while(|b| b.num_rows() < SMALL_ROWS).count();
        if small > 0 && small < TAIL_BATCHES {
            return Ok(());
        }
        if small >= TAIL_BATCHES {
            let from = self.batches.len() - small;
            let tail = &self.batches[from..];
            let schema = tail[0].schema();
            if tail.iter().all(|b| b.schema() == schema) {
                let merged = arrow::compute::concat_batches(&schema, tail)?;
                self.batches.truncate(from);
                self.starts.truncate(from + 1);
                self.batches.push(merged);
            }
        }
        // The last MERGE_FAN batches become one when the oldest of them is
        // no larger than the newest (sizes fall from old to new, so they are
        // then about equal).
        while self.batches.len() >= MERGE_FAN {
            let from = self.batches.len() - MERGE_FAN;
            let group = &self.batches[from..];
            let (first, last) = (&group[0], &group[MERGE_FAN - 1]);
            let rows: usize = group.iter().map(RecordBatch::num_rows).sum();
            let schema = first.schema();
            if first.num_rows() > last.num_rows()
                || rows > MERGE_ROWS
                || group.iter().any(|b| b.schema() != schema)
            {
                break;
            }
            let merged = arrow::compute::concat_batches(&schema, group)?;
            self.batches.truncate(from);
            self.starts.truncate(from + 1);
            self.batches.push(merged);
        }
        Ok(())
    }

    pub(crate) fn delete(&mut self, ids: impl IntoIterator<Item = u64>) {
        self.deleted.extend(ids);
    }

    /// Live inserted rows.
    pub(crate) fn row_count(&self) -> u64 {
        self.len - self.deleted.len() as u64
    }

    /// Number of rows ever inserted (local ids are below it).
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The rows with local ids from `from` on, as batch slices, each with the
    /// local id of its first row.
    pub(crate) fn rows_since(&self, from: u64) -> impl Iterator<Item = (u64, RecordBatch)> + '_ {
        self.view().rows_since(from)
    }

    fn view(&self) -> LocalRowsView<'_> {
        LocalRowsView { batches: &self.batches, starts: &self.starts, len: self.len }
    }

    /// The live local ids an equality predicate in `predicates` on an
    /// indexable column allows (ascending), from that column's index; `None`
    /// when no predicate can use an index (or there are too few rows to
    /// bother). `predicates` are cast to the column types.
    fn indexed_candidates(
        &mut self,
        meta: &TableMeta,
        predicates: &[Predicate],
    ) -> Result<Option<Vec<u64>>> {
        if self.len < INDEX_MIN_ROWS {
            return Ok(None);
        }
        let starts_key = |c: usize| {
            meta.primary_key.first() == Some(&c)
                || meta.unique.iter().any(|u| u.first() == Some(&c))
        };
        let found = predicates.iter().find_map(|p| match p {
            Predicate::Compare { column, op: CmpOp::Eq, value }
                if value.len() == 1 && value.null_count() == 0 && starts_key(*column) =>
            {
                Some((*column, value))
            }
            _ => None,
        });
        let Some((column, value)) = found else { return Ok(None) };
        let Some(dt) = meta.columns.get(column).map(|c| &c.data_type) else { return Ok(None) };
        let view = LocalRowsView { batches: &self.batches, starts: &self.starts, len: self.len };
        let index = match self.indexes.entry(column) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => match ColumnIndex::new(dt) {
                Ok(index) => e.insert(index),
                // A type the row format cannot encode: scan instead.
                Err(_) => return Ok(None),
            },
        };
        let found = index.catch_up(view, column).and_then(|()| index.lookup(value, &self.deleted));
        match found {
            Ok(ids) => Ok(Some(ids)),
            Err(_) => {
                // A half-extended index would list rows twice: drop it and scan.
                self.indexes.remove(&column);
                Ok(None)
            }
        }
    }

    /// The one-row slice holding local id `id`, with its batch's start.
    fn row(&self, id: u64) -> Option<RecordBatch> {
        let i = self.starts.partition_point(|&s| s <= id).checked_sub(1)?;
        let (b, start) = (self.batches.get(i)?, self.starts[i]);
        let off = usize::try_from(id - start).ok()?;
        (off < b.num_rows()).then(|| b.slice(off, 1))
    }

    /// Whether the row with local id `id` was deleted again.
    pub(crate) fn is_deleted(&self, id: u64) -> bool {
        self.deleted.contains(&id)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == self.deleted.len() as u64
    }

    /// The inserted rows that were not deleted again.
    pub(crate) fn live_batches(&self) -> Result<Vec<RecordBatch>> {
        self.batches
            .iter()
            .zip(&self.starts)
            .map(|(b, &start)| match self.keep_mask(start, b.num_rows()) {
                Some(m) => Ok(filter_record_batch(b, &m)?),
                None => Ok(b.clone()),
            })
            .filter(|b| b.as_ref().map_or(true, |b| b.num_rows() > 0))
            .collect()
    }

    fn keep_mask(&self, start: u64, rows: usize) -> Option<BooleanArray> {
        let mut hits = self.deleted.range(start..start + rows as u64).peekable();
        hits.peek()?;
        let mut keep = vec![true; rows];
        for &h in hits {
            keep[(h - start) as usize] = false;
        }
        Some(BooleanArray::from(keep))
    }

    /// Filters and projects the live rows like a store scan would.
    pub(crate) fn scan(
        &mut self,
        meta: &TableMeta,
        projection: &[usize],
        predicates: &[Predicate],
        with_row_ids: bool,
    ) -> Result<Vec<RecordBatch>> {
        if self.len == 0 {
            return Ok(Vec::new());
        }
        let predicates: Vec<Predicate> = predicates
            .iter()
            .map(|p| p.clone().cast_to(&meta.columns[p.column()].data_type))
            .collect::<Result<_, _>>()?;
        let mut out = Vec::new();
        let scan = BatchScan {
            meta,
            schema: std::cell::OnceCell::new(),
            projection,
            predicates: &predicates,
            with_row_ids,
        };
        if let Some(ids) = self.indexed_candidates(meta, &predicates)? {
            // Each candidate row is checked against every predicate again.
            for id in ids {
                if let Some(b) = self.row(id) {
                    self.scan_batch(&scan, &b, id, &mut out)?;
                }
            }
            return Ok(out);
        }
        for (b, &start) in self.batches.iter().zip(&self.starts) {
            self.scan_batch(&scan, b, start, &mut out)?;
        }
        Ok(out)
    }

    /// Filters and projects the rows of `b` (local ids from `start` on) into `out`.
    fn scan_batch(
        &self,
        scan: &BatchScan<'_>,
        b: &RecordBatch,
        start: u64,
        out: &mut Vec<RecordBatch>,
    ) -> Result<()> {
        // Predicates first: a point lookup usually matches no inserted
        // row, and then nothing else is built for the batch.
        let mut mask: Option<BooleanArray> = None;
        for p in scan.predicates {
            let m = p.evaluate(b.column(p.column()).as_ref())?;
            mask = Some(match mask {
                Some(prev) => and(&prev, &m)?,
                None => m,
            });
            if mask.as_ref().is_some_and(|m| m.true_count() == 0) {
                return Ok(());
            }
        }
        if let Some(keep) = self.keep_mask(start, b.num_rows()) {
            mask = Some(match mask {
                Some(prev) => and(&prev, &keep)?,
                None => keep,
            });
        }
        let mut cols: Vec<ArrayRef> =
            scan.projection.iter().map(|&i| Arc::clone(b.column(i))).collect();
        if scan.with_row_ids {
            let base = crate::transaction::LOCAL_ROW_BASE + start;
            cols.push(Arc::new(UInt64Array::from_iter_values(base..base + b.num_rows() as u64)));
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
        let full = RecordBatch::try_new_with_options(scan.schema(), cols, &opts)?;
        let batch = match mask {
            Some(m) => filter_record_batch(&full, &m)?,
            None => full,
        };
        if batch.num_rows() > 0 {
            out.push(batch);
        }
        Ok(())
    }
}

/// What a scan of the inserted rows reads and returns.
struct BatchScan<'a> {
    meta: &'a TableMeta,
    /// The output schema, built when the first row matches.
    schema: std::cell::OnceCell<SchemaRef>,
    projection: &'a [usize],
    predicates: &'a [Predicate],
    with_row_ids: bool,
}

impl BatchScan<'_> {
    fn schema(&self) -> SchemaRef {
        let schema = self.schema.get_or_init(|| {
            let req = ScanRequest {
                projection: Some(self.projection.to_vec()),
                with_row_ids: self.with_row_ids,
                ..Default::default()
            };
            req.output_schema(self.meta)
        });
        Arc::clone(schema)
    }
}

/// A scan fixed at one snapshot, ready to run in parts: ranges of the store's
/// segments (on rayon) and the transaction's own rows.
pub struct PreparedScan {
    store: Store,
    table: Option<Arc<TableData>>,
    req: Option<ScanRequest>,
    local: Vec<RecordBatch>,
    schema: SchemaRef,
    /// Set when an index narrowed the scan: its name and the candidate row ids.
    index: Option<(String, Arc<Vec<u64>>)>,
    /// `req` checked against the table, for reading one segment at a time.
    segment_scan: Option<SegmentScan>,
}

impl PreparedScan {
    pub(crate) fn new(
        store: Store,
        table: Option<Arc<TableData>>,
        req: Option<ScanRequest>,
        local: Vec<RecordBatch>,
        schema: SchemaRef,
    ) -> Result<Self> {
        let segment_scan = match (&table, &req) {
            (Some(t), Some(r)) => Some(SegmentScan::with_schema(&t.meta, r, Arc::clone(&schema))?),
            _ => None,
        };
        Ok(Self { store, table, req, local, schema, index: None, segment_scan })
    }

    /// Reads only the candidate rows `rows` (sorted) of the store, as found by `index`.
    pub(crate) fn restrict(&mut self, index: String, rows: Vec<u64>) {
        self.index = Some((index, Arc::new(rows)));
    }

    /// The index that narrowed the scan, if any (for EXPLAIN).
    pub fn index_used(&self) -> Option<&str> {
        self.index.as_ref().map(|(name, _)| name.as_str())
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// Number of store segments (the unit of parallelism).
    pub fn segment_count(&self) -> usize {
        self.table.as_ref().map_or(0, |t| t.segment_count())
    }

    /// Committed rows visible to the snapshot, upper bound from statistics.
    pub fn estimated_rows(&self) -> u64 {
        let stored = match &self.index {
            Some((_, rows)) => rows.len() as u64,
            None => self.table.as_ref().map_or(0, |t| t.live_rows()),
        };
        stored + self.local.iter().map(|b| b.num_rows() as u64).sum::<u64>()
    }

    /// What statistics say about the rows of `segments` plus, when `with_local`,
    /// the transaction's own rows (see [`ScanSummary`]).
    pub fn summary(&self, segments: std::ops::Range<usize>, with_local: bool) -> ScanSummary {
        let mut out = match (&self.table, &self.req) {
            (Some(t), Some(req)) => req.summarize(t, segments),
            _ => {
                let fields = self.schema.fields();
                let row_ids = fields.last().is_some_and(|f| f.name() == ROW_ID_COLUMN);
                ScanSummary::empty(fields.len() - usize::from(row_ids))
            }
        };
        if with_local {
            for b in &self.local {
                out.add_exact_rows(b.num_rows(), b.columns());
            }
        }
        out
    }

    /// As [`PreparedScan::summary`], followed by the summaries of the
    /// table's columns `extra` (columns a filter reads but the scan does not
    /// return, for estimates). The extra columns are left out when the
    /// transaction's own rows are counted and there are some: those rows
    /// carry only the returned columns.
    pub fn summary_with(
        &self,
        segments: std::ops::Range<usize>,
        with_local: bool,
        extra: &[usize],
    ) -> ScanSummary {
        let (Some(t), Some(req)) = (&self.table, &self.req) else {
            return self.summary(segments, with_local);
        };
        if extra.is_empty() || (with_local && !self.local.is_empty()) {
            return self.summary(segments, with_local);
        }
        let mut wide = req.clone();
        let mut columns =
            wide.projection.clone().unwrap_or_else(|| (0..t.meta.columns.len()).collect());
        columns.extend_from_slice(extra);
        wide.projection = Some(columns);
        wide.summarize(t, segments)
    }

    /// The table as of the scan's store version.
    pub fn table_data(&self) -> Option<&Arc<TableData>> {
        self.table.as_ref()
    }

    /// Runs the scan over `segments`, calling `sink` in parallel with each
    /// segment's batch and index.
    ///
    /// # Errors
    /// The first error of the store or of `sink`.
    pub fn run_segments<F>(&self, segments: std::ops::Range<usize>, sink: F) -> Result<()>
    where
        F: Fn(usize, RecordBatch) -> Result<(), llkv_store::Error> + Sync,
    {
        match (&self.table, &self.req, &self.index) {
            (Some(t), Some(req), Some((_, rows))) => {
                self.store.scan_rows_with(t, req, rows, segments, sink)?
            }
            (Some(t), Some(req), None) => self.store.scan_with(t, req, segments, sink)?,
            _ => {}
        }
        Ok(())
    }

    /// Reads store segment `i` on the caller's thread: its rows visible to
    /// the snapshot that match, projected (`None` when none does). The same
    /// rows as [`PreparedScan::run_segments`] gives for that segment.
    ///
    /// # Errors
    /// The store's read errors.
    pub fn read_segment(&self, i: usize) -> Result<Option<RecordBatch>> {
        let (Some(t), Some(scan)) = (&self.table, &self.segment_scan) else { return Ok(None) };
        let rows = self.index.as_ref().map(|(_, rows)| rows.as_slice());
        Ok(self.store.scan_segment(t, scan, i, rows)?)
    }

    /// Segment `i` as [`PreparedScan::read_segment`] reads it, with the row
    /// filter left unapplied and, with `string_views`, `Utf8` columns as
    /// `Utf8View` (see [`Store::scan_segment_masked`]); a scan through an
    /// index reads its rows filtered, with the stored types.
    ///
    /// # Errors
    /// The store's read errors.
    pub fn read_segment_masked(&self, i: usize, string_views: bool) -> Result<Option<MaskedBatch>> {
        if self.index.is_some() {
            return Ok(self.read_segment(i)?.map(|batch| {
                let rows = batch.num_rows();
                MaskedBatch { batch, keep: None, rows }
            }));
        }
        let (Some(t), Some(scan)) = (&self.table, &self.segment_scan) else { return Ok(None) };
        Ok(self.store.scan_segment_masked(t, scan, i, string_views)?)
    }

    /// Segment `i`'s kept rows and the sums of the projected columns (all
    /// DECIMAL) over them, as summing [`PreparedScan::read_segment`]'s batch
    /// gives, read from the stored codes (see [`Store::segment_sums`]);
    /// `None` when no row qualifies.
    ///
    /// # Errors
    /// The store's errors; a projected column that is not DECIMAL.
    pub fn segment_sums(&self, i: usize) -> Result<Option<SegmentSums>> {
        if self.index.is_some() {
            return Ok(self
                .read_segment(i)?
                .map(|b| SegmentSums::of_rows(b.columns(), b.num_rows(), None)));
        }
        let (Some(t), Some(scan)) = (&self.table, &self.segment_scan) else { return Ok(None) };
        Ok(self.store.segment_sums(t, scan, i)?)
    }

    /// The transaction's own rows that match (already filtered and projected).
    pub fn local_batches(&self) -> &[RecordBatch] {
        &self.local
    }

    /// Runs the whole scan and returns the batches in row order.
    ///
    /// # Errors
    /// The store's read errors.
    pub fn collect(&self) -> Result<Vec<RecordBatch>> {
        let mut out = match (&self.table, &self.req, &self.index) {
            (Some(t), Some(req), Some((_, rows))) => match &self.segment_scan {
                Some(scan) => self.store.scan_rows_prepared(t, scan, rows)?,
                None => self.store.scan_rows(t, req, rows)?,
            },
            (Some(t), Some(req), None) => self.store.scan(t, req)?,
            _ => Vec::new(),
        };
        out.extend(self.local.iter().cloned());
        Ok(out)
    }
}

/// Collects a `UInt64` column's values (the row ids of a scan with row ids).
pub fn row_ids_of(batches: &[RecordBatch]) -> Vec<u64> {
    let mut ids = Vec::new();
    for b in batches {
        if let Some(a) = b.columns().last().and_then(|c| c.as_any().downcast_ref::<UInt64Array>()) {
            ids.extend(a.iter().flatten());
        }
    }
    ids
}

/// The number of rows of a scan that asked for no columns.
pub fn count_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<PreparedScan>();
    let _ = |a: &dyn Array| a.len();
}
