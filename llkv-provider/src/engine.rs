//! `DataFusionEngine`: the DataFusion route behind llkv's [`Engine`] interface.

use crate::catalog::{LlkvCatalog, VIEW_PREFIX};
use crate::error::to_sql_error;
use crate::rowid::RowidScope;
use datafusion::arrow::array::UInt64Array;
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::{
    DataType as SqlDataType, ObjectType, Statement as SqlStatement,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use llkv_mvcc::{Database, Session};
use llkv_sql::{CancelFlag, Engine, Output, SqlError, SqlResult};
use std::sync::Arc;

/// Parser recursion limit: deeply nested expressions (the SQLite corpus has
/// some) need more than sqlparser's default of 50 (the native route uses 200 too).
const RECURSION_LIMIT: usize = 200;

/// Parenthesis depth above which a statement runs on a stack of its own …
const DEEP_NESTING: usize = 12;
/// … of this size.
const STACK_GROWTH: usize = 64 * 1024 * 1024;

/// Stack size of the runtime's worker threads.
const WORKER_STACK: usize = 16 * 1024 * 1024;

/// Database property prefix under which `CREATE INDEX` is recorded.
use llkv_mvcc::INDEX_PREFIX;

/// A DataFusion-route connection (one session) to an llkv database: a
/// `SessionContext` with llkv as its default catalog, its own Tokio runtime,
/// and transaction control (BEGIN, COMMIT, ROLLBACK), which DataFusion does
/// not execute itself.
pub struct DataFusionEngine {
    runtime: tokio::runtime::Runtime,
    ctx: SessionContext,
    catalog: Arc<LlkvCatalog>,
    /// Stops a running statement: its future is dropped, which aborts
    /// DataFusion's tasks; the statement's llkv transaction rolls back.
    cancel: CancelFlag,
}

impl DataFusionEngine {
    /// A new session on `db`.
    ///
    /// # Errors
    /// When the async runtime cannot start.
    pub fn new(db: Database) -> SqlResult<Self> {
        let runtime = new_runtime()?;
        let catalog = LlkvCatalog::with_session(Arc::new(Session::new(db)));
        let ctx = catalog.session_context();
        ctx.register_udf(crate::sqlite_numeric::udf());
        ctx.register_udaf(crate::group_concat::udaf());
        Ok(Self { runtime, ctx, catalog, cancel: CancelFlag::default() })
    }

    /// The DataFusion context (llkv is its default catalog).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The llkv catalog and its session.
    pub fn catalog(&self) -> &Arc<LlkvCatalog> {
        &self.catalog
    }

    pub(crate) fn session(&self) -> &Arc<Session> {
        self.catalog.session()
    }

    /// Runs one statement of a trigger (or a query computing a triggering
    /// statement's rows) like a statement of its own, triggers included.
    pub(crate) fn run_nested(&self, stmt: Statement) -> SqlResult<Output> {
        self.run(stmt)
    }

    /// Runs a statement without looking for its table's triggers (the
    /// triggering statement itself, once its triggers are taken care of).
    pub(crate) fn run_plain(&self, stmt: Statement) -> SqlResult<Output> {
        self.run_with(stmt, false)
    }

    /// Runs one parsed statement.
    fn run(&self, stmt: Statement) -> SqlResult<Output> {
        self.run_with(stmt, true)
    }

    /// Runs one parsed statement; with `triggers`, a data change on a table
    /// with triggers fires them (see `crate::triggers`).
    fn run_with(&self, mut stmt: Statement, triggers: bool) -> SqlResult<Output> {
        if crate::duckdb_syntax::ignored_setting(&stmt) {
            return Ok(Output::Done("SET".into()));
        }
        crate::duckdb_syntax::duckdb_syntax(&mut stmt);
        crate::sqlite_aggregates::sqlite_aggregates(&mut stmt).map_err(SqlError::plan)?;
        if let Statement::Statement(s) = &stmt {
            match s.as_ref() {
                SqlStatement::StartTransaction { .. } => {
                    self.session().begin()?;
                    return Ok(Output::Done("BEGIN".into()));
                }
                SqlStatement::Commit { .. } => {
                    self.session().commit()?;
                    return Ok(Output::Done("COMMIT".into()));
                }
                SqlStatement::Rollback { .. } => {
                    self.session().rollback()?;
                    return Ok(Output::Done("ROLLBACK".into()));
                }
                // DataFusion has no VACUUM; the whole database is vacuumed
                // (any table name or option is accepted), as in SQLite not
                // inside a transaction.
                SqlStatement::Vacuum(_) => {
                    if self.session().in_transaction() {
                        return Err(SqlError::execution("cannot VACUUM from within a transaction"));
                    }
                    self.session().database().vacuum()?;
                    return Ok(Output::Done("VACUUM".into()));
                }
                _ => {}
            }
        }
        // Inside a transaction that a failed statement aborted, everything but
        // COMMIT and ROLLBACK is refused (as in PostgreSQL and DuckDB).
        if self.session().in_transaction() {
            self.session().statement_txn().txn.check_usable()?;
        }
        if let Statement::Statement(s) = &stmt {
            if let Some(out) = crate::triggers::ddl(self, s) {
                return out;
            }
            if triggers && let Some(out) = crate::triggers::run_with_triggers(self, s) {
                return out;
            }
            match s.as_ref() {
                SqlStatement::Drop { object_type: ObjectType::Index, names, if_exists, .. } => {
                    return self.drop_index(names, *if_exists);
                }
                SqlStatement::Drop { object_type: ObjectType::View, names, .. } => {
                    if let Some(out) = self.drop_persisted_views(names)? {
                        return Ok(out);
                    }
                }
                // DataFusion 55 does not execute ALTER TABLE; llkv's shared one does.
                SqlStatement::AlterTable(a) => return self.alter_table(a),
                SqlStatement::Drop { object_type: ObjectType::Type, names, if_exists, .. } => {
                    return self.drop_types(names, *if_exists);
                }
                // Unknown pragmas are ignored, as SQLite does; llkv has no pragmas yet.
                SqlStatement::Pragma { .. } => return Ok(Output::Done("PRAGMA".into())),
                _ => {}
            }
        }
        if let Statement::Statement(s) = &mut stmt {
            crate::order_by_all::order_by_all(s, self.session());
            if let SqlStatement::CreateTable(ct) = s.as_mut()
                && ct.columns.iter().any(|c| matches!(c.data_type, SqlDataType::Custom(..)))
            {
                // Type aliases made by CREATE TYPE, which DataFusion does not know.
                let txn = &self.session().statement_txn().txn;
                for c in &mut ct.columns {
                    llkv_sql::user_types::resolve_alias(txn, &mut c.data_type)?;
                }
            }
        }
        let mut renames = crate::output_names::unique_output_names(&mut stmt);
        let rowid = rowid_scope(&mut stmt, self.session())?;
        let declared = match &mut stmt {
            Statement::Statement(s) => {
                let state = self.ctx.state();
                let is_aggregate = |n: &str| state.aggregate_functions().contains_key(n);
                crate::declare::take_declared(s, &is_aggregate)?
            }
            _ => None,
        };
        let schema = self.catalog.schema_provider();
        let with_declared = declared.is_some();
        if with_declared {
            schema.set_declared(declared);
        }
        // Kept for a retry with SQLite's bare columns (see `crate::bare_columns`).
        let original = match (&stmt, &rowid) {
            (Statement::Statement(s), None) if matches!(s.as_ref(), SqlStatement::Query(_)) => {
                Some(stmt.clone())
            }
            _ => None,
        };
        let mut result = self.plan_and_run_blocking(stmt, rowid);
        // (Only when nothing was renamed: `original` holds the user's names.)
        if let (Err(e), Some(original), true) = (&result, &original, renames.is_empty())
            && crate::output_names::is_duplicate_name_error(&e.message)
        {
            let mut retry = original.clone();
            renames = crate::output_names::alias_all_output_names(&mut retry);
            result = self.plan_and_run_blocking(retry, None);
        }
        if let (Err(e), Some(original)) = (&result, &original)
            && crate::bare_columns::is_bare_column_error(&e.message)
        {
            let state = self.ctx.state();
            let is_aggregate = |n: &str| state.aggregate_functions().contains_key(n);
            if let Some(wrapped) = crate::bare_columns::wrap_bare_columns(original, &is_aggregate) {
                result = self.plan_and_run_blocking(wrapped, None);
            }
        }
        // SQLite sums text as numbers; DataFusion refuses (see `crate::sqlite_numeric`).
        if let (Err(e), Some(original)) = (&result, &original)
            && crate::sqlite_numeric::is_text_aggregate_error(&e.message)
            && let Some(wrapped) = crate::sqlite_numeric::wrap_numeric_aggregates(original)
        {
            result = self.plan_and_run_blocking(wrapped, None);
        }
        if with_declared {
            schema.set_declared(None);
        }
        match result {
            Ok(Output::Rows { schema, batches }) if !renames.is_empty() => {
                let (schema, batches) = crate::output_names::restore(&renames, schema, batches)
                    .map_err(|e| SqlError::execution(e.to_string()))?;
                Ok(Output::Rows { schema, batches })
            }
            other => other,
        }
    }

    /// Runs [`Self::plan_and_run`] on the session's runtime, until done or cancelled.
    fn plan_and_run_blocking(
        &self,
        stmt: Statement,
        rowid: Option<RowidScope>,
    ) -> SqlResult<Output> {
        let cancel = self.cancel.clone();
        self.runtime.block_on(async {
            tokio::select! {
                biased;
                () = cancel.cancelled() => Err(llkv_sql::cancelled()),
                r = self.plan_and_run(stmt, rowid) => r,
            }
        })
    }

    /// Plans and runs one statement on DataFusion; with a `rowid` scope, llkv
    /// tables expose their row ids while it is planned (see `crate::rowid`).
    async fn plan_and_run(&self, stmt: Statement, rowid: Option<RowidScope>) -> SqlResult<Output> {
        {
            let state = self.ctx.state();
            let schema = self.catalog.schema_provider();
            let with_rowid = rowid.is_some();
            if with_rowid {
                schema.set_rowid_scope(rowid);
            }
            let plan = state.statement_to_plan(stmt).await;
            if with_rowid {
                schema.set_rowid_scope(None);
            }
            let plan = plan.map_err(to_sql_error)?;
            let output = match &plan {
                LogicalPlan::Dml(_) => Kind::Affected,
                LogicalPlan::Ddl(DdlStatement::CreateIndex(ci)) => {
                    return self.create_index(ci);
                }
                LogicalPlan::Ddl(d) => Kind::Done(ddl_tag(d)),
                LogicalPlan::Statement(s) => Kind::Done(s.name().to_uppercase()),
                LogicalPlan::Copy(_) => Kind::Affected,
                _ => Kind::Rows,
            };
            let df = self.ctx.execute_logical_plan(plan).await.map_err(to_sql_error)?;
            let schema = Arc::clone(df.schema().inner());
            let batches = df.collect().await.map_err(to_sql_error)?;
            Ok(match output {
                Kind::Rows => Output::Rows { schema, batches },
                Kind::Affected => Output::Affected(affected(&batches)),
                Kind::Done(tag) => Output::Done(tag),
            })
        }
    }

    fn create_index(&self, ci: &datafusion::logical_expr::CreateIndex) -> SqlResult<Output> {
        let table = match ci.table.schema() {
            Some(schema) => llkv_mvcc::qualified_name(schema, ci.table.table()),
            None => ci.table.table().to_string(),
        };
        let columns: Vec<String> = ci.columns.iter().map(|c| c.expr.to_string()).collect();
        let name = ci.name.clone().unwrap_or_else(|| format!("{table}_{}_idx", columns.join("_")));
        let st = self.session().statement_txn();
        let result = (|| {
            if st.txn.table(&table)?.is_none() {
                return Err(llkv_mvcc::Error::NoSuchTable(table.clone()));
            }
            let key = format!("{INDEX_PREFIX}{name}");
            if st.txn.property(&key).is_some() {
                if ci.if_not_exists {
                    return Ok(());
                }
                return Err(llkv_mvcc::Error::TransactionState(format!(
                    "index {name} already exists"
                )));
            }
            if ci.unique {
                let Some(h) = st.txn.table(&table)? else {
                    return Err(llkv_mvcc::Error::NoSuchTable(table.clone()));
                };
                let cols = llkv_mvcc::parse_index_def(&format!("{table}({})", columns.join(",")))
                    .map(|(_, _, names)| names)
                    .unwrap_or_default()
                    .iter()
                    .map(|n| h.meta.columns.iter().position(|c| c.name.eq_ignore_ascii_case(n)))
                    .collect::<Option<Vec<usize>>>()
                    .ok_or_else(|| {
                        llkv_mvcc::Error::TransactionState(format!(
                            "index {name}: no such column in table {table}"
                        ))
                    })?;
                llkv_mvcc::check_no_duplicates(&st.txn, &h, &cols)?;
            }
            let unique = if ci.unique { "UNIQUE " } else { "" };
            st.txn.set_property(&key, Some(format!("{unique}{table}({})", columns.join(", "))))
        })();
        st.finish(result)?;
        Ok(Output::Done("CREATE INDEX".into()))
    }

    fn drop_index(
        &self,
        names: &[datafusion::sql::sqlparser::ast::ObjectName],
        if_exists: bool,
    ) -> SqlResult<Output> {
        let st = self.session().statement_txn();
        let result = (|| {
            for n in names {
                let name = n.0.last().map(|p| p.to_string()).unwrap_or_default();
                let key = format!("{INDEX_PREFIX}{name}");
                if st.txn.property(&key).is_none() {
                    if if_exists {
                        continue;
                    }
                    return Err(llkv_mvcc::Error::TransactionState(format!(
                        "index {name} does not exist"
                    )));
                }
                st.txn.set_property(&key, None)?;
            }
            Ok(())
        })();
        st.finish(result)?;
        Ok(Output::Done("DROP INDEX".into()))
    }

    /// `ALTER TABLE` (see [`llkv_sql::alter`]) in the statement's transaction.
    /// `DROP TYPE [IF EXISTS] name, …` of aliases made by CREATE TYPE.
    fn drop_types(
        &self,
        names: &[datafusion::sql::sqlparser::ast::ObjectName],
        if_exists: bool,
    ) -> SqlResult<Output> {
        let st = self.session().statement_txn();
        let result = names.iter().try_for_each(|n| {
            let name = n.0.last().and_then(|p| p.as_ident()).map(llkv_sql::names::ident_name);
            llkv_sql::user_types::drop(&st.txn, &name.unwrap_or_default(), if_exists)
        });
        st.finish(result.map_err(|e| llkv_mvcc::Error::TransactionState(e.message)))?;
        Ok(Output::Done("DROP TYPE".into()))
    }

    fn alter_table(&self, a: &datafusion::sql::sqlparser::ast::AlterTable) -> SqlResult<Output> {
        let st = self.session().statement_txn();
        match llkv_sql::alter::alter_table(&st.txn, a) {
            Ok(out) => {
                st.finish(Ok(()))?;
                Ok(out)
            }
            Err(e) => {
                if !st.explicit {
                    st.txn.rollback();
                }
                Err(e)
            }
        }
    }

    /// `DROP VIEW` of views persisted in llkv's catalog, without planning
    /// them (DataFusion's DROP VIEW plans the view first, which fails once a
    /// view it reads was dropped). `None` when a name is not such a view
    /// (DataFusion then handles the statement).
    fn drop_persisted_views(
        &self,
        names: &[datafusion::sql::sqlparser::ast::ObjectName],
    ) -> SqlResult<Option<Output>> {
        let keys: Vec<String> = names
            .iter()
            .filter_map(|n| n.0.last().and_then(|p| p.as_ident()))
            .map(|i| {
                let name =
                    if i.quote_style.is_some() { i.value.clone() } else { i.value.to_lowercase() };
                format!("{VIEW_PREFIX}{name}")
            })
            .collect();
        let st = self.session().statement_txn();
        let persisted =
            keys.len() == names.len() && keys.iter().all(|k| st.txn.property(k).is_some());
        if !persisted {
            st.finish(Ok(()))?;
            return Ok(None);
        }
        let result = keys.iter().try_for_each(|k| st.txn.set_property(k, None));
        st.finish(result)?;
        Ok(Some(Output::Done("DROP VIEW".into())))
    }

    /// After a cancel: DataFusion's operators yield only between batches, so
    /// the aborted statement's tasks may keep the runtime's workers busy for a
    /// while. The session moves to a fresh runtime at once; the old one is
    /// shut down in the background and its threads end when those tasks do.
    fn abandon_runtime(&mut self) {
        if let Ok(fresh) = new_runtime() {
            std::mem::replace(&mut self.runtime, fresh).shutdown_background();
        }
    }

    /// After a failed statement inside BEGIN … COMMIT, the transaction accepts
    /// nothing but ROLLBACK.
    fn abort_explicit(&self, e: &SqlError) {
        if self.session().in_transaction() {
            self.session().statement_txn().txn.fail(e.message.clone());
        }
    }
}

/// Prepares a statement that names `rowid` (see `crate::rowid::prepare`).
fn rowid_scope(stmt: &mut Statement, session: &Session) -> SqlResult<Option<RowidScope>> {
    match stmt {
        Statement::Statement(s) => crate::rowid::prepare(s, session),
        Statement::Explain(e) => rowid_scope(&mut e.statement, session),
        _ => Ok(None),
    }
}

fn new_runtime() -> SqlResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Physical expressions evaluate recursively too (see STACK_GROWTH).
        .thread_stack_size(WORKER_STACK)
        .build()
        .map_err(|e| SqlError::execution(format!("cannot start the async runtime: {e}")))
}

