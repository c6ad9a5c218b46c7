//! `rowid` on the DataFusion route: the store's row id as a column for the
//! statements that name it, never in `*`, a real `rowid` column first.

mod common;

use common::{affected, engine, rows, run};
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, Output};

/// A table `t(a, b)` with four rows; returns the engine and the row ids in insertion order.
fn setup() -> (DataFusionEngine, Vec<i64>) {
    let mut e = engine();
    run(&mut e, "CREATE TABLE t (a INTEGER, b TEXT)");
    run(&mut e, "INSERT INTO t VALUES (10, 'x'), (20, 'y'), (30, 'z'), (40, 'w')");
    let ids: Vec<i64> = rows(&mut e, "SELECT rowid FROM t ORDER BY a")
        .iter()
        .map(|r| r.parse().unwrap_or(-1))
        .collect();
    (e, ids)
}

/// The column names of a query's result.
fn columns(e: &mut DataFusionEngine, sql: &str) -> Vec<String> {
    match e.execute(sql) {
        Ok(mut o) => match o.pop() {
            Some(Output::Rows { schema, .. }) => {
                schema.fields().iter().map(|f| f.name().clone()).collect()
            }
            other => panic!("{sql}: expected rows, got {other:?}"),
        },
        Err(err) => panic!("{sql}: {err}"),
    }
}

#[test]
fn row_ids_are_distinct_and_follow_insertion() {
    let (_, ids) = setup();
    assert_eq!(ids.len(), 4);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn star_never_shows_rowid() {
    let (mut e, ids) = setup();
    assert_eq!(columns(&mut e, "SELECT * FROM t WHERE rowid >= 0"), ["a", "b"]);
    assert_eq!(columns(&mut e, "SELECT rowid, * FROM t"), ["rowid", "a", "b"]);
    assert_eq!(columns(&mut e, "SELECT t.* FROM t ORDER BY rowid"), ["a", "b"]);
    assert_eq!(
        columns(&mut e, "SELECT x.*, y.rowid FROM t x JOIN t y ON x.a = y.a"),
        ["a", "b", "rowid"]
    );
    assert_eq!(columns(&mut e, "SELECT * FROM (SELECT * FROM t WHERE rowid > -1) s"), ["a", "b"]);
    assert_eq!(
        columns(&mut e, "SELECT * FROM t JOIN t u USING (a) WHERE t.rowid >= 0"),
        ["a", "b", "b"]
    );
    // A statement without rowid is not touched.
    assert_eq!(columns(&mut e, "SELECT * FROM t"), ["a", "b"]);
    let last = ids[3];
    assert_eq!(rows(&mut e, &format!("SELECT * FROM t WHERE rowid = {last}")), ["40|w"]);
}

#[test]
fn rowid_in_where_order_by_and_expressions() {
    let (mut e, ids) = setup();
    assert_eq!(rows(&mut e, "SELECT a FROM t ORDER BY rowid DESC"), ["40", "30", "20", "10"]);
    let expected: Vec<String> = ids.iter().map(|i| (i * 2).to_string()).collect();
    assert_eq!(rows(&mut e, "SELECT rowid * 2 FROM t ORDER BY a"), expected);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t WHERE rowid IN (SELECT rowid FROM t)"), ["4"]);
}

#[test]
fn delete_and_update_by_rowid() {
    let (mut e, ids) = setup();
    let even = ids.iter().filter(|i| *i % 2 == 0).count() as u64;
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE rowid % 2 = 0"), even);
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t")[0], (4 - even).to_string());
    let n = affected(&mut e, "UPDATE t SET b = 'top' WHERE rowid = (SELECT max(rowid) FROM t)");
    assert_eq!(n, 1);
    assert_eq!(rows(&mut e, "SELECT a FROM t WHERE b = 'top'"), ["40"]);
    let err = e.execute("UPDATE t SET rowid = 5").map(|_| ()).err();
    assert!(err.is_some_and(|e| e.message.contains("rowid")), "assigning rowid must fail");
}

#[test]
fn a_real_rowid_column_takes_precedence() {
    let mut e = engine();
    run(&mut e, "CREATE TABLE r (rowid INTEGER, c INTEGER)");
    run(&mut e, "INSERT INTO r VALUES (7, 1), (8, 2)");
    assert_eq!(rows(&mut e, "SELECT * FROM r WHERE rowid = 8"), ["8|2"]);
    assert_eq!(columns(&mut e, "SELECT * FROM r WHERE rowid = 8"), ["rowid", "c"]);
    assert_eq!(affected(&mut e, "DELETE FROM r WHERE rowid = 7"), 1);
    assert_eq!(rows(&mut e, "SELECT c FROM r"), ["2"]);
}

#[test]
fn insert_and_create_table_as_with_rowid() {
    let (mut e, _) = setup();
    run(&mut e, "CREATE TABLE t2 AS SELECT rowid AS id, * FROM t");
    assert_eq!(columns(&mut e, "SELECT * FROM t2"), ["id", "a", "b"]);
    run(&mut e, "INSERT INTO t2 SELECT rowid, * FROM t WHERE a > 20");
    assert_eq!(rows(&mut e, "SELECT count(*) FROM t2"), ["6"]);
    // Views keep their own columns: a view's `*` is not expanded with row ids.
    run(&mut e, "CREATE VIEW v AS SELECT * FROM t");
    assert_eq!(columns(&mut e, "SELECT * FROM v"), ["a", "b"]);
    assert_eq!(
        rows(&mut e, "SELECT count(*) FROM v JOIN t ON v.a = t.a WHERE t.rowid >= 0"),
        ["4"]
    );
}
