//! Reclaiming row versions no snapshot can see.

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Int64Type};
use llkv_mvcc::{AutoVacuum, Database, Transaction};
use llkv_store::{ColumnMeta, ScanRequest, StoreOptions, TableMeta};
use std::sync::Arc;

const ROWS: i64 = 20_000;

fn open(path: &std::path::Path) -> Database {
    let opts = StoreOptions { chunk_rows: 1024, ..StoreOptions::default() };
    let db = Database::open_with(path, opts).unwrap();
    db.set_auto_vacuum(None);
    db
}

fn setup(db: &Database) {
    let txn = db.begin();
    let t = txn
        .create_table(TableMeta::new("t", vec![ColumnMeta::new("x", DataType::Int64, false)]))
        .unwrap();
    let rows = RecordBatch::try_new(
        t.meta.schema(),
        vec![Arc::new(Int64Array::from_iter_values(0..ROWS)) as ArrayRef],
    )
    .unwrap();
    txn.insert(&t, &rows).unwrap();
    txn.commit().unwrap();
}

/// Sum and count of `x` as `txn` sees it.
fn seen(txn: &Transaction) -> (i64, usize) {
    let t = txn.table("t").unwrap().unwrap();
    let b = txn.scan(&t, &ScanRequest::all()).unwrap();
    let n = b.iter().map(|b| b.num_rows()).sum();
    let s = b
        .iter()
        .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Int64Type>()).unwrap_or(0))
        .sum();
    (s, n)
}

/// Adds 1,000,000 to every row (UPDATE: delete + insert), in one commit.
fn update_all(db: &Database) {
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { with_row_ids: true, ..Default::default() };
    for b in txn.scan(&t, &req).unwrap() {
        let x = b.column(0).as_primitive::<Int64Type>();
        let ids: Vec<u64> =
            b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap().values().to_vec();
        let new = RecordBatch::try_new(
            t.meta.schema(),
            vec![Arc::new(Int64Array::from_iter_values(x.values().iter().map(|v| v + 1_000_000)))
                as ArrayRef],
        )
        .unwrap();
        txn.update(&t, &ids, &new).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn versions_an_old_snapshot_sees_survive_vacuum_and_go_after_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let db = open(&path);
    setup(&db);
    let old_reader = db.begin();
    let before = seen(&old_reader);
    assert_eq!(before.1, ROWS as usize);
    update_all(&db);
    let size_updated = std::fs::metadata(&path).unwrap().len();

    let r = db.vacuum().unwrap();
    assert_eq!(r.versions_removed, 0, "the old reader can still see them: {r:?}");
    assert_eq!(seen(&old_reader), before);
    drop(old_reader);

    let r = db.vacuum().unwrap();
    assert_eq!(r.versions_removed, ROWS as u64, "{r:?}");
    let size_after = std::fs::metadata(&path).unwrap().len();
    assert!(size_after * 2 < size_updated, "{size_updated} -> {size_after}");
    let now = seen(&db.begin());
    assert_eq!(now, (before.0 + ROWS * 1_000_000, ROWS as usize));
    drop(db);
    assert_eq!(seen(&open(&path).begin()), now);
}

#[test]
fn vacuum_does_not_block_a_reader_that_began_before_it() {
    let db = Database::in_memory();
    db.set_auto_vacuum(None);
    setup(&db);
    update_all(&db);
    let reader = db.begin();
    let want = seen(&reader);
    let r = db.vacuum().unwrap();
    assert_eq!(r.versions_removed, ROWS as u64);
    // The reader's store version predates the vacuum and still reads.
    assert_eq!(seen(&reader), want);
    reader.commit().unwrap();
}

#[test]
fn auto_vacuum_runs_when_dead_versions_pass_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let db = open(&path);
    db.set_auto_vacuum(Some(AutoVacuum { min_dead_rows: 1_000, dead_fraction: 0.5 }));
    setup(&db);
    let size_loaded = std::fs::metadata(&path).unwrap().len();
    update_all(&db);
    // 20,000 dead of 40,000 stored: at the threshold, so the commit vacuumed.
    assert_eq!(db.last_auto_vacuum_error(), None);
    let size_after = std::fs::metadata(&path).unwrap().len();
    assert!(size_after < size_loaded * 3 / 2, "{size_loaded} -> {size_after}");
    let stored: u64 = db.store().current().tables().map(|t| t.live_rows()).sum();
    assert_eq!(stored, ROWS as u64);
}

#[test]
fn deleting_most_rows_then_vacuum_shrinks_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let db = open(&path);
    setup(&db);
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { with_row_ids: true, ..Default::default() };
    let mut ids = Vec::new();
    for b in txn.scan(&t, &req).unwrap() {
        let x = b.column(0).as_primitive::<Int64Type>();
        let id = b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap();
        ids.extend((0..b.num_rows()).filter(|&i| x.value(i) % 10 != 7).map(|i| id.value(i)));
    }
    txn.delete(&t, &ids).unwrap();
    txn.commit().unwrap();
    drop((txn, t));
    let size_deleted = std::fs::metadata(&path).unwrap().len();
    let r = db.vacuum().unwrap();
    assert_eq!(r.versions_removed, 18_000);
    let size_after = std::fs::metadata(&path).unwrap().len();
    assert!(size_after * 4 < size_deleted, "{size_deleted} -> {size_after}");
    let want: i64 = (0..ROWS).filter(|x| x % 10 == 7).sum();
    assert_eq!(seen(&db.begin()), (want, 2_000));
    drop(db);
    assert_eq!(seen(&open(&path).begin()), (want, 2_000));
}
