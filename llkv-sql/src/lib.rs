//! # llkv-sql
//!
//! What the two SQL routes of llkv (`llkv-provider` over DataFusion and
//! `llkv-native`) share, written once: the [`Engine`] interface that the CLI
//! and the logic-test runner drive, statement [`Output`]s, a classified
//! [`SqlError`], and the mapping of SQL type names to Arrow types.
//! It depends on neither DataFusion nor Tokio.

pub mod alter;
mod cancel;
mod engine;
mod error;
pub mod names;
pub mod reindex;
pub mod sqlite_syntax;
pub mod table_info;
pub mod triggers;
pub mod types;
pub mod user_types;

pub use cancel::{CANCELLED, CancelFlag, Cancelled, cancelled};
pub use engine::{Engine, Output};
pub use error::{ErrorKind, SqlError, SqlResult};

/// The prefix of the table properties holding a table's CHECK expressions
/// (`check.0`, `check.1`, …, SQL text), written by both routes.
pub const CHECK_PREFIX: &str = "check.";
