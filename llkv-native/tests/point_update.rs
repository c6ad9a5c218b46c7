//! Single-row UPDATEs by key (answered by the native route's point-update
//! fast path) change tables exactly as the general UPDATE does: the same
//! statements run on two copies of a table, once in the fast shape
//! (`WHERE k = n`) and once in a shape the fast path leaves to the general
//! route (`WHERE k = n AND 1 = 1`), leave equal tables and give the same
//! errors, inside and outside transactions, after ROLLBACK and COMMIT.
//! Tables with triggers or CHECK constraints keep their semantics.

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};

/// The last statement's result as text, or its error.
fn run(e: &mut NativeEngine, sql: &str) -> String {
    match e.execute(sql) {
        Ok(out) => match out.into_iter().last() {
            Some(Output::Rows { batches, .. }) => {
                let rows: Vec<RecordBatch> = batches;
                pretty_format_batches(&rows).map(|t| t.to_string()).unwrap_or_default()
            }
            Some(other) => format!("{other:?}"),
            None => String::new(),
        },
        Err(err) => format!("error: {err}"),
    }
}

const COLS: &str = "k INTEGER PRIMARY KEY, n INTEGER NOT NULL, u INTEGER UNIQUE, \
                    d DECIMAL(15,2), r REAL, s TEXT, dt DATE, z INTEGER";

fn setup(e: &mut NativeEngine) {
    for t in ["fast", "slow"] {
        e.execute(&format!("CREATE TABLE {t}({COLS})")).unwrap();
        let rows: Vec<String> = (0..100)
            .map(|i| {
                let z = if i % 5 == 0 { "NULL".to_string() } else { (i % 7).to_string() };
                format!("({i}, {i}, {i}, {i}.5, {i}.25, 's{i}', DATE '2020-01-01' + {i}, {z})")
            })
            .collect();
        e.execute(&format!("INSERT INTO {t} VALUES {}", rows.join(", "))).unwrap();
    }
}

/// Runs `set` on row `k` of both tables and checks the outcomes and the
/// tables agree.
fn both(e: &mut NativeEngine, set: &str, k: i64) {
    let fast = run(e, &format!("UPDATE fast SET {set} WHERE k = {k}")).replace("fast", "slow");
    let slow = run(e, &format!("UPDATE slow SET {set} WHERE k = {k} AND 1 = 1"));
    assert_eq!(fast, slow, "SET {set} WHERE k = {k}");
    same_tables(e);
}

fn same_tables(e: &mut NativeEngine) {
    let fast = run(e, "SELECT * FROM fast ORDER BY k");
    let slow = run(e, "SELECT * FROM slow ORDER BY k");
    assert_eq!(fast, slow);
    // Point reads see the same rows as the scans.
    for k in [0, 1, 7, 42, 99, 1000] {
        let f = run(e, &format!("SELECT * FROM fast WHERE k = {k}"));
        let s = run(e, &format!("SELECT * FROM slow WHERE k = {k}"));
        assert_eq!(f, s, "k = {k}");
    }
}

const SETS: &[(&str, i64)] = &[
    ("n = n + 1", 1),
    ("n = n + 1", 1),
    ("d = d + 1, r = r * 2", 7),
    ("s = s || '!', z = NULL", 42),
    ("z = coalesce(z, 0) + rowid", 42),
    ("dt = DATE '2024-02-29'", 7),
    ("n = '17'", 99),
    ("s = n, n = length(s)", 99),
    ("z = CASE WHEN z IS NULL THEN -1 ELSE z * 10 END", 0),
    ("n = NULL", 7),
    ("u = 8", 7),
    ("k = 1", 7),
    ("k = 1000, u = 1000", 7),
    ("n = n - 1", 1000),
    ("n = n + 1", 7),
    ("n = n + 1", 12345),
    ("n = 1 / 0", 3),
    ("nope = 1", 3),
    ("u = u", 3),
    ("k = k", 3),
];

#[test]
fn point_updates_change_rows_as_the_general_route() {
    let mut e = NativeEngine::new(Database::in_memory());
    setup(&mut e);
    for &(set, k) in SETS {
        both(&mut e, set, k);
    }
}

