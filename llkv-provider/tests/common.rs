//! Helpers shared by the integration tests.

#![allow(dead_code)]

use arrow::util::pretty::pretty_format_batches;
use llkv_mvcc::Database;
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, Output};

/// An engine on a new in-memory database.
pub fn engine() -> DataFusionEngine {
    DataFusionEngine::new(Database::in_memory()).expect("engine starts")
}

/// Runs statements that must succeed.
pub fn run(e: &mut DataFusionEngine, sql: &str) -> Vec<Output> {
    match e.execute(sql) {
        Ok(o) => o,
        Err(err) => panic!("{sql}: {err} ({:?})", err.kind),
    }
}

/// The rows of the last statement of `sql`, one string per row, values joined by `|`.
pub fn rows(e: &mut DataFusionEngine, sql: &str) -> Vec<String> {
    match run(e, sql).pop() {
        Some(Output::Rows { batches, .. }) => {
            let mut out = Vec::new();
            for b in &batches {
                for r in 0..b.num_rows() {
                    let vals: Vec<String> = b
                        .columns()
                        .iter()
                        .map(|c| {
                            arrow::util::display::array_value_to_string(c, r)
                                .unwrap_or_else(|_| "?".into())
                        })
                        .collect();
                    out.push(vals.join("|"));
                }
            }
            out
        }
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

/// The whole output of a query as a pretty table (for EXPLAIN).
pub fn text(e: &mut DataFusionEngine, sql: &str) -> String {
    match run(e, sql).pop() {
        Some(Output::Rows { batches, .. }) => {
            pretty_format_batches(&batches).map(|t| t.to_string()).unwrap_or_default()
        }
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

/// The affected-row count of a single DML statement.
pub fn affected(e: &mut DataFusionEngine, sql: &str) -> u64 {
    match run(e, sql).pop() {
        Some(Output::Affected(n)) => n,
        other => panic!("{sql}: expected a row count, got {other:?}"),
    }
}
