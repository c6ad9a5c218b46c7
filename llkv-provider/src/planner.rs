//! `LlkvQueryPlanner`: statement boundaries and the DELETE/UPDATE guard.
//!
//! DataFusion calls the query planner once per statement it executes. The
//! planner opens the statement's llkv transaction (the session's explicit one
//! after BEGIN, else a new one that the statement's DML node commits) and hands
//! it to every llkv node of the plan through a [`StatementScope`] in a task-local
//! value set while the statement is planned, so that all scans of a statement read
//! one snapshot and its writes land in the same transaction.
//!
//! It also guards `DELETE` and `UPDATE`: DataFusion passes providers only the
//! WHERE conjuncts it can extract, dropping subqueries and LIMIT, and folds a
//! constant-false WHERE into an empty input that would reach the provider as
//! "no filter". [`crate::LlkvDmlRewrite`] turns statements with subqueries or
//! LIMIT into row-id queries before they get here; should one still reach the
//! provider hooks (a context without the rule), the planner refuses it with a
//! clear error. A constant-false WHERE is marked so that the statement changes
//! nothing.

use crate::table::LlkvTable;
use datafusion::catalog::Session as DfSession;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::datasource::DefaultTableSource;
use datafusion::error::Result;
use datafusion::execution::context::{QueryPlanner, SessionState};
use datafusion::logical_expr::{DmlStatement, LogicalPlan, WriteOp};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::PhysicalPlanner;
use llkv_mvcc::{Session, StatementTxn};
use std::sync::Arc;

/// The llkv transaction of the statement being planned, found by llkv's
/// providers in the planning state's config extensions.
#[derive(Debug)]
pub(crate) struct StatementScope {
    /// Identifies the llkv session the transaction belongs to.
    pub(crate) session: usize,
    /// The statement's transaction.
    pub(crate) txn: StatementTxn,
    /// The statement is a DELETE/UPDATE whose input DataFusion folded to
    /// nothing (constant-false WHERE): it must change no row.
    pub(crate) empty_dml: bool,
}

/// Identifies a session for [`StatementScope::session`].
pub(crate) fn session_key(s: &Arc<Session>) -> usize {
    Arc::as_ptr(s) as usize
}

tokio::task_local! {
    /// The scope of the statement [`LlkvQueryPlanner`] is planning, for the
    /// providers it calls (set around the planning future: no copy of the
    /// session state is needed to carry it).
    static SCOPE: Arc<StatementScope>;
}

/// The scope of the statement being planned on this task, if any.
pub(crate) fn current_scope() -> Option<Arc<StatementScope>> {
    SCOPE.try_with(Arc::clone).ok()
}

/// The statement transaction for `session`: the planner's scope when planning
/// through [`LlkvQueryPlanner`], else a new statement transaction.
pub(crate) fn statement_txn(state: &dyn DfSession, session: &Arc<Session>) -> StatementTxn {
    match scope_of(state, session) {
        Some(scope) => scope.txn.clone(),
        None => session.statement_txn(),
    }
}

/// The planner's scope for `session`, if the statement is planned by
/// [`LlkvQueryPlanner`]: the planning task's, else one a state carries in its
/// config extensions (a state kept for planning later, see `crate::subquery_exec`).
pub(crate) fn scope_of(
    state: &dyn DfSession,
    session: &Arc<Session>,
) -> Option<Arc<StatementScope>> {
    current_scope()
        .filter(|s| s.session == session_key(session))
        .or_else(|| state.config().get_extension::<StatementScope>())
        .filter(|s| s.session == session_key(session))
}

/// DataFusion's physical planner plus llkv's statement transaction and DML guard.
#[derive(Debug)]
pub struct LlkvQueryPlanner {
    session: Arc<Session>,
}

impl LlkvQueryPlanner {
    /// A planner for statements on `session`.
    pub fn new(session: Arc<Session>) -> Self {
        Self { session }
    }
}

#[async_trait::async_trait]
impl QueryPlanner for LlkvQueryPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session: &dyn DfSession,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let empty_dml = check_dml(logical_plan)?;
        let scope = StatementScope {
            session: session_key(&self.session),
            txn: self.session.statement_txn(),
            empty_dml,
        };
        let Some(state) = session.as_any().downcast_ref::<SessionState>() else {
            return datafusion::common::internal_err!("llkv planner needs a SessionState");
        };
        // The scope rides on the planning task rather than in a copy of the
        // state (copying it copies every function registry: a fixed cost of
        // every statement).
        let planner = crate::subquery_exec::physical_planner();
        SCOPE.scope(Arc::new(scope), planner.create_physical_plan(logical_plan, state)).await
    }
}

/// Refuses DELETE/UPDATE on llkv tables whose WHERE DataFusion would not pass
/// on whole; returns whether such a statement's input was folded to nothing.
fn check_dml(plan: &LogicalPlan) -> Result<bool> {
    let mut empty = false;
    let mut error = None;
    plan.apply(|node| {
        if let LogicalPlan::Dml(dml) = node
            && matches!(dml.op, WriteOp::Delete | WriteOp::Update)
            && is_llkv(dml)
        {
            match inspect_input(dml) {
                Ok(e) => empty |= e,
                Err(e) => {
                    error = Some(e);
                    return Ok(TreeNodeRecursion::Stop);
                }
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    match error {
        Some(e) => Err(e),
        None => Ok(empty),
    }
}

fn is_llkv(dml: &DmlStatement) -> bool {
    dml.target
        .downcast_ref::<DefaultTableSource>()
        .is_some_and(|s| s.table_provider.downcast_ref::<LlkvTable>().is_some())
}

/// Ok(true): the input is empty; Ok(false): a plain filtered scan of the target.
fn inspect_input(dml: &DmlStatement) -> Result<bool> {
    let what = match dml.op {
        WriteOp::Delete => "DELETE",
        _ => "UPDATE",
    };
    let mut scans = 0usize;
    let mut problem: Option<&'static str> = None;
    dml.input.apply_with_subqueries(|node| {
        match node {
            LogicalPlan::TableScan(s) => {
                scans += 1;
                if !s.table_name.resolved_eq(&dml.table_name) {
                    problem = Some("reads another table (a subquery or a join)");
                }
            }
            LogicalPlan::Limit(_) => problem = Some("has a LIMIT"),
            LogicalPlan::Join(_) | LogicalPlan::Subquery(_) | LogicalPlan::Union(_) => {
                problem = Some("has a subquery or a join in its WHERE clause")
            }
            LogicalPlan::Aggregate(_) | LogicalPlan::Window(_) | LogicalPlan::Distinct(_) => {
                problem = Some("has a subquery in its WHERE clause")
            }
            _ => {}
        }
        let has_subquery = node.expressions().iter().any(|e| {
            e.exists(|e| {
                Ok(matches!(
                    e,
                    datafusion::logical_expr::Expr::ScalarSubquery(_)
                        | datafusion::logical_expr::Expr::InSubquery(_)
                        | datafusion::logical_expr::Expr::Exists(_)
                ))
            })
            .unwrap_or(true)
        });
        if has_subquery {
            problem = Some("has a subquery in its WHERE clause");
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    if problem.is_none() && scans > 1 {
        problem = Some("reads its table more than once (a subquery)");
    }
    if let Some(p) = problem {
        return datafusion::common::not_impl_err!(
            "{what} on llkv table {} {p}; llkv's DataFusion route refuses it rather than \
             risk changing the wrong rows",
            dml.table_name
        );
    }
    Ok(scans == 0)
}
