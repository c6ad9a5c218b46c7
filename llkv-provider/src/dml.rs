//! `LlkvDmlExec`: INSERT, DELETE, UPDATE and TRUNCATE on an llkv table.
//!
//! Built while DataFusion plans the statement; changes data only when
//! executed (so `EXPLAIN` changes nothing). It emits one row, `count: UInt64`,
//! and ends the statement: a transaction of its own commits (or rolls back on
//! error); the session's explicit transaction is marked failed on error.

use crate::check::Checks;
use crate::error::wrap_error;
use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array, UInt64Array,
};
use datafusion::arrow::compute::{
    and, cast, concat_batches, filter_record_batch, prep_null_mask_filter,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::row::{OwnedRow, RowConverter, SortField};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, execute_stream,
};
use futures::StreamExt;
use llkv_mvcc::{StatementTxn, TableHandle, Transaction, row_ids_of};
use llkv_store::{Predicate, ScanRequest};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// What an [`LlkvDmlExec`] does.
#[derive(Debug, Clone)]
pub enum DmlOp {
    /// Appends the input's rows.
    Insert,
    /// Appends the input's rows after deleting the rows whose PRIMARY KEY or
    /// UNIQUE key equals one of theirs (`INSERT OR REPLACE`, `REPLACE INTO`).
    InsertReplace,
    /// Deletes the rows matching all `filters`.
    Delete {
        /// The WHERE conjuncts, compiled against the table schema.
        filters: Vec<Arc<dyn PhysicalExpr>>,
        /// Those of them the store can evaluate (to skip chunks early).
        predicates: Vec<Predicate>,
        /// The WHERE conjuncts as text, for EXPLAIN.
        shown: Vec<String>,
    },
    /// Replaces the rows matching all `filters`.
    Update {
        /// The WHERE conjuncts, compiled against the table schema.
        filters: Vec<Arc<dyn PhysicalExpr>>,
        /// Those of them the store can evaluate.
        predicates: Vec<Predicate>,
        /// The WHERE conjuncts as text, for EXPLAIN.
        shown: Vec<String>,
        /// New value of each assigned column (by index), over the old row.
        assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
    },
    /// Deletes the rows whose ids the input's first column holds (a
    /// DELETE planned as a query for the row ids, see `crate::rewrite`).
    DeleteRows,
    /// Replaces rows: each input row is a row id followed by the new values
    /// of every column (an UPDATE planned as a query, see `crate::rewrite`).
    /// A row id met again (UPDATE … FROM matching a row twice) keeps its first values.
    UpdateRows,
    /// Deletes every row.
    Truncate,
    /// Changes nothing (a DELETE/UPDATE whose WHERE is constant false).
    Nothing,
}

impl DmlOp {
    fn name(&self) -> &'static str {
        match self {
            DmlOp::Insert => "INSERT",
            DmlOp::InsertReplace => "INSERT OR REPLACE",
            DmlOp::Delete { .. } => "DELETE",
            DmlOp::Update { .. } => "UPDATE",
            DmlOp::DeleteRows => "DELETE ROWS",
            DmlOp::UpdateRows => "UPDATE ROWS",
            DmlOp::Truncate => "TRUNCATE",
            DmlOp::Nothing => "NOTHING",
        }
    }
}

/// A data change on one llkv table, run in the statement's transaction.
#[derive(Debug)]
pub struct LlkvDmlExec {
    op: DmlOp,
    txn: StatementTxn,
    table: String,
    input: Option<Arc<dyn ExecutionPlan>>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    /// The table's CHECK constraints, tested on new rows before they are written.
    checks: Option<Arc<Checks>>,
}

/// The one-column schema of a DML result.
fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("count", DataType::UInt64, false)]))
}

