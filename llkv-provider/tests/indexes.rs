//! Index-aware scans on the DataFusion route: EXPLAIN names the index, the
//! rows equal those of an unindexed scan, constraints hold, definitions persist.

mod common;
use common::*;
use llkv_mvcc::Database;
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, ErrorKind};

/// `t(id PK, g, g2)` with `g2` a copy of `g` that no index covers.
fn table(e: &mut DataFusionEngine) {
    run(e, "CREATE TABLE t (id INTEGER PRIMARY KEY, g INTEGER, g2 INTEGER, s TEXT)");
    let values: Vec<String> =
        (0..600).map(|i| format!("({i}, {}, {}, 's{i}')", i % 37, i % 37)).collect();
    run(e, &format!("INSERT INTO t VALUES {}", values.join(", ")));
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn primary_key_and_created_indexes_answer_lookups_with_the_rows_of_a_scan() {
    let mut e = engine();
    table(&mut e);
    let plan = text(&mut e, "EXPLAIN SELECT s FROM t WHERE id = 42");
    assert!(plan.contains("index=PRIMARY KEY"), "{plan}");
    assert_eq!(rows(&mut e, "SELECT s FROM t WHERE id = 42"), ["s42"]);
    assert_eq!(sorted(rows(&mut e, "SELECT id FROM t WHERE id IN (3, 5, 1000)")), ["3", "5"]);

    run(&mut e, "CREATE INDEX t_g ON t (g)");
    let plan = text(&mut e, "EXPLAIN SELECT id FROM t WHERE g = 5");
    assert!(plan.contains("index=t_g"), "{plan}");
    for (indexed, plain) in [
        ("g = 5", "g2 = 5"),
        ("g IN (1, 2, 36)", "g2 IN (1, 2, 36)"),
        ("g BETWEEN 3 AND 4", "g2 BETWEEN 3 AND 4"),
        ("g < 2 AND id > 100", "g2 < 2 AND id > 100"),
    ] {
        let a = sorted(rows(&mut e, &format!("SELECT id FROM t WHERE {indexed}")));
        let b = sorted(rows(&mut e, &format!("SELECT id FROM t WHERE {plain}")));
        assert!(!a.is_empty());
        assert_eq!(a, b, "{indexed}");
    }
    // UPDATE and DELETE by key go through the index too.
    assert_eq!(affected(&mut e, "UPDATE t SET s = 'new' WHERE id = 7"), 1);
    assert_eq!(rows(&mut e, "SELECT s FROM t WHERE id = 7"), ["new"]);
    assert_eq!(affected(&mut e, "DELETE FROM t WHERE g = 0"), 17);
    assert!(rows(&mut e, "SELECT id FROM t WHERE g = 0").is_empty());

    run(&mut e, "DROP INDEX t_g");
    let plan = text(&mut e, "EXPLAIN SELECT id FROM t WHERE g = 5");
    assert!(!plan.contains("index="), "{plan}");
}

#[test]
fn key_violations_are_found_and_own_rows_are_seen_inside_a_transaction() {
    let mut e = engine();
    table(&mut e);
    let is_constraint = |e: &mut DataFusionEngine, sql| matches!(e.execute(sql), Err(x) if x.kind == ErrorKind::Constraint);
    assert!(is_constraint(&mut e, "INSERT INTO t VALUES (599, 1, 1, 'dup')"));
    assert!(is_constraint(&mut e, "CREATE UNIQUE INDEX t_bad ON t (g)"));
    run(&mut e, "CREATE UNIQUE INDEX t_s ON t (s)");
    assert!(is_constraint(&mut e, "INSERT INTO t VALUES (1000, 1, 1, 's3')"));
    run(&mut e, "BEGIN");
    run(&mut e, "INSERT INTO t VALUES (1000, 1, 1, 'x')");
    assert_eq!(rows(&mut e, "SELECT s FROM t WHERE id = 1000"), ["x"]);
    run(&mut e, "DELETE FROM t WHERE id = 3");
    assert!(rows(&mut e, "SELECT s FROM t WHERE id = 3").is_empty());
    run(&mut e, "COMMIT");
    assert_eq!(rows(&mut e, "SELECT id FROM t WHERE s = 'x'"), ["1000"]);
}

#[test]
fn index_definitions_survive_reopening_and_are_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("db.llkv");
    {
        let mut e = DataFusionEngine::new(Database::open(&path).expect("open")).expect("engine");
        table(&mut e);
        run(&mut e, "CREATE INDEX t_g ON t (g)");
    }
    let mut e = DataFusionEngine::new(Database::open(&path).expect("reopen")).expect("engine");
    let plan = text(&mut e, "EXPLAIN SELECT id FROM t WHERE g = 5");
    assert!(plan.contains("index=t_g"), "{plan}");
    let a = sorted(rows(&mut e, "SELECT id FROM t WHERE g = 5"));
    let b = sorted(rows(&mut e, "SELECT id FROM t WHERE g2 = 5"));
    assert_eq!(a, b);
    assert_eq!(a.len(), 17);
}
