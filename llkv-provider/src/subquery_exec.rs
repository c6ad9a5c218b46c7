//! Execution of [`PerRowSubqueryNode`]: each subquery run once per distinct
//! combination of the outer values it reads (see [`crate::subquery`]).
//!
//! For a row, the subquery's outer references become literals of the row's
//! values; the resulting plan is optimized and planned like a statement of
//! its own (with the statement's llkv transaction: the state is the one the
//! statement was planned with) and run to completion. Results are cached by
//! the outer values, so a subquery that reads one outer column of few
//! distinct values runs few times.

use crate::subquery::{PerRowItem, PerRowSubqueryNode, SubqueryKind};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, ScalarValue, exec_err};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::logical_plan::Projection;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{Expr, LogicalPlan, UserDefinedLogicalNode};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::ExecutionPlanProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, ReplaceChildrenOptions,
};
use datafusion::physical_planner::{DefaultPhysicalPlanner, ExtensionPlanner, PhysicalPlanner};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

/// Plans [`PerRowSubqueryNode`]s.
#[derive(Debug, Default)]
pub(crate) struct PerRowSubqueryPlanner;

/// DataFusion's physical planner with llkv's extension planners.
pub(crate) fn physical_planner() -> DefaultPhysicalPlanner {
    DefaultPhysicalPlanner::with_extension_planners(vec![Arc::new(PerRowSubqueryPlanner)])
}

#[async_trait::async_trait]
impl ExtensionPlanner for PerRowSubqueryPlanner {
    async fn plan_extension(
        &self,
        _planner: &dyn PhysicalPlanner,
        node: &dyn UserDefinedLogicalNode,
        _logical_inputs: &[&LogicalPlan],
        physical_inputs: &[Arc<dyn ExecutionPlan>],
        session: &dyn datafusion::catalog::Session,
        _planning_ctx: &PhysicalPlanningContext,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let Some(node) = node.as_any().downcast_ref::<PerRowSubqueryNode>() else {
            return Ok(None);
        };
        let [input] = physical_inputs else {
            return exec_err!("PerRowSubquery needs one input");
        };
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return exec_err!("PerRowSubquery needs a SessionState");
        };
        let input_schema = node.input.schema();
        let mut items = Vec::with_capacity(node.items.len());
        for (i, item) in node.items.iter().enumerate() {
            let lookup = match &item.kind {
                SubqueryKind::In { expr, .. } => Some(
                    session.create_physical_expr(expr.as_ref().clone(), &node.schema_before(i)?)?,
                ),
                _ => None,
            };
            let outer = item
                .outer
                .iter()
                .map(|c| Ok((c.clone(), input_schema.index_of_column(c)?)))
                .collect::<Result<Vec<_>>>()?;
            items.push(ExecItem { item: item.clone(), lookup, outer });
        }
        let schema = Arc::clone(node.schema.inner());
        // The subqueries are planned when they run, after the statement's
        // planning: the state they are planned with carries its scope.
        let mut state = state.clone();
        if let Some(scope) = crate::planner::current_scope() {
            state.config_mut().set_extension(scope);
        }
        Ok(Some(Arc::new(PerRowSubqueryExec::new(
            Arc::clone(input),
            Arc::new(Shared { items, state, schema }),
        ))))
    }
}

/// One subquery, ready to run.
struct ExecItem {
    item: PerRowItem,
    /// The left side of an `IN`, over the input and the earlier items' columns.
    lookup: Option<Arc<dyn PhysicalExpr>>,
    /// The outer columns and their positions in the input.
    outer: Vec<(Column, usize)>,
}

/// What the node's streams share.
struct Shared {
    items: Vec<ExecItem>,
    state: SessionState,
    schema: SchemaRef,
}

/// The execution plan of [`PerRowSubqueryNode`].
pub(crate) struct PerRowSubqueryExec {
    input: Arc<dyn ExecutionPlan>,
    shared: Arc<Shared>,
    properties: Arc<PlanProperties>,
}

impl PerRowSubqueryExec {
    fn new(input: Arc<dyn ExecutionPlan>, shared: Arc<Shared>) -> Self {
        // Rows keep their order; the input's columns keep their positions.
        let orderings = input.output_ordering().map(|o| o.iter().cloned().collect::<Vec<_>>());
        let properties = PlanProperties::new(
            EquivalenceProperties::new_with_orderings(Arc::clone(&shared.schema), orderings),
            input.output_partitioning().clone(),
            EmissionType::Incremental,
            Boundedness::Bounded,
        );
        Self { input, shared, properties: Arc::new(properties) }
    }
}

impl fmt::Debug for PerRowSubqueryExec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerRowSubqueryExec").field("subqueries", &self.shared.items.len()).finish()
    }
}

