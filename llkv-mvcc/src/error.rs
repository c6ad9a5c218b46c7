//! The transaction layer's error type.

/// Everything that can go wrong in a transaction.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store failed (I/O, corruption, invalid input).
    #[error(transparent)]
    Store(#[from] llkv_store::Error),
    /// A write-write conflict with a concurrent transaction; the transaction is rolled back.
    #[error(
        "could not serialize access due to a concurrent update of table {table}; the transaction was rolled back"
    )]
    Serialization {
        /// The table where the conflict happened.
        table: String,
    },
    /// The transaction failed earlier and accepts nothing but ROLLBACK.
    #[error(
        "current transaction is aborted, commands ignored until end of transaction block (cause: {0})"
    )]
    Aborted(String),
    /// The transaction has already committed or rolled back.
    #[error("the transaction has already ended")]
    Ended,
    /// No such table.
    #[error("table {0} does not exist")]
    NoSuchTable(String),
    /// The table exists already.
    #[error("table {0} already exists")]
    TableExists(String),
    /// No such schema.
    #[error("schema {0} does not exist")]
    NoSuchSchema(String),
    /// The schema exists already.
    #[error("schema {0} already exists")]
    SchemaExists(String),
    /// DROP SCHEMA without CASCADE on a schema that holds tables or views.
    #[error("cannot drop schema {0}: it still holds tables or views (use CASCADE)")]
    SchemaNotEmpty(String),
    /// A constraint would be violated.
    #[error("constraint violation: {0}")]
    Constraint(String),
    /// A transaction-control statement that makes no sense here (BEGIN inside a transaction…).
    #[error("{0}")]
    TransactionState(String),
    /// An Arrow kernel failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The transaction layer's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
