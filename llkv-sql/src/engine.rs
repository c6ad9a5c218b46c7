//! The interface both SQL routes implement, so the CLI and the logic-test
//! runner can drive either.

use crate::cancel::CancelFlag;
use crate::error::SqlResult;
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

/// What one statement produced.
#[derive(Debug, Clone)]
pub enum Output {
    /// A query's rows.
    Rows {
        /// The result schema (also for zero rows).
        schema: SchemaRef,
        /// The rows.
        batches: Vec<RecordBatch>,
    },
    /// A data change and how many rows it changed.
    Affected(u64),
    /// Any other statement (DDL, transaction control), with a tag such as `CREATE TABLE`.
    Done(String),
}

/// A SQL connection to an llkv database on one route. Each engine value is one
/// session: it has its own transaction state (BEGIN … COMMIT).
pub trait Engine: Send {
    /// The route's name: `datafusion` or `native`.
    fn route(&self) -> &'static str;

    /// Runs every statement of `sql` in order and returns their outputs; stops
    /// at the first failing statement.
    ///
    /// # Errors
    /// The first statement's error, classified by [`crate::ErrorKind`].
    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>>;

    /// Makes the engine watch `flag`: once it is set, the running statement
    /// stops with an [`crate::ErrorKind::Cancelled`] error and its changes are
    /// rolled back (inside BEGIN … COMMIT the transaction is then aborted, as
    /// after any failed statement). The caller resets the flag before the next
    /// statement. Engines that cannot be interrupted ignore it (the default).
    fn set_cancel_flag(&mut self, flag: CancelFlag) {
        let _ = flag;
    }
}
