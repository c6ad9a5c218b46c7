//! Transaction behaviour: visibility, conflicts, rollback, persistence.

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use llkv_mvcc::{Database, Error, Session, TableHandle, Transaction, row_ids_of};
use llkv_store::{CmpOp, ColumnMeta, Predicate, ScanRequest, TableMeta};
use std::sync::Arc;

fn accounts(txn: &Transaction) -> TableHandle {
    let mut m = TableMeta::new(
        "acct",
        vec![
            ColumnMeta::new("id", DataType::Int64, false),
            ColumnMeta::new("bal", DataType::Int64, true),
        ],
    );
    m.primary_key = vec![0];
    txn.create_table(m).unwrap()
}

fn batch(t: &TableHandle, ids: &[i64], bal: &[i64]) -> RecordBatch {
    RecordBatch::try_new(
        t.meta.schema(),
        vec![Arc::new(Int64Array::from(ids.to_vec())), Arc::new(Int64Array::from(bal.to_vec()))],
    )
    .unwrap()
}

fn balances(txn: &Transaction) -> Vec<(i64, i64)> {
    let t = txn.table("acct").unwrap().unwrap();
    let mut out: Vec<(i64, i64)> = txn
        .scan(&t, &ScanRequest::all())
        .unwrap()
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_primitive::<Int64Type>().clone();
            let c = b.column(1).as_primitive::<Int64Type>().clone();
            (0..b.num_rows()).map(move |i| (a.value(i), c.value(i)))
        })
        .collect();
    out.sort();
    out
}

fn set_balance(txn: &Transaction, id: i64, bal: i64) -> llkv_mvcc::Result<u64> {
    let t = txn.table("acct")?.unwrap();
    let req = ScanRequest {
        predicates: vec![Predicate::Compare {
            column: 0,
            op: CmpOp::Eq,
            value: Arc::new(Int64Array::from(vec![id])),
        }],
        projection: Some(vec![]),
        with_row_ids: true,
        ..Default::default()
    };
    let ids = row_ids_of(&txn.scan(&t, &req)?);
    txn.update(&t, &ids, &batch(&t, &vec![id; ids.len()], &vec![bal; ids.len()]))
}

fn setup() -> Database {
    let db = Database::in_memory();
    let t = db.begin();
    let h = accounts(&t);
    t.insert(&h, &batch(&h, &[1, 2], &[100, 200])).unwrap();
    t.commit().unwrap();
    db
}

#[test]
fn uncommitted_writes_are_invisible_to_others_and_visible_to_self() {
    let db = setup();
    let w = db.begin();
    set_balance(&w, 1, 50).unwrap();
    assert_eq!(balances(&w), vec![(1, 50), (2, 200)]);
    let r = db.begin();
    assert_eq!(balances(&r), vec![(1, 100), (2, 200)]);
    w.commit().unwrap();
    assert_eq!(balances(&r), vec![(1, 100), (2, 200)], "snapshot must not move");
    assert_eq!(balances(&db.begin()), vec![(1, 50), (2, 200)]);
}

#[test]
fn concurrent_updates_of_one_row_conflict_and_never_lose_an_update() {
    let db = setup();
    let a = db.begin();
    let b = db.begin();
    set_balance(&a, 1, 10).unwrap();
    let err = set_balance(&b, 1, 20).unwrap_err();
    assert!(matches!(err, Error::Serialization { ref table } if table == "acct"), "{err}");
    assert!(b.commit().is_err());
    a.commit().unwrap();
    // A transaction whose snapshot predates a's commit conflicts too.
    let c = db.begin();
    let d = db.begin();
    set_balance(&c, 2, 1).unwrap();
    c.commit().unwrap();
    assert!(matches!(set_balance(&d, 2, 2), Err(Error::Serialization { .. })));
    assert_eq!(balances(&db.begin()), vec![(1, 10), (2, 1)]);
}

#[test]
fn rollback_discards_everything() {
    let db = setup();
    let s = Session::new(db.clone());
    s.begin().unwrap();
    s.run(|t| set_balance(t, 1, 0)).unwrap();
    s.rollback().unwrap();
    assert_eq!(balances(&db.begin()), vec![(1, 100), (2, 200)]);
}

#[test]
fn a_failed_statement_aborts_an_explicit_transaction() {
    let db = setup();
    let s = Session::new(db.clone());
    s.begin().unwrap();
    let dup = s.run(|t| {
        let h = t.table("acct")?.unwrap();
        t.insert(&h, &batch(&h, &[1], &[5]))
    });
    assert!(matches!(dup, Err(Error::Constraint(_))), "{dup:?}");
    assert!(matches!(s.run(|t| t.table("acct")), Err(Error::Aborted(_))));
    s.rollback().unwrap();
    assert_eq!(balances(&db.begin()), vec![(1, 100), (2, 200)]);
}

#[test]
fn committed_transactions_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    {
        let db = Database::open(&path).unwrap();
        let t = db.begin();
        let h = accounts(&t);
        t.insert(&h, &batch(&h, &[1, 2], &[100, 200])).unwrap();
        t.commit().unwrap();
        let t = db.begin();
        set_balance(&t, 2, 7).unwrap();
        t.commit().unwrap();
        let t = db.begin();
        set_balance(&t, 1, 999).unwrap();
        drop(t); // never committed
    }
    let db = Database::open(&path).unwrap();
    assert_eq!(balances(&db.begin()), vec![(1, 100), (2, 7)]);
    let t = db.begin();
    set_balance(&t, 1, 1).unwrap();
    t.commit().unwrap();
    assert_eq!(balances(&db.begin()), vec![(1, 1), (2, 7)]);
}

#[test]
fn a_transaction_keeps_reading_a_table_dropped_after_its_snapshot_and_conflicts_at_commit() {
    let db = setup();
    let reader = db.begin();
    let dropper = db.begin();
    dropper.drop_table("acct").unwrap();
    dropper.commit().unwrap();
    assert!(db.begin().table("acct").unwrap().is_none());
    assert_eq!(balances(&reader), vec![(1, 100), (2, 200)]);
    let t = reader.table("acct").unwrap().unwrap();
    let err = reader.insert(&t, &batch(&t, &[3], &[300])).and_then(|_| reader.commit());
    assert!(matches!(err, Err(Error::Serialization { .. })), "{err:?}");
}

#[test]
fn committing_an_aborted_transaction_rolls_it_back() {
    let db = setup();
    let s = Session::new(db.clone());
    s.begin().unwrap();
    s.run(|t| set_balance(t, 1, 0)).unwrap();
    let dup = s.run(|t| {
        let h = t.table("acct")?.unwrap();
        t.insert(&h, &batch(&h, &[2], &[5]))
    });
    assert!(dup.is_err());
    s.commit().unwrap();
    assert!(!s.in_transaction());
    assert_eq!(balances(&db.begin()), vec![(1, 100), (2, 200)]);
}

#[test]
fn a_table_name_created_by_an_open_transaction_conflicts_at_once_until_it_ends() {
    let db = Database::in_memory();
    let a = db.begin();
    let h = accounts(&a);
    let b = db.begin();
    let err = b.create_table(h.meta.as_ref().clone()).unwrap_err();
    assert!(matches!(err, Error::Serialization { ref table } if table == "acct"), "{err}");
    // Dropping the table again keeps the name taken until `a` ends.
    a.drop_table("acct").unwrap();
    let c = db.begin();
    assert!(c.create_table(h.meta.as_ref().clone()).is_err());
    a.rollback();
    let d = db.begin();
    accounts(&d);
    d.commit().unwrap();
}
