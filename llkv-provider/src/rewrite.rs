//! DELETE and UPDATE whose WHERE clause DataFusion cannot hand to a provider.
//!
//! DataFusion passes `delete_from` / `update` only the WHERE conjuncts it can
//! extract as plain filters on the target: subqueries (`IN (SELECT …)`,
//! `EXISTS`, scalar subqueries), other tables (`UPDATE … FROM`) and `LIMIT`
//! are lost on the way. [`LlkvDmlRewrite`], an analyzer rule, turns such a
//! statement into a query for the row ids it changes, planned and optimized by
//! DataFusion like any query, feeding an llkv node that changes those rows:
//!
//! ```text
//!  Dml(DELETE t)                         Dml(INSERT INTO <row sink of t>)
//!    Filter: x IN (<subquery>)     ──►     Projection: t.__llkv_row_id
//!      TableScan: t                          Filter: x IN (<subquery>)
//!                                              TableScan: t (+ row-id column)
//! ```
//!
//! For UPDATE the projection keeps DataFusion's new value of every column
//! after the row id. The statement keeps one snapshot: all rows to change are
//! read before the first change.
//!
//! Every DELETE and UPDATE on an llkv table takes this path, even one whose
//! WHERE looks plain: DataFusion's optimizer can still move part of a plain
//! WHERE out of the filter (common subexpression elimination puts shared
//! terms in a projection below it as `__common_expr_N`, which the extracted
//! filters then name but the provider cannot resolve). The query path sees
//! the whole optimized plan, so nothing is lost. The direct `delete_from` /
//! `update` hooks stay for contexts without the rule.

use crate::dml::DmlOp;
use crate::table::LlkvTable;
use datafusion::catalog::TableProvider;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{TableReference, plan_err};
use datafusion::datasource::{DefaultTableSource, provider_as_source};
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::logical_plan::{Projection, TableScanBuilder};
use datafusion::logical_expr::{DmlStatement, Expr, LogicalPlan, TableSource, WriteOp};
use datafusion::optimizer::AnalyzerRule;
use llkv_store::ROW_ID_COLUMN;
use std::sync::Arc;

/// The analyzer rule described in the module docs.
#[derive(Debug, Default)]
pub struct LlkvDmlRewrite;

impl AnalyzerRule for LlkvDmlRewrite {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up(|node| match node {
            LogicalPlan::Dml(dml) => match target_of(&dml) {
                Some(table) => rewrite(&dml, table).map(Transformed::yes),
                _ => Ok(Transformed::no(LogicalPlan::Dml(dml))),
            },
            other => Ok(Transformed::no(other)),
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "llkv_dml_rewrite"
    }
}

/// The llkv table a DELETE or UPDATE changes.
fn target_of(dml: &DmlStatement) -> Option<&LlkvTable> {
    if !matches!(dml.op, WriteOp::Delete | WriteOp::Update) {
        return None;
    }
    dml.target.downcast_ref::<DefaultTableSource>()?.table_provider.downcast_ref::<LlkvTable>()
}

/// The DELETE/UPDATE as "find the row ids, then change those rows".
fn rewrite(dml: &DmlStatement, table: &LlkvTable) -> Result<LogicalPlan> {
    let what = if dml.op == WriteOp::Delete { "DELETE" } else { "UPDATE" };
    let source = provider_as_source(Arc::new(table.with_row_id_column()));
    let (body, new_values) = match (&dml.op, dml.input.as_ref()) {
        (WriteOp::Update, LogicalPlan::Projection(p)) => (p.input.as_ref(), Some(&p.expr)),
        (WriteOp::Update, _) => {
            return plan_err!("unexpected plan for UPDATE of {}", dml.table_name);
        }
        _ => (dml.input.as_ref(), None),
    };
    let Some(body) = with_row_ids(body, &dml.table_name, &source)? else {
        return plan_err!(
            "{what} on llkv table {}: cannot find the table's rows in the statement's plan",
            dml.table_name
        );
    };
    let ids = body.schema().columns_with_unqualified_name(ROW_ID_COLUMN);
    let [id] = ids.as_slice() else {
        return plan_err!("{what} on llkv table {}: ambiguous row ids", dml.table_name);
    };
    let mut exprs = vec![Expr::Column(id.clone()).alias(ROW_ID_COLUMN)];
    // DataFusion gives a new value for every column of the target's schema;
    // a `rowid` column the table exposes (see `crate::rowid`) comes after the
    // table's own columns, and cannot be assigned.
    let own = table.meta().columns.len();
    if let Some(values) = new_values {
        if table.exposes_rowid()
            && let Some(v) = values.get(own)
            && !matches!(v.clone().unalias(), Expr::Column(c) if c.name == crate::rowid::ROWID)
        {
            return plan_err!("UPDATE of {}: rowid cannot be assigned", dml.table_name);
        }
        exprs.extend(values.iter().take(own).cloned());
    }
    let input = LogicalPlan::Projection(Projection::try_new(exprs, Arc::new(body))?);
    let op = if dml.op == WriteOp::Delete { DmlOp::DeleteRows } else { DmlOp::UpdateRows };
    let sink = crate::sink::LlkvRowSink::new(table, input.schema().inner(), op);
    Ok(LogicalPlan::Dml(DmlStatement::new(
        dml.table_name.clone(),
        provider_as_source(Arc::new(sink) as Arc<dyn TableProvider>),
        WriteOp::Insert(InsertOp::Append),
        Arc::new(input),
    )))
}

/// `plan` with its first scan of `target` (pre-order, the left-most one: the
/// table being changed) reading `source`, which adds the row-id column, and
/// every node above it rebuilt so the column reaches the top. `None` when the
/// scan is not found or sits under a node that does not pass its input's
/// columns through.
fn with_row_ids(
    plan: &LogicalPlan,
    target: &TableReference,
    source: &Arc<dyn TableSource>,
) -> Result<Option<LogicalPlan>> {
    if let LogicalPlan::TableScan(scan) = plan {
        if !scan.table_name.resolved_eq(target) {
            return Ok(None);
        }
        let scan = TableScanBuilder::new(scan.table_name.clone(), Arc::clone(source))
            .with_filters(scan.filters.clone())
            .with_fetch(scan.fetch)
            .build()?;
        return Ok(Some(LogicalPlan::TableScan(scan)));
    }
    let passes_columns = match plan {
        LogicalPlan::Filter(_)
        | LogicalPlan::Limit(_)
        | LogicalPlan::Sort(_)
        | LogicalPlan::SubqueryAlias(_)
        | LogicalPlan::Repartition(_) => true,
        // The target is the left (first) input of the joins UPDATE … FROM builds.
        LogicalPlan::Join(j) => !matches!(
            j.join_type,
            datafusion::common::JoinType::RightSemi
                | datafusion::common::JoinType::RightAnti
                | datafusion::common::JoinType::RightMark
        ),
        _ => false,
    };
    if !passes_columns {
        return Ok(None);
    }
    let mut inputs: Vec<LogicalPlan> = Vec::new();
    let mut found = false;
    for (i, input) in plan.inputs().into_iter().enumerate() {
        if !found && let Some(p) = with_row_ids(input, target, source)? {
            // Only the left input of a join may carry the row ids.
            if i > 0 && matches!(plan, LogicalPlan::Join(_)) {
                return Ok(None);
            }
            found = true;
            inputs.push(p);
            continue;
        }
        inputs.push(input.clone());
    }
    if !found {
        return Ok(None);
    }
    plan.with_new_exprs(plan.expressions(), inputs).map(Some)
}
