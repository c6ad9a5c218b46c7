//! SQL features on the native route: every `tests/features/*.slt` file runs
//! on a fresh in-memory database. `queries.slt` and `statements.slt` hold the
//! SQLite statements and query features of issue 6 and SQLite's answers
//! (produced and checked with sqlite3); `schemas.slt` holds schemas
//! (`CREATE SCHEMA`, `s.t`, `s.t.col`, `* EXCLUDE`, `CREATE TYPE`), as DuckDB
//! answers them.
//!
//! The files use a subset of the sqllogictest format: `statement ok|error`,
//! `query <type letters> [nosort|rowsort]` with the values one per line after
//! `----` (`I` integer, `R` `%.3f`, `T` text, `NULL`). The full runner
//! (`llkv-slt`) runs on both routes; these files hold SQLite behaviour that
//! the DataFusion route does not have (integer division, `total`, `iif`,
//! `INSERT OR REPLACE`, NULL ordering…), so they run on the native route only.

use arrow::array::Array;
use arrow::util::display::array_value_to_string;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};
use std::path::Path;

/// One value formatted by its query type letter, as SQLite's runner does.
fn format_value(col: &dyn Array, row: usize, letter: char) -> String {
    if col.is_null(row) {
        return "NULL".into();
    }
    let text = array_value_to_string(col, row).unwrap_or_default();
    match letter {
        'I' => match text.as_str() {
            "true" => "1".into(),
            "false" => "0".into(),
            t => t.parse::<f64>().map_or_else(|_| "0".into(), |f| format!("{}", f.trunc() as i64)),
        },
        'R' => text.parse::<f64>().map_or(text, |f| format!("{f:.3}")),
        _ if text.is_empty() => "(empty)".into(),
        _ => text,
    }
}

/// Runs one file; returns the descriptions of the records that failed.
fn run_file(path: &Path) -> Vec<String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("cannot read {}: {e}", path.display())],
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut engine = NativeEngine::new(llkv_mvcc::Database::in_memory());
    let mut failures = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let head: Vec<&str> = lines[i].split_whitespace().collect();
        let line_no = i + 1;
        i += 1;
        if !matches!(head.first(), Some(&"statement") | Some(&"query")) {
            continue;
        }
        let mut sql = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && lines[i] != "----" {
            sql.push(lines[i]);
            i += 1;
        }
        let mut expected = Vec::new();
        if i < lines.len() && lines[i] == "----" {
            i += 1;
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].to_string());
                i += 1;
            }
        }
        let sql = sql.join("\n");
        let result = engine.execute(&sql);
        if head[0] == "statement" {
            let want_ok = head.get(1) == Some(&"ok");
            if result.is_ok() != want_ok {
                failures.push(format!("line {line_no}: {sql}: {:?}", result.err()));
            }
            continue;
        }
        let letters: Vec<char> = head.get(1).unwrap_or(&"").chars().collect();
        let outputs = match result {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("line {line_no}: {sql}: error {}", e.message));
                continue;
            }
        };
        let mut rows: Vec<Vec<String>> = Vec::new();
        if let Some(Output::Rows { batches, .. }) = outputs.last() {
            for b in batches {
                for r in 0..b.num_rows() {
                    rows.push(
                        (0..b.num_columns())
                            .map(|c| format_value(b.column(c), r, *letters.get(c).unwrap_or(&'T')))
                            .collect(),
                    );
                }
            }
        }
        if head.get(2) == Some(&"rowsort") {
            rows.sort();
        }
        let got: Vec<String> = rows.into_iter().flatten().collect();
        if got != expected {
            failures.push(format!(
                "line {line_no}: {sql}\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    failures
}

#[test]
fn the_feature_files_give_the_expected_answers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/features");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "slt"));
    files.sort();
    assert!(files.len() >= 2, "no .slt files in {}", dir.display());
    let mut failures = Vec::new();
    for f in &files {
        failures.extend(run_file(f).into_iter().map(|m| format!("{}: {m}", f.display())));
    }
    assert!(failures.is_empty(), "{} records failed:\n{}", failures.len(), failures.join("\n"));
}
