//! # llkv-cli
//!
//! The pieces of the `llkv` shell: opening a database, splitting SQL into
//! statements, printing results (table, csv, json, line), the shell session,
//! its dot-commands, CSV/Parquet import and export (also as `COPY`), parser
//! error positions, progress display, and the REPL. The binary
//! (`src/main.rs`) parses the command line and drives them.

pub mod database;
pub mod diagnostic;
pub mod dot;
pub mod export;
pub mod import;
pub mod output;
pub mod progress;
pub mod repl;
pub mod shell;
pub mod split;

pub use output::Mode;
pub use shell::{Flow, OpenOptions, Route, Shell};
