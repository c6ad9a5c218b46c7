//! `LlkvCatalog`: an llkv database as a DataFusion catalog bound to one llkv
//! session, and the configuration that makes it a context's default catalog.

use crate::ddl::meta_from_provider;
use crate::declare::Declared;
use crate::error::wrap_error;
use crate::factory::{LLKV_FILE_TYPE, LlkvTableFactory};
use crate::planner::LlkvQueryPlanner;
use crate::rewrite::LlkvDmlRewrite;
use crate::rowid::RowidScope;
use crate::table::LlkvTable;
use crate::types::LlkvTypePlanner;
use datafusion::catalog::view::ViewTable;
use datafusion::catalog::{
    CatalogProvider, CatalogProviderList, MemTable, MemoryCatalogProviderList, SchemaProvider,
    TableFunction, TableProvider,
};
use datafusion::common::{exec_err, plan_err};
use datafusion::datasource::empty::EmptyTable;
use datafusion::error::Result;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::context::SessionContext;
use datafusion::execution::context::SessionState;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, TableType};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::prelude::SessionConfig;
use llkv_mvcc::{Database, Session};
use parking_lot::RwLock;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::{OnceLock, Weak};

/// The name llkv's catalog is registered under.
pub const CATALOG_NAME: &str = "llkv";
/// The default schema of llkv's catalog (llkv's [`llkv_mvcc::DEFAULT_SCHEMA`]),
/// where unqualified names live. `public` is another name for it.
pub const SCHEMA_NAME: &str = llkv_mvcc::DEFAULT_SCHEMA;

/// The other name of [`SCHEMA_NAME`] (DataFusion's default schema name).
const SCHEMA_ALIAS: &str = "public";

/// Session state holder shared by a catalog's schema providers.
type StateCell = Arc<OnceLock<Weak<RwLock<SessionState>>>>;

/// An llkv database as a DataFusion catalog: one [`LlkvSchema`] per llkv
/// schema, the default one being [`SCHEMA_NAME`]. `CREATE SCHEMA` and `DROP
/// SCHEMA [CASCADE]` change llkv's catalog (they persist).
///
/// The catalog is bound to one llkv [`Session`]: every statement on its tables
/// runs in that session's explicit transaction when one is open (see
/// [`Session::begin`]), else in a transaction of its own that commits when the
/// statement has run. Register it with [`LlkvCatalog::session_context`],
/// [`LlkvCatalog::configure`] or [`LlkvCatalog::register`], which also install
/// [`LlkvQueryPlanner`] (statement transactions, required for DELETE and
/// UPDATE) and [`LlkvTypePlanner`] (llkv's SQL type mapping).
#[derive(Debug)]
pub struct LlkvCatalog {
    schema: Arc<LlkvSchema>,
    /// Providers of the other schemas, made on first use.
    others: RwLock<HashMap<String, Arc<LlkvSchema>>>,
}

impl LlkvCatalog {
    /// A catalog over `db` with a new session.
    pub fn new(db: Database) -> Arc<Self> {
        Self::with_session(Arc::new(Session::new(db)))
    }

    /// A catalog whose statements run in `session`'s transactions.
    pub fn with_session(session: Arc<Session>) -> Arc<Self> {
        Arc::new(Self {
            schema: Arc::new(LlkvSchema {
                session,
                name: SCHEMA_NAME.to_string(),
                foreign: RwLock::default(),
                state: StateCell::default(),
                rowid: Arc::default(),
                declared: Arc::default(),
            }),
            others: RwLock::default(),
        })
    }

    /// The llkv session (BEGIN / COMMIT / ROLLBACK go through it).
    pub fn session(&self) -> &Arc<Session> {
        &self.schema.session
    }

    /// The catalog's schema provider.
    pub fn schema_provider(&self) -> &Arc<LlkvSchema> {
        &self.schema
    }

