//! Errors across the boundary: llkv errors into DataFusion, DataFusion errors
//! into the routes' classified [`SqlError`].

use datafusion::error::DataFusionError;
use llkv_sql::{ErrorKind, SqlError};

/// Wraps an llkv transaction error so that it crosses DataFusion unchanged and
/// [`to_sql_error`] can classify it again.
pub fn wrap_error(e: llkv_mvcc::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// Classifies a DataFusion error for users: parse, plan, execution, or the
/// llkv error it carries (constraint, conflict, transaction state, storage).
pub fn to_sql_error(e: DataFusionError) -> SqlError {
    match e {
        DataFusionError::Context(_, inner) | DataFusionError::Diagnostic(_, inner) => {
            to_sql_error(*inner)
        }
        DataFusionError::External(inner) => match inner.downcast::<llkv_mvcc::Error>() {
            Ok(e) => SqlError::from(*e),
            Err(other) => match other.downcast::<DataFusionError>() {
                Ok(df) => to_sql_error(*df),
                Err(other) => SqlError::execution(other.to_string()),
            },
        },
        DataFusionError::Shared(inner) => match std::sync::Arc::try_unwrap(inner) {
            Ok(e) => to_sql_error(e),
            Err(shared) => shared_error(&shared),
        },
        DataFusionError::Collection(mut errors) if !errors.is_empty() => {
            to_sql_error(errors.remove(0))
        }
        DataFusionError::SQL(..) => SqlError::parse(strip(e)),
        DataFusionError::Plan(_)
        | DataFusionError::SchemaError(..)
        | DataFusionError::NotImplemented(_)
        | DataFusionError::Configuration(_) => SqlError::plan(strip(e)),
        DataFusionError::Internal(_) => SqlError::new(ErrorKind::Internal, strip(e)),
        DataFusionError::IoError(_) => SqlError::new(ErrorKind::Storage, strip(e)),
        _ => SqlError::execution(strip(e)),
    }
}

/// Classifies an error that other plan nodes still share.
fn shared_error(e: &DataFusionError) -> SqlError {
    let root = e.find_root();
    if let DataFusionError::External(inner) = root
        && let Some(llkv) = inner.downcast_ref::<llkv_mvcc::Error>()
    {
        use llkv_mvcc::Error as E;
        let kind = match llkv {
            E::Serialization { .. } => ErrorKind::Conflict,
            E::Aborted(_) | E::Ended | E::TransactionState(_) => ErrorKind::Transaction,
            E::Constraint(_) => ErrorKind::Constraint,
            E::NoSuchTable(_) | E::TableExists(_) => ErrorKind::Plan,
            E::Store(_) => ErrorKind::Storage,
            _ => ErrorKind::Execution,
        };
        return SqlError::new(kind, llkv.to_string());
    }
    SqlError::execution(root.to_string())
}

/// The message without DataFusion's own prefix and backtrace.
fn strip(e: DataFusionError) -> String {
    e.strip_backtrace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llkv_errors_keep_their_kind_through_datafusion() {
        let e = wrap_error(llkv_mvcc::Error::Constraint("dup".into()));
        let e = e.context("INSERT");
        assert_eq!(to_sql_error(e).kind, ErrorKind::Constraint);
        let shared = DataFusionError::Shared(std::sync::Arc::new(wrap_error(
            llkv_mvcc::Error::Serialization { table: "t".into() },
        )));
        let _keep = shared.to_string();
        assert_eq!(to_sql_error(shared).kind, ErrorKind::Conflict);
    }
}
