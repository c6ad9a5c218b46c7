//! FOREIGN KEY and CHECK constraints, triggers and table functions on the native route.

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};

fn engine() -> NativeEngine {
    NativeEngine::new(Database::in_memory())
}

fn ok(e: &mut NativeEngine, sql: &str) {
    if let Err(err) = e.execute(sql) {
        panic!("{sql}: {err}");
    }
}

fn fails(e: &mut NativeEngine, sql: &str) -> String {
    match e.execute(sql) {
        Ok(_) => panic!("{sql}: succeeded, an error was expected"),
        Err(err) => err.message,
    }
}

/// The first column of the result, as integers (NULL as None).
fn ints(e: &mut NativeEngine, sql: &str) -> Vec<Option<i64>> {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else {
        panic!("{sql}: no rows")
    };
    let mut v = Vec::new();
    for b in &batches {
        let c = b.column(0).as_primitive::<Int64Type>();
        v.extend((0..c.len()).map(|i| (!c.is_null(i)).then(|| c.value(i))));
    }
    v
}

#[test]
fn foreign_keys_guard_both_sides() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE p(i INTEGER PRIMARY KEY, u INTEGER UNIQUE, x INTEGER)");
    fails(&mut e, "CREATE TABLE c(j INTEGER REFERENCES p(x))"); // not a key
    fails(&mut e, "CREATE TABLE c(j INTEGER REFERENCES nope(i))");
    fails(&mut e, "CREATE TABLE c(j INTEGER, FOREIGN KEY (j) REFERENCES p(i) ON DELETE CASCADE)");
    ok(
        &mut e,
        "CREATE TABLE c(j INTEGER, k INTEGER REFERENCES p, FOREIGN KEY (j) REFERENCES p(u))",
    );
    ok(&mut e, "INSERT INTO p VALUES (1, 10, 0), (2, 20, 0)");
    ok(&mut e, "INSERT INTO c VALUES (10, 1), (NULL, NULL)");
    let m = fails(&mut e, "INSERT INTO c VALUES (30, 1)");
    assert!(m.contains("foreign key"), "{m}");
    fails(&mut e, "INSERT INTO c VALUES (10, 3)");
    fails(&mut e, "DELETE FROM p WHERE i = 1");
    fails(&mut e, "UPDATE p SET u = 11 WHERE i = 1");
    ok(&mut e, "UPDATE p SET x = 5 WHERE i = 1"); // not a key column
    ok(&mut e, "DELETE FROM p WHERE i = 2"); // unreferenced
    fails(&mut e, "DROP TABLE p");
    fails(&mut e, "UPDATE c SET j = 20");
    ok(&mut e, "DROP TABLE c");
    ok(&mut e, "DROP TABLE p");
}

#[test]
fn self_referencing_foreign_key() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE emp(id INTEGER PRIMARY KEY, boss INTEGER REFERENCES emp(id))");
    ok(&mut e, "INSERT INTO emp VALUES (1, NULL)");
    // As in DuckDB, a row checks against the rows there before its statement.
    fails(&mut e, "INSERT INTO emp VALUES (3, 3)");
    ok(&mut e, "INSERT INTO emp VALUES (2, 1)");
    fails(&mut e, "DELETE FROM emp WHERE id = 1");
    fails(&mut e, "TRUNCATE emp");
    ok(&mut e, "DELETE FROM emp WHERE id = 2");
    ok(&mut e, "DELETE FROM emp WHERE id = 1");
}

#[test]
fn check_constraints_on_insert_and_update() {
    let mut e = engine();
    fails(&mut e, "CREATE TABLE t(i INTEGER CHECK (i > (SELECT 1)))");
    fails(&mut e, "CREATE TABLE t(i INTEGER CHECK (sum(i) > 1))");
    fails(&mut e, "CREATE TABLE t(i INTEGER CHECK (k > 1))");
    ok(&mut e, "CREATE TABLE t(i INTEGER CHECK (i < 5), j INTEGER, CHECK (i + j < 10))");
    ok(&mut e, "INSERT INTO t VALUES (1, 1), (NULL, 100)");
    fails(&mut e, "INSERT INTO t VALUES (7, 0)");
    fails(&mut e, "INSERT INTO t VALUES (1, 1), (4, 6)");
    fails(&mut e, "UPDATE t SET j = 9 WHERE i = 1");
    ok(&mut e, "UPDATE t SET j = 8 WHERE i = 1");
    assert_eq!(ints(&mut e, "SELECT j FROM t ORDER BY j"), vec![Some(8), Some(100)]);
}

