//! Behaviour of the native SQL route, statement by statement.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::DataType;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, ErrorKind, Output};

fn engine() -> NativeEngine {
    NativeEngine::new(Database::in_memory())
}

/// The rows of the last statement's output, each value as text (NULL as "NULL").
fn rows(e: &mut NativeEngine, sql: &str) -> Vec<Vec<String>> {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else {
        panic!("{sql}: no rows")
    };
    let mut v = Vec::new();
    for b in &batches {
        v.extend(batch_text(b));
    }
    v
}

fn batch_text(b: &RecordBatch) -> Vec<Vec<String>> {
    (0..b.num_rows())
        .map(|r| {
            b.columns()
                .iter()
                .map(|c| {
                    if c.is_null(r) {
                        return "NULL".to_string();
                    }
                    match c.data_type() {
                        DataType::Int64 => {
                            c.as_primitive::<arrow::datatypes::Int64Type>().value(r).to_string()
                        }
                        DataType::Float64 => {
                            c.as_primitive::<arrow::datatypes::Float64Type>().value(r).to_string()
                        }
                        DataType::Utf8 => c.as_string::<i32>().value(r).to_string(),
                        other => format!("<{other}>"),
                    }
                })
                .collect()
        })
        .collect()
}

fn one(e: &mut NativeEngine, sql: &str) -> String {
    rows(e, sql).first().and_then(|r| r.first()).cloned().unwrap_or_default()
}

#[test]
fn create_insert_and_select_with_where() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER, b TEXT, c REAL)").unwrap();
    e.execute("INSERT INTO t VALUES (1, 'x', 1.5), (2, 'y', 2.5), (3, NULL, NULL)").unwrap();
    assert_eq!(
        rows(&mut e, "SELECT b, a FROM t WHERE a >= 2 ORDER BY a"),
        vec![vec!["y", "2"], vec!["NULL", "3"]]
    );
    assert_eq!(one(&mut e, "SELECT count(*) FROM t WHERE c IS NULL"), "1");
}

#[test]
fn insert_with_column_list_fills_defaults_and_nulls() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER NOT NULL, b INTEGER DEFAULT 42, c TEXT)").unwrap();
    e.execute("INSERT INTO t(a) VALUES (1)").unwrap();
    e.execute("INSERT INTO t(c, a, b) VALUES ('z', 2, DEFAULT)").unwrap();
    assert_eq!(
        rows(&mut e, "SELECT a, b, c FROM t ORDER BY a"),
        vec![vec!["1", "42", "NULL"], vec!["2", "42", "z"]]
    );
}

#[test]
fn constraints_are_enforced() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT UNIQUE, c INTEGER NOT NULL)").unwrap();
    e.execute("INSERT INTO t VALUES (1, 'x', 0)").unwrap();
    assert_eq!(
        e.execute("INSERT INTO t VALUES (1, 'y', 0)").unwrap_err().kind,
        ErrorKind::Constraint
    );
    assert_eq!(
        e.execute("INSERT INTO t VALUES (2, 'x', 0)").unwrap_err().kind,
        ErrorKind::Constraint
    );
    assert_eq!(
        e.execute("INSERT INTO t VALUES (3, 'z', NULL)").unwrap_err().kind,
        ErrorKind::Constraint
    );
    assert_eq!(one(&mut e, "SELECT count(*) FROM t"), "1");
}

#[test]
fn drop_table_and_if_exists() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER)").unwrap();
    e.execute("DROP TABLE t").unwrap();
    assert!(e.execute("SELECT * FROM t").is_err());
    assert!(e.execute("DROP TABLE t").is_err());
    e.execute("DROP TABLE IF EXISTS t").unwrap();
}

#[test]
fn transactions_commit_and_roll_back() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER)").unwrap();
    e.execute("BEGIN; INSERT INTO t VALUES (1); ROLLBACK").unwrap();
    assert_eq!(one(&mut e, "SELECT count(*) FROM t"), "0");
    e.execute("BEGIN; INSERT INTO t VALUES (1); INSERT INTO t VALUES (2); COMMIT").unwrap();
    assert_eq!(one(&mut e, "SELECT sum(a) FROM t"), "3");
}

#[test]
fn multiple_statements_return_one_output_each() {
    let mut e = engine();
    let out = e
        .execute("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1),(2); SELECT a FROM t")
        .unwrap();
    assert_eq!(out.len(), 3);
    assert!(matches!(out[1], Output::Affected(2)));
}

