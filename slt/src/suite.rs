//! Runs files on combinations of route and backend, and compares routes.

use crate::engines::{Backend, Route, TestDatabase};
use crate::format::Dialect;
use crate::runner::{
    Failure, QueryResult, ScriptOptions, ScriptOutcome, detect_dialect, run_script,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One route on one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Combo {
    /// The SQL route.
    pub route: Route,
    /// The storage backend.
    pub backend: Backend,
}

impl std::fmt::Display for Combo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.route, self.backend)
    }
}

/// One file's outcome on one combination.
#[derive(Debug, Clone)]
pub struct FileRun {
    /// The file.
    pub file: PathBuf,
    /// Where it ran.
    pub combo: Combo,
    /// Its records' results.
    pub outcome: ScriptOutcome,
}

/// How to choose the formatting dialect of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialectChoice {
    /// From the file's header (see [`detect_dialect`]).
    Auto,
    /// Always this one.
    Fixed(Dialect),
}

/// Runs `file` on a fresh database of `combo`. A file that cannot be read or
/// a database that cannot be created counts as one failed record.
pub fn run_file(file: &Path, combo: Combo, dialect: DialectChoice, keep_results: bool) -> FileRun {
    let start = Instant::now();
    let fail = |reason: String| {
        let mut outcome = ScriptOutcome {
            failed: 1,
            failures: vec![Failure { line: 0, sql: String::new(), reason }],
            ..ScriptOutcome::default()
        };
        outcome.elapsed = start.elapsed();
        FileRun { file: file.to_path_buf(), combo, outcome }
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", file.display())),
    };
    let db = match TestDatabase::new(combo.route, combo.backend) {
        Ok(db) => db,
        Err(e) => return fail(format!("cannot create the database: {e}")),
    };
    let dialect = match dialect {
        DialectChoice::Auto => detect_dialect(&text),
        DialectChoice::Fixed(d) => d,
    };
    let options = ScriptOptions { dialect, keep_results };
    let outcome = run_script(&text, &file.display().to_string(), &mut || db.connect(), options);
    FileRun { file: file.to_path_buf(), combo, outcome }
}

/// A query whose results differ between the two routes.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Line of the query in the file.
    pub line: usize,
    /// The query.
    pub sql: String,
    /// DataFusion's values (or error).
    pub datafusion: Result<Vec<String>, String>,
    /// The native route's values (or error).
    pub native: Result<Vec<String>, String>,
}

/// The queries whose formatted results differ between a DataFusion run and a
/// native run of the same file (runs made with `keep_results`). Two errors
/// count as agreeing, whatever their messages.
pub fn differences(datafusion: &[QueryResult], native: &[QueryResult]) -> Vec<Difference> {
    let mut theirs: HashMap<(usize, &str), Vec<&QueryResult>> = HashMap::new();
    for q in native {
        theirs.entry((q.line, q.sql.as_str())).or_default().push(q);
    }
    let mut seen: HashMap<(usize, &str), usize> = HashMap::new();
    let mut out = Vec::new();
    for q in datafusion {
        let key = (q.line, q.sql.as_str());
        let nth = seen.entry(key).or_insert(0);
        let other = theirs.get(&key).and_then(|v| v.get(*nth));
        *nth += 1;
        let Some(other) = other else { continue };
        let agree = match (&q.values, &other.values) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !agree {
            out.push(Difference {
                line: q.line,
                sql: q.sql.clone(),
                datafusion: q.values.clone(),
                native: other.values.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(line: usize, values: Result<Vec<&str>, &str>) -> QueryResult {
        QueryResult {
            line,
            sql: format!("SELECT {line}"),
            values: values.map(|v| v.into_iter().map(String::from).collect()).map_err(String::from),
        }
    }

    #[test]
    fn differing_values_and_one_sided_errors_are_reported() {
        let df = vec![q(1, Ok(vec!["1"])), q(2, Ok(vec!["2"])), q(3, Err("x")), q(4, Err("a"))];
        let nat = vec![q(1, Ok(vec!["1"])), q(2, Ok(vec!["3"])), q(3, Ok(vec![])), q(4, Err("b"))];
        let d = differences(&df, &nat);
        assert_eq!(d.iter().map(|d| d.line).collect::<Vec<_>>(), vec![2, 3]);
    }
}
