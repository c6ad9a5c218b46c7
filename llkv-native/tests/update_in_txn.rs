//! Many single-row UPDATEs by key in one transaction (the issue-8 workload):
//! every statement sees the transaction's earlier updates, ROLLBACK and
//! COMMIT keep or drop all of them, key changes are still checked for
//! duplicates, and another transaction's update of the same row conflicts.

use arrow::array::{Array, Int64Array};
use arrow::datatypes::DataType;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};
use std::collections::BTreeMap;

const ROWS: i64 = 200;

/// The single integer a query returns.
fn int(e: &mut NativeEngine, sql: &str) -> Option<i64> {
    let out = e.execute(sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
    let Some(Output::Rows { batches, .. }) = out.into_iter().last() else { panic!("{sql}") };
    let b = batches.iter().find(|b| b.num_rows() > 0)?;
    let col = arrow::compute::cast(b.column(0), &DataType::Int64).unwrap();
    let col = col.as_any().downcast_ref::<Int64Array>().unwrap();
    (!col.is_null(0)).then(|| col.value(0))
}

fn setup(db: &Database) -> NativeEngine {
    let mut e = NativeEngine::new(db.clone());
    e.execute(
        "CREATE TABLE o(k INTEGER PRIMARY KEY, p INTEGER NOT NULL, d DECIMAL(15,2), \
         u INTEGER UNIQUE, s TEXT)",
    )
    .unwrap();
    let rows: Vec<String> = (0..ROWS).map(|k| format!("({k}, {k}, {k}, {k}, 'row {k}')")).collect();
    e.execute(&format!("INSERT INTO o VALUES {}", rows.join(", "))).unwrap();
    e
}

fn committed() -> BTreeMap<i64, i64> {
    (0..ROWS).map(|k| (k, k)).collect()
}

/// `n` updates of `p` and `d` by key, checked against `model` as they go.
fn updates(e: &mut NativeEngine, model: &mut BTreeMap<i64, i64>, n: i64) {
    for i in 0..n {
        let k = if i % 4 == 0 { i % 3 } else { (i * 37) % ROWS };
        let sql = format!("UPDATE o SET p = p + 1, d = d + 1 WHERE k = {k}");
        assert!(matches!(e.execute(&sql).unwrap()[..], [Output::Affected(1)]), "{sql}");
        *model.entry(k).or_default() += 1;
        if i % 50 == 0 {
            for probe in [k, (k + 1) % ROWS] {
                let got = int(e, &format!("SELECT p FROM o WHERE k = {probe}"));
                assert_eq!(got, Some(model[&probe]), "key {probe} after {i} updates");
            }
        }
    }
}

fn check(e: &mut NativeEngine, model: &BTreeMap<i64, i64>) {
    assert_eq!(int(e, "SELECT count(*) FROM o"), Some(ROWS));
    assert_eq!(int(e, "SELECT sum(p) FROM o"), Some(model.values().sum()));
    assert_eq!(int(e, "SELECT count(*) FROM o WHERE d <> p"), Some(0));
    assert_eq!(int(e, "SELECT count(*) FROM o WHERE s <> 'row ' || k"), Some(0));
    for k in [0, 1, 2, 37, ROWS - 1] {
        assert_eq!(int(e, &format!("SELECT p FROM o WHERE k = {k}")), Some(model[&k]), "key {k}");
    }
}

#[test]
fn many_updates_roll_back_and_commit() {
    let db = Database::in_memory();
    let mut e = setup(&db);
    e.execute("BEGIN").unwrap();
    let mut model = committed();
    updates(&mut e, &mut model, 1_500);
    check(&mut e, &model);
    e.execute("ROLLBACK").unwrap();
    check(&mut e, &committed());

    e.execute("BEGIN").unwrap();
    let mut model = committed();
    updates(&mut e, &mut model, 800);
    e.execute("COMMIT").unwrap();
    check(&mut e, &model);
    // A fresh engine (another session) reads the committed values.
    check(&mut NativeEngine::new(db.clone()), &model);
}

#[test]
fn key_changes_after_many_updates_are_still_checked() {
    let db = Database::in_memory();
    let mut e = setup(&db);
    e.execute("BEGIN").unwrap();
    let mut model = committed();
    updates(&mut e, &mut model, 300);
    let dup = e.execute("UPDATE o SET k = 5 WHERE k = 6").unwrap_err();
    assert!(dup.to_string().contains("PRIMARY KEY"), "{dup}");
    e.execute("ROLLBACK").unwrap();
    e.execute("BEGIN").unwrap();
    updates(&mut e, &mut committed(), 300);
    let dup = e.execute("UPDATE o SET u = 7 WHERE k = 8").unwrap_err();
    assert!(dup.to_string().contains("UNIQUE"), "{dup}");
    e.execute("ROLLBACK").unwrap();
    // A free key is taken, and the row keeps its other values.
    e.execute("BEGIN").unwrap();
    updates(&mut e, &mut committed(), 300);
    e.execute("UPDATE o SET k = 1000 WHERE k = 6").unwrap();
    assert_eq!(int(&mut e, "SELECT count(*) FROM o WHERE k = 6"), Some(0));
    assert_eq!(int(&mut e, "SELECT u FROM o WHERE k = 1000"), Some(6));
    e.execute("COMMIT").unwrap();
    assert_eq!(int(&mut e, "SELECT u FROM o WHERE k = 1000"), Some(6));
}

#[test]
fn a_row_updated_in_a_long_transaction_conflicts() {
    let db = Database::in_memory();
    let mut a = setup(&db);
    let mut b = NativeEngine::new(db.clone());
    a.execute("BEGIN").unwrap();
    let mut model = committed();
    updates(&mut a, &mut model, 400);
    b.execute("BEGIN").unwrap();
    let err = b.execute("UPDATE o SET p = p + 1 WHERE k = 1").unwrap_err();
    assert!(err.to_string().contains("could not serialize"), "{err}");
    b.execute("ROLLBACK").unwrap();
    // A row A did not touch is free.
    b.execute("UPDATE o SET p = p + 1, d = d + 1 WHERE k = 196").unwrap();
    *model.get_mut(&196).unwrap() += 1;
    a.execute("COMMIT").unwrap();
    check(&mut b, &model);
}
