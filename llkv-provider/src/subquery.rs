//! Subqueries DataFusion cannot plan, evaluated row by row.
//!
//! DataFusion 55 decorrelates the subqueries it can (into joins) and runs
//! uncorrelated scalar subqueries once; what is left is an error at physical
//! planning: a correlated scalar subquery whose correlation is not an equality
//! (`SELECT (SELECT count(*) FROM t1 AS x WHERE x.b < t1.b), a FROM t1`,
//! apache/datafusion#16137), or `IN (subquery)` / `EXISTS` outside a WHERE
//! conjunct, e.g. in a select list (apache/datafusion#23022).
//!
//! [`PerRowSubqueries`], an optimizer rule that runs after DataFusion's own,
//! takes such subqueries out of a Projection or Filter into an extension node
//! that appends one column per subquery to its input:
//!
//! ```text
//!  Projection: (<subquery>) AS s, t1.a          Projection: __llkv_subquery_1 AS s, t1.a
//!    TableScan: t1                       ──►      PerRowSubquery: __llkv_subquery_1 := <subquery>
//!                                                   TableScan: t1
//! ```
//!
//! Its execution plan ([`crate::subquery_exec`]) runs the subquery for each
//! distinct combination of the outer values it reads, with those values
//! substituted as literals, and caches the result. A scalar subquery gives
//! NULL over no rows and is an error over more than one.

use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DFSchemaRef};
use datafusion::error::Result;
use datafusion::logical_expr::expr::{Exists, InSubquery};
use datafusion::logical_expr::logical_plan::{Extension, Filter, Projection};
use datafusion::logical_expr::{Expr, LogicalPlan, Subquery, UserDefinedLogicalNodeCore, col};
use datafusion::optimizer::{OptimizerConfig, OptimizerRule};
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// Prefix of the columns the node appends.
const PREFIX: &str = "__llkv_subquery";

/// What a subquery computes for a row.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
pub(crate) enum SubqueryKind {
    /// `(SELECT …)`: its one value, NULL over no rows.
    Scalar,
    /// `expr [NOT] IN (SELECT …)`; `expr` reads the node's input and the
    /// columns of the items before this one.
    In {
        /// The value looked up.
        expr: Box<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `[NOT] EXISTS (SELECT …)`.
    Exists {
        /// `NOT EXISTS`.
        negated: bool,
    },
}

/// One subquery of a [`PerRowSubqueryNode`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
pub(crate) struct PerRowItem {
    /// What it computes.
    pub(crate) kind: SubqueryKind,
    /// The subquery, with outer references to the node's input.
    pub(crate) subquery: Subquery,
    /// Name of the column it appends.
    pub(crate) name: String,
    /// The input columns the subquery reads (its correlation).
    pub(crate) outer: Vec<Column>,
}

/// The node: its input's columns, then one column per item.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PerRowSubqueryNode {
    pub(crate) input: LogicalPlan,
    pub(crate) items: Vec<PerRowItem>,
    pub(crate) schema: DFSchemaRef,
}

impl PartialOrd for PerRowSubqueryNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        (&self.input, &self.items)
            .partial_cmp(&(&other.input, &other.items))
            .filter(|c| *c != Ordering::Equal || self == other)
    }
}

impl PerRowSubqueryNode {
    fn try_new(input: LogicalPlan, items: Vec<PerRowItem>) -> Result<Self> {
        let mut schema = input.schema().as_ref().clone();
        for item in &items {
            schema = schema.join(&item_schema(item)?)?;
        }
        Ok(Self { input, items, schema: Arc::new(schema) })
    }

    /// The schema the expression of item `i` reads: the input and the items before it.
    pub(crate) fn schema_before(&self, i: usize) -> Result<DFSchema> {
        let mut schema = self.input.schema().as_ref().clone();
        for item in self.items.iter().take(i) {
            schema = schema.join(&item_schema(item)?)?;
        }
        Ok(schema)
    }
}

