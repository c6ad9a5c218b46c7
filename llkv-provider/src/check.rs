//! CHECK constraints on the DataFusion route.
//!
//! A table's CHECK expressions (table properties `check.N`, see
//! `crate::declare`) are compiled by DataFusion against the table's columns
//! when an INSERT or UPDATE is planned, and evaluated over every batch of new
//! rows before any of it is written: a row for which one is false fails the
//! statement (NULL passes, as in SQL); the statement's transaction then rolls
//! back, so nothing of it stays.

use crate::error::wrap_error;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::catalog::Session as DfSession;
use datafusion::common::{DFSchema, plan_err};
use datafusion::error::Result;
use datafusion::execution::context::SessionState;
use datafusion::physical_plan::PhysicalExpr;
use llkv_sql::CHECK_PREFIX;
use llkv_store::TableMeta;
use std::sync::Arc;

/// The compiled CHECK constraints of one table.
#[derive(Debug)]
pub struct Checks {
    table: String,
    schema: SchemaRef,
    exprs: Vec<(String, Arc<dyn PhysicalExpr>)>,
}

impl Checks {
    /// Compiles the CHECKs of `meta`; `None` when it has none.
    ///
    /// # Errors
    /// When an expression does not compile (or the session is not DataFusion's).
    pub(crate) fn compile(state: &dyn DfSession, meta: &TableMeta) -> Result<Option<Arc<Self>>> {
        let mut texts: Vec<(&String, &String)> =
            meta.properties.iter().filter(|(k, _)| k.starts_with(CHECK_PREFIX)).collect();
        if texts.is_empty() {
            return Ok(None);
        }
        texts.sort();
        let Some(session) = state.as_any().downcast_ref::<SessionState>() else {
            return plan_err!(
                "the CHECK constraints of {} need a DataFusion SessionState",
                meta.name
            );
        };
        // Nullable: NOT NULL is the store's to report, after the CHECKs.
        let schema: SchemaRef = Arc::new(Schema::new(
            meta.schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        let df_schema = DFSchema::try_from_qualified_schema(meta.name.as_str(), &schema)?;
        let mut exprs = Vec::with_capacity(texts.len());
        for (_, text) in texts {
            let logical = session.create_logical_expr(text, &df_schema)?;
            exprs.push((text.clone(), state.create_physical_expr(logical, &df_schema)?));
        }
        Ok(Some(Arc::new(Self { table: meta.name.clone(), schema, exprs })))
    }

    /// Checks new rows: `columns` holds the value of every column of the
    /// table, in table order.
    ///
    /// # Errors
    /// A constraint error naming the table and the failed CHECK.
    pub(crate) fn enforce(&self, columns: &[ArrayRef], rows: usize) -> Result<()> {
        if rows == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = columns
            .iter()
            .zip(self.schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(Arc::clone(c))
                } else {
                    cast(c, f.data_type())
                }
            })
            .collect::<Result<_, _>>()?;
        let opts = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &opts)?;
        for (text, e) in &self.exprs {
            let v = e.evaluate(&batch)?.into_array(rows)?;
            let v =
                if v.data_type() == &DataType::Boolean { v } else { cast(&v, &DataType::Boolean)? };
            let failed = v
                .as_any()
                .downcast_ref::<BooleanArray>()
                .is_some_and(|b| (0..b.len()).any(|i| b.is_valid(i) && !b.value(i)));
            if failed {
                return Err(wrap_error(llkv_mvcc::Error::Constraint(format!(
                    "CHECK constraint failed: {}: {text}",
                    self.table
                ))));
            }
        }
        Ok(())
    }
}
