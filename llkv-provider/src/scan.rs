//! `LlkvScanExec`: llkv's scan as a DataFusion leaf node.
//!
//! ```text
//!  partition 0 ── segments [0, k)   ┐
//!  partition 1 ── segments [k, 2k)  ├─ each: LlkvScanStream::poll_next reads
//!  …                                │   its next segment on the polling thread
//!  partition n-1 ── … + the transaction's own uncommitted rows
//! ```
//!
//! The snapshot is fixed when the node is built (one `PreparedScan` shared by
//! all partitions). Like DataFusion's `MemTable`, a partition's stream makes
//! its batches where it is polled: a settled segment is a few zero-copy
//! arrays, and a thread hop per batch cost more than reading it (thread
//! wake-ups were ~8% of a full scan's CPU). Parallelism comes from the
//! partitions (`target_partitions`); dropping the stream stops the scan.

use crate::error::wrap_error;
use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::{BatchCoalescer, cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::ColumnStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, Statistics, StatisticsArgs,
};
use datafusion::scalar::ScalarValue;
use futures::Stream;
use llkv_mvcc::{PreparedScan, Transaction};
use llkv_store::ScanSummary;
use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

/// Scans one llkv table as one transaction sees it.
pub struct LlkvScanExec {
    scan: Arc<PreparedScan>,
    /// Keeps the snapshot registered while the plan lives.
    txn: Arc<Transaction>,
    table: String,
    /// Names of the projected columns (for EXPLAIN).
    columns: Vec<String>,
    /// The pushed filters, for EXPLAIN.
    filters: Vec<String>,
    limit: Option<usize>,
    schema: SchemaRef,
    /// Segment range of each partition.
    ranges: Vec<Range<usize>>,
    /// The partition count asked for (kept for [`ExecutionPlan::with_fetch`]).
    target_partitions: usize,
    properties: Arc<PlanProperties>,
    /// Statistics of the whole scan, computed on first use (the optimizer
    /// asks for them again at every rule that looks at the plan).
    stats: OnceLock<Arc<Statistics>>,
    /// Statistics of each partition, computed on first use.
    partition_stats: Vec<OnceLock<Arc<Statistics>>>,
    /// The pushed filters as one predicate over the node's columns followed by
    /// the filtered columns it does not return, for row-count estimates.
    estimate: Option<FilterEstimate>,
    /// Rows handed out and time spent reading and filtering, per partition
    /// (EXPLAIN ANALYZE shows them).
    metrics: ExecutionPlanMetricsSet,
}

/// What [`LlkvScanExec`] needs to estimate how many rows its pushed filters keep.
#[derive(Clone)]
struct FilterEstimate {
    predicate: Arc<dyn PhysicalExpr>,
    /// The node's schema, then the filtered columns it does not return.
    schema: SchemaRef,
    /// The table's indexes of those filtered columns, whose statistics the
    /// estimate reads too (none when the node has row-id columns).
    extra: Vec<usize>,
}

impl fmt::Debug for LlkvScanExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlkvScanExec")
            .field("table", &self.table)
            .field("columns", &self.columns)
            .field("filters", &self.filters)
            .field("limit", &self.limit)
            .field("ranges", &self.ranges)
            .finish()
    }
}