impl LlkvDmlExec {
    /// A change of `table` in `txn`; `input` gives the rows of an INSERT.
    pub fn new(
        op: DmlOp,
        txn: StatementTxn,
        table: String,
        input: Option<Arc<dyn ExecutionPlan>>,
    ) -> Self {
        let schema = count_schema();
        let properties = PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        );
        Self { op, txn, table, input, schema, properties: Arc::new(properties), checks: None }
    }

    /// The node with the table's CHECK constraints to test new rows against.
    pub(crate) fn with_checks(mut self, checks: Option<Arc<Checks>>) -> Self {
        self.checks = checks;
        self
    }

    /// What the node does.
    pub fn op(&self) -> &DmlOp {
        &self.op
    }
}

impl DisplayAs for LlkvDmlExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "LlkvDmlExec: op={}, table={}", self.op.name(), self.table)?;
        match &self.op {
            DmlOp::Delete { shown, .. } | DmlOp::Update { shown, .. } if !shown.is_empty() => {
                write!(f, ", filters=[{}]", shown.join(", "))
            }
            _ => Ok(()),
        }
    }
}

impl ExecutionPlan for LlkvDmlExec {
    fn name(&self) -> &str {
        "LlkvDmlExec"
    }

    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        self.input.iter().collect()
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.input.is_none() || children.len() != 1 {
            return Ok(self);
        }
        Ok(Arc::new(
            LlkvDmlExec::new(
                self.op.clone(),
                self.txn.clone(),
                self.table.clone(),
                Some(children.swap_remove(0)),
            )
            .with_checks(self.checks.clone()),
        ))
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
        let exprs: Vec<&Arc<dyn PhysicalExpr>> = match &self.op {
            DmlOp::Delete { filters, .. } => filters.iter().collect(),
            DmlOp::Update { filters, assignments, .. } => {
                filters.iter().chain(assignments.iter().map(|(_, e)| e)).collect()
            }
            _ => Vec::new(),
        };
        for e in exprs {
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
        if partition != 0 {
            return datafusion::common::internal_err!("LlkvDmlExec has one partition");
        }
        let op = self.op.clone();
        let st = self.txn.clone();
        let table = self.table.clone();
        let input = self.input.clone();
        let schema = self.schema();
        let checks = self.checks.clone();
        let fut = async move {
            let result = run(op, &st, &table, input, context, checks).await;
            let count = finish(&st, result)?;
            let rows: ArrayRef = Arc::new(UInt64Array::from(vec![count]));
            Ok(RecordBatch::try_new(count_schema(), vec![rows])?)
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::once(fut))))
    }
}

/// Ends the statement (see the module docs) and passes its result on.
fn finish(st: &StatementTxn, result: Result<u64>) -> Result<u64> {
    match result {
        Ok(n) => st.finish(Ok(n)).map_err(wrap_error),
        Err(e) => {
            if st.explicit {
                st.txn.fail(e.to_string());
            } else {
                st.txn.rollback();
            }
            Err(e)
        }
    }
}

