//! Drives the records of one test file against engine connections and
//! decides, record by record, pass or fail.

use crate::column::TypeLetter;
use crate::format::{Dialect, Value, format_rows, rows_of};
use crate::preprocess::{ENGINE_LABELS, Preprocessed, preprocess};
use crate::validate::{adopt_equal_numbers, expected_form, matches, sorted_values};
use llkv_sql::{Engine, Output, SqlResult};
use sqllogictest::{
    Condition, Connection, Control, QueryExpect, Record, SortMode, StatementExpect,
};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// Opens a new connection (one engine session) to the file's database.
pub type Connect<'a> = dyn FnMut() -> SqlResult<Box<dyn Engine>> + 'a;

/// A record that did not pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Line of the record's header in the original file.
    pub line: usize,
    /// The SQL of the record.
    pub sql: String,
    /// What went wrong: the error, or the expected and actual values.
    pub reason: String,
}

/// A query's formatted result, kept for the differential mode.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Line of the record in the original file.
    pub line: usize,
    /// The query.
    pub sql: String,
    /// The values in sort-mode order, or `Err` with the error message.
    pub values: Result<Vec<String>, String>,
}

/// The outcome of one file on one connection factory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScriptOutcome {
    /// Records that passed.
    pub passed: u64,
    /// Records that failed.
    pub failed: u64,
    /// Records left out by `skipif`/`onlyif`.
    pub skipped: u64,
    /// Details of each failed record.
    pub failures: Vec<Failure>,
    /// Every query's result, in file order (filled only when asked).
    pub results: Vec<QueryResult>,
    /// Wall time spent.
    pub elapsed: Duration,
}

/// Options for running a script.
#[derive(Debug, Clone, Copy)]
pub struct ScriptOptions {
    /// Formatting conventions.
    pub dialect: Dialect,
    /// Keep each query's formatted result in [`ScriptOutcome::results`].
    pub keep_results: bool,
}

/// Which dialect a file is written in: DuckDB's files start with a
/// `# name: test/…` header; everything else is SQLite's.
pub fn detect_dialect(text: &str) -> Dialect {
    let duck = text.lines().take(5).any(|l| l.starts_with("# name: test/"));
    if duck { Dialect::DuckDb } else { Dialect::Sqlite }
}

fn skipped_by(conditions: &[Condition]) -> bool {
    conditions.iter().any(|c| match c {
        Condition::OnlyIf { label } => !ENGINE_LABELS.contains(&label.as_str()),
        Condition::SkipIf { label } => ENGINE_LABELS.contains(&label.as_str()),
    })
}

/// Runs a script's text. A file that does not parse counts as one failed
/// record (at the line of the parse error).
pub fn run_script(
    text: &str,
    name: &str,
    connect: &mut Connect<'_>,
    options: ScriptOptions,
) -> ScriptOutcome {
    let start = Instant::now();
    let pre = preprocess(text);
    let mut out = ScriptOutcome::default();
    match sqllogictest::parse_with_name::<TypeLetter>(&pre.text, name) {
        Ok(records) => {
            let mut driver = Driver {
                pre: &pre,
                connect,
                options,
                connections: HashMap::new(),
                threshold: 0,
                sort_mode: SortMode::NoSort,
                out: &mut out,
            };
            driver.run(records);
        }
        Err(e) => {
            out.failed += 1;
            out.failures.push(Failure {
                line: pre.original_line(e.location().line() as usize),
                sql: String::new(),
                reason: format!("the file does not parse: {}", e.kind()),
            });
        }
    }
    out.elapsed = start.elapsed();
    out
}

struct Driver<'a, 'c> {
    pre: &'a Preprocessed,
    connect: &'a mut Connect<'c>,
    options: ScriptOptions,
    connections: HashMap<Connection, Box<dyn Engine>>,
    threshold: u64,
    sort_mode: SortMode,
    out: &'a mut ScriptOutcome,
}