enum Kind {
    Rows,
    Affected,
    Done(String),
}

fn ddl_tag(d: &DdlStatement) -> String {
    match d {
        DdlStatement::CreateExternalTable(_) => "CREATE EXTERNAL TABLE",
        DdlStatement::CreateMemoryTable(_) => "CREATE TABLE",
        DdlStatement::CreateView(_) => "CREATE VIEW",
        DdlStatement::CreateCatalogSchema(_) => "CREATE SCHEMA",
        DdlStatement::CreateCatalog(_) => "CREATE DATABASE",
        DdlStatement::CreateIndex(_) => "CREATE INDEX",
        DdlStatement::DropTable(_) => "DROP TABLE",
        DdlStatement::DropView(_) => "DROP VIEW",
        DdlStatement::DropCatalogSchema(_) => "DROP SCHEMA",
        DdlStatement::CreateFunction(_) => "CREATE FUNCTION",
        DdlStatement::DropFunction(_) => "DROP FUNCTION",
    }
    .to_string()
}

/// The row count a DML plan reports in its `count` column.
fn affected(batches: &[datafusion::arrow::array::RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.columns().first()?.as_any().downcast_ref::<UInt64Array>().cloned())
        .flat_map(|a| a.iter().flatten().collect::<Vec<u64>>())
        .sum()
}