impl LlkvScanExec {
    /// A scan node over `scan` producing batches of `schema` (the projected
    /// table schema) in up to `target_partitions` partitions. With a `limit`
    /// the scan has one partition that reads segments in growing windows and
    /// stops once it has `limit` rows.
    pub fn new(
        scan: PreparedScan,
        txn: Arc<Transaction>,
        table: impl Into<String>,
        schema: SchemaRef,
        filters: Vec<String>,
        limit: Option<usize>,
        target_partitions: usize,
    ) -> Self {
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        Self::build(
            Arc::new(scan),
            txn,
            table.into(),
            columns,
            filters,
            limit,
            schema,
            target_partitions,
        )
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "private constructor shared by new and with_fetch"
    )]
    fn build(
        scan: Arc<PreparedScan>,
        txn: Arc<Transaction>,
        table: String,
        columns: Vec<String>,
        filters: Vec<String>,
        limit: Option<usize>,
        schema: SchemaRef,
        target_partitions: usize,
    ) -> Self {
        let segments = scan.segment_count();
        // A table of fewer rows than a chunk holds is one partition: no
        // parallelism to gain, and an order-sensitive aggregate
        // (`group_concat` without ORDER BY) then sees the rows in insertion
        // order, as in SQLite, instead of the partitions' partial results
        // in whichever order they finish.
        let chunk_rows = txn.database().store().options().chunk_rows as u64;
        let small = scan.estimated_rows() < chunk_rows;
        let parts = match limit {
            Some(_) => 1,
            None if small => 1,
            None => target_partitions.clamp(1, segments.max(1)),
        };
        let ranges =
            (0..parts).map(|p| (p * segments / parts)..((p + 1) * segments / parts)).collect();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(parts),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self {
            scan,
            txn,
            table,
            columns,
            filters,
            limit,
            schema,
            ranges,
            target_partitions,
            properties: Arc::new(properties),
            stats: OnceLock::new(),
            metrics: ExecutionPlanMetricsSet::new(),
            partition_stats: (0..parts).map(|_| OnceLock::new()).collect(),
            estimate: None,
        }
    }

    /// Lets the statistics estimate the rows the pushed filters keep the way
    /// DataFusion's `FilterExec` estimates them (interval analysis on column
    /// bounds, else its default selectivity), from `predicate` (the pushed
    /// filters' conjunction) over `schema`: the node's columns followed by the
    /// filtered columns the node does not return. Without it a filtered scan
    /// reports the rows of every segment its statistics cannot rule out, and
    /// DataFusion plans a join's build side from that (a partitioned join that
    /// repartitions the probe side instead of a broadcast one).
    ///
    /// `extra` are the table's column indexes of the filtered columns the
    /// node does not return (in `schema`'s order): their statistics bound
    /// the estimate as the returned columns' do. Pass none when the node has
    /// row-id columns (the statistics list the table's columns first).
    pub fn with_filter_estimate(
        mut self,
        predicate: Arc<dyn PhysicalExpr>,
        schema: SchemaRef,
        extra: Vec<usize>,
    ) -> Self {
        let own = self.schema.fields().len();
        let prefix_ok = schema.fields().len() >= own
            && self.schema.fields().iter().zip(schema.fields()).all(|(a, b)| a == b);
        if prefix_ok {
            let extra = match extra.len() == schema.fields().len() - own {
                true => extra,
                false => Vec::new(),
            };
            self.estimate = Some(FilterEstimate { predicate, schema, extra });
        }
        self
    }

    /// `stats` with the row count and column statistics a `FilterExec` of the
    /// pushed filters would derive from them; `stats` unchanged when the
    /// estimate does not apply.
    fn estimate_filtered(&self, stats: Statistics) -> Statistics {
        let Some(est) = &self.estimate else { return stats };
        if self.limit.is_some() || stats.num_rows.is_exact().unwrap_or(false) {
            return stats;
        }
        let n = self.schema.fields().len();
        let mut input = stats.clone();
        input.column_statistics.resize(est.schema.fields().len(), ColumnStatistics::new_unknown());
        let empty: Arc<dyn ExecutionPlan> = Arc::new(EmptyExec::new(Arc::clone(&est.schema)));
        let estimated = FilterExec::try_new(Arc::clone(&est.predicate), empty)
            .and_then(|f| f.statistics_from_inputs(&[Arc::new(input)], &StatisticsArgs::new()));
        match estimated {
            Ok(e) => {
                let mut e = Arc::unwrap_or_clone(e);
                e.column_statistics.truncate(n);
                e
            }
            Err(_) => stats,
        }
    }

    /// The scanned table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The filters pushed into the store, as text.
    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    /// The row limit pushed into the scan.
    pub fn limit(&self) -> Option<usize> {
        self.limit
    }

    /// The transaction whose snapshot the scan reads.
    pub fn transaction(&self) -> &Arc<Transaction> {
        &self.txn
    }

    /// The prepared scan the partitions read.
    pub(crate) fn prepared(&self) -> &Arc<PreparedScan> {
        &self.scan
    }

    /// The segments each partition reads (the transaction's own rows go
    /// with the last partition).
    pub(crate) fn segment_ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }
}

