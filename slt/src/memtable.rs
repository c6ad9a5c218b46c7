//! The reference for `--compare-memtable`: DataFusion on its own in-memory
//! tables (`MemTable`), with llkv's SQL type mapping so that only the storage
//! and llkv's provider differ from the llkv-backed DataFusion route.
//!
//! `BEGIN` / `COMMIT` / `ROLLBACK` are accepted and do nothing (DataFusion has
//! no transactions), `CREATE INDEX` / `DROP INDEX` likewise, so records after
//! a ROLLBACK or relying on unique indexes may differ for that reason alone.

use datafusion::arrow::array::UInt64Array;
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::{ObjectType, Statement as SqlStatement};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use llkv_provider::{LlkvTypePlanner, to_sql_error};
use llkv_sql::{Engine, Output, SqlError, SqlResult};
use std::sync::Arc;

/// One connection to a DataFusion context whose tables are `MemTable`s.
/// Connections made from the same [`MemTableEngine::context`] share tables.
pub struct MemTableEngine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
}

impl MemTableEngine {
    /// A context with DataFusion's defaults and llkv's type mapping.
    pub fn context() -> SessionContext {
        let config = SessionConfig::new().with_information_schema(true);
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .with_type_planner(Arc::new(LlkvTypePlanner))
            .build();
        SessionContext::new_with_state(state)
    }

    /// A connection to `ctx`.
    ///
    /// # Errors
    /// When the async runtime cannot start.
    pub fn new(ctx: SessionContext) -> SqlResult<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| SqlError::execution(format!("cannot start the async runtime: {e}")))?;
        Ok(Self { runtime, ctx })
    }

    fn run(&self, stmt: Statement) -> SqlResult<Output> {
        if let Statement::Statement(s) = &stmt {
            let tag = match s.as_ref() {
                SqlStatement::StartTransaction { .. } => Some("BEGIN"),
                SqlStatement::Commit { .. } => Some("COMMIT"),
                SqlStatement::Rollback { .. } => Some("ROLLBACK"),
                SqlStatement::CreateIndex(_) => Some("CREATE INDEX"),
                SqlStatement::Drop { object_type: ObjectType::Index, .. } => Some("DROP INDEX"),
                SqlStatement::Pragma { .. } => Some("PRAGMA"),
                _ => None,
            };
            if let Some(tag) = tag {
                return Ok(Output::Done(tag.into()));
            }
        }
        self.runtime.block_on(async {
            let state = self.ctx.state();
            let plan = state.statement_to_plan(stmt).await.map_err(to_sql_error)?;
            let affected = matches!(plan, LogicalPlan::Dml(_) | LogicalPlan::Copy(_));
            let rows =
                !affected && !matches!(plan, LogicalPlan::Ddl(_) | LogicalPlan::Statement(_));
            let df = self.ctx.execute_logical_plan(plan).await.map_err(to_sql_error)?;
            let schema = Arc::clone(df.schema().inner());
            let batches = df.collect().await.map_err(to_sql_error)?;
            Ok(if affected {
                let n = batches
                    .iter()
                    .filter_map(|b| {
                        b.columns().first()?.as_any().downcast_ref::<UInt64Array>().cloned()
                    })
                    .flat_map(|a| a.iter().flatten().collect::<Vec<u64>>())
                    .sum();
                Output::Affected(n)
            } else if rows {
                Output::Rows { schema, batches }
            } else {
                Output::Done("OK".into())
            })
        })
    }
}

impl Engine for MemTableEngine {
    fn route(&self) -> &'static str {
        "datafusion-mem"
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        let dialect = GenericDialect {};
        let statements = DFParserBuilder::new(sql)
            .with_dialect(&dialect)
            .build()
            .and_then(|mut p| p.parse_statements())
            .map_err(|e| SqlError::parse(e.strip_backtrace()))?;
        statements.into_iter().map(|s| self.run(s)).collect()
    }
}