#[test]
fn arithmetic_follows_sqlite() {
    let mut e = engine();
    assert_eq!(one(&mut e, "SELECT 7/2"), "3");
    assert_eq!(one(&mut e, "SELECT 7/0"), "NULL");
    assert_eq!(one(&mut e, "SELECT 7.0/2"), "3.5");
    assert_eq!(one(&mut e, "SELECT 7 % 3"), "1");
    assert_eq!(one(&mut e, "SELECT -7/2"), "-3");
    assert_eq!(one(&mut e, "SELECT 1 + 2 * 3"), "7");
    assert_eq!(one(&mut e, "SELECT 'a' || 'b' || 1"), "ab1");
    assert_eq!(one(&mut e, "SELECT CAST('12abc' AS INTEGER)"), "12");
    assert_eq!(one(&mut e, "SELECT abs(-4)"), "4");
    assert_eq!(one(&mut e, "SELECT 2 = 2.0"), "1");
}

#[test]
fn null_handling_is_three_valued() {
    let mut e = engine();
    assert_eq!(one(&mut e, "SELECT NULL = NULL"), "NULL");
    assert_eq!(one(&mut e, "SELECT NULL AND 0"), "0");
    assert_eq!(one(&mut e, "SELECT NULL OR 1"), "1");
    assert_eq!(one(&mut e, "SELECT 1 IN (2, NULL)"), "NULL");
    assert_eq!(one(&mut e, "SELECT coalesce(NULL, NULL, 3)"), "3");
    assert_eq!(one(&mut e, "SELECT nullif(1, 1)"), "NULL");
    assert_eq!(one(&mut e, "SELECT ifnull(NULL, 'd')"), "d");
    assert_eq!(one(&mut e, "SELECT CASE WHEN NULL THEN 1 ELSE 2 END"), "2");
    assert_eq!(one(&mut e, "SELECT 5 BETWEEN 1 AND 10"), "1");
    assert_eq!(one(&mut e, "SELECT 'abc' LIKE 'A%'"), "1");
}

#[test]
fn joins_match_rows() {
    let mut e = engine();
    e.execute("CREATE TABLE a(id INTEGER, x TEXT); CREATE TABLE b(id INTEGER, y TEXT)").unwrap();
    e.execute("INSERT INTO a VALUES (1,'a1'),(2,'a2'),(3,'a3'); INSERT INTO b VALUES (1,'b1'),(3,'b3'),(3,'b3b')")
        .unwrap();
    assert_eq!(
        rows(&mut e, "SELECT x, y FROM a, b WHERE a.id = b.id ORDER BY y"),
        vec![vec!["a1", "b1"], vec!["a3", "b3"], vec!["a3", "b3b"]]
    );
    assert_eq!(
        rows(&mut e, "SELECT x, y FROM a LEFT JOIN b ON a.id = b.id WHERE b.id IS NULL"),
        vec![vec!["a2", "NULL"]]
    );
    assert_eq!(one(&mut e, "SELECT count(*) FROM a CROSS JOIN b"), "9");
    assert_eq!(one(&mut e, "SELECT count(*) FROM a JOIN b USING (id)"), "3");
}

#[test]
fn aggregates_group_and_filter() {
    let mut e = engine();
    e.execute("CREATE TABLE t(g TEXT, v INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES ('a',1),('a',2),('b',5),('b',NULL),('c',7)").unwrap();
    assert_eq!(
        rows(
            &mut e,
            "SELECT g, count(v), sum(v), min(v), max(v) FROM t GROUP BY g HAVING count(*) > 1 ORDER BY g"
        ),
        vec![vec!["a", "2", "3", "1", "2"], vec!["b", "1", "5", "5", "5"]]
    );
    assert_eq!(one(&mut e, "SELECT avg(v) FROM t"), "3.75");
    assert_eq!(one(&mut e, "SELECT total(v) FROM t WHERE v > 100"), "0");
    assert_eq!(one(&mut e, "SELECT sum(v) FROM t WHERE v > 100"), "NULL");
    assert_eq!(one(&mut e, "SELECT count(DISTINCT g) FROM t"), "3");
    assert_eq!(
        one(&mut e, "SELECT group_concat(g, '-') FROM (SELECT DISTINCT g FROM t ORDER BY g)"),
        "a-b-c"
    );
}

#[test]
fn subqueries_correlated_and_not() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER, b INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES (1,10),(2,20),(3,30)").unwrap();
    assert_eq!(
        one(&mut e, "SELECT count(*) FROM t WHERE a IN (SELECT a FROM t WHERE b > 15)"),
        "2"
    );
    assert_eq!(
        rows(&mut e, "SELECT a, (SELECT count(*) FROM t AS x WHERE x.b < t.b) FROM t ORDER BY 1"),
        vec![vec!["1", "0"], vec!["2", "1"], vec!["3", "2"]]
    );
    assert_eq!(
        one(
            &mut e,
            "SELECT count(*) FROM t WHERE EXISTS (SELECT 1 FROM t AS y WHERE y.a = t.a + 1)"
        ),
        "2"
    );
}

