//! Scans after deletes: the store caches each segment's settled visibility
//! (rows every snapshot past the segment's last change sees) and copies of
//! its visible rows. Snapshot isolation must hold around that cache.

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Int64Type};
use llkv_mvcc::{Database, Transaction};
use llkv_store::{CmpOp, ColumnMeta, Predicate, ScanRequest, StoreOptions, TableMeta};
use std::sync::Arc;

const ROWS: i64 = 10_000;

fn setup(dir: &std::path::Path) -> Database {
    let opts = StoreOptions { chunk_rows: 1_000, ..StoreOptions::default() };
    let db = Database::open_with(dir.join("db.llkv"), opts).unwrap();
    db.set_auto_vacuum(None);
    let txn = db.begin();
    let t = txn
        .create_table(TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("k", DataType::Int64, false),
                ColumnMeta::new("v", DataType::Int64, false),
            ],
        ))
        .unwrap();
    let rows = RecordBatch::try_new(
        t.meta.schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(0..ROWS)) as ArrayRef,
            Arc::new(Int64Array::from_iter_values((0..ROWS).map(|k| k * 3))) as ArrayRef,
        ],
    )
    .unwrap();
    txn.insert(&t, &rows).unwrap();
    txn.commit().unwrap();
    db
}

/// (count, sum of k, sum of v) as `txn` sees `t`, through `req` (projection k, v).
fn seen_with(txn: &Transaction, req: &ScanRequest) -> (usize, i64, i64) {
    let t = txn.table("t").unwrap().unwrap();
    let b = txn.scan(&t, req).unwrap();
    let sum = |c: usize| -> i64 {
        b.iter()
            .map(|b| arrow::compute::sum(b.column(c).as_primitive::<Int64Type>()).unwrap_or(0))
            .sum()
    };
    (b.iter().map(|b| b.num_rows()).sum(), sum(0), sum(1))
}

fn seen(txn: &Transaction) -> (usize, i64, i64) {
    seen_with(txn, &ScanRequest { projection: Some(vec![0, 1]), ..Default::default() })
}

fn expect(keep: impl Fn(i64) -> bool) -> (usize, i64, i64) {
    let ks: Vec<i64> = (0..ROWS).filter(|&k| keep(k)).collect();
    (ks.len(), ks.iter().sum(), ks.iter().map(|k| k * 3).sum())
}

/// Deletes the rows whose k satisfies `f`, in one commit.
fn delete_where(db: &Database, f: impl Fn(i64) -> bool) {
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { projection: Some(vec![0]), with_row_ids: true, ..Default::default() };
    let mut ids = Vec::new();
    for b in txn.scan(&t, &req).unwrap() {
        let k = b.column(0).as_primitive::<Int64Type>();
        let id = b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap();
        ids.extend((0..b.num_rows()).filter(|&i| f(k.value(i))).map(|i| id.value(i)));
    }
    txn.delete(&t, &ids).unwrap();
    txn.commit().unwrap();
}

#[test]
fn snapshots_before_a_delete_keep_seeing_its_rows_after_the_cache_is_built() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    let before = db.begin();
    assert_eq!(seen(&before), expect(|_| true));

    delete_where(&db, |k| k % 10 == 0);
    // New snapshots build the cache, then reuse it (the second scan).
    let after = db.begin();
    for _ in 0..2 {
        assert_eq!(seen(&after), expect(|k| k % 10 != 0));
        assert_eq!(seen(&db.begin()), expect(|k| k % 10 != 0));
    }
    assert!(db.store().settled_cache_bytes() > 0, "the scans used the settled rows");
    // The snapshot taken before the delete still sees every row.
    for _ in 0..2 {
        assert_eq!(seen(&before), expect(|_| true));
    }

    // A second delete: the changed segments start a fresh cache; the
    // snapshot between the deletes sees only the first one.
    delete_where(&db, |k| (2_000..2_500).contains(&k) || k % 7 == 1);
    let later = db.begin();
    let both = |k: i64| k % 10 != 0 && !(2_000..2_500).contains(&k) && k % 7 != 1;
    assert_eq!(seen(&later), expect(both));
    assert_eq!(seen(&later), expect(both));
    assert_eq!(seen(&after), expect(|k| k % 10 != 0));
    assert_eq!(seen(&before), expect(|_| true));
}

#[test]
fn predicates_row_ids_and_a_transactions_own_deletes_apply_on_settled_segments() {
    let dir = tempfile::tempdir().unwrap();
    let db = setup(dir.path());
    delete_where(&db, |k| k % 4 == 0);
    // A whole segment deleted, and one cut to a contiguous run.
    delete_where(&db, |k| (3_000..4_000).contains(&k) || (5_000..5_300).contains(&k));
    let gone = |k: i64| k % 4 == 0 || (3_000..4_000).contains(&k) || (5_000..5_300).contains(&k);
    let txn = db.begin();
    assert_eq!(seen(&txn), expect(|k| !gone(k)));
    let filtered = ScanRequest {
        projection: Some(vec![0, 1]),
        predicates: vec![Predicate::Compare {
            column: 0,
            op: CmpOp::GtEq,
            value: Arc::new(Int64Array::from(vec![4_500])),
        }],
        ..Default::default()
    };
    for _ in 0..2 {
        assert_eq!(seen_with(&txn, &filtered), expect(|k| !gone(k) && k >= 4_500));
    }
    // Row ids come with the visible rows, in step.
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { projection: Some(vec![0]), with_row_ids: true, ..Default::default() };
    for b in txn.scan(&t, &req).unwrap() {
        let k = b.column(0).as_primitive::<Int64Type>();
        let id = b.column(1).as_any().downcast_ref::<UInt64Array>().unwrap();
        for i in 0..b.num_rows() {
            assert_eq!(k.value(i) as u64, id.value(i), "row ids are the insert order here");
            assert!(!gone(k.value(i)));
        }
    }
    // The transaction's own deletes are left out on top of the cache.
    let ids: Vec<u64> = (5_300..5_310).filter(|&k| !gone(k as i64)).collect();
    txn.delete(&t, &ids).unwrap();
    let own = |k: i64| gone(k) || (5_300..5_310).contains(&k);
    assert_eq!(seen(&txn), expect(|k| !own(k)));
    txn.rollback();
    assert_eq!(seen(&db.begin()), expect(|k| !gone(k)));
}
