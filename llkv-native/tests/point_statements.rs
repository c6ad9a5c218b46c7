//! Point lookups (answered by the native route's fast path) and statements
//! repeated with other constants (answered from the statement cache) give
//! exactly what the general route gives, inside and outside transactions and
//! across DDL.

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};

/// The last statement's result as text (schema types included), or its error.
fn run(e: &mut NativeEngine, sql: &str) -> String {
    match e.execute(sql) {
        Ok(out) => match out.into_iter().last() {
            Some(Output::Rows { schema, batches }) => {
                let types: Vec<String> = schema
                    .fields()
                    .iter()
                    .map(|f| format!("{}:{}", f.name(), f.data_type()))
                    .collect();
                let rows: Vec<RecordBatch> = batches;
                let text = pretty_format_batches(&rows).map(|t| t.to_string()).unwrap_or_default();
                format!("{}\n{text}", types.join(","))
            }
            Some(other) => format!("{other:?}"),
            None => String::new(),
        },
        Err(err) => format!("error: {err}"),
    }
}

/// `sql` (a point shape) and the same query in a form the fast path leaves
/// to the general route (a LIMIT) give the same result.
fn same(e: &mut NativeEngine, sql: &str) -> String {
    let fast = run(e, sql);
    let general = run(e, &format!("{sql} LIMIT 1000"));
    assert_eq!(fast, general, "{sql}");
    fast
}

fn setup(e: &mut NativeEngine) {
    e.execute(
        "CREATE TABLE t(k INTEGER PRIMARY KEY, v TEXT, r REAL, n INTEGER); \
         CREATE TABLE c(a INTEGER, b TEXT, x INTEGER, PRIMARY KEY (a, b)); \
         CREATE TABLE d(g INTEGER, x INTEGER); CREATE INDEX d_g ON d(g)",
    )
    .unwrap();
    let rows: Vec<String> = (0..300)
        .map(|i| {
            let n = if i % 7 == 0 { "NULL".to_string() } else { (i % 13).to_string() };
            format!("({i}, 'v{i}', {i}.25, {n})")
        })
        .collect();
    e.execute(&format!("INSERT INTO t VALUES {}", rows.join(", "))).unwrap();
    e.execute("INSERT INTO c VALUES (1, 'a', 10), (1, 'b', 11), (2, 'a', 20)").unwrap();
    e.execute("INSERT INTO d VALUES (1, 1), (1, 2), (2, 3)").unwrap();
}

#[test]
fn point_lookups_match_the_general_route() {
    let mut e = NativeEngine::new(Database::in_memory());
    setup(&mut e);
    for sql in [
        "SELECT * FROM t WHERE k = 5",
        "SELECT * FROM t WHERE k = 7",
        "SELECT * FROM t WHERE 17 = k",
        "SELECT v, r AS rr, K FROM t WHERE k = 299",
        "SELECT * FROM t WHERE k = 1000",
        "SELECT * FROM t WHERE k = -3",
        "SELECT * FROM t WHERE k = '12'",
        "SELECT * FROM t WHERE k = 12.0",
        "SELECT * FROM t WHERE k = 12.5",
        "SELECT * FROM t WHERE v = 'v42'",
        "SELECT * FROM t WHERE v = 42",
        "SELECT k FROM t WHERE r = 4.25",
        "SELECT * FROM t WHERE k = 14 AND n = 1",
        "SELECT * FROM t WHERE k = 14 AND n = 2",
        "SELECT * FROM c WHERE a = 1 AND b = 'b'",
        "SELECT * FROM c WHERE b = 'a' AND a = 2",
        "SELECT x FROM c WHERE a = 1",
        "SELECT * FROM d WHERE g = 1",
        "SELECT * FROM d WHERE g = 2",
        "SELECT * FROM t WHERE nope = 1",
        "SELECT rowid FROM t WHERE k = 1",
        "SELECT * FROM missing WHERE k = 1",
    ] {
        same(&mut e, sql);
    }
    assert!(same(&mut e, "SELECT v FROM t WHERE k = 5").contains("v5"));
    assert!(same(&mut e, "SELECT * FROM d WHERE g = 1").contains("| 2 "));
}

#[test]
fn repeated_statements_see_their_own_constants() {
    let mut e = NativeEngine::new(Database::in_memory());
    setup(&mut e);
    for k in (0..300).step_by(13) {
        let out = same(&mut e, &format!("SELECT v FROM t WHERE k = {k}"));
        assert!(out.contains(&format!("| v{k} ")), "{k}: {out}");
        let out = run(&mut e, &format!("SELECT v FROM t WHERE v = 'v{k}'"));
        assert!(out.contains(&format!("| v{k} ")), "{k}: {out}");
    }
    e.execute("BEGIN").unwrap();
    for k in 0..50 {
        e.execute(&format!("UPDATE t SET n = n + {k} WHERE k = {k}")).unwrap();
    }
    for k in 0..50 {
        let out = same(&mut e, &format!("SELECT k, n FROM t WHERE k = {k}"));
        let n = if k % 7 == 0 { "".to_string() } else { (k % 13 + k).to_string() };
        assert!(out.contains(&format!("| {k} | {n}")), "{k}: {out}");
    }
    e.execute("ROLLBACK").unwrap();
    let out = same(&mut e, "SELECT n FROM t WHERE k = 20");
    assert!(out.contains("| 7 "), "{out}");
}

#[test]
fn lookups_follow_ddl_and_transactions() {
    let mut e = NativeEngine::new(Database::in_memory());
    setup(&mut e);
    same(&mut e, "SELECT * FROM t WHERE k = 3");
    e.execute("BEGIN; DELETE FROM t WHERE k = 3").unwrap();
    assert!(!same(&mut e, "SELECT * FROM t WHERE k = 3").contains("v3"));
    e.execute("INSERT INTO t VALUES (3, 'new', 0.5, 1)").unwrap();
    assert!(same(&mut e, "SELECT * FROM t WHERE k = 3").contains("new"));
    e.execute("ROLLBACK").unwrap();
    assert!(same(&mut e, "SELECT * FROM t WHERE k = 3").contains("v3"));
    // A table replaced by one with other columns, then by a view.
    e.execute("DROP TABLE t; CREATE TABLE t(z TEXT, k INTEGER PRIMARY KEY)").unwrap();
    e.execute("INSERT INTO t VALUES ('zz', 3)").unwrap();
    let out = same(&mut e, "SELECT * FROM t WHERE k = 3");
    assert!(out.starts_with("z:") && out.contains("zz"), "{out}");
    e.execute("DROP TABLE t; CREATE VIEW t AS SELECT a AS k, b AS v FROM c").unwrap();
    let out = same(&mut e, "SELECT * FROM t WHERE k = 2");
    assert!(out.starts_with("k:") && out.contains("| 2 | a |"), "{out}");
    // An index created later answers the same lookups.
    e.execute("CREATE INDEX c_x ON c(x)").unwrap();
    assert!(same(&mut e, "SELECT a FROM c WHERE x = 11").contains("| 1 "));
}
