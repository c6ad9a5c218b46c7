//! Indexes: lookups agree with scans at every snapshot, constraints are
//! checked through them, and their definitions survive a reopen.

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type};
use llkv_mvcc::{Database, Error, TableHandle, Transaction, format_index_def, row_ids_of};
use llkv_store::{CmpOp, ColumnMeta, Predicate, ScanRequest, StoreOptions, TableMeta};
use std::sync::Arc;

fn create(txn: &Transaction) -> TableHandle {
    let mut m = TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("k", DataType::Int64, false),
            ColumnMeta::new("g", DataType::Int64, true),
            ColumnMeta::new("s", DataType::Utf8, true),
        ],
    );
    m.primary_key = vec![0];
    let h = txn.create_table(m).unwrap();
    txn.set_property("index.t_g", Some(format_index_def(false, "t", &["g"]))).unwrap();
    h
}

fn rows(t: &TableHandle, ks: impl Iterator<Item = i64>) -> RecordBatch {
    let ks: Vec<i64> = ks.collect();
    let g: Vec<Option<i64>> = ks.iter().map(|k| (k % 5 != 0).then_some(k % 13)).collect();
    let s: Vec<String> = ks.iter().map(|k| format!("s{k}")).collect();
    RecordBatch::try_new(
        t.meta.schema(),
        vec![
            Arc::new(Int64Array::from(ks)),
            Arc::new(Int64Array::from(g)),
            Arc::new(StringArray::from(s)),
        ],
    )
    .unwrap()
}

fn v(x: i64) -> ArrayRef {
    Arc::new(Int64Array::from(vec![x]))
}

/// The sorted keys `k` a scan returns, and the index it used.
fn keys(txn: &Transaction, preds: Vec<Predicate>) -> (Vec<i64>, Option<String>) {
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { predicates: preds, projection: Some(vec![0]), ..Default::default() };
    let scan = txn.prepare_scan(&t, &req).unwrap();
    let used = scan.index_used().map(str::to_string);
    let mut out: Vec<i64> = scan
        .collect()
        .unwrap()
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    out.sort_unstable();
    (out, used)
}

/// The same keys found without any index: a full scan filtered here.
fn model(txn: &Transaction, keep: impl Fn(i64, Option<i64>) -> bool) -> Vec<i64> {
    let t = txn.table("t").unwrap().unwrap();
    let mut out = Vec::new();
    for b in txn.scan(&t, &ScanRequest::all()).unwrap() {
        let k = b.column(0).as_primitive::<Int64Type>();
        let g = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            let gv = (!arrow::array::Array::is_null(g, i)).then(|| g.value(i));
            if keep(k.value(i), gv) {
                out.push(k.value(i));
            }
        }
    }
    out.sort_unstable();
    out
}

fn loaded(n: i64) -> Database {
    let db = Database::in_memory();
    let txn = db.begin();
    let t = create(&txn);
    txn.insert(&t, &rows(&t, 0..n)).unwrap();
    txn.commit().unwrap();
    db
}

#[test]
fn index_lookups_return_the_rows_a_scan_returns() {
    let db = loaded(5000);
    let txn = db.begin();
    let eq = |c, x| Predicate::Compare { column: c, op: CmpOp::Eq, value: v(x) };
    let (got, used) = keys(&txn, vec![eq(0, 1234)]);
    assert_eq!((got, used.as_deref()), (vec![1234], Some("PRIMARY KEY")));
    let (got, used) = keys(&txn, vec![eq(1, 7)]);
    assert_eq!(got, model(&txn, |_, g| g == Some(7)));
    assert_eq!(used.as_deref(), Some("t_g"));
    let range = vec![
        Predicate::Compare { column: 0, op: CmpOp::GtEq, value: v(100) },
        Predicate::Compare { column: 0, op: CmpOp::Lt, value: v(140) },
        eq(1, 3),
    ];
    let (got, _) = keys(&txn, range);
    assert_eq!(got, model(&txn, |k, g| (100..140).contains(&k) && g == Some(3)));
    let list = Predicate::InList { column: 0, values: Arc::new(Int64Array::from(vec![5, 9, -1])) };
    let (got, used) = keys(&txn, vec![list]);
    assert_eq!((got, used.as_deref()), (vec![5, 9], Some("PRIMARY KEY")));
    // A range over most of the table reads it whole instead.
    let wide = Predicate::Compare { column: 0, op: CmpOp::Gt, value: v(10) };
    let (got, used) = keys(&txn, vec![wide]);
    assert_eq!((got.len(), used), (4989, None));
}

