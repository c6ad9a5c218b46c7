//! `LlkvScanExec`: llkv's scan as a DataFusion leaf node.
//!
//! ```text
//!  partition 0 ── segments [0, k)   ┐
//!  partition 1 ── segments [k, 2k)  ├─ each: spawn_blocking ─► PreparedScan::run_segments (rayon)
//!  …                                │        ─► bounded channel ─► LlkvScanStream
//!  partition n-1 ── … + the transaction's own uncommitted rows
//! ```
//!
//! The snapshot is fixed when the node is built (one `PreparedScan` shared by
//! all partitions). Rayon workers never wait on the channel: each window of
//! segments is read into memory on rayon, then the blocking thread sends it
//! and stops as soon as the receiver is gone (the query was cancelled).

use crate::error::wrap_error;
use datafusion::arrow::array::{RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{RecordBatchStream, SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchReceiverStream;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, Statistics, StatisticsArgs,
};
use futures::Stream;
use llkv_mvcc::{PreparedScan, Transaction};
use parking_lot::Mutex;
use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Batches buffered between a partition's reader thread and its stream.
const CHANNEL_CAPACITY: usize = 2;

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
    properties: Arc<PlanProperties>,
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
    /// table schema) in up to `target_partitions` partitions.
    pub fn new(
        scan: PreparedScan,
        txn: Arc<Transaction>,
        table: impl Into<String>,
        schema: SchemaRef,
        filters: Vec<String>,
        limit: Option<usize>,
        target_partitions: usize,
    ) -> Self {
        let segments = scan.segment_count();
        let parts = target_partitions.clamp(1, segments.max(1));
        let ranges =
            (0..parts).map(|p| (p * segments / parts)..((p + 1) * segments / parts)).collect();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(parts),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
        Self {
            scan: Arc::new(scan),
            txn,
            table: table.into(),
            columns,
            filters,
            limit,
            schema,
            ranges,
            properties: Arc::new(properties),
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

    /// Row counts from segment metadata, always `Inexact`: filters and the
    /// snapshot's visibility rules are not applied to them.
    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let mut stats = Statistics::new_unknown(&self.schema);
        let rows = match args.partition() {
            None => self.scan.estimated_rows(),
            Some(p) => {
                let local: u64 = if p + 1 == self.ranges.len() {
                    self.scan.local_batches().iter().map(|b| b.num_rows() as u64).sum()
                } else {
                    0
                };
                let segs = self.ranges.get(p).cloned().unwrap_or_default();
                let stored: u64 = self.scan.table_data().map_or(0, |t| {
                    t.segments.get(segs).map_or(0, |s| s.iter().map(|s| s.live_rows()).sum())
                });
                stored + local
            }
        };
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        stats.num_rows = match self.limit {
            Some(l) => Precision::Inexact(rows.min(l)),
            None => Precision::Inexact(rows),
        };
        Ok(Arc::new(stats))
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(range) = self.ranges.get(partition).cloned() else {
            return datafusion::common::internal_err!(
                "LlkvScanExec has {} partitions, not {partition}",
                self.ranges.len()
            );
        };
        let last = partition + 1 == self.ranges.len();
        let scan = Arc::clone(&self.scan);
        let mut builder = RecordBatchReceiverStream::builder(self.schema(), CHANNEL_CAPACITY);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            let window = (rayon::current_num_threads() / 2).max(1);
            let mut start = range.start;
            while start < range.end {
                let end = (start + window).min(range.end);
                let read: Mutex<Vec<(usize, RecordBatch)>> = Mutex::new(Vec::new());
                scan.run_segments(start..end, |i, b| {
                    read.lock().push((i, b));
                    Ok(())
                })
                .map_err(wrap_error)?;
                let mut read = read.into_inner();
                read.sort_by_key(|(i, _)| *i);
                for (_, b) in read {
                    if tx.blocking_send(Ok(b)).is_err() {
                        return Ok(());
                    }
                }
                start = end;
            }
            if last {
                for b in scan.local_batches() {
                    if tx.blocking_send(Ok(b.clone())).is_err() {
                        return Ok(());
                    }
                }
            }
            Ok(())
        });
        Ok(Box::pin(LlkvScanStream {
            inner: builder.build(),
            schema: self.schema(),
            remaining: self.limit,
        }))
    }
}

/// The batches of one partition of an [`LlkvScanExec`], each with exactly the
/// node's schema, ending early once a pushed limit is reached.
pub struct LlkvScanStream {
    inner: SendableRecordBatchStream,
    schema: SchemaRef,
    remaining: Option<usize>,
}

impl LlkvScanStream {
    /// Re-labels a batch with the node's schema (same columns, and the row
    /// count kept for batches without columns).
    fn conform(&self, batch: RecordBatch) -> Result<RecordBatch> {
        if batch.schema() == self.schema {
            return Ok(batch);
        }
        let opts = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), batch.columns().to_vec(), &opts)
            .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
    }
}

impl Stream for LlkvScanStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.remaining == Some(0) {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(batch))) => {
                if let Some(r) = self.remaining.as_mut() {
                    *r = r.saturating_sub(batch.num_rows());
                }
                Poll::Ready(Some(self.conform(batch)))
            }
            other => other,
        }
    }
}

impl RecordBatchStream for LlkvScanStream {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}
