//! A transaction's own rows: many single-row updates by key in one
//! transaction (answered from the hash index of the inserted rows once there
//! are enough of them), read back by key and by full scan, rolled back and
//! committed; keys stay unique and write-write conflicts are still found.

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use llkv_mvcc::{Database, Error, TableHandle, Transaction, row_ids_of};
use llkv_store::{CmpOp, ColumnMeta, Predicate, ScanRequest, TableMeta};
use std::collections::BTreeMap;
use std::sync::Arc;

const KEYS: i64 = 300;

/// `t(k BIGINT PRIMARY KEY, v BIGINT, k2 BIGINT, s TEXT)`; `k2` repeats `k`
/// without an index (its lookups take the scan path).
fn create(db: &Database) {
    let txn = db.begin();
    let mut m = TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("k", DataType::Int64, false),
            ColumnMeta::new("v", DataType::Int64, false),
            ColumnMeta::new("k2", DataType::Int64, false),
            ColumnMeta::new("s", DataType::Utf8, true),
        ],
    );
    m.primary_key = vec![0];
    let t = txn.create_table(m).unwrap();
    let keys: Vec<i64> = (0..KEYS).collect();
    let vals: Vec<i64> = keys.iter().map(|k| k * 10).collect();
    txn.insert(&t, &rows(&t, &keys, &vals)).unwrap();
    txn.commit().unwrap();
}

fn rows(t: &TableHandle, keys: &[i64], vals: &[i64]) -> RecordBatch {
    let s: Vec<String> = keys.iter().map(|k| format!("row {k}")).collect();
    RecordBatch::try_new(
        t.meta.schema(),
        vec![
            Arc::new(Int64Array::from(keys.to_vec())),
            Arc::new(Int64Array::from(vals.to_vec())),
            Arc::new(Int64Array::from(keys.to_vec())),
            Arc::new(StringArray::from(s)),
        ],
    )
    .unwrap()
}

fn eq(column: usize, v: i64) -> Predicate {
    Predicate::Compare { column, op: CmpOp::Eq, value: Arc::new(Int64Array::from(vec![v])) }
}

/// The (row id, v) of the rows whose column `column` equals `k`.
fn find(txn: &Transaction, t: &TableHandle, column: usize, k: i64) -> Vec<(u64, i64)> {
    let req = ScanRequest {
        projection: Some(vec![1]),
        predicates: vec![eq(column, k)],
        with_row_ids: true,
        ..Default::default()
    };
    let batches = txn.scan(t, &req).unwrap();
    let ids = row_ids_of(&batches);
    let vals: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    ids.into_iter().zip(vals).collect()
}

/// Every (k, v) the transaction sees, by full scan.
fn all(txn: &Transaction) -> BTreeMap<i64, i64> {
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { projection: Some(vec![0, 1]), ..Default::default() };
    let mut out = BTreeMap::new();
    for b in txn.scan(&t, &req).unwrap() {
        let k = b.column(0).as_primitive::<Int64Type>();
        let v = b.column(1).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            assert!(out.insert(k.value(i), v.value(i)).is_none(), "key {} twice", k.value(i));
        }
    }
    out
}

/// `UPDATE t SET v = v + 1 WHERE k = key` through the key-preserving update.
fn bump(txn: &Transaction, key: i64) -> llkv_mvcc::Result<i64> {
    let t = txn.table("t")?.unwrap();
    let found = find(txn, &t, 0, key);
    let [(id, v)] = found.as_slice() else { panic!("key {key}: {found:?}") };
    txn.update_columns(&t, &[*id], &rows(&t, &[key], &[v + 1]), &[1])?;
    Ok(v + 1)
}

fn committed() -> BTreeMap<i64, i64> {
    (0..KEYS).map(|k| (k, k * 10)).collect()
}