#[test]
fn lookups_see_own_rows_and_not_rows_of_later_or_uncommitted_transactions() {
    let db = loaded(1000);
    let reader = db.begin();
    let writer = db.begin();
    let t = writer.table("t").unwrap().unwrap();
    let eq = |x| vec![Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(x) }];
    // The writer deletes key 10 and inserts key 5000.
    let ids = row_ids_of(
        &writer
            .scan(
                &t,
                &ScanRequest {
                    predicates: eq(10),
                    projection: Some(vec![]),
                    with_row_ids: true,
                    ..Default::default()
                },
            )
            .unwrap(),
    );
    assert_eq!(ids.len(), 1);
    writer.delete(&t, &ids).unwrap();
    writer.insert(&t, &rows(&t, [5000].into_iter())).unwrap();
    assert_eq!(keys(&writer, eq(10)).0, Vec::<i64>::new());
    assert_eq!(keys(&writer, eq(5000)).0, vec![5000]);
    assert_eq!(keys(&reader, eq(5000)).0, Vec::<i64>::new());
    writer.commit().unwrap();
    // The reader's snapshot still has key 10 and not 5000; a new one the reverse.
    assert_eq!(keys(&reader, eq(10)).0, vec![10]);
    assert_eq!(keys(&reader, eq(5000)).0, Vec::<i64>::new());
    let fresh = db.begin();
    assert_eq!(keys(&fresh, eq(10)).0, Vec::<i64>::new());
    assert_eq!(keys(&fresh, eq(5000)).0, vec![5000]);
    // The mvcc lookup API agrees.
    let t = fresh.table("t").unwrap().unwrap();
    let got = fresh.lookup(&t, &[0], &[v(5000)], &ScanRequest::all()).unwrap();
    assert_eq!(got.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
}

#[test]
fn primary_key_and_unique_index_violations_are_found_through_the_index() {
    let db = loaded(2000);
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    // Committed duplicate, duplicate inside the batch, duplicate of an own row.
    assert!(matches!(txn.insert(&t, &rows(&t, [1999].into_iter())), Err(Error::Constraint(_))));
    let txn = db.begin();
    assert!(matches!(
        txn.insert(&t, &rows(&t, [3000, 3000].into_iter())),
        Err(Error::Constraint(_))
    ));
    let txn = db.begin();
    txn.insert(&t, &rows(&t, [3000].into_iter())).unwrap();
    assert!(matches!(txn.insert(&t, &rows(&t, [3000].into_iter())), Err(Error::Constraint(_))));
    // Delete then re-insert the same key, committed and own: allowed.
    let txn = db.begin();
    let all_of = |txn: &Transaction, k| {
        let req = ScanRequest {
            predicates: vec![Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(k) }],
            projection: Some(vec![]),
            with_row_ids: true,
            ..Default::default()
        };
        row_ids_of(&txn.scan(&t, &req).unwrap())
    };
    let ids = all_of(&txn, 7);
    txn.update(&t, &ids, &rows(&t, [7].into_iter())).unwrap();
    txn.insert(&t, &rows(&t, [4000].into_iter())).unwrap();
    let own = all_of(&txn, 4000);
    txn.delete(&t, &own).unwrap();
    txn.insert(&t, &rows(&t, [4000].into_iter())).unwrap();
    txn.commit().unwrap();
    // A UNIQUE index made by CREATE UNIQUE INDEX is enforced too.
    let txn = db.begin();
    txn.set_property("index.t_s", Some(format_index_def(true, "t", &["s"]))).unwrap();
    txn.commit().unwrap();
    let txn = db.begin();
    let mut b = rows(&t, [9000].into_iter());
    b = RecordBatch::try_new(
        b.schema(),
        vec![
            Arc::clone(b.column(0)),
            Arc::clone(b.column(1)),
            Arc::new(StringArray::from(vec!["s5"])),
        ],
    )
    .unwrap();
    assert!(matches!(txn.insert(&t, &b), Err(Error::Constraint(_))));
}