impl DisplayAs for PerRowSubqueryExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = self.shared.items.iter().map(|i| i.item.name.as_str()).collect();
        write!(f, "PerRowSubqueryExec: [{}]", names.join(", "))
    }
}

impl ExecutionPlan for PerRowSubqueryExec {
    fn name(&self) -> &str {
        "PerRowSubqueryExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.shared.schema)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if children.len() != 1 {
            return exec_err!("PerRowSubqueryExec needs one input");
        }
        Ok(Arc::new(Self::new(children.swap_remove(0), Arc::clone(&self.shared))))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(
                datafusion::physical_plan::ChildrenPropertiesMode::Recompute,
            ),
        )
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        for e in self.shared.items.iter().filter_map(|i| i.lookup.as_ref()) {
            if f(e)? == TreeNodeRecursion::Stop {
                return Ok(TreeNodeRecursion::Stop);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, Arc::clone(&context))?;
        let shared = Arc::clone(&self.shared);
        let schema = Arc::clone(&shared.schema);
        let stream = futures::stream::unfold(
            (input, Cache::default(), shared, context),
            |(mut input, mut cache, shared, context)| async move {
                let batch = match input.next().await? {
                    Ok(b) => b,
                    Err(e) => return Some((Err(e), (input, cache, shared, context))),
                };
                let out = extend(&batch, &shared, &mut cache, &context).await;
                Some((out, (input, cache, shared, context)))
            },
        );
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

/// A subquery's result for one combination of outer values.
enum Answer {
    /// A scalar subquery's value.
    Value(ScalarValue),
    /// The distinct non-NULL values an `IN` subquery gives, whether it gives
    /// a NULL, and whether it gives any row.
    Set { values: HashSet<ScalarValue>, has_null: bool, any: bool },
}

/// Results by item and outer values.
#[derive(Default)]
struct Cache(HashMap<(usize, Vec<ScalarValue>), Arc<Answer>>);

/// `batch` with one column appended per subquery.
async fn extend(
    batch: &RecordBatch,
    shared: &Shared,
    cache: &mut Cache,
    context: &Arc<TaskContext>,
) -> Result<RecordBatch> {
    let rows = batch.num_rows();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
    for (i, item) in shared.items.iter().enumerate() {
        let mut answers = Vec::with_capacity(rows);
        for row in 0..rows {
            let key = item
                .outer
                .iter()
                .map(|(_, idx)| ScalarValue::try_from_array(batch.column(*idx), row))
                .collect::<Result<Vec<_>>>()?;
            let answer = match cache.0.get(&(i, key.clone())) {
                Some(a) => Arc::clone(a),
                None => {
                    let a = Arc::new(run(item, &key, shared, context).await?);
                    cache.0.insert((i, key), Arc::clone(&a));
                    a
                }
            };
            answers.push(answer);
        }
        let field = shared.schema.field(batch.num_columns() + i).clone();
        let column: ArrayRef = match &item.item.kind {
            SubqueryKind::Scalar => {
                let values = answers.iter().map(|a| match a.as_ref() {
                    Answer::Value(v) => v.clone(),
                    Answer::Set { .. } => ScalarValue::Null,
                });
                if rows == 0 {
                    datafusion::arrow::array::new_empty_array(field.data_type())
                } else {
                    let typed = values
                        .map(|v| {
                            if v.is_null() {
                                ScalarValue::try_from(field.data_type())
                            } else if v.data_type() != *field.data_type() {
                                v.cast_to(field.data_type())
                            } else {
                                Ok(v)
                            }
                        })
                        .collect::<Result<Vec<_>>>()?;
                    ScalarValue::iter_to_array(typed)?
                }
            }
            SubqueryKind::Exists { negated } => Arc::new(
                answers
                    .iter()
                    .map(|a| Some(matches!(a.as_ref(), Answer::Set { any: true, .. }) != *negated))
                    .collect::<BooleanArray>(),
            ),
            SubqueryKind::In { negated, .. } => {
                let Some(lookup) = &item.lookup else {
                    return exec_err!("IN subquery without its value");
                };
                let sofar = RecordBatch::try_new_with_options(
                    Arc::new(datafusion::arrow::datatypes::Schema::new(fields.clone())),
                    columns.clone(),
                    &RecordBatchOptions::new().with_row_count(Some(rows)),
                )?;
                let probe = lookup.evaluate(&sofar)?.into_array(rows)?;
                let mut out = Vec::with_capacity(rows);
                for (row, a) in answers.iter().enumerate() {
                    let Answer::Set { values, has_null, any } = a.as_ref() else {
                        return exec_err!("IN subquery without its values");
                    };
                    let x = ScalarValue::try_from_array(&probe, row)?;
                    let found = if !any {
                        Some(false)
                    } else if x.is_null() {
                        None
                    } else if values.contains(&x) {
                        Some(true)
                    } else if *has_null {
                        None
                    } else {
                        Some(false)
                    };
                    out.push(found.map(|f| f != *negated));
                }
                Arc::new(out.into_iter().collect::<BooleanArray>())
            }
        };
        columns.push(column);
        fields.push(Arc::new(field));
    }
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(&shared.schema),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )?)
}