async fn run(
    op: DmlOp,
    st: &StatementTxn,
    table: &str,
    input: Option<Arc<dyn ExecutionPlan>>,
    context: Arc<TaskContext>,
    checks: Option<Arc<Checks>>,
) -> Result<u64> {
    let txn = Arc::clone(&st.txn);
    let handle = txn
        .table(table)
        .map_err(wrap_error)?
        .ok_or_else(|| wrap_error(llkv_mvcc::Error::NoSuchTable(table.to_string())))?;
    match op {
        DmlOp::Nothing => Ok(0),
        DmlOp::Insert | DmlOp::InsertReplace => {
            let replace = matches!(op, DmlOp::InsertReplace);
            let Some(input) = input else {
                return datafusion::common::internal_err!("INSERT without input");
            };
            let schema = input.schema();
            let mut stream = execute_stream(input, context)?;
            let mut batches = Vec::new();
            while let Some(b) = stream.next().await {
                batches.push(b?);
            }
            blocking(move || {
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                if rows == 0 {
                    return Ok(0);
                }
                let batch = concat_batches(&schema, &batches)?;
                if let Some(c) = &checks {
                    c.enforce(batch.columns(), batch.num_rows())?;
                }
                if replace {
                    return insert_replacing(&txn, &handle, &batch);
                }
                txn.insert(&handle, &batch).map_err(wrap_error)
            })
            .await
        }
        DmlOp::Truncate => blocking(move || txn.truncate(&handle).map_err(wrap_error)).await,
        DmlOp::DeleteRows | DmlOp::UpdateRows => {
            let Some(input) = input else {
                return datafusion::common::internal_err!("a row change without input");
            };
            let schema = input.schema();
            // Read every row to change before changing any: the input may read
            // the table itself (a subquery), and must see it unchanged.
            let mut stream = execute_stream(input, context)?;
            let mut batches = Vec::new();
            while let Some(b) = stream.next().await {
                batches.push(b?);
            }
            let update = matches!(op, DmlOp::UpdateRows);
            blocking(move || {
                let all = concat_batches(&schema, &batches)?;
                change_rows(&txn, &handle, &all, update, checks.as_deref())
            })
            .await
        }
        DmlOp::Delete { filters, predicates, .. } => {
            blocking(move || {
                let (ids, _) = matching(&txn, &handle, &filters, predicates)?;
                txn.delete(&handle, &ids).map_err(wrap_error)
            })
            .await
        }
        DmlOp::Update { filters, predicates, assignments, .. } => {
            blocking(move || {
                let (ids, rows) = matching(&txn, &handle, &filters, predicates)?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let user = handle.meta.columns.len();
                let mut cols: Vec<ArrayRef> = rows.columns()[..user].to_vec();
                for (i, e) in &assignments {
                    cols[*i] = e.evaluate(&rows)?.into_array(rows.num_rows())?;
                }
                if let Some(c) = &checks {
                    c.enforce(&cols, rows.num_rows())?;
                }
                let opts = RecordBatchOptions::new().with_row_count(Some(rows.num_rows()));
                let fields: Vec<Field> = cols
                    .iter()
                    .zip(handle.meta.columns.iter())
                    .map(|(c, m)| Field::new(&m.name, c.data_type().clone(), true))
                    .collect();
                let new_rows =
                    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), cols, &opts)?;
                txn.update(&handle, &ids, &new_rows).map_err(wrap_error)
            })
            .await
        }
    }
}

/// Deletes (or, with `update`, replaces) the rows listed in `rows`: a row-id
/// column, then for an update the new value of every column.
fn change_rows(
    txn: &Transaction,
    handle: &TableHandle,
    rows: &RecordBatch,
    update: bool,
    checks: Option<&Checks>,
) -> Result<u64> {
    let Some(ids) = rows.columns().first().and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
    else {
        return datafusion::common::internal_err!("a row change needs row ids first");
    };
    // The first occurrence of each id, in input order.
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    let keep: Vec<u32> = (0..ids.len())
        .filter(|&i| ids.is_valid(i) && seen.insert(ids.value(i)))
        .map(|i| i as u32)
        .collect();
    let picked: Vec<u64> = keep.iter().map(|&i| ids.value(i as usize)).collect();
    if picked.is_empty() {
        return Ok(0);
    }
    if !update {
        return txn.delete(handle, &picked).map_err(wrap_error);
    }
    let user = handle.meta.columns.len();
    if rows.num_columns() != user + 1 {
        return datafusion::common::internal_err!(
            "an update of {} needs {user} new values per row, not {}",
            handle.name,
            rows.num_columns() - 1
        );
    }
    let take = UInt32Array::from(keep);
    let cols: Vec<ArrayRef> = rows.columns()[1..]
        .iter()
        .map(|c| datafusion::arrow::compute::take(c.as_ref(), &take, None))
        .collect::<Result<_, _>>()?;
    if let Some(c) = checks {
        c.enforce(&cols, picked.len())?;
    }
    let fields: Vec<Field> = cols
        .iter()
        .zip(handle.meta.columns.iter())
        .map(|(c, m)| Field::new(&m.name, c.data_type().clone(), true))
        .collect();
    let opts = RecordBatchOptions::new().with_row_count(Some(picked.len()));
    let new_rows = RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), cols, &opts)?;
    txn.update(handle, &picked, &new_rows).map_err(wrap_error)
}

