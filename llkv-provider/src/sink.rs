//! `LlkvRowSink`: the target of a DELETE or UPDATE rewritten as a query for
//! row ids (see `crate::rewrite`). DataFusion plans it as an `INSERT` into
//! this provider; its `insert_into` returns an [`LlkvDmlExec`] that deletes or
//! replaces the rows the input lists, when executed.

use crate::check::Checks;
use crate::dml::{DmlOp, LlkvDmlExec};
use crate::planner::statement_txn;
use crate::table::LlkvTable;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use llkv_mvcc::Session;
use llkv_store::TableMeta;
use std::sync::Arc;

/// Receives `(row id, [new values…])` rows and deletes or replaces those rows
/// of one llkv table (an internal target, never registered in a catalog).
#[derive(Debug)]
pub struct LlkvRowSink {
    session: Arc<Session>,
    table: String,
    schema: SchemaRef,
    op: DmlOp,
    meta: Arc<TableMeta>,
}

impl LlkvRowSink {
    /// A sink changing rows of `table` with `op` ([`DmlOp::DeleteRows`] or
    /// [`DmlOp::UpdateRows`]), fed rows of `schema`.
    pub(crate) fn new(table: &LlkvTable, schema: &SchemaRef, op: DmlOp) -> Self {
        Self {
            session: Arc::clone(table.session()),
            table: table.name().to_string(),
            schema: Arc::clone(schema),
            op,
            meta: Arc::clone(table.meta()),
        }
    }
}

#[async_trait::async_trait]
impl TableProvider for LlkvRowSink {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        _state: &dyn DfSession,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan_err!("the row changes of {} cannot be read", self.table)
    }

    async fn insert_into(
        &self,
        state: &dyn DfSession,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return plan_err!("row changes of {} are appended only", self.table);
        }
        let st = statement_txn(state, &self.session);
        let checks = match self.op {
            DmlOp::UpdateRows => Checks::compile(state, &self.meta)?,
            _ => None,
        };
        Ok(Arc::new(
            LlkvDmlExec::new(self.op.clone(), st, self.table.clone(), Some(input))
                .with_checks(checks),
        ))
    }
}
