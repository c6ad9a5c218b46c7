//! # llkv-native
//!
//! llkv's own SQL route: sqlparser → binder → planner → executor over Arrow
//! record batches, with no DataFusion and no Tokio.

use llkv_mvcc::{Database, Session};
use llkv_sql::{Engine, Output, SqlError, SqlResult};

/// A native-route connection (one session) to an llkv database.
pub struct NativeEngine {
    session: Session,
}

impl NativeEngine {
    /// A new session on `db`.
    pub fn new(db: Database) -> Self {
        Self { session: Session::new(db) }
    }
}

impl Engine for NativeEngine {
    fn route(&self) -> &'static str {
        "native"
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        let _ = &self.session;
        Err(SqlError::plan(format!("native route under construction: {sql}")))
    }
}
