//! Read-only opens: shared between readers, exclusive of writers, every
//! change refused, the file left byte-for-byte unchanged.

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::DataType;
use llkv_mvcc::{Database, Error};
use llkv_store::{ColumnMeta, ScanRequest, TableMeta};
use std::sync::Arc;

fn read_only_error(e: &Error) -> bool {
    matches!(e, Error::Store(llkv_store::Error::ReadOnly(_)))
}

#[test]
fn read_only_opens_share_the_file_refuse_writes_and_exclude_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.llkv");
    {
        let db = Database::open(&path).unwrap();
        let txn = db.begin();
        let t = txn
            .create_table(TableMeta::new("t", vec![ColumnMeta::new("a", DataType::Int64, true)]))
            .unwrap();
        let batch =
            RecordBatch::try_new(t.meta.schema(), vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])
                .unwrap();
        txn.insert(&t, &batch).unwrap();
        txn.commit().unwrap();
    }
    let before = std::fs::read(&path).unwrap();

    let r1 = Database::open_read_only(&path).unwrap();
    let r2 = Database::open_read_only(&path).expect("a second reader shares the file");
    assert!(r1.is_read_only() && r2.is_read_only());
    assert!(matches!(Database::open(&path), Err(Error::Store(llkv_store::Error::Locked { .. }))));

    let txn = r1.begin();
    let t = txn.table("t").unwrap().unwrap();
    let rows: usize =
        txn.scan(&t, &ScanRequest::default()).unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 3);
    let batch =
        RecordBatch::try_new(t.meta.schema(), vec![Arc::new(Int64Array::from(vec![4]))]).unwrap();
    assert!(read_only_error(&txn.insert(&t, &batch).unwrap_err()));
    assert!(read_only_error(&txn.drop_table("t").unwrap_err()));
    let meta = TableMeta::new("u", vec![ColumnMeta::new("a", DataType::Int64, true)]);
    assert!(read_only_error(&txn.create_table(meta).unwrap_err()));
    assert!(read_only_error(&txn.set_property("k", Some("v".into())).unwrap_err()));
    txn.commit().unwrap();
    assert!(matches!(r2.store().begin_write(), Err(llkv_store::Error::ReadOnly(_))));
    drop((txn, t, r1, r2));

    assert_eq!(std::fs::read(&path).unwrap(), before, "a read-only open changed the file");
    let writer = Database::open(&path).expect("a writer opens once the readers are gone");
    assert!(
        matches!(
            Database::open_read_only(&path),
            Err(Error::Store(llkv_store::Error::Locked { .. }))
        ),
        "no reader beside a writer"
    );
    drop(writer);
}

#[test]
fn a_read_only_open_of_a_missing_file_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.llkv");
    assert!(Database::open_read_only(&path).is_err());
    assert!(!path.exists());
}
