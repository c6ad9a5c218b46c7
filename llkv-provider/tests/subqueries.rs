//! Subqueries DataFusion cannot plan (run per row by llkv) and result columns
//! sharing a name, on the DataFusion route.

mod common;

use common::{engine, rows, run};
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, Output};

fn setup() -> DataFusionEngine {
    let mut e = engine();
    run(
        &mut e,
        "CREATE TABLE t1 (a INTEGER, b INTEGER);
         INSERT INTO t1 VALUES (1, 10), (2, 20), (3, 20), (4, NULL), (5, 50);
         CREATE TABLE t2 (k INTEGER, v INTEGER);
         INSERT INTO t2 VALUES (1, 7), (2, 8), (2, 9), (NULL, 6)",
    );
    e
}

fn names(e: &mut DataFusionEngine, sql: &str) -> Vec<String> {
    match run(e, sql).pop() {
        Some(Output::Rows { schema, batches }) => {
            for b in &batches {
                assert_eq!(b.schema().fields(), schema.fields(), "batch schema of {sql}");
            }
            schema.fields().iter().map(|f| f.name().clone()).collect()
        }
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

#[test]
fn correlated_scalar_subquery_with_inequality() {
    let mut e = setup();
    let got = rows(
        &mut e,
        "SELECT a, (SELECT count(*) FROM t1 AS x WHERE x.b < t1.b) FROM t1 ORDER BY a",
    );
    assert_eq!(got, ["1|0", "2|1", "3|1", "4|0", "5|3"]);
    let plan = common::text(
        &mut e,
        "EXPLAIN SELECT a, (SELECT count(*) FROM t1 AS x WHERE x.b < t1.b) FROM t1",
    );
    assert!(plan.contains("PerRowSubquery"), "{plan}");
}

#[test]
fn nested_correlated_subqueries() {
    let mut e = setup();
    // The inner subquery reads both outer levels.
    let got = rows(
        &mut e,
        "SELECT a, (SELECT count(*) FROM t1 AS x WHERE x.b < t1.b
                      AND x.a < (SELECT max(y.a) FROM t1 AS y WHERE y.b > x.b AND y.a <> t1.a))
         FROM t1 ORDER BY a",
    );
    // Checked with sqlite3.
    assert_eq!(got, ["1|0", "2|1", "3|1", "4|0", "5|1"]);
}

#[test]
fn scalar_subquery_of_more_than_one_row_is_an_error() {
    let mut e = setup();
    let err = e
        .execute("SELECT a, (SELECT max(x.a) FROM t1 AS x WHERE x.b < t1.b GROUP BY x.b) FROM t1")
        .err()
        .map(|e| e.message)
        .unwrap_or_default();
    assert!(err.contains("more than one row"), "{err}");
}

#[test]
fn in_and_exists_in_a_select_list() {
    let mut e = setup();
    let got = rows(
        &mut e,
        "SELECT a, a IN (SELECT k FROM t2), a NOT IN (SELECT k FROM t2 WHERE k IS NOT NULL),
                EXISTS (SELECT 1 FROM t2 WHERE t2.k = t1.a) FROM t1 ORDER BY a",
    );
    assert_eq!(
        got,
        [
            "1|true|false|true",
            "2|true|false|true",
            "3||true|false",
            "4||true|false",
            "5||true|false"
        ]
    );
}

#[test]
fn subqueries_read_the_statement_transaction() {
    let mut e = setup();
    run(&mut e, "BEGIN; INSERT INTO t2 VALUES (5, 1)");
    let got = rows(
        &mut e,
        "SELECT a, (SELECT count(*) FROM t2 WHERE t2.k >= t1.a) FROM t1 WHERE a >= 4 ORDER BY a",
    );
    assert_eq!(got, ["4|1", "5|1"]);
    run(&mut e, "ROLLBACK");
    let got = rows(
        &mut e,
        "SELECT a, (SELECT count(*) FROM t2 WHERE t2.k >= t1.a) FROM t1 WHERE a >= 4 ORDER BY a",
    );
    assert_eq!(got, ["4|0", "5|0"]);
}

#[test]
fn duplicate_result_names_are_kept() {
    let mut e = setup();
    assert_eq!(names(&mut e, "SELECT a, a FROM t1"), ["a", "a"]);
    assert_eq!(names(&mut e, "SELECT b AS a, a FROM t1"), ["a", "a"]);
    assert_eq!(names(&mut e, "SELECT count(*), count(*) FROM t1"), ["count(*)", "count(*)"]);
    assert_eq!(rows(&mut e, "SELECT b AS a, a FROM t1 WHERE a < 3 ORDER BY a"), ["10|1", "20|2"]);
    // Nothing renamed when nothing collides.
    assert_eq!(names(&mut e, "SELECT a, b AS c FROM t1"), ["a", "c"]);
}

#[test]
fn bare_columns_in_an_aggregate_query() {
    let mut e = setup();
    // b is the same on every row of a group of b * 2.
    assert_eq!(
        rows(&mut e, "SELECT b, count(*) FROM t1 WHERE b IS NOT NULL GROUP BY b * 2 ORDER BY 1"),
        ["10|1", "20|2", "50|1"]
    );
    // An unknown column is still an error.
    let err = e.execute("SELECT nosuch, count(*) FROM t1 GROUP BY b").err().map(|e| e.message);
    assert!(err.is_some_and(|m| m.contains("nosuch")));
}