    /// Configures a session state under construction: llkv becomes the default
    /// catalog (unqualified names are llkv tables), with llkv's query and type
    /// planners.
    pub fn configure(self: &Arc<Self>, mut builder: SessionStateBuilder) -> SessionStateBuilder {
        let config = builder
            .config()
            .take()
            .unwrap_or_default()
            .with_default_catalog_and_schema(CATALOG_NAME, SCHEMA_NAME)
            .with_create_default_catalog_and_schema(false)
            .with_information_schema(true);
        let catalogs: Arc<dyn CatalogProviderList> = match builder.catalog_list().take() {
            Some(list) => list,
            None => Arc::new(MemoryCatalogProviderList::new()),
        };
        catalogs.register_catalog(CATALOG_NAME.to_string(), Arc::clone(self) as _);
        let rules = crate::subquery::with_per_row_subqueries(builder.optimizer().take());
        let info = crate::table_functions::PragmaTableInfo { session: Arc::clone(self.session()) };
        builder.table_functions().get_or_insert_with(Default::default).insert(
            "pragma_table_info".to_string(),
            Arc::new(TableFunction::new("pragma_table_info".to_string(), Arc::new(info))),
        );
        // Once per session: a context registered again keeps its rules.
        let has_sums = builder
            .physical_optimizers()
            .as_ref()
            .is_some_and(|o| o.rules.iter().any(|r| r.name() == crate::LlkvSumPushdown.name()));
        if !has_sums {
            builder = builder.with_physical_optimizer_rule(Arc::new(crate::LlkvSumPushdown));
        }
        builder
            .with_optimizer_rules(rules)
            .with_config(config)
            .with_catalog_list(catalogs)
            .with_type_planner(Arc::new(LlkvTypePlanner))
            .with_table_factory(LLKV_FILE_TYPE.to_string(), Arc::new(LlkvTableFactory))
            .with_analyzer_rule(Arc::new(LlkvDmlRewrite))
            .with_query_planner(Arc::new(LlkvQueryPlanner::new(Arc::clone(self.session()))))
    }

    /// A new `SessionContext` with DataFusion's default features and llkv as
    /// its default catalog (see [`LlkvCatalog::configure`]).
    pub fn session_context(self: &Arc<Self>) -> SessionContext {
        self.session_context_with_config(SessionConfig::new())
    }

    /// As [`LlkvCatalog::session_context`], starting from `config`.
    pub fn session_context_with_config(self: &Arc<Self>, config: SessionConfig) -> SessionContext {
        let builder = SessionStateBuilder::new().with_default_features().with_config(config);
        let ctx = SessionContext::new_with_state(self.configure(builder).build());
        self.bind(&ctx);
        ctx
    }

    /// Registers the catalog in an existing context and makes it the default
    /// catalog, with llkv's planners; the context's other catalogs stay.
    pub fn register(self: &Arc<Self>, ctx: &SessionContext) {
        let state_ref = ctx.state_ref();
        let mut state = state_ref.write();
        let builder = SessionStateBuilder::new_from_existing(state.clone());
        *state = self.configure(builder).build();
        drop(state);
        self.bind(ctx);
    }

    /// Remembers the context whose planner persisted views are planned with.
    fn bind(&self, ctx: &SessionContext) {
        let _ = self.schema.state.set(Arc::downgrade(&ctx.state_ref()));
    }
}

impl LlkvCatalog {
    /// The provider of llkv schema `name` (which exists).
    fn other_schema(&self, name: &str) -> Arc<LlkvSchema> {
        if let Some(s) = self.others.read().get(name) {
            return Arc::clone(s);
        }
        let s = Arc::new(LlkvSchema {
            session: Arc::clone(&self.schema.session),
            name: name.to_string(),
            foreign: RwLock::default(),
            state: Arc::clone(&self.schema.state),
            rowid: Arc::clone(&self.schema.rowid),
            declared: Arc::clone(&self.schema.declared),
        });
        self.others.write().insert(name.to_string(), Arc::clone(&s));
        s
    }
}

impl CatalogProvider for LlkvCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schema.session.statement_txn().txn.schema_names()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        if name == SCHEMA_NAME || name == SCHEMA_ALIAS {
            return Some(Arc::clone(&self.schema) as _);
        }
        if !self.schema.session.statement_txn().txn.schema_exists(name) {
            return None;
        }
        Some(self.other_schema(name) as _)
    }

    /// `CREATE SCHEMA`: the provider DataFusion passes is ignored; the schema
    /// is made in llkv's catalog.
    fn register_schema(
        &self,
        name: &str,
        _schema: Arc<dyn SchemaProvider>,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        let st = self.schema.session.statement_txn();
        let result = st.txn.create_schema(name);
        st.finish(result).map_err(wrap_error)?;
        Ok(None)
    }

    /// `DROP SCHEMA [CASCADE]`: without CASCADE the schema must be empty.
    fn deregister_schema(
        &self,
        name: &str,
        cascade: bool,
    ) -> Result<Option<Arc<dyn SchemaProvider>>> {
        if name == SCHEMA_NAME || name == SCHEMA_ALIAS {
            return exec_err!("cannot drop schema {name}");
        }
        let st = self.schema.session.statement_txn();
        if !st.txn.schema_exists(name) {
            return Ok(None);
        }
        let result = st.txn.drop_schema(name, cascade).map(drop);
        st.finish(result).map_err(wrap_error)?;
        Ok(self.others.write().remove(name).map(|s| s as _))
    }
}