#[test]
fn many_updates_of_same_and_different_keys_in_one_transaction() {
    let db = Database::in_memory();
    create(&db);
    let mut model = committed();
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    for i in 0..2_000i64 {
        // A few hot keys updated again and again, the rest spread out.
        let key = if i % 3 == 0 { i % 5 } else { (i * 37) % KEYS };
        let v = bump(&txn, key).unwrap();
        *model.get_mut(&key).unwrap() += 1;
        assert_eq!(v, model[&key]);
        if i % 97 == 0 {
            // The indexed lookup and the scan of the unindexed copy agree on every key.
            for k in [key, (key + 1) % KEYS, KEYS + 5] {
                let by_key: Vec<i64> = find(&txn, &t, 0, k).iter().map(|r| r.1).collect();
                let by_scan: Vec<i64> = find(&txn, &t, 2, k).iter().map(|r| r.1).collect();
                assert_eq!(by_key, by_scan, "key {k}");
                assert_eq!(by_key, model.get(&k).map(|v| vec![*v]).unwrap_or_default());
            }
        }
    }
    assert_eq!(all(&txn), model);
    // Another transaction sees none of it.
    assert_eq!(all(&db.begin()), committed());
    txn.rollback();
    assert_eq!(all(&db.begin()), committed());

    // Again, committed this time.
    let txn = db.begin();
    let mut model = committed();
    for i in 0..1_000i64 {
        let key = (i * 7) % 50;
        bump(&txn, key).unwrap();
        *model.get_mut(&key).unwrap() += 1;
    }
    txn.commit().unwrap();
    let after = db.begin();
    assert_eq!(all(&after), model);
    let t = after.table("t").unwrap().unwrap();
    for k in [0, 7, 49, 50, KEYS - 1] {
        assert_eq!(find(&after, &t, 0, k).iter().map(|r| r.1).collect::<Vec<_>>(), vec![model[&k]]);
    }
}

#[test]
fn own_inserts_and_deletes_are_found_by_key_and_keys_stay_unique() {
    let db = Database::in_memory();
    create(&db);
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    // Many one-row inserts of new keys (enough for the local index).
    for k in KEYS..KEYS + 200 {
        txn.insert(&t, &rows(&t, &[k], &[k])).unwrap();
    }
    for k in [KEYS, KEYS + 99, KEYS + 199] {
        assert_eq!(find(&txn, &t, 0, k).iter().map(|r| r.1).collect::<Vec<_>>(), vec![k]);
    }
    // Delete some of the new rows again, and a committed one.
    for k in [KEYS + 10, KEYS + 11, 3] {
        let ids: Vec<u64> = find(&txn, &t, 0, k).iter().map(|r| r.0).collect();
        assert_eq!(ids.len(), 1);
        txn.delete(&t, &ids).unwrap();
        assert!(find(&txn, &t, 0, k).is_empty(), "key {k} deleted");
        assert!(find(&txn, &t, 2, k).is_empty(), "key {k} deleted (scan)");
    }
    // A deleted key can be inserted again; a live one cannot.
    txn.insert(&t, &rows(&t, &[KEYS + 10], &[-1])).unwrap();
    assert_eq!(find(&txn, &t, 0, KEYS + 10).iter().map(|r| r.1).collect::<Vec<_>>(), vec![-1]);
    let dup = txn.insert(&t, &rows(&t, &[KEYS + 20], &[0])).unwrap_err();
    assert!(matches!(dup, Error::Constraint(_)), "{dup}");
}

#[test]
fn changing_a_key_is_still_checked() {
    let db = Database::in_memory();
    create(&db);
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    for _ in 0..100 {
        bump(&txn, 1).unwrap();
    }
    // Row 1 takes key 2 (which exists): `changed` names the key column.
    let [(id, v)] = find(&txn, &t, 0, 1)[..] else { panic!("key 1") };
    let e = txn.update_columns(&t, &[id], &rows(&t, &[2], &[v]), &[0, 1]).unwrap_err();
    assert!(matches!(e, Error::Constraint(_)), "{e}");
    assert!(txn.commit().is_err(), "the failed transaction must not commit");
    assert_eq!(all(&db.begin()), committed());
    // Moving a key to a free value works, and the old key is gone.
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    let [(id, v)] = find(&txn, &t, 0, 1)[..] else { panic!("key 1") };
    txn.update_columns(&t, &[id], &rows(&t, &[KEYS + 1], &[v]), &[0]).unwrap();
    assert!(find(&txn, &t, 0, 1).is_empty());
    txn.commit().unwrap();
    let after = db.begin();
    let t = after.table("t").unwrap().unwrap();
    assert_eq!(find(&after, &t, 0, KEYS + 1).iter().map(|r| r.1).collect::<Vec<_>>(), vec![10]);
}

#[test]
fn write_write_conflicts_are_found_after_many_own_updates() {
    let db = Database::in_memory();
    create(&db);
    let a = db.begin();
    for i in 0..500 {
        bump(&a, i % 100).unwrap();
    }
    // B touches a key A updated: conflict while A runs.
    let b = db.begin();
    assert!(matches!(bump(&b, 42), Err(Error::Serialization { .. })));
    // C touches a key A did not: fine, and it commits first.
    let c = db.begin();
    bump(&c, 200).unwrap();
    c.commit().unwrap();
    // D starts before A commits and updates a key A changed after A commits:
    // first updater wins.
    let d = db.begin();
    a.commit().unwrap();
    assert!(matches!(bump(&d, 7), Err(Error::Serialization { .. })));
    let mut model = committed();
    for i in 0..500 {
        *model.get_mut(&(i % 100)).unwrap() += 1;
    }
    *model.get_mut(&200).unwrap() += 1;
    assert_eq!(all(&db.begin()), model);
}