#[test]
fn set_operations_order_and_limit() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES (3),(1),(2),(NULL)").unwrap();
    assert_eq!(rows(&mut e, "SELECT a FROM t ORDER BY a LIMIT 2"), vec![vec!["NULL"], vec!["1"]]);
    assert_eq!(rows(&mut e, "SELECT a FROM t ORDER BY a DESC LIMIT 1 OFFSET 1"), vec![vec!["2"]]);
    assert_eq!(one(&mut e, "SELECT count(*) FROM (SELECT a FROM t UNION SELECT a FROM t)"), "4");
    assert_eq!(
        one(&mut e, "SELECT count(*) FROM (SELECT a FROM t UNION ALL SELECT a FROM t)"),
        "8"
    );
    assert_eq!(rows(&mut e, "SELECT a FROM t WHERE a > 1 INTERSECT SELECT 2"), vec![vec!["2"]]);
}

#[test]
fn update_and_delete_change_rows() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER, b TEXT)").unwrap();
    e.execute("INSERT INTO t VALUES (1,'x'),(2,'y'),(3,'z')").unwrap();
    let out = e.execute("UPDATE t SET b = b || '!' WHERE a >= 2").unwrap();
    assert!(matches!(out[0], Output::Affected(2)));
    e.execute("DELETE FROM t WHERE a = 1").unwrap();
    assert_eq!(
        rows(&mut e, "SELECT a, b FROM t ORDER BY a"),
        vec![vec!["2", "y!"], vec!["3", "z!"]]
    );
}

#[test]
fn views_and_indexes_are_accepted() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES (1),(2)").unwrap();
    e.execute("CREATE INDEX ti ON t(a)").unwrap();
    e.execute("CREATE VIEW v AS SELECT a * 10 AS b FROM t").unwrap();
    assert_eq!(one(&mut e, "SELECT sum(b) FROM v"), "30");
    e.execute("DROP VIEW v; DROP INDEX ti").unwrap();
}

#[test]
fn invalid_sql_is_an_error_not_a_panic() {
    let mut e = engine();
    assert_eq!(e.execute("SELEKT 1").unwrap_err().kind, ErrorKind::Parse);
    assert!(e.execute("SELECT nosuch FROM nowhere").is_err());
    assert!(e.execute("SELECT foo(1)").is_err());
    assert!(e.execute("SELECT 1 ORDER BY 5").is_err());
}

#[test]
fn data_survives_reopening_a_file_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("native.llkv");
    {
        let mut e = NativeEngine::new(Database::open(&path).unwrap());
        e.execute("CREATE TABLE t(a INTEGER, b TEXT)").unwrap();
        e.execute("INSERT INTO t VALUES (1, 'one'), (2, 'two')").unwrap();
    }
    let mut e = NativeEngine::new(Database::open(&path).unwrap());
    assert_eq!(
        rows(&mut e, "SELECT a, b FROM t ORDER BY a"),
        vec![vec!["1", "one"], vec!["2", "two"]]
    );
}

#[test]
fn unique_indexes_reject_duplicates() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER, b INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES (1, 1), (2, 1)").unwrap();
    assert_eq!(
        e.execute("CREATE UNIQUE INDEX ub ON t(b)").unwrap_err().kind,
        ErrorKind::Constraint
    );
    e.execute("CREATE UNIQUE INDEX ua ON t(a DESC)").unwrap();
    assert_eq!(e.execute("INSERT INTO t VALUES (1, 5)").unwrap_err().kind, ErrorKind::Constraint);
    assert_eq!(
        e.execute("UPDATE t SET a = 2 WHERE a = 1").unwrap_err().kind,
        ErrorKind::Constraint
    );
    e.execute("UPDATE t SET a = a + 10").unwrap();
    e.execute("INSERT INTO t VALUES (NULL, 1), (NULL, 2)").unwrap();
    assert_eq!(one(&mut e, "SELECT count(*) FROM t"), "4");
}

#[test]
fn correlated_subquery_reads_grouped_outer_columns() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER, b INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES (1,1),(1,2),(2,3),(3,4)").unwrap();
    assert_eq!(
        rows(
            &mut e,
            "SELECT a, count(*), (SELECT count(*) FROM t AS x WHERE x.a < t.a) FROM t GROUP BY a ORDER BY a"
        ),
        vec![vec!["1", "2", "0"], vec!["2", "1", "2"], vec!["3", "1", "3"]]
    );
    assert_eq!(
        rows(
            &mut e,
            "SELECT a + 1 AS k, sum(b) AS s FROM t GROUP BY k HAVING s > 3 ORDER BY s DESC"
        ),
        vec![vec!["4", "4"]]
    );
}

