//! # llkv-native
//!
//! llkv's own SQL route, with neither DataFusion nor Tokio:
//!
//! ```text
//! SQL ─ parse (sqlparser) ─ binder ─ plan + planner rules ─ executors ─ Arrow batches
//!                              │                                │
//!                         catalog (llkv-mvcc)          scans (llkv-mvcc / llkv-store)
//! ```
//!
//! Expressions follow SQLite's semantics (see [`value`] for the rules), which
//! is what the SQLite logic-test corpus expects.
//!
//! ```
//! use llkv_native::NativeEngine;
//! use llkv_sql::Engine;
//!
//! let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
//! e.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT)")?;
//! e.execute("INSERT INTO t VALUES (1, 'x'), (2, 'y')")?;
//! let out = e.execute("SELECT b FROM t WHERE a = 2")?;
//! # Ok::<(), llkv_sql::SqlError>(())
//! ```

mod binder;
mod check;
pub mod columnar;
mod convert;
mod dates;
mod ddl;
mod dml;
mod engine;
mod eval;
pub mod exec;
pub mod expr;
mod functions;
pub mod insert_select;
mod like;
mod parse;
pub mod plan;
mod planner;
mod point;
mod point_update;
mod settings;
mod stmt_cache;
mod structs;
mod triggers;
mod update_from;
use llkv_sql::user_types;
pub mod value;

pub use engine::NativeEngine;