impl DisplayAs for LlkvScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "LlkvScanExec: table={}, projection=[{}], partitions={}",
            self.table,
            self.columns.join(", "),
            self.ranges.len()
        )?;
        if !self.filters.is_empty() {
            write!(f, ", filters=[{}]", self.filters.join(", "))?;
        }
        if let Some(index) = self.scan.index_used() {
            write!(f, ", index={index}")?;
        }
        if let Some(l) = self.limit {
            write!(f, ", limit={l}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for LlkvScanExec {
    fn name(&self) -> &str {
        "LlkvScanExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    /// Row count, null counts and bounds from segment statistics, `Exact`
    /// only where they are exact for this snapshot (see
    /// [`llkv_store::ScanSummary`]): no pushed filter, every row version's
    /// visibility provable from statistics, no pending delete in a counted
    /// segment. Float columns get no bounds (see `statistics_of`).
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let of = |segs: Range<usize>, with_local: bool| {
            // With a filter estimate, the statistics cover the filtered
            // columns the node does not return too (cut off after it).
            let (schema, extra) = match &self.estimate {
                Some(e) if !e.extra.is_empty() => (&e.schema, e.extra.as_slice()),
                _ => (&self.schema, &[][..]),
            };
            let summary = self.scan.summary_with(segs, with_local, extra);
            let stats = statistics_of(&summary, schema, self.limit);
            let mut stats = self.estimate_filtered(stats);
            stats.column_statistics.truncate(self.schema.fields().len());
            // Counting the filtered columns too, as a `FilterExec` over a
            // `MemTable` counts the columns it filters on before it drops them.
            let filtered = self.estimate.as_ref().map_or(&self.schema, |e| &e.schema);
            stats.total_byte_size = byte_size(&stats.num_rows, filtered);
            Arc::new(stats)
        };
        let stats = match args.partition() {
            None => self.stats.get_or_init(|| of(0..self.scan.segment_count(), true)),
            Some(p) => match (self.partition_stats.get(p), self.ranges.get(p)) {
                (Some(cell), Some(segs)) => {
                    cell.get_or_init(|| of(segs.clone(), p + 1 == self.ranges.len()))
                }
                _ => return Ok(of(0..0, false)),
            },
        };
        Ok(Arc::clone(stats))
    }

    fn supports_limit_pushdown(&self) -> bool {
        false
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        let limit = match (limit, self.limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut node = Self::build(
            Arc::clone(&self.scan),
            Arc::clone(&self.txn),
            self.table.clone(),
            self.columns.clone(),
            self.filters.clone(),
            limit,
            Arc::clone(&self.schema),
            self.target_partitions,
        );
        node.estimate = self.estimate.clone();
        Some(Arc::new(node))
    }

    fn fetch(&self) -> Option<usize> {
        self.limit
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(range) = self.ranges.get(partition).cloned() else {
            return datafusion::common::internal_err!(
                "LlkvScanExec has {} partitions, not {partition}",
                self.ranges.len()
            );
        };
        Ok(Box::pin(LlkvScanStream::new(
            Arc::clone(&self.scan),
            range,
            match partition + 1 == self.ranges.len() {
                true => 0..self.scan.local_batches().len(),
                false => 0..0,
            },
            self.schema(),
            self.limit,
            context.session_config().batch_size().max(1),
            BaselineMetrics::new(&self.metrics, partition),
        )))
    }
}

/// The batches of one partition of an [`LlkvScanExec`], each with exactly the
/// node's schema, ending early once a pushed limit is reached.
///
/// A segment is read with its row filter unapplied (deleted and invisible
/// rows, pushed predicates) and handed on `batch_size` rows at a time, as
/// DataFusion's `FilterExec` over a `MemTable` does: a slice whose rows are
/// all kept goes out as a zero-copy slice, the kept rows of the others go
/// through a [`BatchCoalescer`] that gathers small results into full
/// batches and lets batches over half the target through as they are.
/// Filtering a 64K-row segment at once would copy every column through
/// memory before the next operator sees the first row, and DataFusion's
/// operators size their buffers by their input batches.
pub struct LlkvScanStream {
    scan: Arc<PreparedScan>,
    /// The segments still to read.
    segments: Range<usize>,
    /// The transaction's own batches still to hand out (last partition only).
    local: Range<usize>,
    schema: SchemaRef,
    remaining: Option<usize>,
    batch_size: usize,
    /// The conformed batch being handed out, the rows of it the scan keeps
    /// (`None`: all), and the next offset.
    pending: Option<Pending>,
    /// Output batches being gathered (`None` for a node without columns,
    /// whose batches only count rows).
    coalescer: Option<BatchCoalescer>,
    /// Whether every input has been read and the coalescer flushed.
    drained: bool,
    metrics: BaselineMetrics,
}

/// A segment's batch being handed out in slices.
struct Pending {
    batch: RecordBatch,
    keep: Option<BooleanArray>,
    offset: usize,
}

impl LlkvScanStream {
    fn new(
        scan: Arc<PreparedScan>,
        segments: Range<usize>,
        local: Range<usize>,
        schema: SchemaRef,
        remaining: Option<usize>,
        batch_size: usize,
        metrics: BaselineMetrics,
    ) -> Self {
        let coalescer = (!schema.fields().is_empty()).then(|| {
            BatchCoalescer::new(Arc::clone(&schema), batch_size)
                .with_biggest_coalesce_batch_size(Some(batch_size / 2))
        });
        Self {
            scan,
            segments,
            local,
            schema,
            remaining,
            batch_size,
            pending: None,
            coalescer,
            drained: false,
            metrics,
        }
    }

    /// Re-labels a batch with the node's schema (same columns, and the row
    /// count kept for batches without columns). When the node has row-id
    /// columns (see `LlkvTable::with_rowid`), the store's batch ends with one
    /// `UInt64` column of row ids, which fills each of them, cast to its type.
    fn conform(&self, batch: RecordBatch) -> Result<RecordBatch> {
        if batch.schema() == self.schema {
            return Ok(batch);
        }
        let fields = self.schema.fields();
        let mut columns = batch.columns().to_vec();
        if columns.len() < fields.len()
            && let Some(ids) = columns.last().cloned()
        {
            columns.resize(fields.len(), ids);
        }
        for (c, f) in columns.iter_mut().zip(fields.iter()) {
            if c.data_type() != f.data_type() {
                *c = cast(c, f.data_type()).map_err(arrow_err)?;
            }
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &opts)
            .map_err(arrow_err)
    }

    /// The next batch, capped by the remaining limit.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        loop {
            if self.remaining == Some(0) {
                return Ok(None);
            }
            if let Some(b) = self.coalescer.as_mut().and_then(BatchCoalescer::next_completed_batch)
            {
                return Ok(Some(self.cap(b)));
            }
            if self.drained {
                return Ok(None);
            }
            if self.pending.is_some() {
                if let Some(b) = self.push_slice()? {
                    return Ok(Some(self.cap(b)));
                }
                continue;
            }
            let (batch, keep) = if let Some(i) = self.segments.next() {
                match self.scan.read_segment_masked(i, string_views()).map_err(wrap_error)? {
                    Some(m) => (m.batch, m.keep),
                    None => continue,
                }
            } else if let Some(b) = self.local.next().and_then(|i| self.scan.local_batches().get(i))
            {
                (b.clone(), None)
            } else {
                if let Some(c) = self.coalescer.as_mut() {
                    c.finish_buffered_batch().map_err(arrow_err)?;
                }
                self.drained = true;
                continue;
            };
            let batch = self.conform(batch)?;
            // Empty batches are skipped (a batch without columns still
            // counts rows and is handed out).
            if batch.num_rows() > 0 {
                self.pending = Some(Pending { batch, keep, offset: 0 });
            }
        }
    }

    /// Takes the next `batch_size` rows of the pending batch: their kept
    /// rows go into the coalescer, or are returned (for a node without
    /// columns).
    fn push_slice(&mut self) -> Result<Option<RecordBatch>> {
        let Some(mut p) = self.pending.take() else { return Ok(None) };
        let total = p.batch.num_rows();
        let len = self.batch_size.min(total - p.offset);
        let slice = match p.offset == 0 && len == total {
            true => p.batch.clone(),
            false => p.batch.slice(p.offset, len),
        };
        let keep = p.keep.as_ref().map(|k| k.slice(p.offset, len));
        p.offset += len;
        if p.offset < total {
            self.pending = Some(p);
        }
        let kept = keep.as_ref().map_or(len, BooleanArray::true_count);
        if kept == 0 {
            return Ok(None);
        }
        let Some(coalescer) = self.coalescer.as_mut() else {
            let opts = RecordBatchOptions::new().with_row_count(Some(kept));
            return RecordBatch::try_new_with_options(Arc::clone(&self.schema), vec![], &opts)
                .map(Some)
                .map_err(arrow_err);
        };
        match keep {
            Some(k) if kept < len => {
                if kept > self.batch_size / 2 {
                    // As `FilterExec`: a mostly kept slice is filtered on its
                    // own and passes the coalescer by.
                    coalescer.push_batch(filter_record_batch(&slice, &k).map_err(arrow_err)?)
                } else {
                    coalescer.push_batch_with_filter(slice, &k)
                }
            }
            _ => {
                // A large slice whose rows are all kept goes out as it is.
                // Rows held back before it (a segment's short last slice, or
                // kept rows of a filtered one) are flushed first: otherwise
                // the coalescer merges them with it, copying every row of
                // the segment that follows.
                if len > self.batch_size / 2 && coalescer.get_buffered_rows() > 0 {
                    coalescer.finish_buffered_batch().map_err(arrow_err)?;
                }
                coalescer.push_batch(slice)
            }
        }
        .map_err(arrow_err)?;
        // Under a limit, rows are not held back once they could reach it.
        if self.remaining.is_some_and(|r| coalescer.get_buffered_rows() >= r) {
            coalescer.finish_buffered_batch().map_err(arrow_err)?;
        }
        Ok(None)
    }

    /// `batch` cut to the remaining limit, which it then counts against.
    fn cap(&mut self, batch: RecordBatch) -> RecordBatch {
        match self.remaining.as_mut() {
            None => batch,
            Some(r) => {
                let n = batch.num_rows().min(*r);
                *r -= n;
                match n == batch.num_rows() {
                    true => batch,
                    false => batch.slice(0, n),
                }
            }
        }
    }
}

