//! The runner's record handling, checked against a tiny fake engine that
//! answers from a table of canned outputs.

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use llkv_slt::{Dialect, ScriptOptions, ScriptOutcome, run_script};
use llkv_sql::{Engine, Output, SqlError, SqlResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Answers each SQL text from `answers`; anything else is an error. Records
/// which connection ran what.
struct Fake {
    id: usize,
    answers: Arc<HashMap<String, Output>>,
    log: Arc<Mutex<Vec<(usize, String)>>>,
}

impl Engine for Fake {
    fn route(&self) -> &'static str {
        "fake"
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        self.log.lock().unwrap().push((self.id, sql.to_string()));
        if sql == "PANIC" {
            panic!("fake engine panic");
        }
        self.answers
            .get(sql)
            .cloned()
            .map(|o| vec![o])
            .ok_or_else(|| SqlError::plan(format!("no such statement: {sql}")))
    }
}

fn rows(cols: Vec<(&str, ArrayRef)>) -> Output {
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    Output::Rows { schema: batch.schema(), batches: vec![batch] }
}

fn answers() -> HashMap<String, Output> {
    let mut m = HashMap::new();
    m.insert("CREATE TABLE t(a INTEGER)".into(), Output::Done("CREATE TABLE".into()));
    m.insert("INSERT INTO t VALUES (1)".into(), Output::Affected(1));
    m.insert(
        "SELECT a, b, c FROM t".into(),
        rows(vec![
            ("a", Arc::new(Int64Array::from(vec![Some(3), None, Some(1)])) as ArrayRef),
            ("b", Arc::new(Float64Array::from(vec![1.5, 2.25, -0.5])) as ArrayRef),
            ("c", Arc::new(StringArray::from(vec!["x", "", "z"])) as ArrayRef),
        ]),
    );
    m
}

fn run(script: &str, dialect: Dialect) -> (ScriptOutcome, Vec<(usize, String)>) {
    let answers = Arc::new(answers());
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut next = 0;
    let mut connect = || -> SqlResult<Box<dyn Engine>> {
        next += 1;
        Ok(Box::new(Fake { id: next, answers: Arc::clone(&answers), log: Arc::clone(&log) }))
    };
    let out =
        run_script(script, "test.slt", &mut connect, ScriptOptions { dialect, keep_results: true });
    let log = log.lock().unwrap().clone();
    (out, log)
}

#[test]
fn statements_pass_on_success_and_errors_only_when_they_fail() {
    let (out, _) = run(
        "statement ok\nCREATE TABLE t(a INTEGER)\n\nstatement error\nINSERT INTO t VALUES (1)\n\n\
         statement error\nBOGUS\n\nstatement ok\nBOGUS\n\nstatement count 1\nINSERT INTO t VALUES (1)\n",
        Dialect::Sqlite,
    );
    assert_eq!((out.passed, out.failed), (3, 2));
    assert_eq!(out.failures.iter().map(|f| f.line).collect::<Vec<_>>(), vec![4, 10]);
}

#[test]
fn queries_compare_values_by_type_letters_and_sort_mode() {
    let script = "\
query IRT rowsort
SELECT a, b, c FROM t
----
1
-0.500
z
3
1.500
x
NULL
2.250
(empty)

query IRT nosort
SELECT a, b, c FROM t
----
3 1.500 x
NULL 2.250 (empty)
1 -0.500 z

query I valuesort
SELECT a, b, c FROM t
----
1
";
    let (out, _) = run(script, Dialect::Sqlite);
    assert_eq!((out.passed, out.failed), (2, 1));
    assert!(out.failures[0].reason.contains("columns"), "{:?}", out.failures);
}

#[test]
fn results_above_the_hash_threshold_compare_as_md5() {
    // printf '1\n1.500\nx\nNULL\n2.250\n(empty)\n3\n-0.500\nz\n' | md5sum (valuesort order differs;
    // nosort keeps engine order: 3 1.500 x NULL 2.250 (empty) 1 -0.500 z)
    let values = "3\n1.500\nx\nNULL\n2.250\n(empty)\n1\n-0.500\nz\n";
    let digest = {
        use md5::{Digest, Md5};
        let d = Md5::digest(values.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    let script = format!(
        "hash-threshold 8\n\nquery IRT nosort\nSELECT a, b, c FROM t\n----\n9 values hashing to {digest}\n\n\
         query IRT nosort\nSELECT a, b, c FROM t\n----\n9 values hashing to 00000000000000000000000000000000\n"
    );
    let (out, _) = run(&script, Dialect::Sqlite);
    assert_eq!((out.passed, out.failed), (1, 1));
}

#[test]
fn conditions_select_records_for_sqlite() {
    let script = "\
skipif sqlite # not for us
statement ok
BOGUS

onlyif mysql # not for us either
statement ok
BOGUS

onlyif sqlite
statement ok
CREATE TABLE t(a INTEGER)

skipif mysql
statement ok
CREATE TABLE t(a INTEGER)

onlyif mssql
halt

statement ok
CREATE TABLE t(a INTEGER)

skipif postgresql
halt

statement ok
BOGUS
";
    let (out, _) = run(script, Dialect::Sqlite);
    assert_eq!((out.passed, out.failed, out.skipped), (3, 0, 2));
}

#[test]
fn duckdb_connections_are_separate_sessions() {
    let script = "# name: test/sql/x.test\n\nstatement ok con1\nCREATE TABLE t(a INTEGER)\n\n\
                  statement error con2\nBOGUS\n----\n<REGEX>:.*Catalog Error.*\n\n\
                  statement ok\nINSERT INTO t VALUES (1)\n\nstatement ok con1\nINSERT INTO t VALUES (1)\n";
    let (out, log) = run(script, Dialect::DuckDb);
    assert_eq!((out.passed, out.failed), (4, 0), "{:?}", out.failures);
    let ids: Vec<usize> = log.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, vec![1, 2, 3, 1]);
}

#[test]
fn a_panicking_engine_fails_the_record_and_the_file_goes_on() {
    let (out, _) =
        run("statement ok\nPANIC\n\nstatement ok\nCREATE TABLE t(a INTEGER)\n", Dialect::Sqlite);
    assert_eq!((out.passed, out.failed), (1, 1));
    assert!(out.failures[0].reason.contains("panicked"));
}

#[test]
fn a_file_that_does_not_parse_is_one_failure() {
    let (out, _) = run("statement maybe\nSELECT 1\n", Dialect::Sqlite);
    assert_eq!((out.passed, out.failed), (0, 1));
    assert_eq!(out.failures[0].line, 1);
}
