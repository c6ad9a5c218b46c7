//! Sums answered by the store.
//!
//! DECIMAL chunks are stored narrowed (each value a 1- to 8-byte distance
//! from the chunk's minimum); DataFusion's SUM needs them widened to
//! 16-byte `Decimal128` arrays first, which are written and read again.
//! [`LlkvSumPushdown`] is a physical optimizer rule that finds a partial
//! (or, over one partition, single-stage) `AggregateExec` with no grouping whose aggregates are only `sum` of
//! DECIMAL columns and `count(*)`, directly over an [`LlkvScanExec`], and
//! replaces the two with an [`LlkvSumExec`]: per partition, it adds the
//! codes of the rows the scan keeps (`Store::segment_sums`) and hands the
//! final aggregate the partial sums and counts it expects, in the partial
//! aggregate's own schema.
//!
//! ```text
//!  AggregateExec: mode=Final             AggregateExec: mode=Final
//!    CoalescePartitionsExec        →       CoalescePartitionsExec
//!      AggregateExec: mode=Partial           LlkvSumExec: table=…, sums=[…]
//!        LlkvScanExec: table=…
//! ```
//!
//! Every row the scan keeps is still read (the codes, not the statistics):
//! deleted and invisible rows, pushed filters and the transaction's own
//! rows count as they do for the scan. A sum beyond `i128` is an error,
//! where DataFusion's accumulator would wrap around.

use crate::scan::LlkvScanExec;
use datafusion::arrow::array::{ArrayRef, Decimal128Array, Int64Array, RecordBatch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::functions_aggregate::count::Count;
use datafusion::functions_aggregate::sum::Sum;
use datafusion::physical_expr::expressions::{Column, Literal};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::coop::CooperativeExec;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions,
};
use llkv_mvcc::{PreparedScan, Transaction};
use llkv_store::{DecimalSum, SegmentSums};
use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The physical optimizer rule (see the module docs). [`crate::LlkvCatalog`]
/// adds it to the sessions it configures.
#[derive(Debug, Default)]
pub struct LlkvSumPushdown;