/// Whether text columns are handed to DataFusion as `Utf8View` (on unless
/// the environment sets `LLKV_DF_STRING_VIEWS=off`, to measure them).
pub(crate) fn string_views() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| !matches!(std::env::var("LLKV_DF_STRING_VIEWS").as_deref(), Ok("off" | "0")))
}

fn arrow_err(e: datafusion::arrow::error::ArrowError) -> DataFusionError {
    DataFusionError::ArrowError(Box::new(e), None)
}

impl Stream for LlkvScanStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let elapsed = self.metrics.elapsed_compute().clone();
        let timer = elapsed.timer();
        let next = self.next_batch().transpose();
        timer.done();
        self.metrics.record_poll(Poll::Ready(next))
    }
}

impl RecordBatchStream for LlkvScanStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The bytes `rows` rows of `schema` take in Arrow arrays, roughly (text
/// and binary as their 16-byte views), an estimate either way. DataFusion
/// weighs the two sides of a join by their bytes when both give them (and
/// broadcasts a side below a byte threshold), as for a `MemTable`; without
/// bytes it compares rows, which for a narrow side against a wide one picks
/// the other build side than the `MemTable` plan.
fn byte_size(rows: &Precision<usize>, schema: &SchemaRef) -> Precision<usize> {
    let width: usize = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Boolean => 1,
            t => t.primitive_width().unwrap_or(16),
        })
        .sum();
    match rows.get_value() {
        Some(&r) => Precision::Inexact(r.saturating_mul(width.max(1))),
        None => Precision::Absent,
    }
}