/// llkv's tables as a DataFusion schema: `CREATE TABLE` and `DROP TABLE`
/// reach it as `register_table` / `deregister_table` and change llkv's catalog
/// in the session's statement transaction.
///
/// Other providers registered here (a CSV or Parquet file, a view) are kept
/// for this session only, in front of llkv's tables, and are not persisted.
///
/// Views (`CREATE VIEW`) are persisted as database properties
/// [`VIEW_PREFIX`]`<name>` holding their `CREATE VIEW` text, and planned again
/// on use in the context the catalog was registered in.
#[derive(Debug)]
pub struct LlkvSchema {
    session: Arc<Session>,
    /// The llkv schema's name ([`SCHEMA_NAME`] for the default one).
    name: String,
    foreign: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
    state: StateCell,
    /// Set while a statement that names `rowid` is planned (see `crate::rowid`);
    /// shared by the catalog's schemas.
    rowid: Arc<RwLock<Option<RowidScope>>>,
    /// CHECK / FOREIGN KEY clauses of the `CREATE TABLE` being run (see
    /// `crate::declare`); shared by the catalog's schemas.
    declared: Arc<RwLock<Option<Declared>>>,
}

/// Database property prefix of persisted views.
pub const VIEW_PREFIX: &str = "view.";

impl LlkvSchema {
    /// The llkv catalog name of this schema's table (or view) `name`.
    fn full(&self, name: &str) -> String {
        llkv_mvcc::qualified_name(&self.name, name)
    }

    /// This schema's name for a table of llkv's catalog, if it is one of its tables.
    fn local<'n>(&self, full: &'n str) -> Option<&'n str> {
        let (schema, name) = llkv_mvcc::split_qualified(full);
        (schema == self.name).then_some(name)
    }

    /// The persisted view `name`, planned again.
    async fn view(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let name = &self.full(name);
        let st = self.session.statement_txn();
        let Some(sql) = st.txn.property(&format!("{VIEW_PREFIX}{name}")) else {
            return Ok(None);
        };
        let Some(state) = self.state.get().and_then(Weak::upgrade) else {
            return plan_err!("view {name} needs the SessionContext llkv was registered in");
        };
        let state = state.read().clone();
        // A view's own `*` must not show row ids.
        let rowid = self.rowid.write().take();
        let plan = state.create_logical_plan(&sql).await;
        *self.rowid.write() = rowid;
        match plan? {
            LogicalPlan::Ddl(DdlStatement::CreateView(v)) => {
                Ok(Some(Arc::new(ViewTable::new(Arc::unwrap_or_clone(v.input), Some(sql)))))
            }
            _ => plan_err!("the stored definition of view {name} is not a CREATE VIEW"),
        }
    }

    fn provider(&self, meta: Arc<llkv_store::TableMeta>) -> Arc<dyn TableProvider> {
        let t = LlkvTable::new(Arc::clone(&self.session), meta);
        match &*self.rowid.read() {
            Some(scope) if scope.exposes(t.name()) => Arc::new(t.with_rowid()),
            _ => Arc::new(t),
        }
    }

    /// Sets the CHECK / FOREIGN KEY clauses that the table the running
    /// statement creates gets (`None` clears them).
    pub(crate) fn set_declared(&self, declared: Option<Declared>) {
        *self.declared.write() = declared;
    }

    /// Makes llkv tables expose `rowid` (per `scope`) until set back to `None`.
    pub(crate) fn set_rowid_scope(&self, scope: Option<RowidScope>) {
        *self.rowid.write() = scope;
    }
}