/// The one-column schema of an item's result.
fn item_schema(item: &PerRowItem) -> Result<DFSchema> {
    use datafusion::arrow::datatypes::{DataType, Field};
    let data_type = match &item.kind {
        SubqueryKind::Scalar => match item.subquery.subquery.schema().fields().first() {
            Some(f) => f.data_type().clone(),
            None => return datafusion::common::plan_err!("a scalar subquery without columns"),
        },
        SubqueryKind::In { .. } | SubqueryKind::Exists { .. } => DataType::Boolean,
    };
    DFSchema::from_unqualified_fields(
        vec![Field::new(&item.name, data_type, true)].into(),
        Default::default(),
    )
}

impl UserDefinedLogicalNodeCore for PerRowSubqueryNode {
    fn name(&self) -> &str {
        "PerRowSubquery"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        vec![&self.input]
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        self.items
            .iter()
            .filter_map(|i| match &i.kind {
                SubqueryKind::In { expr, .. } => Some(expr.as_ref().clone()),
                _ => None,
            })
            .collect()
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "PerRowSubquery:")?;
        for i in &self.items {
            let what = match &i.kind {
                SubqueryKind::Scalar => "scalar".to_string(),
                SubqueryKind::In { expr, negated } => {
                    format!("{expr} {}IN", if *negated { "NOT " } else { "" })
                }
                SubqueryKind::Exists { negated } => {
                    format!("{}EXISTS", if *negated { "NOT " } else { "" })
                }
            };
            let outer: Vec<String> = i.outer.iter().map(|c| c.flat_name()).collect();
            write!(f, " {} := {what} subquery on [{}]", i.name, outer.join(", "))?;
        }
        Ok(())
    }

    fn with_exprs_and_inputs(&self, exprs: Vec<Expr>, inputs: Vec<LogicalPlan>) -> Result<Self> {
        let Some(input) = inputs.into_iter().next() else {
            return datafusion::common::internal_err!("PerRowSubquery needs one input");
        };
        let mut exprs = exprs.into_iter();
        let mut items = self.items.clone();
        for item in &mut items {
            if let SubqueryKind::In { expr, .. } = &mut item.kind
                && let Some(e) = exprs.next()
            {
                **expr = e;
            }
        }
        Self::try_new(input, items)
    }
}

/// `optimizer`'s rules (DataFusion's default ones when `None`) with
/// [`PerRowSubqueries`] right after DataFusion's decorrelation rules: before
/// filters are pushed down and projections pruned, which do not follow the
/// outer references inside a subquery.
pub(crate) fn with_per_row_subqueries(
    optimizer: Option<datafusion::optimizer::Optimizer>,
) -> Vec<Arc<dyn OptimizerRule + Send + Sync>> {
    let mut rules = optimizer.unwrap_or_default().rules;
    let ours = PerRowSubqueries.name().to_string();
    rules.retain(|r| r.name() != ours);
    let at = rules
        .iter()
        .position(|r| r.name() == "decorrelate_lateral_join")
        .or_else(|| rules.iter().position(|r| r.name() == "scalar_subquery_to_join"))
        .map_or(rules.len(), |i| i + 1);
    rules.insert(at, Arc::new(PerRowSubqueries));
    rules
}

/// The optimizer rule described in the module docs.
#[derive(Debug, Default)]
pub struct PerRowSubqueries;

impl OptimizerRule for PerRowSubqueries {
    fn name(&self) -> &str {
        "llkv_per_row_subqueries"
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        // Only the plan's own nodes: a subquery's plan is handled when it is
        // run with its outer values substituted.
        plan.transform_up(|node| rewrite_node(node, config))
    }
}

/// Whether `e` holds a subquery that DataFusion's physical planner refuses.
fn is_unplannable(e: &Expr) -> bool {
    match e {
        Expr::ScalarSubquery(sq) => !sq.outer_ref_columns.is_empty(),
        Expr::InSubquery(_) | Expr::Exists(_) => true,
        _ => false,
    }
}

fn has_unplannable(e: &Expr) -> bool {
    e.exists(|e| Ok(is_unplannable(e))).unwrap_or(false)
}

