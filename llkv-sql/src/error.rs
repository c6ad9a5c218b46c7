//! Errors as both routes report them to users.

/// What kind of failure an error is: the user's, a conflict, or the world's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The SQL text does not parse.
    Parse,
    /// The statement is valid SQL but cannot be planned (unknown table or
    /// column, type mismatch, unsupported construct).
    Plan,
    /// A constraint (NOT NULL, PRIMARY KEY, UNIQUE, CHECK) would be violated.
    Constraint,
    /// A write-write conflict; the transaction was rolled back.
    Conflict,
    /// A transaction-state error (aborted transaction, COMMIT without BEGIN).
    Transaction,
    /// Evaluation failed (division by zero where it is an error, overflow, cast).
    Execution,
    /// Storage failed: I/O, corruption, a locked or foreign file.
    Storage,
    /// A bug in llkv: an invariant did not hold.
    Internal,
    /// The statement was cancelled (Ctrl-C in the shell); its changes were rolled back.
    Cancelled,
}

/// An error with its kind and a message for the user.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// What went wrong, for the user.
    pub message: String,
}

impl SqlError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// A parse error.
    pub fn parse(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Parse, message)
    }

    /// A planning error.
    pub fn plan(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Plan, message)
    }

    /// An execution error.
    pub fn execution(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Execution, message)
    }
}

/// The routes' result alias.
pub type SqlResult<T> = Result<T, SqlError>;

impl From<llkv_mvcc::Error> for SqlError {
    fn from(e: llkv_mvcc::Error) -> Self {
        use llkv_mvcc::Error as E;
        let kind = match &e {
            E::Serialization { .. } => ErrorKind::Conflict,
            E::Aborted(_) | E::Ended | E::TransactionState(_) => ErrorKind::Transaction,
            E::Constraint(_) => ErrorKind::Constraint,
            E::NoSuchTable(_)
            | E::TableExists(_)
            | E::NoSuchSchema(_)
            | E::SchemaExists(_)
            | E::SchemaNotEmpty(_) => ErrorKind::Plan,
            E::Store(s) => return store_error(s),
            _ => ErrorKind::Execution,
        };
        Self::new(kind, e.to_string())
    }
}

impl From<llkv_store::Error> for SqlError {
    fn from(e: llkv_store::Error) -> Self {
        store_error(&e)
    }
}

impl From<arrow::error::ArrowError> for SqlError {
    fn from(e: arrow::error::ArrowError) -> Self {
        Self::execution(e.to_string())
    }
}

/// Classifies a store error: bad input is the user's, the rest is storage's.
fn store_error(e: &llkv_store::Error) -> SqlError {
    use llkv_store::Error as E;
    let kind = match e {
        E::Invalid(m) if m.starts_with("NOT NULL") => ErrorKind::Constraint,
        E::Invalid(_) | E::NotFound(_) | E::AlreadyExists(_) => ErrorKind::Plan,
        E::Arrow(_) => ErrorKind::Execution,
        _ => ErrorKind::Storage,
    };
    SqlError::new(kind, e.to_string())
}