/// DataFusion statistics of a scan returning `schema` from what segment
/// statistics say, capped by a pushed `limit`.
fn statistics_of(summary: &ScanSummary, schema: &SchemaRef, limit: Option<usize>) -> Statistics {
    let count = |f: &llkv_store::Figure| {
        let v = usize::try_from(f.value).unwrap_or(usize::MAX);
        if f.exact { Precision::Exact(v) } else { Precision::Inexact(v) }
    };
    let mut stats = Statistics::new_unknown(schema);
    let mut rows = count(&summary.rows);
    let mut values_exact = true;
    if let Some(l) = limit {
        values_exact = rows.get_value().is_some_and(|&r| r <= l);
        rows = rows.min(&Precision::Exact(l));
    }
    stats.num_rows = rows;
    for ((cs, c), field) in
        stats.column_statistics.iter_mut().zip(&summary.columns).zip(schema.fields())
    {
        let null_count = count(&c.null_count);
        cs.null_count = if values_exact { null_count } else { null_count.to_inexact() };
        let exact = values_exact && c.bounds_exact && !field.data_type().is_floating();
        let bound = |v: &Option<datafusion::arrow::array::ArrayRef>| match v
            .as_ref()
            .and_then(|a| ScalarValue::try_from_array(a.as_ref(), 0).ok())
        {
            // Stored as Utf8, returned as Utf8View: bounds in the field's type.
            Some(s) => match s.cast_to(field.data_type()) {
                Ok(s) if exact => Precision::Exact(s),
                Ok(s) => Precision::Inexact(s),
                Err(_) => Precision::Absent,
            },
            None => Precision::Absent,
        };
        // No bounds for floats: DataFusion 55's interval analysis of a filter
        // comparing a column with a float column cast to an integer can compute a
        // selectivity above 1 and fail the query ("Selectivity is out of limit").
        if !field.data_type().is_floating() {
            cs.min_value = bound(&c.min);
            cs.max_value = bound(&c.max);
        }
    }
    stats
}