impl Engine for DataFusionEngine {
    fn route(&self) -> &'static str {
        "datafusion"
    }

    fn set_cancel_flag(&mut self, flag: CancelFlag) {
        self.cancel = flag;
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        // Parsing, DataFusion's planner and optimizer recurse over the
        // expression tree: a deeply nested statement runs on a stack of its
        // own (threads often have only 2 MiB, too little in a debug build).
        if is_deep(sql) {
            return stacker::grow(STACK_GROWTH, || self.execute_here(sql));
        }
        self.execute_here(sql)
    }
}

/// Whether `sql` nests parentheses deeper than [`DEEP_NESTING`] or is long.
fn is_deep(sql: &str) -> bool {
    if sql.len() > 4096 {
        return true;
    }
    let mut depth = 0usize;
    for b in sql.bytes() {
        match b {
            b'(' => {
                depth += 1;
                if depth > DEEP_NESTING {
                    return true;
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

impl DataFusionEngine {
    /// [`Engine::execute`] on the current stack.
    fn execute_here(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        if let Some((name, ty)) = llkv_sql::user_types::parse_create_type(sql) {
            let st = self.session().statement_txn();
            let r = llkv_sql::user_types::create(&st.txn, &name, &ty);
            st.finish(r.map_err(|e| llkv_mvcc::Error::TransactionState(e.message)))?;
            return Ok(vec![Output::Done("CREATE TYPE".into())]);
        }
        if let Some(target) = llkv_sql::reindex::parse(sql) {
            let name = target?;
            let st = self.session().statement_txn();
            st.finish(llkv_sql::reindex::check(&st.txn, name.as_deref()))?;
            return Ok(vec![Output::Done("REINDEX".into())]);
        }
        let statements = match parse(sql) {
            Ok(s) => s,
            // SQLite syntax DataFusion's parser refuses (`x IN tbl`, index
            // hints): retried as the equivalent standard SQL, with the
            // original error when that fails too.
            Err(first) => llkv_sql::sqlite_syntax::rewrite(sql)
                .and_then(|text| parse(&text).ok())
                .ok_or(first)?,
        };
        let mut out = Vec::with_capacity(statements.len());
        for stmt in statements {
            match self.cancel.check().and_then(|()| self.run(stmt)) {
                Ok(o) => out.push(o),
                Err(e) => {
                    self.abort_explicit(&e);
                    if e.kind == llkv_sql::ErrorKind::Cancelled {
                        self.abandon_runtime();
                    }
                    return Err(e);
                }
            }
        }
        Ok(out)
    }
}

/// Parses statements with DataFusion's parser (it knows `CREATE EXTERNAL
/// TABLE`, `COPY`, …) over sqlparser's generic dialect.
fn parse(sql: &str) -> SqlResult<std::collections::VecDeque<Statement>> {
    let dialect = GenericDialect {};
    DFParserBuilder::new(sql)
        .with_dialect(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .build()
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| SqlError::parse(e.strip_backtrace()))
}