fn rewrite_node(
    node: LogicalPlan,
    config: &dyn OptimizerConfig,
) -> Result<Transformed<LogicalPlan>> {
    match &node {
        LogicalPlan::Projection(p) if p.expr.iter().any(has_unplannable) => {
            let input = p.input.as_ref();
            let mut items = Vec::new();
            let mut exprs = Vec::with_capacity(p.expr.len());
            for (i, e) in p.expr.iter().enumerate() {
                let new = extract(e.clone(), input.schema(), &mut items, config)?;
                if new.transformed {
                    let (q, f) = p.schema.qualified_field(i);
                    exprs.push(new.data.unalias().alias_qualified(q.cloned(), f.name()));
                } else {
                    exprs.push(new.data);
                }
            }
            if items.is_empty() {
                return Ok(Transformed::no(node));
            }
            let ext = extension(input.clone(), items)?;
            let rewritten = Projection::try_new(exprs, Arc::new(ext))?;
            if !rewritten.schema.logically_equivalent_names_and_types(&p.schema) {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(LogicalPlan::Projection(rewritten)))
        }
        LogicalPlan::Filter(f) if has_unplannable(&f.predicate) => {
            let input = f.input.as_ref();
            let mut items = Vec::new();
            let predicate = extract(f.predicate.clone(), input.schema(), &mut items, config)?.data;
            if items.is_empty() {
                return Ok(Transformed::no(node));
            }
            let columns: Vec<Expr> =
                input.schema().columns().into_iter().map(Expr::Column).collect();
            let ext = extension(input.clone(), items)?;
            let filter = Filter::try_new(predicate, Arc::new(ext))?;
            let back = Projection::try_new(columns, Arc::new(LogicalPlan::Filter(filter)))?;
            if !back.schema.logically_equivalent_names_and_types(f.input.schema()) {
                return Ok(Transformed::no(node));
            }
            Ok(Transformed::yes(LogicalPlan::Projection(back)))
        }
        _ => Ok(Transformed::no(node)),
    }
}

fn extension(input: LogicalPlan, items: Vec<PerRowItem>) -> Result<LogicalPlan> {
    Ok(LogicalPlan::Extension(Extension {
        node: Arc::new(PerRowSubqueryNode::try_new(input, items)?),
    }))
}

/// `e` with its unplannable subqueries replaced by references to new items
/// (innermost first, so that an `IN`'s left side can read an earlier item).
fn extract(
    e: Expr,
    input: &DFSchema,
    items: &mut Vec<PerRowItem>,
    config: &dyn OptimizerConfig,
) -> Result<Transformed<Expr>> {
    e.transform_up(|e| {
        if !is_unplannable(&e) {
            return Ok(Transformed::no(e));
        }
        let name = config.alias_generator().next(PREFIX);
        let (kind, subquery) = match e {
            Expr::ScalarSubquery(sq) => (SubqueryKind::Scalar, sq),
            Expr::InSubquery(InSubquery { expr, subquery, negated }) => {
                (SubqueryKind::In { expr, negated }, subquery)
            }
            Expr::Exists(Exists { subquery, negated }) => {
                (SubqueryKind::Exists { negated }, subquery)
            }
            other => return Ok(Transformed::no(other)),
        };
        let outer = outer_columns(&subquery.subquery, input);
        items.push(PerRowItem { kind, subquery, name: name.clone(), outer });
        Ok(Transformed::yes(col(Column::from_name(name))))
    })
}

/// The columns of `input` that `plan` (and the subqueries inside it) refer to
/// as outer references.
pub(crate) fn outer_columns(plan: &LogicalPlan, input: &DFSchema) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    let _ = plan.apply_with_subqueries(|node| {
        node.apply_expressions(|e| {
            e.apply(|e| {
                if let Expr::OuterReferenceColumn(_, c) = e
                    && input.index_of_column(c).is_ok()
                    && !out.contains(c)
                {
                    out.push(c.clone());
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    });
    out
}
