//! # llkv-slt
//!
//! The SQL logic-test runner for llkv: runs sqllogictest files (SQLite's
//! corpus, DuckDB's `test/sql` files, and the project's own `slt/` files) on
//! both SQL routes (DataFusion and native) and both backends (memory and
//! file), and compares the routes.
//!
//! The pipeline for one file:
//!
//! ```text
//! text ─ preprocess ─ sqllogictest::parse_with_name ─ runner (records → Engine)
//!                                                        │
//!                         format (type letters) ─ validate (sort, hash, compare)
//! ```
//!
//! What counts as a pass follows `../shared/slt/README.md`: values formatted
//! by the type letters equal the expected values exactly, in sort-mode order,
//! or hash to the expected MD5; `statement ok` fails on any error and
//! `statement error` passes only when the statement fails (the expected
//! message is never compared).
//!
//! ```
//! use llkv_slt::{Backend, Combo, DialectChoice, Route, run_file};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("empty.slt");
//! # std::fs::write(&path, "")?;
//! let run = run_file(&path, Combo { route: Route::Native, backend: Backend::Memory },
//!                    DialectChoice::Auto, false);
//! assert_eq!(run.outcome.failed, 0);
//! # Ok::<(), std::io::Error>(())
//! ```

mod column;
mod discover;
mod engines;
pub mod format;
mod memtable;
pub mod preprocess;
mod report;
mod runner;
mod suite;
pub mod validate;

pub use column::TypeLetter;
pub use discover::{discover, is_test_file};
pub use engines::{Backend, Route, TestDatabase};
pub use format::Dialect;
pub use memtable::MemTableEngine;
pub use report::{
    comparison_table, difference_details, difference_details_labeled, failure_details, file_line,
    json_report, total_line,
};
pub use runner::{
    Connect, Failure, QueryResult, ScriptOptions, ScriptOutcome, detect_dialect, run_script,
};
pub use suite::{Combo, DialectChoice, Difference, FileRun, differences, run_file};