#[test]
fn ctes_and_derived_tables_bind() {
    let mut e = engine();
    e.execute("CREATE TABLE t(a INTEGER)").unwrap();
    e.execute("INSERT INTO t VALUES (1),(2),(3)").unwrap();
    assert_eq!(one(&mut e, "WITH w(x) AS (SELECT a * 2 FROM t) SELECT sum(x) FROM w"), "12");
    assert_eq!(one(&mut e, "SELECT max(y) FROM (SELECT a + 10 AS y FROM t) AS d"), "13");
    e.execute("CREATE TABLE s AS SELECT a, a * 1.5 AS h FROM t").unwrap();
    assert_eq!(one(&mut e, "SELECT h FROM s WHERE a = 3"), "4.5");
}

/// A `rowid` inside a subquery belongs to the subquery's own FROM, never to
/// the UPDATE/DELETE target row (as in SQLite).
#[test]
fn rowid_in_subquery_does_not_bind_to_the_updated_row() {
    let mut e = engine();
    e.execute("CREATE TABLE t (a INTEGER, b TEXT)").unwrap();
    e.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')").unwrap();
    e.execute("UPDATE t SET b = 'x' WHERE rowid = (SELECT max(rowid) FROM t)").unwrap();
    e.execute("DELETE FROM t WHERE rowid = (SELECT max(rowid) FROM t WHERE a < 4)").unwrap();
    e.execute("DELETE FROM t WHERE rowid IN (SELECT t.rowid FROM t WHERE a = 2)").unwrap();
    assert_eq!(rows(&mut e, "SELECT a, b FROM t ORDER BY a"), vec![vec!["1", "a"], vec!["4", "x"]]);
    e.execute("INSERT INTO t VALUES (2, 'b'), (3, 'c')").unwrap();
    e.execute("DELETE FROM t WHERE a = 4").unwrap();
    assert_eq!(
        rows(&mut e, "SELECT a, b FROM t ORDER BY a"),
        vec![vec!["1", "a"], vec!["2", "b"], vec!["3", "c"]]
    );
    // An outer row id referenced by qualification, or from a subquery without
    // a FROM, still binds to the target row.
    e.execute("DELETE FROM t WHERE rowid = (SELECT rowid) AND a = 2").unwrap();
    e.execute("UPDATE t SET b = 'y' WHERE a IN (SELECT u.a FROM t AS u WHERE t.rowid IS NOT NULL)")
        .unwrap();
    assert_eq!(rows(&mut e, "SELECT a, b FROM t ORDER BY a"), vec![vec!["1", "y"], vec!["3", "y"]]);
}

/// DELETE reads only the columns its WHERE names (no trigger needs the old
/// rows): expressions, the row id, rows inserted in the same transaction and
/// a WHERE with a subquery (which takes the full-row path) all delete exactly.
#[test]
fn delete_by_expression_rowid_and_subquery_removes_exactly_the_matches() {
    let mut e = engine();
    e.execute("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT, c DOUBLE)").unwrap();
    e.execute("CREATE TABLE k (x INTEGER)").unwrap();
    let values: Vec<String> = (1..=40).map(|i| format!("({i}, 'v{i}', {i}.5)")).collect();
    e.execute(&format!("INSERT INTO t VALUES {}", values.join(", "))).unwrap();
    e.execute("INSERT INTO k VALUES (7), (8)").unwrap();
    e.execute("DELETE FROM t WHERE a % 10 = 0").unwrap();
    assert_eq!(one(&mut e, "SELECT count(*) FROM t"), "36");
    e.execute("BEGIN").unwrap();
    e.execute("INSERT INTO t VALUES (50, 'x', 1.0), (60, 'y', 2.0)").unwrap();
    e.execute("DELETE FROM t WHERE c < 2.0 OR b = 'v3'").unwrap();
    e.execute("COMMIT").unwrap();
    e.execute("DELETE FROM t WHERE a IN (SELECT x FROM k)").unwrap();
    e.execute("DELETE FROM t WHERE a = (SELECT min(a) FROM t)").unwrap();
    e.execute("DELETE FROM t WHERE rowid = 3").unwrap();
    e.execute("DELETE FROM t WHERE a > 35").unwrap();
    let got: Vec<String> =
        rows(&mut e, "SELECT a FROM t ORDER BY a").into_iter().map(|r| r[0].clone()).collect();
    let want: Vec<String> = (1..=35)
        .filter(|a| a % 10 != 0 && ![1, 2, 3, 4, 7, 8].contains(a))
        .map(|a| a.to_string())
        .collect();
    assert_eq!(got, want);
    assert_eq!(one(&mut e, "SELECT count(*) FROM t WHERE a = 60"), "0");
}