impl Driver<'_, '_> {
    fn run(&mut self, records: Vec<Record<TypeLetter>>) {
        for record in records {
            match record {
                Record::Statement { loc, conditions, connection, sql, expected, .. } => {
                    if skipped_by(&conditions) {
                        self.out.skipped += 1;
                        continue;
                    }
                    let line = self.pre.original_line(loc.line() as usize);
                    let verdict = self.statement(line, &connection, &sql, &expected);
                    self.record(line, sql, verdict);
                }
                Record::Query { loc, conditions, connection, sql, expected, .. } => {
                    if skipped_by(&conditions) {
                        self.out.skipped += 1;
                        continue;
                    }
                    let line = self.pre.original_line(loc.line() as usize);
                    let verdict = self.query(line, &connection, &sql, &expected);
                    self.record(line, sql, verdict);
                }
                Record::HashThreshold { threshold, .. } => self.threshold = threshold,
                Record::Control(Control::SortMode(m)) => self.sort_mode = m,
                Record::Halt { .. } => break,
                Record::Sleep { duration, .. } => std::thread::sleep(duration),
                Record::Include { loc, filename }
                | Record::System { loc, command: filename, .. } => {
                    let line = self.pre.original_line(loc.line() as usize);
                    self.record(
                        line,
                        filename,
                        Err("include/system records are not supported".into()),
                    );
                }
                Record::Let { loc, conditions, sql, .. } => {
                    if skipped_by(&conditions) {
                        continue;
                    }
                    let line = self.pre.original_line(loc.line() as usize);
                    self.record(line, sql, Err("let records are not supported".into()));
                }
                _ => {}
            }
        }
    }

    fn record(&mut self, line: usize, sql: String, verdict: Result<(), String>) {
        match verdict {
            Ok(()) => self.out.passed += 1,
            Err(reason) => {
                self.out.failed += 1;
                self.out.failures.push(Failure { line, sql, reason });
            }
        }
    }

    /// Runs `sql` on the named connection, opening it on first use; a panic in
    /// the engine becomes an error.
    fn execute(&mut self, connection: &Connection, sql: &str) -> Result<Vec<Output>, String> {
        if !self.connections.contains_key(connection) {
            let engine = (self.connect)().map_err(|e| format!("cannot connect: {e}"))?;
            self.connections.insert(connection.clone(), engine);
        }
        let Some(engine) = self.connections.get_mut(connection) else {
            return Err("connection vanished".into());
        };
        match catch_unwind(AssertUnwindSafe(|| engine.execute(sql))) {
            Ok(Ok(outputs)) => Ok(outputs),
            Ok(Err(e)) => Err(format!("{:?}: {}", e.kind, e.message)),
            Err(panic) => {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("the engine panicked: {msg}"))
            }
        }
    }

    fn statement(
        &mut self,
        line: usize,
        connection: &Connection,
        sql: &str,
        expected: &StatementExpect,
    ) -> Result<(), String> {
        let result = self.execute(connection, sql);
        if self.options.keep_results {
            // The differential mode compares statements too, though the file
            // expects no result from them: success or failure, row counts,
            // and the rows of a statement that returns some.
            let kept = result.as_ref().map(|o| statement_values(o, self.options.dialect));
            self.keep(line, sql, kept.map_err(Clone::clone));
        }
        match (expected, result) {
            (StatementExpect::Error(_), Err(_)) => Ok(()),
            (StatementExpect::Error(_), Ok(_)) => {
                Err("the statement succeeded; an error was expected".into())
            }
            (StatementExpect::Ok, Ok(_)) => Ok(()),
            (StatementExpect::Count(n), Ok(outputs)) => {
                let affected: u64 = outputs
                    .iter()
                    .map(|o| match o {
                        Output::Affected(k) => *k,
                        _ => 0,
                    })
                    .sum();
                if affected == *n {
                    Ok(())
                } else {
                    Err(format!("{affected} rows affected; {n} expected"))
                }
            }
            (_, Err(e)) => Err(e),
        }
    }

    fn query(
        &mut self,
        line: usize,
        connection: &Connection,
        sql: &str,
        expected: &QueryExpect<TypeLetter>,
    ) -> Result<(), String> {
        let result = self.execute(connection, sql);
        let (types, sort_mode, expected_lines) = match expected {
            QueryExpect::Error(_) => {
                self.keep(line, sql, result.as_ref().map(|_| Vec::new()).map_err(Clone::clone));
                return match result {
                    Err(_) => Ok(()),
                    Ok(_) => Err("the query succeeded; an error was expected".into()),
                };
            }
            QueryExpect::Results { types, sort_mode, results, .. } => {
                (types, sort_mode.unwrap_or(self.sort_mode), results)
            }
        };
        let outputs = match result {
            Ok(o) => o,
            Err(e) => {
                self.keep(line, sql, Err(e.clone()));
                return Err(e);
            }
        };
        // The last result set; a data change queried as `query I` (DuckDB's
        // files do this) yields its row count as one value.
        let values = match outputs.into_iter().rev().find(|o| !matches!(o, Output::Done(_))) {
            Some(Output::Rows { batches, .. }) => rows_of(&batches),
            Some(Output::Affected(n)) => {
                vec![vec![Value::Int(i64::try_from(n).unwrap_or(i64::MAX))]]
            }
            _ => Vec::new(),
        };
        let letters: Vec<char> = types.iter().map(|t| t.0).collect();
        let numeric = numeric_columns(&values, self.options.dialect);
        let rows = format_rows(&values, &letters, self.options.dialect)?;
        let rows = match sort_mode {
            SortMode::RowSort => {
                let mut r = rows;
                r.sort();
                r
            }
            _ => rows,
        };
        let values = sorted_values(rows.clone(), sort_mode);
        self.keep(line, sql, Ok(values.clone()));
        let by_value = || {
            sort_mode != SortMode::ValueSort
                && adopt_equal_numbers(&rows, expected_lines, &numeric).is_some_and(|adopted| {
                    let flat: Vec<String> = adopted.iter().flatten().cloned().collect();
                    matches(&adopted, &flat, expected_lines, self.threshold)
                })
        };
        if matches(&rows, &values, expected_lines, self.threshold) || by_value() {
            Ok(())
        } else {
            Err(format!(
                "expected:\n{}\nactual:\n{}",
                indent(expected_lines),
                indent(&expected_form(&values, self.threshold))
            ))
        }
    }

    fn keep(&mut self, line: usize, sql: &str, values: Result<Vec<String>, String>) {
        if self.options.keep_results {
            self.out.results.push(QueryResult { line, sql: sql.to_string(), values });
        }
    }
}