#[async_trait::async_trait]
impl SchemaProvider for LlkvSchema {
    fn table_names(&self) -> Vec<String> {
        let st = self.session.statement_txn();
        let all = st.txn.table_names().unwrap_or_default();
        let mut names: Vec<String> =
            all.iter().filter_map(|t| self.local(t)).map(str::to_string).collect();
        let views = st.txn.properties_with_prefix(VIEW_PREFIX);
        names.extend(
            views.keys().filter_map(|k| self.local(&k[VIEW_PREFIX.len()..])).map(str::to_string),
        );
        names.extend(self.foreign.read().keys().cloned());
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.foreign.read().get(name).cloned() {
            return Ok(Some(t));
        }
        let handle =
            self.session.statement_txn().txn.table(&self.full(name)).map_err(wrap_error)?;
        match handle {
            Some(h) => Ok(Some(self.provider(h.meta))),
            None => self.view(name).await,
        }
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = table.downcast_ref::<LlkvTable>() {
            if Arc::ptr_eq(t.session(), &self.session) {
                return plan_err!("table {name} is already an llkv table");
            }
            // A table of another llkv database (CREATE EXTERNAL TABLE … STORED AS LLKV).
            if self.table_exist(&name) {
                return exec_err!("table {name} already exists");
            }
            return Ok(self.foreign.write().insert(name, table));
        }
        let full = self.full(&name);
        let mut meta = meta_from_provider(&full, table.as_ref())?;
        if let Some(d) = self.declared.write().take_if(|d| d.table == full) {
            d.apply(&mut meta);
        }
        let rows = match table.downcast_ref::<MemTable>() {
            Some(mem) => {
                let mut rows = Vec::new();
                for part in &mem.batches {
                    match part.try_read() {
                        Ok(batches) => rows.extend(batches.iter().cloned()),
                        Err(_) => return exec_err!("the rows of new table {name} are busy"),
                    }
                }
                rows
            }
            None => {
                if self.table_exist(&name) {
                    return exec_err!("table {name} already exists");
                }
                if table.table_type() == TableType::View
                    && let Some(sql) = table.get_table_definition()
                {
                    let st = self.session.statement_txn();
                    let key = format!("{VIEW_PREFIX}{}", self.full(&name));
                    let result = st
                        .txn
                        .check_schema_of(&self.full(&name))
                        .and_then(|()| st.txn.set_property(&key, Some(sql.to_string())));
                    st.finish(result).map_err(wrap_error)?;
                    return Ok(None);
                }
                return Ok(self.foreign.write().insert(name, table));
            }
        };
        let st = self.session.statement_txn();
        let result = (|| {
            let handle = st.txn.create_table(meta)?;
            for b in rows.iter().filter(|b| b.num_rows() > 0) {
                st.txn.insert(&handle, b)?;
            }
            Ok(())
        })();
        st.finish(result).map_err(wrap_error)?;
        Ok(None)
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.foreign.write().remove(name) {
            return Ok(Some(t));
        }
        let name = &self.full(name);
        let st = self.session.statement_txn();
        let handle = match st.txn.table(name) {
            Ok(Some(h)) => h,
            Ok(None) => {
                let key = format!("{VIEW_PREFIX}{name}");
                if st.txn.property(&key).is_none() {
                    return Ok(None);
                }
                let result = st.txn.set_property(&key, None);
                st.finish(result).map_err(wrap_error)?;
                return Ok(Some(Arc::new(EmptyTable::new(Arc::new(
                    datafusion::arrow::datatypes::Schema::empty(),
                )))));
            }
            Err(e) => return Err(wrap_error(e)),
        };
        // The table's indexes and triggers go with it (as in SQLite): their names become free.
        let result = st.txn.drop_table(name).and_then(|()| {
            for (key, def) in st.txn.properties_with_prefix("index.") {
                let def = def.strip_prefix("UNIQUE ").unwrap_or(&def);
                if def.split('(').next() == Some(name.as_str()) {
                    st.txn.set_property(&key, None)?;
                }
            }
            // So do its triggers.
            llkv_sql::triggers::drop_for_table(&st.txn, name)
                .map_err(|e| llkv_mvcc::Error::TransactionState(e.message))
        });
        st.finish(result).map_err(wrap_error)?;
        Ok(Some(self.provider(handle.meta)))
    }

    fn table_exist(&self, name: &str) -> bool {
        if self.foreign.read().contains_key(name) {
            return true;
        }
        let name = &self.full(name);
        let st = self.session.statement_txn();
        matches!(st.txn.table(name), Ok(Some(_)))
            || st.txn.property(&format!("{VIEW_PREFIX}{name}")).is_some()
    }
}
