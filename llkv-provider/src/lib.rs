//! # llkv-provider
//!
//! The DataFusion route of llkv: an llkv [`Database`](llkv_mvcc::Database)
//! registered as a catalog in a DataFusion `SessionContext`, with llkv's own
//! scan node, filter pushdown, DDL, DML and transactions.
//!
//! ```text
//!  SessionContext ── default catalog "llkv" ── schema "public" ── LlkvTable (one per table)
//!        │                     │                                   │ scan ─────► LlkvScanExec ─► PreparedScan (a segment per poll)
//!        │                     └─ register_table / deregister_table│ insert_into / delete_from /
//!        │                        = CREATE TABLE / DROP TABLE      │ update / truncate ─► LlkvDmlExec
//!        ├─ LlkvDmlRewrite (analyzer rule): DELETE/UPDATE whose WHERE DataFusion cannot pass
//!        │  whole (subqueries, UPDATE … FROM, LIMIT) become a row-id query ─► LlkvRowSink
//!        ├─ PerRowSubqueries (optimizer rule): correlated subqueries DataFusion cannot
//!        │  decorrelate, and IN/EXISTS outside WHERE, run per distinct outer row
//!        └─ LlkvQueryPlanner: one llkv transaction per statement (the session's explicit one
//!           after BEGIN), and the guard against DELETE/UPDATE filters DataFusion cannot pass on
//! ```
//!
//! ```
//! use llkv_mvcc::Database;
//! use llkv_provider::LlkvCatalog;
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let ctx = LlkvCatalog::new(Database::in_memory()).session_context();
//! ctx.sql("CREATE TABLE t (x INTEGER, y TEXT)").await?.collect().await?;
//! ctx.sql("INSERT INTO t VALUES (1, 'a'), (2, 'b')").await?.collect().await?;
//! let rows = ctx.sql("SELECT count(*) FROM t WHERE x > 1").await?.collect().await?;
//! assert_eq!(rows[0].num_rows(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Outside an explicit transaction each statement runs in a transaction of its
//! own that commits when its plan has run. [`DataFusionEngine`] (the route the
//! CLI and the logic-test runner drive) adds `BEGIN` / `COMMIT` / `ROLLBACK`,
//! which DataFusion does not execute.

mod bare_columns;
mod catalog;
mod check;
mod ddl;
mod declare;
mod dml;
mod duckdb_syntax;
mod engine;
mod error;
mod factory;
mod filter;
mod group_concat;
mod order_by_all;
mod output_names;
mod planner;
mod rewrite;
mod rowid;
mod scan;
mod sink;
mod sqlite_aggregates;
mod sqlite_numeric;
mod subquery;
mod subquery_exec;
mod sum_pushdown;
mod table;
mod table_functions;
mod triggers;
mod types;

pub use catalog::{CATALOG_NAME, LlkvCatalog, LlkvSchema, SCHEMA_NAME, VIEW_PREFIX};
pub use dml::{DmlOp, LlkvDmlExec};
pub use engine::DataFusionEngine;
pub use error::{to_sql_error, wrap_error};
pub use factory::{LLKV_FILE_TYPE, LlkvTableFactory};
pub use planner::LlkvQueryPlanner;
pub use rewrite::LlkvDmlRewrite;
pub use scan::{LlkvScanExec, LlkvScanStream};
pub use subquery::PerRowSubqueries;
pub use sum_pushdown::{LlkvSumExec, LlkvSumPushdown};
pub use table::LlkvTable;
pub use types::LlkvTypePlanner;