#[test]
fn concurrent_inserts_of_one_key_let_only_the_first_commit() {
    let db = loaded(100);
    let a = db.begin();
    let b = db.begin();
    let t = a.table("t").unwrap().unwrap();
    a.insert(&t, &rows(&t, [500].into_iter())).unwrap();
    b.insert(&t, &rows(&t, [500].into_iter())).unwrap();
    a.commit().unwrap();
    assert!(matches!(b.commit(), Err(Error::Constraint(_))));
    let c = db.begin();
    assert_eq!(
        keys(&c, vec![Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(500) }]).0,
        vec![500]
    );
}

#[test]
fn index_definitions_survive_a_reopen_and_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ix.llkv");
    {
        let db = Database::open_with(&path, StoreOptions::default()).unwrap();
        let txn = db.begin();
        let t = create(&txn);
        txn.insert(&t, &rows(&t, 0..3000)).unwrap();
        txn.commit().unwrap();
    }
    let db = Database::open_with(&path, StoreOptions::default()).unwrap();
    assert_eq!(db.store().built_indexes(), 0, "opening builds no index");
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    let names: Vec<String> = txn.indexes(&t).into_iter().map(|i| i.name).collect();
    assert_eq!(names, vec!["PRIMARY KEY".to_string(), "t_g".to_string()]);
    let (got, used) =
        keys(&txn, vec![Predicate::Compare { column: 1, op: CmpOp::Eq, value: v(12) }]);
    assert_eq!(got, model(&txn, |_, g| g == Some(12)));
    assert_eq!(used.as_deref(), Some("t_g"));
    assert_eq!(db.store().built_indexes(), 1);
}

#[test]
fn a_new_tables_handle_used_in_a_later_transaction_fails_cleanly() {
    let db = Database::in_memory();
    let first = db.begin();
    let t = create(&first);
    first.commit().unwrap();
    let later = db.begin();
    // The handle names the first transaction's uncommitted table, not the committed one.
    let _ = later.insert(&t, &rows(&t, 0..3));
    assert!(later.commit().is_err());
    let check = db.begin();
    let t = check.table("t").unwrap().unwrap();
    assert_eq!(check.scan(&t, &ScanRequest::all()).unwrap().len(), 0);
}

/// Many single-row inserts and updates in one transaction (the inserted
/// batches are merged as they come): scans, local deletes, the primary key
/// and the commit see every row exactly once.
#[test]
fn many_small_inserts_in_one_transaction_stay_exact() {
    let db = Database::in_memory();
    let txn = db.begin();
    create(&txn);
    txn.commit().unwrap();
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    txn.insert(&t, &rows(&t, 0..50)).unwrap();
    txn.commit().unwrap();

    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    for k in 50..300 {
        txn.insert(&t, &rows(&t, k..k + 1)).unwrap();
    }
    // Update every third key (committed and inserted here) by delete + insert.
    for k in (0..300).step_by(3) {
        let req =
            ScanRequest { with_row_ids: true, projection: Some(vec![]), ..Default::default() };
        let got = txn.lookup(&t, &[0], &[v(k)], &req).unwrap();
        let ids = row_ids_of(&got);
        assert_eq!(ids.len(), 1, "key {k}");
        txn.update(&t, &ids, &rows(&t, k..k + 1)).unwrap();
    }
    // Delete keys 100..110 (inserted here, some of them updated).
    for k in 100..110 {
        let req =
            ScanRequest { with_row_ids: true, projection: Some(vec![]), ..Default::default() };
        let ids = row_ids_of(&txn.lookup(&t, &[0], &[v(k)], &req).unwrap());
        assert_eq!(txn.delete(&t, &ids).unwrap(), 1, "key {k}");
    }
    let want: Vec<i64> = (0..300).filter(|k| !(100..110).contains(k)).collect();
    assert_eq!(keys(&txn, vec![]).0, want);
    let eq = |k| vec![Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(k) }];
    assert_eq!(keys(&txn, eq(201)).0, vec![201]);
    assert!(keys(&txn, eq(105)).0.is_empty());
    // Inserted and updated keys are still unique; a deleted one is free again.
    assert!(matches!(txn.insert(&t, &rows(&t, 150..151)), Err(Error::Constraint(_))));
    txn.insert(&t, &rows(&t, 105..106)).unwrap();
    txn.commit().unwrap();
    let txn = db.begin();
    let mut want = want;
    want.push(105);
    want.sort_unstable();
    assert_eq!(keys(&txn, vec![]).0, want);
}
