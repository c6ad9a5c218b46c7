//! Indexes on the native route give exactly the rows of an unindexed scan,
//! SQLite comparison semantics included, and survive a reopen.

use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, ErrorKind, Output};

/// The first column (integers) of the last statement's rows, sorted.
fn ids(e: &mut NativeEngine, sql: &str) -> Vec<i64> {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else {
        panic!("{sql}: no rows")
    };
    let mut v: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            // An empty result's column may be typed NULL.
            let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64)
                .unwrap_or_else(|e| panic!("{e}"));
            let c = c.as_primitive::<Int64Type>().clone();
            c.iter().flatten().collect::<Vec<i64>>()
        })
        .collect();
    v.sort_unstable();
    v
}

fn table(e: &mut NativeEngine) {
    e.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, a2 INTEGER, r REAL, r2 REAL, s TEXT, s2 TEXT)")
        .unwrap();
    let values: Vec<String> = (0..400)
        .map(|i| {
            let a = if i % 10 == 0 { "NULL".to_string() } else { (i % 23).to_string() };
            let r = format!("{}.5", i % 7);
            format!("({i}, {a}, {a}, {r}, {r}, 'k{}', 'k{}')", i % 11, i % 11)
        })
        .collect();
    e.execute(&format!("INSERT INTO t VALUES {}", values.join(", "))).unwrap();
    e.execute("CREATE INDEX t_a ON t(a)").unwrap();
    e.execute("CREATE INDEX t_r ON t(r)").unwrap();
    e.execute("CREATE INDEX t_s ON t(s, a)").unwrap();
}

#[test]
fn indexed_and_unindexed_columns_answer_every_comparison_alike() {
    let mut e = NativeEngine::new(Database::in_memory());
    table(&mut e);
    let conds = [
        ("a = 5", "a2 = 5"),
        ("a = '5'", "a2 = '5'"),
        ("a = 5.0", "a2 = 5.0"),
        ("a = 5.5", "a2 = 5.5"),
        ("5 = a", "5 = a2"),
        ("a IN (1, 2, '3', 4.0, NULL)", "a2 IN (1, 2, '3', 4.0, NULL)"),
        ("a IN (1, 2, 22)", "a2 IN (1, 2, 22)"),
        ("a BETWEEN 3 AND 6", "a2 BETWEEN 3 AND 6"),
        ("a > 20", "a2 > 20"),
        ("a <= 1", "a2 <= 1"),
        ("a < '3'", "a2 < '3'"),
        ("a IS NULL", "a2 IS NULL"),
        ("r = 2.5", "r2 = 2.5"),
        ("r = 2", "r2 = 2"),
        ("r > 5", "r2 > 5"),
        ("s = 'k3'", "s2 = 'k3'"),
        ("s = 'k3' AND a = 3", "s2 = 'k3' AND a2 = 3"),
        ("s > 'k8'", "s2 > 'k8'"),
        ("id = 17", "id + 0 = 17"),
        ("id IN (3, 999, 5)", "id + 0 IN (3, 999, 5)"),
    ];
    for (indexed, plain) in conds {
        let a = ids(&mut e, &format!("SELECT id FROM t WHERE {indexed}"));
        let b = ids(&mut e, &format!("SELECT id FROM t WHERE {plain}"));
        assert_eq!(a, b, "{indexed} vs {plain}");
    }
    // UPDATE and DELETE by indexed keys touch exactly the matching rows.
    let before = ids(&mut e, "SELECT id FROM t WHERE a2 = 7");
    let n = e.execute("UPDATE t SET a = 100 WHERE a = 7").unwrap();
    assert!(matches!(n.last(), Some(Output::Affected(k)) if *k as usize == before.len()));
    assert_eq!(ids(&mut e, "SELECT id FROM t WHERE a = 100"), before);
    assert!(ids(&mut e, "SELECT id FROM t WHERE a = 7").is_empty());
    e.execute("DELETE FROM t WHERE id IN (1, 2, 3)").unwrap();
    assert!(ids(&mut e, "SELECT id FROM t WHERE id <= 3").iter().all(|&i| i == 0));
}

#[test]
fn key_violations_come_from_the_index_and_own_rows_count() {
    let mut e = NativeEngine::new(Database::in_memory());
    table(&mut e);
    let err = |e: &mut NativeEngine, sql| e.execute(sql).map(|_| ()).map_err(|x| x.kind);
    assert_eq!(err(&mut e, "INSERT INTO t(id) VALUES (5)"), Err(ErrorKind::Constraint));
    e.execute("CREATE UNIQUE INDEX t_u ON t(s2, id)").unwrap();
    assert_eq!(err(&mut e, "INSERT INTO t(id, s2) VALUES (5, 'k5')"), Err(ErrorKind::Constraint));
    e.execute("BEGIN").unwrap();
    e.execute("INSERT INTO t(id, a) VALUES (1000, 4242)").unwrap();
    assert_eq!(ids(&mut e, "SELECT id FROM t WHERE a = 4242"), vec![1000]);
    assert_eq!(err(&mut e, "INSERT INTO t(id) VALUES (1000)"), Err(ErrorKind::Constraint));
    e.execute("ROLLBACK").unwrap();
    assert!(ids(&mut e, "SELECT id FROM t WHERE a = 4242").is_empty());
    e.execute("UPDATE t SET id = id + 1000 WHERE id < 10").unwrap();
    assert_eq!(ids(&mut e, "SELECT id FROM t WHERE id BETWEEN 1000 AND 1009").len(), 10);
}

#[test]
fn indexes_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.llkv");
    let expected = {
        let mut e = NativeEngine::new(Database::open(&path).unwrap());
        table(&mut e);
        ids(&mut e, "SELECT id FROM t WHERE a2 = 9")
    };
    let db = Database::open(&path).unwrap();
    assert_eq!(db.store().built_indexes(), 0);
    let mut e = NativeEngine::new(db.clone());
    assert_eq!(ids(&mut e, "SELECT id FROM t WHERE a = 9"), expected);
    assert_eq!(db.store().built_indexes(), 1);
    e.execute("DROP INDEX t_a").unwrap();
    assert_eq!(ids(&mut e, "SELECT id FROM t WHERE a = 9"), expected);
}
