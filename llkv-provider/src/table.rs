//! `LlkvTable`: one llkv table as a DataFusion `TableProvider`.

use crate::check::Checks;
use crate::ddl::{constraints_of, defaults_of};
use crate::dml::{DmlOp, LlkvDmlExec};
use crate::error::wrap_error;
use crate::filter::{pushdown, to_predicates};
use crate::planner::{scope_of, statement_txn};
use crate::rowid::ROWID;
use crate::scan::LlkvScanExec;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::{Session as DfSession, TableProvider};
use datafusion::common::{Constraints, DFSchema, internal_err, not_impl_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::expr_rewriter::unnormalize_col;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::{ExecutionPlan, PhysicalExpr};
use llkv_mvcc::Session;
use llkv_store::{Predicate, ROW_ID_COLUMN, ScanRequest, TableMeta};
use std::collections::HashMap;
use std::sync::Arc;

/// A WHERE clause compiled for [`DmlOp`]: physical conjuncts, store predicates, text.
type CompiledFilters = (Vec<Arc<dyn PhysicalExpr>>, Vec<Predicate>, Vec<String>);

/// An llkv table seen through one llkv [`Session`]: every scan and change runs
/// in that session's statement transaction.
#[derive(Debug)]
pub struct LlkvTable {
    session: Arc<Session>,
    meta: Arc<TableMeta>,
    /// The table's columns, plus the row-id columns of [`LlkvTable::with_rowid`]
    /// and [`LlkvTable::with_row_id_column`].
    schema: SchemaRef,
    /// The table's columns (what filters may refer to).
    user_schema: SchemaRef,
    constraints: Constraints,
    defaults: HashMap<String, Expr>,
}

/// `schema` with its string columns as `Utf8View`: the type DataFusion
/// reads Parquet strings as and runs its string kernels, hash tables and
/// comparisons fastest on (a view holds a short string, or the prefix of a
/// long one, inline). Scans hand out the store's `Utf8` chunks in this form
/// (see [`llkv_store::ScanRequest::string_views`]); values written are
/// stored as `Utf8`.
fn view_schema(schema: &SchemaRef) -> SchemaRef {
    if !crate::scan::string_views()
        || !schema.fields().iter().any(|f| f.data_type() == &DataType::Utf8)
    {
        return Arc::clone(schema);
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

impl LlkvTable {
    /// The provider of the table defined by `meta`.
    pub fn new(session: Arc<Session>, meta: Arc<TableMeta>) -> Self {
        let schema = view_schema(&meta.schema());
        Self {
            user_schema: Arc::clone(&schema),
            schema,
            constraints: constraints_of(&meta),
            defaults: defaults_of(&meta),
            session,
            meta,
        }
    }

    /// The table with each row's id as an extra last column [`ROW_ID_COLUMN`]:
    /// the scan of the target of a DELETE or UPDATE that llkv plans as
    /// "find the row ids, then change those rows" (see `crate::rewrite`).
    /// A [`ROWID`] column the table exposes stays before it.
    pub(crate) fn with_row_id_column(&self) -> Self {
        let mut t = self.with_extra(Field::new(ROW_ID_COLUMN, DataType::UInt64, false));
        t.constraints = Constraints::default();
        t.defaults.clear();
        t
    }

    /// The table with each row's id as an extra last column [`ROWID`]
    /// (`Int64`), for a statement that names `rowid` (see `crate::rowid`);
    /// unchanged when the table has a real column of that name.
    pub(crate) fn with_rowid(self) -> Self {
        if self.schema.fields().iter().any(|f| f.name().eq_ignore_ascii_case(ROWID)) {
            return self;
        }
        self.with_extra(Field::new(ROWID, DataType::Int64, false))
    }

    /// Whether the table exposes [`ROWID`] as an extra column.
    pub(crate) fn exposes_rowid(&self) -> bool {
        self.schema.fields().len() > self.user_schema.fields().len()
            && self.schema.field(self.user_schema.fields().len()).name() == ROWID
    }

    /// The table with `field` appended, filled with each row's id.
    fn with_extra(&self, field: Field) -> Self {
        let mut fields: Vec<Field> =
            self.schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(field);
        Self {
            session: Arc::clone(&self.session),
            meta: Arc::clone(&self.meta),
            schema: Arc::new(Schema::new(fields)),
            user_schema: Arc::clone(&self.user_schema),
            constraints: self.constraints.clone(),
            defaults: self.defaults.clone(),
        }
    }

    /// The llkv session the table's statements run in.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The table's llkv definition.
    pub fn meta(&self) -> &Arc<TableMeta> {
        &self.meta
    }

    fn df_schema(&self) -> Result<DFSchema> {
        DFSchema::try_from(Arc::clone(&self.user_schema))
    }

    /// Compiles a DELETE/UPDATE WHERE clause: the physical conjuncts, those of
    /// them the store can evaluate (for chunk pruning), and their text for EXPLAIN.
    fn compile_filters(
        &self,
        state: &dyn DfSession,
        filters: Vec<Expr>,
    ) -> Result<CompiledFilters> {
        let df_schema = self.df_schema()?;
        let (predicates, _) = to_predicates(&filters, &self.user_schema);
        let shown = filters.iter().map(|f| f.to_string()).collect();
        let filters = filters
            .into_iter()
            .map(|f| state.create_physical_expr(f, &df_schema))
            .collect::<Result<_>>()?;
        Ok((filters, predicates, shown))
    }

    /// The conjunction of the filters pushed `Exact` (the ones DataFusion
    /// drops from its plan) over `schema` followed by the filtered columns
    /// `schema` lacks, for the scan's row-count estimate; `None` without such
    /// filters or when they do not compile.
    fn filter_estimate(
        &self,
        state: &dyn DfSession,
        filters: &[Expr],
        schema: &SchemaRef,
    ) -> Option<(Arc<dyn PhysicalExpr>, SchemaRef)> {
        let exact: Vec<Expr> = filters
            .iter()
            .filter(|f| pushdown(f, &self.user_schema) == TableProviderFilterPushDown::Exact)
            .map(|f| unnormalize_col(f.clone()))
            .collect();
        let predicate = conjunction(exact)?;
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        for c in predicate.column_refs() {
            if schema.index_of(&c.name).is_err() {
                let i = self.user_schema.index_of(&c.name).ok()?;
                fields.push(self.user_schema.field(i).clone());
            }
        }
        let ext = Arc::new(Schema::new(fields));
        let df_schema = DFSchema::try_from(Arc::clone(&ext)).ok()?;
        let physical = state.create_physical_expr(predicate, &df_schema).ok()?;
        Some((physical, ext))
    }

    /// Refuses DELETE/UPDATE planned without [`crate::LlkvQueryPlanner`]: without
    /// it a WHERE clause could be lost on the way.
    fn require_planner(&self, state: &dyn DfSession, what: &str) -> Result<bool> {
        match scope_of(state, &self.session) {
            Some(scope) => Ok(scope.empty_dml),
            None => plan_err!(
                "{what} on llkv table {} needs llkv's query planner: build the context with \
                 LlkvCatalog::session_context or LlkvCatalog::register",
                self.meta.name
            ),
        }
    }
}

#[async_trait::async_trait]
impl TableProvider for LlkvTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn constraints(&self) -> Option<&Constraints> {
        Some(&self.constraints)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults.get(column)
    }

    async fn scan(
        &self,
        state: &dyn DfSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let st = statement_txn(state, &self.session);
        let handle = st
            .txn
            .table(&self.meta.name)
            .map_err(wrap_error)?
            .ok_or_else(|| wrap_error(llkv_mvcc::Error::NoSuchTable(self.meta.name.clone())))?;
        let projection: Vec<usize> =
            projection.cloned().unwrap_or_else(|| (0..self.schema.fields().len()).collect());
        // Indexes from `user` on are row-id columns (`with_rowid`,
        // `with_row_id_column`); the store appends the ids after the projected
        // columns and the scan stream fills each row-id column from them.
        let user = self.user_schema.fields().len();
        let with_row_ids = projection.iter().any(|&i| i >= user);
        if let Some(first) = projection.iter().position(|&i| i >= user)
            && projection[first..].iter().any(|&i| i < user)
        {
            return internal_err!("the row-id columns of {} must be projected last", self.name());
        }
        let columns: Vec<usize> = projection.iter().copied().filter(|&i| i < user).collect();
        let (predicates, shown) = to_predicates(filters, &self.user_schema);
        let req = ScanRequest {
            projection: Some(columns),
            predicates,
            with_row_ids,
            ..Default::default()
        };
        let prepared = st.txn.prepare_scan(&handle, &req).map_err(wrap_error)?;
        let schema = Arc::new(self.schema.project(&projection)?);
        let estimate = self.filter_estimate(state, filters, &schema);
        // The table indexes of the filtered columns the node does not return.
        let extra = |ext: &SchemaRef| -> Vec<usize> {
            if with_row_ids {
                return Vec::new();
            }
            ext.fields()[schema.fields().len()..]
                .iter()
                .filter_map(|f| self.user_schema.index_of(f.name()).ok())
                .collect()
        };
        let exec = LlkvScanExec::new(
            prepared,
            Arc::clone(&st.txn),
            self.meta.name.clone(),
            Arc::clone(&schema),
            shown,
            limit,
            state.config().target_partitions(),
        );
        Ok(Arc::new(match estimate {
            Some((predicate, ext)) => {
                let extra = extra(&ext);
                exec.with_filter_estimate(predicate, ext, extra)
            }
            None => exec,
        }))
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters on row-id columns stay with DataFusion (the store's
        // predicates address the table's own columns only).
        let r: Vec<_> = filters.iter().map(|f| pushdown(f, &self.user_schema)).collect();
        Ok(r)
    }

    async fn insert_into(
        &self,
        state: &dyn DfSession,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let op = match insert_op {
            InsertOp::Append => DmlOp::Insert,
            InsertOp::Replace => DmlOp::InsertReplace,
            InsertOp::Overwrite => {
                return not_impl_err!("{insert_op} is not supported on llkv tables");
            }
        };
        let st = statement_txn(state, &self.session);
        let checks = Checks::compile(state, &self.meta)?;
        Ok(Arc::new(
            LlkvDmlExec::new(op, st, self.meta.name.clone(), Some(input)).with_checks(checks),
        ))
    }

    async fn delete_from(
        &self,
        state: &dyn DfSession,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let empty = self.require_planner(state, "DELETE")?;
        let st = statement_txn(state, &self.session);
        let op = if empty {
            DmlOp::Nothing
        } else {
            let (filters, predicates, shown) = self.compile_filters(state, filters)?;
            DmlOp::Delete { filters, predicates, shown }
        };
        Ok(Arc::new(LlkvDmlExec::new(op, st, self.meta.name.clone(), None)))
    }

    async fn update(
        &self,
        state: &dyn DfSession,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let empty = self.require_planner(state, "UPDATE")?;
        let st = statement_txn(state, &self.session);
        if empty {
            return Ok(Arc::new(LlkvDmlExec::new(
                DmlOp::Nothing,
                st,
                self.meta.name.clone(),
                None,
            )));
        }
        let df_schema = self.df_schema()?;
        let mut compiled = Vec::with_capacity(assignments.len());
        for (name, expr) in assignments {
            let Some(i) = self.meta.column_index(&name) else {
                return plan_err!("table {} has no column {name}", self.meta.name);
            };
            compiled.push((i, state.create_physical_expr(expr, &df_schema)?));
        }
        let (filters, predicates, shown) = self.compile_filters(state, filters)?;
        let op = DmlOp::Update { filters, predicates, shown, assignments: compiled };
        let checks = Checks::compile(state, &self.meta)?;
        Ok(Arc::new(LlkvDmlExec::new(op, st, self.meta.name.clone(), None).with_checks(checks)))
    }

    async fn truncate(&self, state: &dyn DfSession) -> Result<Arc<dyn ExecutionPlan>> {
        let st = statement_txn(state, &self.session);
        Ok(Arc::new(LlkvDmlExec::new(DmlOp::Truncate, st, self.meta.name.clone(), None)))
    }
}