impl PhysicalOptimizerRule for LlkvSumPushdown {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match sum_exec_for(&node) {
                Some(sums) => Transformed::yes(Arc::new(sums) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "llkv_sum_pushdown"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// What one output column of an [`LlkvSumExec`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    /// The sum of the scan's column `k` (NULL over no non-NULL value).
    Sum(usize),
    /// The rows the scan keeps.
    Count,
}

/// The node replacing `node` when it is a partial aggregate the store can
/// answer (see the module docs).
fn sum_exec_for(node: &Arc<dyn ExecutionPlan>) -> Option<LlkvSumExec> {
    let agg = node.downcast_ref::<AggregateExec>()?;
    if !agg.group_expr().is_empty() || agg.filter_expr().iter().any(Option::is_some) {
        return None;
    }
    // DataFusion may wrap the scan in a `CooperativeExec` (which yields to
    // the runtime between batches; the sums are one batch per partition).
    let input = match agg.input().downcast_ref::<CooperativeExec>() {
        Some(coop) => coop.input(),
        None => agg.input(),
    };
    let scan = input.downcast_ref::<LlkvScanExec>()?;
    // A partial aggregate's states of SUM and COUNT are their values, so a
    // single-stage aggregate over a one-partition scan is answered the same.
    match agg.mode() {
        AggregateMode::Partial => {}
        AggregateMode::Single if scan.segment_ranges().len() == 1 => {}
        _ => return None,
    }
    let input = scan.schema();
    // Every scanned column is a DECIMAL (the store sums nothing else), and
    // there is no limit and no row-id column.
    let all_decimal =
        input.fields().iter().all(|f| matches!(f.data_type(), DataType::Decimal128(_, _)));
    if scan.limit().is_some() || !all_decimal || input.fields().is_empty() {
        return None;
    }
    let schema = agg.schema();
    if schema.fields().len() != agg.aggr_expr().len() {
        return None;
    }
    let mut figures = Vec::new();
    for (a, field) in agg.aggr_expr().iter().zip(schema.fields()) {
        if a.is_distinct() || !a.order_bys().is_empty() {
            return None;
        }
        let f: &dyn Any = a.fun().inner().as_ref();
        let args = a.expressions();
        let figure = match args.as_slice() {
            [arg] if f.is::<Sum>() => Figure::Sum(arg.downcast_ref::<Column>()?.index()),
            [arg] if f.is::<Count>() => {
                let lit = arg.downcast_ref::<Literal>()?;
                if lit.value().is_null() {
                    return None;
                }
                Figure::Count
            }
            _ => return None,
        };
        let fits = match figure {
            Figure::Sum(_) => matches!(field.data_type(), DataType::Decimal128(_, _)),
            Figure::Count => field.data_type() == &DataType::Int64,
        };
        if !fits {
            return None;
        }
        figures.push(figure);
    }
    if !figures.iter().any(|f| matches!(f, Figure::Sum(_))) {
        return None;
    }
    Some(LlkvSumExec::new(scan, figures, schema))
}

/// Partial sums and counts of one llkv table's scan, read from the stored
/// codes (see the module docs): one row per partition, in the schema of the
/// partial aggregate it replaces.
pub struct LlkvSumExec {
    figures: Arc<Figures>,
    /// Keeps the snapshot registered while the plan lives.
    txn: Arc<Transaction>,
    /// Segment range of each partition (the transaction's own rows go with
    /// the last).
    ranges: Vec<Range<usize>>,
    properties: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

/// What each partition of an [`LlkvSumExec`] computes, shared by them.
struct Figures {
    scan: Arc<PreparedScan>,
    table: String,
    figures: Vec<Figure>,
    schema: SchemaRef,
}

impl LlkvSumExec {
    fn new(scan: &LlkvScanExec, figures: Vec<Figure>, schema: SchemaRef) -> Self {
        let ranges = scan.segment_ranges().to_vec();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(ranges.len()),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        let figures = Figures {
            scan: Arc::clone(scan.prepared()),
            table: scan.table().to_string(),
            figures,
            schema,
        };
        Self {
            figures: Arc::new(figures),
            txn: Arc::clone(scan.transaction()),
            ranges,
            properties: Arc::new(properties),
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl LlkvSumExec {
    /// The scanned table's name.
    pub fn table(&self) -> &str {
        &self.figures.table
    }

    /// The transaction whose snapshot the sums read.
    pub fn transaction(&self) -> &Arc<Transaction> {
        &self.txn
    }
}

impl Figures {
    /// The partial row of `segments` (and of the transaction's own rows when
    /// `with_local`).
    fn partial(&self, segments: Range<usize>, with_local: bool) -> Result<RecordBatch> {
        let width = self.scan.schema().fields().len();
        let mut total = SegmentSums { rows: 0, sums: vec![Some(DecimalSum::default()); width] };
        for i in segments {
            if let Some(s) = self.scan.segment_sums(i).map_err(crate::wrap_error)? {
                total.absorb(&s);
            }
        }
        if with_local {
            for b in self.scan.local_batches() {
                total.absorb(&SegmentSums::of_rows(b.columns(), b.num_rows(), None));
            }
        }
        let columns = self
            .figures
            .iter()
            .zip(self.schema.fields())
            .map(|(figure, field)| -> Result<ArrayRef> {
                Ok(match *figure {
                    Figure::Count => Arc::new(Int64Array::from(vec![total.rows as i64])),
                    Figure::Sum(k) => {
                        let s = total.sums.get(k).copied().flatten().ok_or_else(|| {
                            DataFusionError::Execution(format!(
                                "the sum of {}'s column {} overflows a 128-bit decimal",
                                self.table,
                                self.scan.schema().field(k).name()
                            ))
                        })?;
                        let value = (s.count > 0).then_some(s.sum);
                        let array = Decimal128Array::from(vec![value])
                            .with_data_type(field.data_type().clone());
                        Arc::new(array)
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }
}

impl fmt::Debug for LlkvSumExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlkvSumExec")
            .field("table", &self.figures.table)
            .field("figures", &self.figures.figures)
            .finish()
    }
}

impl DisplayAs for LlkvSumExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let schema = &self.figures.schema;
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        write!(
            f,
            "LlkvSumExec: table={}, figures=[{}], partitions={}",
            self.figures.table,
            names.join(", "),
            self.ranges.len()
        )
    }
}

impl ExecutionPlan for LlkvSumExec {
    fn name(&self) -> &str {
        "LlkvSumExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.figures.schema)
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

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let Some(range) = self.ranges.get(partition).cloned() else {
            return datafusion::common::internal_err!(
                "LlkvSumExec has {} partitions, not {partition}",
                self.ranges.len()
            );
        };
        // Computed where the stream is first polled: DataFusion runs each
        // partition's stream in its own task, so the partitions add up in
        // parallel (`execute` itself is called for them one after another).
        let metrics = BaselineMetrics::new(&self.metrics, partition);
        let figures = Arc::clone(&self.figures);
        let with_local = partition + 1 == self.ranges.len();
        let stream = futures::stream::once(async move {
            let timer = metrics.elapsed_compute().timer();
            let batch = figures.partial(range, with_local);
            timer.done();
            if let Ok(b) = &batch {
                metrics.record_output(b.num_rows());
            }
            batch
        });
        let schema = Arc::clone(&self.figures.schema);
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}
