//! # llkv-cli
//!
//! The pieces of the `llkv` shell: opening a database, splitting SQL into
//! statements, printing results (table, csv, json, line), the shell session
//! with its dot-commands, and the REPL. The binary (`src/main.rs`) parses the
//! command line and drives them.

pub mod database;
pub mod import;
pub mod output;
pub mod repl;
pub mod shell;
pub mod split;

pub use output::Mode;
pub use shell::{Flow, Route, Shell};