#[test]
fn row_triggers_see_new_and_old() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE t(x INTEGER, y INTEGER)");
    ok(&mut e, "CREATE TABLE log(v INTEGER)");
    ok(
        &mut e,
        "CREATE TRIGGER ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.x * 10); END",
    );
    ok(
        &mut e,
        "CREATE TRIGGER bd BEFORE DELETE ON t WHEN old.x > 1 BEGIN INSERT INTO log VALUES (-old.x); END",
    );
    ok(
        &mut e,
        "CREATE TRIGGER au AFTER UPDATE OF y ON t BEGIN INSERT INTO log VALUES (new.y - old.y); END",
    );
    fails(&mut e, "CREATE TRIGGER ai AFTER INSERT ON t BEGIN SELECT 1; END");
    ok(&mut e, "INSERT INTO t VALUES (1, 0), (2, 0)");
    ok(&mut e, "UPDATE t SET x = x"); // not OF y: no row logged
    ok(&mut e, "UPDATE t SET y = 5 WHERE x = 2");
    ok(&mut e, "DELETE FROM t");
    assert_eq!(ints(&mut e, "SELECT v FROM log"), vec![Some(10), Some(20), Some(5), Some(-2)]);
    ok(&mut e, "DROP TRIGGER ai");
    fails(&mut e, "DROP TRIGGER ai");
    ok(&mut e, "DROP TRIGGER IF EXISTS ai");
    ok(&mut e, "DROP TABLE t"); // takes bd and au with it
    fails(&mut e, "DROP TRIGGER bd");
}

#[test]
fn range_table_functions_and_from_first() {
    let mut e = engine();
    assert_eq!(ints(&mut e, "SELECT count(*) FROM range(10)"), vec![Some(10)]);
    assert_eq!(ints(&mut e, "SELECT sum(i) FROM range(1, 5) t(i)"), vec![Some(10)]);
    assert_eq!(
        ints(&mut e, "SELECT * FROM generate_series(3, 1, -1)"),
        vec![Some(3), Some(2), Some(1)]
    );
    ok(&mut e, "CREATE TABLE t(id INTEGER)");
    ok(&mut e, "INSERT INTO t FROM range(4)");
    ok(&mut e, "DELETE FROM t WHERE rowid % 2 = 0");
    assert_eq!(ints(&mut e, "SELECT count(*) FROM t"), vec![Some(2)]);
    ok(&mut e, "CREATE OR REPLACE TABLE t AS FROM range(3) SELECT 7 AS c");
    assert_eq!(ints(&mut e, "SELECT c FROM t ORDER BY ALL"), vec![Some(7), Some(7), Some(7)]);
    fails(&mut e, "SELECT * FROM range(1, 2, 0)");
    fails(&mut e, "SET no_such_setting = 1");
}

#[test]
fn alter_table_rewrites_and_guards_constraints() {
    let mut e = engine();
    ok(&mut e, "CREATE TABLE p(a INTEGER PRIMARY KEY, b TEXT, c TEXT)");
    ok(&mut e, "CREATE TABLE ch(x INTEGER REFERENCES p(a), y TEXT)");
    ok(&mut e, "INSERT INTO p VALUES (1, 'one', '1'), (2, 'two', '2')");
    ok(&mut e, "INSERT INTO ch VALUES (1, 'a')");
    fails(&mut e, "ALTER TABLE p RENAME COLUMN a TO a2");
    fails(&mut e, "ALTER TABLE p DROP COLUMN a");
    fails(&mut e, "ALTER TABLE ch ALTER COLUMN x SET DATA TYPE TEXT");
    fails(&mut e, "ALTER TABLE p RENAME TO q");
    ok(&mut e, "ALTER TABLE p RENAME COLUMN b TO name");
    ok(&mut e, "ALTER TABLE p ALTER COLUMN c SET DATA TYPE INTEGER");
    assert_eq!(ints(&mut e, "SELECT c FROM p ORDER BY a"), vec![Some(1), Some(2)]);
    ok(&mut e, "ALTER TABLE p DROP COLUMN name");
    ok(&mut e, "ALTER TABLE p ADD COLUMN d INTEGER");
    assert_eq!(ints(&mut e, "SELECT count(d) FROM p"), vec![Some(0)]);
    fails(&mut e, "DELETE FROM p WHERE a = 1"); // the foreign key survived the rewrite
    ok(&mut e, "ALTER TABLE ch RENAME TO ch2");
    assert_eq!(ints(&mut e, "SELECT x FROM ch2"), vec![Some(1)]);
}
