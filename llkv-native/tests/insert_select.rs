//! INSERT … SELECT from a plain scan runs as Arrow batches
//! (`llkv_native::insert_select`); it must store exactly what the row path
//! stores. Each case runs once as batches and once through the row path (the
//! same SELECT with an always-true WHERE, which the batch path does not take),
//! and the two target tables must hold the same rows in the same order.

use arrow::array::Array;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_native::insert_select::runs;
use llkv_sql::{Engine, Output};
use llkv_store::StoreOptions;

const COLUMNS: &str = "k BIGINT, n INTEGER, x REAL, s VARCHAR, d DATE, m DECIMAL(15,2), b BLOB";

fn engine(dir: &tempfile::TempDir) -> NativeEngine {
    // Small segments, so a scan spans many of them (and several rounds).
    let opts = StoreOptions { chunk_rows: 100, ..StoreOptions::default() };
    NativeEngine::new(Database::open_with(dir.path().join("db.llkv"), opts).unwrap())
}

fn text(e: &mut NativeEngine, sql: &str) -> Vec<String> {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else { panic!("{sql}") };
    batches
        .iter()
        .flat_map(|b| {
            let cols: Vec<_> = b
                .columns()
                .iter()
                .map(|c| arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).unwrap())
                .collect();
            (0..b.num_rows())
                .map(|r| {
                    cols.iter()
                        .map(|c| {
                            let c = c.as_any().downcast_ref::<arrow::array::StringArray>().unwrap();
                            if c.is_valid(r) { c.value(r).to_string() } else { "NULL".into() }
                        })
                        .collect::<Vec<_>>()
                        .join("|")
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn affected(e: &mut NativeEngine, sql: &str) -> u64 {
    match e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}")).pop() {
        Some(Output::Affected(n)) => n,
        other => panic!("{sql}: {other:?}"),
    }
}

fn setup(e: &mut NativeEngine) {
    e.execute(&format!("CREATE TABLE src ({COLUMNS})")).unwrap();
    let mut vals = Vec::new();
    for i in 0..1234i64 {
        let null = |v: String| if i % 7 == 3 { "NULL".to_string() } else { v };
        vals.push(format!(
            "({i}, {}, {}, {}, {}, {}, {})",
            null((i * 37 % 1000 - 500).to_string()),
            null(match i % 5 {
                0 => "-0.0".into(),
                1 => format!("{}.25", i - 600),
                _ => format!("{}", i as f64 / 3.0),
            }),
            null(format!("'s{}'", i * 13 % 97)),
            null(format!("'{}-{:02}-{:02}'", 1990 + i % 30, 1 + i % 12, 1 + i % 28)),
            null(format!("{}.{:02}", i * 1001 - 50_000, i % 100)),
            null(format!("x'{:04x}'", i)),
        ));
    }
    e.execute(&format!("INSERT INTO src VALUES {}", vals.join(", "))).unwrap();
    // Rows deleted from the middle must not be copied.
    e.execute("DELETE FROM src WHERE k % 10 = 4").unwrap();
}

/// Runs `select` into fresh tables as batches and through the row path;
/// returns the rows (equal) and the row count.
fn both(e: &mut NativeEngine, cols: &str, select: &str, tail: &str, case: &str) -> usize {
    e.execute(&format!("CREATE TABLE fast_{case} ({COLUMNS})")).unwrap();
    e.execute(&format!("CREATE TABLE slow_{case} ({COLUMNS})")).unwrap();
    let before = runs();
    let n_fast = affected(e, &format!("INSERT INTO fast_{case} {cols} {select} {tail}"));
    assert_eq!(runs(), before + 1, "{case}: the batch path was not taken");
    let n_slow =
        affected(e, &format!("INSERT INTO slow_{case} {cols} {select} WHERE 1 = 1 {tail}"));
    assert_eq!(runs(), before + 1, "{case}: the row path was not taken");
    assert_eq!(n_fast, n_slow, "{case}");
    let fast = text(e, &format!("SELECT * FROM fast_{case}"));
    let slow = text(e, &format!("SELECT * FROM slow_{case}"));
    assert_eq!(fast, slow, "{case}");
    assert_eq!(fast.len() as u64, n_fast, "{case}");
    fast.len()
}

#[test]
fn batch_insert_select_stores_what_the_row_path_stores() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(&dir);
    setup(&mut e);
    let live = text(&mut e, "SELECT * FROM src").len();
    assert_eq!(both(&mut e, "", "SELECT * FROM src", "", "all"), live);
    assert_eq!(both(&mut e, "", "SELECT * FROM src", "LIMIT 1000", "limit"), 1000);
    assert_eq!(both(&mut e, "", "SELECT * FROM src", "LIMIT 250 OFFSET 333", "offset"), 250);
    assert_eq!(both(&mut e, "", "SELECT * FROM src", "LIMIT -1 OFFSET 1100", "neg"), live - 1100);
    assert_eq!(both(&mut e, "", "SELECT * FROM src", "LIMIT 0", "zero"), 0);
    // A column list in another order, and a SELECT list naming columns.
    let n = both(
        &mut e,
        "(b, m, d, s, x, n, k)",
        "SELECT b, m, d, s, x, n, k FROM src",
        "LIMIT 500",
        "perm",
    );
    assert_eq!(n, 500);
}

#[test]
fn batch_insert_select_sees_the_transactions_own_rows_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(&dir);
    setup(&mut e);
    e.execute(&format!("CREATE TABLE dst ({COLUMNS})")).unwrap();
    e.execute("BEGIN").unwrap();
    e.execute("INSERT INTO src (k) VALUES (-1), (-2)").unwrap();
    let before = runs();
    let live = text(&mut e, "SELECT * FROM src").len() as u64;
    assert_eq!(affected(&mut e, "INSERT INTO dst SELECT * FROM src"), live);
    assert_eq!(runs(), before + 1);
    assert_eq!(text(&mut e, "SELECT k FROM dst WHERE k < 0"), vec!["-1", "-2"]);
    e.execute("ROLLBACK").unwrap();
    assert!(text(&mut e, "SELECT * FROM dst").is_empty());
}

#[test]
fn batch_insert_select_enforces_constraints() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(&dir);
    setup(&mut e);
    // NOT NULL: src.n has NULLs.
    e.execute("CREATE TABLE nn (k BIGINT, n INTEGER NOT NULL, x REAL, s VARCHAR, d DATE, m DECIMAL(15,2), b BLOB)").unwrap();
    let before = runs();
    assert!(e.execute("INSERT INTO nn SELECT * FROM src").is_err());
    assert!(text(&mut e, "SELECT * FROM nn").is_empty());
    // PRIMARY KEY: inserting the same rows twice.
    e.execute("CREATE TABLE pk (k BIGINT PRIMARY KEY, n INTEGER, x REAL, s VARCHAR, d DATE, m DECIMAL(15,2), b BLOB)").unwrap();
    assert_eq!(affected(&mut e, "INSERT INTO pk SELECT * FROM src LIMIT 10"), 10);
    assert!(e.execute("INSERT INTO pk SELECT * FROM src LIMIT 20").is_err());
    assert_eq!(text(&mut e, "SELECT * FROM pk").len(), 10);
    assert_eq!(runs(), before + 1);
}
