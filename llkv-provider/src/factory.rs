//! `CREATE EXTERNAL TABLE name [(columns)] STORED AS LLKV LOCATION '<file>'`:
//! a table of another llkv database file.

use crate::error::wrap_error;
use crate::table::LlkvTable;
use datafusion::catalog::{Session as DfSession, TableProvider, TableProviderFactory};
use datafusion::common::plan_err;
use datafusion::error::Result;
use datafusion::logical_expr::CreateExternalTable;
use llkv_mvcc::{Database, Session};
use llkv_store::{ColumnMeta, TableMeta};
use std::sync::Arc;

/// The file type name the factory is registered under.
pub const LLKV_FILE_TYPE: &str = "LLKV";

/// Opens the llkv database file at the statement's location and provides its
/// table of the same name, creating it from the statement's columns when the
/// file does not have it. The table runs in a session of its own: each
/// statement on it autocommits, and DELETE/UPDATE on it are refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct LlkvTableFactory;

#[async_trait::async_trait]
impl TableProviderFactory for LlkvTableFactory {
    async fn create(
        &self,
        _state: &dyn DfSession,
        cmd: &CreateExternalTable,
    ) -> Result<Arc<dyn TableProvider>> {
        let Some(location) = cmd.locations.first() else {
            return plan_err!("STORED AS LLKV needs a LOCATION (a database file)");
        };
        let db = Database::open(location).map_err(wrap_error)?;
        let session = Arc::new(Session::new(db));
        let name = cmd.name.table().to_string();
        let st = session.statement_txn();
        let result = (|| {
            if let Some(h) = st.txn.table(&name)? {
                return Ok(h.meta);
            }
            let fields = cmd.schema.fields();
            if fields.is_empty() {
                return Err(llkv_mvcc::Error::NoSuchTable(format!("{name} in {location}")));
            }
            let columns = fields
                .iter()
                .map(|f| ColumnMeta::new(f.name().clone(), f.data_type().clone(), f.is_nullable()))
                .collect();
            Ok(st.txn.create_table(TableMeta::new(name.clone(), columns))?.meta)
        })();
        let meta = st.finish(result).map_err(wrap_error)?;
        Ok(Arc::new(LlkvTable::new(session, meta)))
    }
}