/// `INSERT OR REPLACE`: deletes the table's rows whose PRIMARY KEY or UNIQUE
/// key (without NULLs) equals a new row's, and drops a new row that a later
/// one replaces, then inserts (as if the rows were inserted one by one).
fn insert_replacing(txn: &Transaction, handle: &TableHandle, batch: &RecordBatch) -> Result<u64> {
    let mut keys: Vec<Vec<usize>> = handle.meta.unique.clone();
    if !handle.meta.primary_key.is_empty() {
        keys.push(handle.meta.primary_key.clone());
    }
    let n = batch.num_rows();
    if keys.is_empty() || n == 0 {
        return txn.insert(handle, batch).map_err(wrap_error);
    }
    let req = ScanRequest { with_row_ids: true, ..Default::default() };
    let existing = txn.scan(handle, &req).map_err(wrap_error)?;
    let mut keep = vec![true; n];
    let mut delete = Vec::new();
    for key in &keys {
        let new_cols: Vec<ArrayRef> = key.iter().map(|&c| Arc::clone(batch.column(c))).collect();
        let fields = new_cols.iter().map(|c| SortField::new(c.data_type().clone())).collect();
        let conv = RowConverter::new(fields)?;
        let new_rows = conv.convert_columns(&new_cols)?;
        let mut last: HashMap<OwnedRow, usize> = HashMap::with_capacity(n);
        for i in 0..n {
            if new_cols.iter().any(|c| c.is_null(i)) {
                continue;
            }
            if let Some(prev) = last.insert(new_rows.row(i).owned(), i)
                && let Some(k) = keep.get_mut(prev)
            {
                *k = false;
            }
        }
        for b in &existing {
            let Some(ids) =
                b.columns().last().and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
            else {
                return datafusion::common::internal_err!("a scan without row ids");
            };
            let cols: Vec<ArrayRef> = key
                .iter()
                .zip(&new_cols)
                .map(|(&c, n)| cast(b.column(c), n.data_type()))
                .collect::<Result<_, _>>()?;
            let rows = conv.convert_columns(&cols)?;
            for j in 0..b.num_rows() {
                if cols.iter().all(|c| c.is_valid(j)) && last.contains_key(&rows.row(j).owned()) {
                    delete.push(ids.value(j));
                }
            }
        }
    }
    delete.sort_unstable();
    delete.dedup();
    if !delete.is_empty() {
        txn.delete(handle, &delete).map_err(wrap_error)?;
    }
    let kept = filter_record_batch(batch, &BooleanArray::from(keep))?;
    txn.insert(handle, &kept).map_err(wrap_error)?;
    Ok(n as u64)
}

/// Runs store work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| DataFusionError::ExecutionJoin(Box::new(e)))?
}

/// The ids and full rows (user columns, then the row id) matching every filter.
fn matching(
    txn: &Transaction,
    handle: &TableHandle,
    filters: &[Arc<dyn PhysicalExpr>],
    predicates: Vec<Predicate>,
) -> Result<(Vec<u64>, RecordBatch)> {
    let req = ScanRequest { predicates, with_row_ids: true, ..Default::default() };
    let batches = txn.scan(handle, &req).map_err(wrap_error)?;
    let schema = req.output_schema(&handle.meta);
    let mut kept = Vec::with_capacity(batches.len());
    for b in batches {
        let mut mask: Option<BooleanArray> = None;
        for f in filters {
            let v = f.evaluate(&b)?.into_array(b.num_rows())?;
            let Some(m) = v.as_any().downcast_ref::<BooleanArray>() else {
                return datafusion::common::plan_err!("a WHERE clause must be boolean");
            };
            let m = if m.null_count() > 0 { prep_null_mask_filter(m) } else { m.clone() };
            mask = Some(match mask {
                Some(prev) => and(&prev, &m)?,
                None => m,
            });
        }
        let b = match mask {
            Some(m) => filter_record_batch(&b, &m)?,
            None => b,
        };
        if b.num_rows() > 0 {
            kept.push(b);
        }
    }
    let ids = row_ids_of(&kept);
    let rows = concat_batches(&schema, &kept)?;
    Ok((ids, rows))
}
