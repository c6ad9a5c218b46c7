//! # llkv-provider
//!
//! The DataFusion route: llkv tables as DataFusion `TableProvider`s.

use llkv_mvcc::{Database, Session};
use llkv_sql::{Engine, Output, SqlError, SqlResult};

/// A DataFusion-route connection (one session) to an llkv database.
pub struct DataFusionEngine {
    session: Session,
}

impl DataFusionEngine {
    /// A new session on `db`.
    ///
    /// # Errors
    /// When the async runtime cannot start.
    pub fn new(db: Database) -> SqlResult<Self> {
        Ok(Self { session: Session::new(db) })
    }
}

impl Engine for DataFusionEngine {
    fn route(&self) -> &'static str {
        "datafusion"
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        let _ = &self.session;
        Err(SqlError::plan(format!("datafusion route under construction: {sql}")))
    }
}