#[test]
fn point_updates_in_transactions_roll_back_and_commit() {
    let db = Database::in_memory();
    let mut e = NativeEngine::new(db.clone());
    setup(&mut e);
    let before = run(&mut e, "SELECT * FROM fast ORDER BY k");
    e.execute("BEGIN").unwrap();
    for i in 0..300 {
        both(&mut e, "n = n + 1, s = s || 'x'", (i * 37) % 100);
    }
    e.execute("ROLLBACK").unwrap();
    same_tables(&mut e);
    assert_eq!(run(&mut e, "SELECT * FROM fast ORDER BY k"), before);

    e.execute("BEGIN").unwrap();
    for i in 0..200 {
        both(&mut e, "n = n + 1, d = d + 0.5", (i * 13) % 100);
        if i % 40 == 0 {
            for &(set, k) in
                SETS.iter().filter(|(s, _)| !s.contains("1 / 0") && !s.contains("nope"))
            {
                // Errors abort the transaction; only the statements that succeed run here.
                let probe = run(&mut e, &format!("UPDATE fast SET {set} WHERE k = {k} AND 1 = 0"));
                assert_eq!(probe, "Affected(0)", "{set}");
            }
        }
    }
    e.execute("COMMIT").unwrap();
    same_tables(&mut e);
    let mut other = NativeEngine::new(db);
    assert_eq!(
        run(&mut other, "SELECT * FROM fast ORDER BY k"),
        run(&mut other, "SELECT * FROM slow ORDER BY k")
    );
    assert_ne!(run(&mut other, "SELECT * FROM fast ORDER BY k"), before);
}

#[test]
fn a_failed_point_update_aborts_the_transaction() {
    let mut e = NativeEngine::new(Database::in_memory());
    setup(&mut e);
    e.execute("BEGIN").unwrap();
    e.execute("UPDATE fast SET n = 500 WHERE k = 3").unwrap();
    let err = e.execute("UPDATE fast SET u = 4 WHERE k = 3").unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert!(e.execute("UPDATE fast SET n = 501 WHERE k = 5").is_err());
    e.execute("ROLLBACK").unwrap();
    assert!(run(&mut e, "SELECT n FROM fast WHERE k = 3").contains("| 3 "));
}

#[test]
fn concurrent_point_updates_of_one_row_conflict() {
    let db = Database::in_memory();
    let mut a = NativeEngine::new(db.clone());
    setup(&mut a);
    let mut b = NativeEngine::new(db.clone());
    a.execute("BEGIN").unwrap();
    b.execute("BEGIN").unwrap();
    a.execute("UPDATE fast SET n = n + 1 WHERE k = 5").unwrap();
    let err = b.execute("UPDATE fast SET n = n + 10 WHERE k = 5").unwrap_err();
    assert!(err.to_string().contains("could not serialize"), "{err}");
    b.execute("ROLLBACK").unwrap();
    a.execute("COMMIT").unwrap();
    // A transaction that began before A's commit cannot update the row either.
    let mut c = NativeEngine::new(db.clone());
    c.execute("BEGIN").unwrap();
    c.execute("SELECT count(*) FROM fast").unwrap();
    a.execute("UPDATE fast SET n = n + 1 WHERE k = 6").unwrap();
    let err = c.execute("UPDATE fast SET n = n + 10 WHERE k = 6").unwrap_err();
    assert!(err.to_string().contains("could not serialize"), "{err}");
    c.execute("ROLLBACK").unwrap();
    assert!(run(&mut a, "SELECT n FROM fast WHERE k = 5").contains("| 6 "));
    assert!(run(&mut a, "SELECT n FROM fast WHERE k = 6").contains("| 7 "));
}

#[test]
fn triggers_and_checks_keep_their_semantics() {
    let mut e = NativeEngine::new(Database::in_memory());
    e.execute(
        "CREATE TABLE t(k INTEGER PRIMARY KEY, v INTEGER CHECK (v < 10)); \
         CREATE TABLE log(k INTEGER, old INTEGER, new INTEGER); \
         INSERT INTO t VALUES (1, 1), (2, 2)",
    )
    .unwrap();
    let err = e.execute("UPDATE t SET v = 10 WHERE k = 1").unwrap_err();
    assert!(err.to_string().to_lowercase().contains("check"), "{err}");
    e.execute("UPDATE t SET v = 9 WHERE k = 1").unwrap();
    e.execute(
        "CREATE TRIGGER tr AFTER UPDATE OF v ON t BEGIN \
         INSERT INTO log VALUES (new.k, old.v, new.v); END",
    )
    .unwrap();
    e.execute("BEGIN").unwrap();
    e.execute("UPDATE t SET v = v - 1 WHERE k = 1").unwrap();
    e.execute("UPDATE t SET v = v + 1 WHERE k = 2").unwrap();
    assert_eq!(
        run(&mut e, "SELECT k, old, new FROM log ORDER BY k"),
        run(&mut e, "SELECT 1 AS k, 9 AS old, 8 AS new UNION ALL SELECT 2, 2, 3")
    );
    e.execute("COMMIT").unwrap();
    assert!(run(&mut e, "SELECT v FROM t WHERE k = 2").contains("| 3 "));
}