/// A float key: the local index and a scan agree on -0.0, 0.0 and NaN.
#[test]
fn float_keys_match_as_a_scan_does() {
    let db = Database::in_memory();
    let txn = db.begin();
    let mut m = TableMeta::new(
        "f",
        vec![
            ColumnMeta::new("x", DataType::Float64, true),
            ColumnMeta::new("y", DataType::Float64, true),
        ],
    );
    m.unique = vec![vec![0]];
    let t = txn.create_table(m).unwrap();
    let mut vals: Vec<Option<f64>> = (0..100).map(|i| Some(f64::from(i) + 0.5)).collect();
    vals.extend([Some(0.0), Some(-0.0), Some(f64::NAN), None, None]);
    for v in &vals {
        let col: ArrayRef = Arc::new(Float64Array::from(vec![*v]));
        txn.insert(
            &t,
            &RecordBatch::try_new(t.meta.schema(), vec![Arc::clone(&col), col]).unwrap(),
        )
        .unwrap();
    }
    for probe in [0.0, -0.0, f64::NAN, 3.5, 7.0] {
        let get = |column: usize| -> Vec<u64> {
            let req = ScanRequest {
                projection: Some(vec![1]),
                predicates: vec![Predicate::Compare {
                    column,
                    op: CmpOp::Eq,
                    value: Arc::new(Float64Array::from(vec![probe])),
                }],
                ..Default::default()
            };
            let b = txn.scan(&t, &req).unwrap();
            let mut bits: Vec<u64> = b
                .iter()
                .flat_map(|b| {
                    let c = b.column(0).as_primitive::<Float64Type>();
                    (0..c.len()).map(|i| c.value(i).to_bits()).collect::<Vec<_>>()
                })
                .collect();
            bits.sort_unstable();
            bits
        };
        assert_eq!(get(0), get(1), "probe {probe}");
    }
}

/// 32-bit integer and text keys: the local index and a scan of an unindexed
/// copy of the column agree, deleted rows included.
#[test]
fn int32_and_text_keys_match_as_a_scan_does() {
    use arrow::array::Int32Array;
    let db = Database::in_memory();
    let txn = db.begin();
    let mut m = TableMeta::new(
        "k",
        vec![
            ColumnMeta::new("i", DataType::Int32, true),
            ColumnMeta::new("s", DataType::Utf8, true),
            ColumnMeta::new("i2", DataType::Int32, true),
            ColumnMeta::new("s2", DataType::Utf8, true),
        ],
    );
    m.unique = vec![vec![0], vec![1]];
    let t = txn.create_table(m).unwrap();
    for n in 0..150i32 {
        let (i, s) =
            if n % 10 == 9 { (None, None) } else { (Some(n - 70), Some(format!("key {n}"))) };
        let (i, s): (ArrayRef, ArrayRef) =
            (Arc::new(Int32Array::from(vec![i])), Arc::new(StringArray::from(vec![s])));
        let cols = vec![Arc::clone(&i), Arc::clone(&s), i, s];
        txn.insert(&t, &RecordBatch::try_new(t.meta.schema(), cols).unwrap()).unwrap();
    }
    let ids = |column: usize, value: ArrayRef| -> Vec<u64> {
        let req = ScanRequest {
            projection: Some(vec![]),
            predicates: vec![Predicate::Compare { column, op: CmpOp::Eq, value }],
            with_row_ids: true,
            ..Default::default()
        };
        row_ids_of(&txn.scan(&t, &req).unwrap())
    };
    let int = |v: i32| -> ArrayRef { Arc::new(Int32Array::from(vec![v])) };
    let text = |v: &str| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    // Delete two rows found by key, then probe hits, misses and the deleted.
    for n in [3, 40] {
        let found = ids(0, int(n - 70));
        assert_eq!(found.len(), 1);
        txn.delete(&t, &found).unwrap();
    }
    for n in [0, 3, 40, 41, 79, 148, 149, 500] {
        let (by_index, by_scan) = (ids(0, int(n - 70)), ids(2, int(n - 70)));
        assert_eq!(by_index, by_scan, "int key {}", n - 70);
        let expected = usize::from(n < 150 && n % 10 != 9 && n != 3 && n != 40);
        assert_eq!(by_index.len(), expected, "int key {}", n - 70);
        let key = format!("key {n}");
        assert_eq!(ids(1, text(&key)), ids(3, text(&key)), "text key {key}");
        assert_eq!(ids(1, text(&key)).len(), expected, "text key {key}");
    }
}
