//! Table functions llkv adds to DataFusion: `pragma_table_info('t')` (the
//! rows come from [`llkv_sql::table_info`], shared with the native route).

use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{ScalarValue, plan_err};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::Expr;
use llkv_mvcc::Session;
use std::sync::Arc;

/// `pragma_table_info('t')` over the llkv tables a session sees.
#[derive(Debug)]
pub(crate) struct PragmaTableInfo {
    pub(crate) session: Arc<Session>,
}

impl TableFunctionImpl for PragmaTableInfo {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let table = match args.exprs() {
            [Expr::Literal(ScalarValue::Utf8(Some(t)) | ScalarValue::Utf8View(Some(t)), _)] => t,
            _ => return plan_err!("pragma_table_info takes one table name"),
        };
        let txn = self.session.statement_txn().txn;
        let rows = llkv_sql::table_info::table_info(&txn, table)
            .map_err(|e| DataFusionError::Plan(e.message))?;
        let [cid, name, ty, notnull, dflt, pk] = llkv_sql::table_info::COLUMNS;
        let schema = Arc::new(Schema::new(vec![
            Field::new(cid, DataType::Int64, false),
            Field::new(name, DataType::Utf8, false),
            Field::new(ty, DataType::Utf8, false),
            Field::new(notnull, DataType::Int64, false),
            Field::new(dflt, DataType::Utf8, true),
            Field::new(pk, DataType::Int64, false),
        ]));
        let int = |f: fn(&llkv_sql::table_info::ColumnInfo) -> i64| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<Int64Array>())
        };
        let text = |f: fn(&llkv_sql::table_info::ColumnInfo) -> Option<&str>| -> ArrayRef {
            Arc::new(rows.iter().map(f).collect::<StringArray>())
        };
        let columns = vec![
            int(|c| c.cid),
            text(|c| Some(&c.name)),
            text(|c| Some(&c.type_name)),
            int(|c| c.notnull),
            text(|c| c.dflt_value.as_deref()),
            int(|c| c.pk),
        ];
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        Ok(Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))
    }
}