/// Runs one subquery for one combination of outer values.
async fn run(
    item: &ExecItem,
    key: &[ScalarValue],
    shared: &Shared,
    context: &Arc<TaskContext>,
) -> Result<Answer> {
    let values: HashMap<&Column, &ScalarValue> =
        item.outer.iter().map(|(c, _)| c).zip(key.iter()).collect();
    let mut plan = substitute(item.item.subquery.subquery.as_ref(), &values)?;
    if let SubqueryKind::Exists { .. } = item.item.kind {
        plan =
            datafusion::logical_expr::LogicalPlanBuilder::from(plan).limit(0, Some(1))?.build()?;
    }
    let plan = shared.state.optimize(&plan)?;
    let physical = physical_planner().create_physical_plan(&plan, &shared.state).await?;
    let batches = datafusion::physical_plan::collect(physical, Arc::clone(context)).await?;
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    match item.item.kind {
        SubqueryKind::Scalar => {
            if rows > 1 {
                return exec_err!("Scalar subquery returned more than one row");
            }
            let value = match batches.iter().find(|b| b.num_rows() > 0) {
                Some(b) => ScalarValue::try_from_array(b.column(0), 0)?,
                None => ScalarValue::Null,
            };
            Ok(Answer::Value(value))
        }
        _ => {
            let mut values = HashSet::new();
            let mut has_null = false;
            for b in &batches {
                let Some(c) = b.columns().first() else { continue };
                for row in 0..c.len() {
                    let v = ScalarValue::try_from_array(c, row)?;
                    if v.is_null() {
                        has_null = true;
                    } else {
                        values.insert(v);
                    }
                }
            }
            Ok(Answer::Set { values, has_null, any: rows > 0 })
        }
    }
}

/// `plan` with the outer references in `values` replaced by literals
/// (subqueries nested in it included).
fn substitute(plan: &LogicalPlan, values: &HashMap<&Column, &ScalarValue>) -> Result<LogicalPlan> {
    let replace = |e: Expr| -> Result<Transformed<Expr>> {
        e.transform_up(|e| match e {
            Expr::OuterReferenceColumn(field, c) => match values.get(&c) {
                Some(v) => {
                    let v = if v.data_type() == *field.data_type() || v.is_null() {
                        if v.is_null() {
                            ScalarValue::try_from(field.data_type())?
                        } else {
                            (*v).clone()
                        }
                    } else {
                        v.cast_to(field.data_type())?
                    };
                    Ok(Transformed::yes(Expr::Literal(v, None)))
                }
                None => Ok(Transformed::no(Expr::OuterReferenceColumn(field, c))),
            },
            Expr::ScalarSubquery(mut sq) => {
                forget(&mut sq.outer_ref_columns, values);
                Ok(Transformed::yes(Expr::ScalarSubquery(sq)))
            }
            Expr::InSubquery(mut sq) => {
                forget(&mut sq.subquery.outer_ref_columns, values);
                Ok(Transformed::yes(Expr::InSubquery(sq)))
            }
            Expr::Exists(mut sq) => {
                forget(&mut sq.subquery.outer_ref_columns, values);
                Ok(Transformed::yes(Expr::Exists(sq)))
            }
            other => Ok(Transformed::no(other)),
        })
    };
    plan.clone()
        .transform_up_with_subqueries(|node| match node {
            // A projection keeps its column names (a literal is named after its value).
            LogicalPlan::Projection(p) => {
                let mut exprs = Vec::with_capacity(p.expr.len());
                let mut changed = false;
                for (i, e) in p.expr.into_iter().enumerate() {
                    let t = replace(e)?;
                    if t.transformed {
                        changed = true;
                        let (q, f) = p.schema.qualified_field(i);
                        exprs.push(t.data.unalias().alias_qualified(q.cloned(), f.name()));
                    } else {
                        exprs.push(t.data);
                    }
                }
                let projection = Projection::try_new(exprs, p.input)?;
                Ok(Transformed::new_transformed(LogicalPlan::Projection(projection), changed))
            }
            other => other.map_expressions(replace),
        })
        .map(|t| t.data)
        .map_err(|e| DataFusionError::Context("correlated subquery".into(), Box::new(e)))
}

/// Drops the substituted columns from a nested subquery's outer references.
fn forget(refs: &mut Vec<Expr>, values: &HashMap<&Column, &ScalarValue>) {
    refs.retain(|e| !matches!(e, Expr::OuterReferenceColumn(_, c) if values.contains_key(c)));
}