/// Which columns DuckDB's runner compares by value: those holding a float, a
/// decimal or a boolean (none in the SQLite dialect, which compares text only).
fn numeric_columns(values: &[Vec<Value>], dialect: Dialect) -> Vec<bool> {
    let width = values.first().map_or(0, Vec::len);
    if dialect != Dialect::DuckDb {
        return vec![false; width];
    }
    (0..width)
        .map(|c| {
            values.iter().any(|row| {
                matches!(row.get(c), Some(Value::Float(_) | Value::Decimal(..) | Value::Bool(_)))
            })
        })
        .collect()
}

/// A statement's outputs as comparable text: `affected N`, the values of any
/// rows (numbers in the `R` form, so an integer and an equal float agree), or
/// `ok`.
fn statement_values(outputs: &[Output], dialect: Dialect) -> Vec<String> {
    let mut out = Vec::new();
    for o in outputs {
        match o {
            Output::Affected(n) => out.push(format!("affected {n}")),
            // Tags differ between the routes for the same statement.
            Output::Done(_) => out.push("ok".into()),
            Output::Rows { batches, .. } => {
                for row in rows_of(batches) {
                    let letters: Vec<char> = row
                        .iter()
                        .map(|v| match v {
                            Value::Int(_) | Value::Float(_) | Value::Decimal(..) => 'R',
                            _ => 'T',
                        })
                        .collect();
                    if let Ok(mut f) = format_rows(&[row], &letters, dialect) {
                        out.extend(f.pop().unwrap_or_default());
                    }
                }
            }
        }
    }
    out
}

fn indent(lines: &[String]) -> String {
    const MAX: usize = 40;
    let mut s: Vec<String> = lines.iter().take(MAX).map(|l| format!("    {l}")).collect();
    if lines.len() > MAX {
        s.push(format!("    … {} more", lines.len() - MAX));
    }
    if s.is_empty() {
        s.push("    (no rows)".into());
    }
    s.join("\n")
}
