//! Store behaviour: persistence, scans, updates, deletes, bad files.

use arrow::array::{Array, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Int64Type};
use llkv_store::{
    CmpOp, ColumnMeta, Error, Predicate, ScanRequest, Store, StoreOptions, TableMeta,
};
use std::sync::Arc;

fn meta() -> TableMeta {
    TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("id", DataType::Int64, false),
            ColumnMeta::new("name", DataType::Utf8, true),
            ColumnMeta::new("score", DataType::Float64, true),
        ],
    )
}

fn rows(ids: std::ops::Range<i64>) -> RecordBatch {
    let n = ids.end - ids.start;
    RecordBatch::try_new(
        meta().schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(ids.clone())),
            Arc::new(StringArray::from_iter(
                ids.clone().map(|i| (i % 3 != 0).then(|| format!("n{i}"))),
            )),
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 * 0.5))),
        ],
    )
    .unwrap()
}

fn ids_of(batches: &[RecordBatch]) -> Vec<i64> {
    batches.iter().flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec()).collect()
}

fn small() -> StoreOptions {
    StoreOptions { chunk_rows: 100, ..StoreOptions::default() }
}

#[test]
fn tables_and_rows_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    {
        let store = Store::open(&path, small()).unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w.create_table(meta()).unwrap();
        w.append(id, &rows(0..250)).unwrap();
        w.commit().unwrap();
    }
    let store = Store::open(&path, small()).unwrap();
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    let got = store.scan(t, &ScanRequest::all()).unwrap();
    assert_eq!(ids_of(&got), (0..250).collect::<Vec<_>>());
    let names: usize = got.iter().map(|b| b.column(1).null_count()).sum();
    assert_eq!(names, (0..250).filter(|i| i % 3 == 0).count());
}

#[test]
fn single_row_appends_merge_into_few_segments() {
    let store =
        Store::with_pager(Arc::new(llkv_store::pager::MemoryPager::new()), small()).unwrap();
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(meta()).unwrap();
    w.commit().unwrap();
    for i in 0..300 {
        let mut w = store.begin_write().unwrap();
        w.append(id, &rows(i..i + 1)).unwrap();
        w.commit().unwrap();
    }
    let v = store.current();
    let t = v.table(id).unwrap();
    assert!(t.segment_count() <= 3 + 7, "{} segments", t.segment_count());
    assert_eq!(ids_of(&store.scan(t, &ScanRequest::all()).unwrap()), (0..300).collect::<Vec<_>>());
}

#[test]
fn predicates_filter_and_prune() {
    let store =
        Store::with_pager(Arc::new(llkv_store::pager::MemoryPager::new()), small()).unwrap();
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(meta()).unwrap();
    w.append(id, &rows(0..1000)).unwrap();
    w.commit().unwrap();
    let v = store.current();
    let t = v.table(id).unwrap();
    let req = ScanRequest {
        projection: Some(vec![0]),
        predicates: vec![
            Predicate::Compare {
                column: 0,
                op: CmpOp::GtEq,
                value: Arc::new(Int64Array::from(vec![420])),
            },
            Predicate::Compare {
                column: 0,
                op: CmpOp::Lt,
                value: Arc::new(Int64Array::from(vec![430])),
            },
        ],
        ..Default::default()
    };
    assert_eq!(ids_of(&store.scan(t, &req).unwrap()), (420..430).collect::<Vec<_>>());
    let req = ScanRequest {
        projection: Some(vec![]),
        predicates: vec![Predicate::IsNull { column: 1 }],
        ..Default::default()
    };
    let n: usize = store.scan(t, &req).unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, (0..1000).filter(|i| i % 3 == 0).count());
}

#[test]
fn updates_and_deletes_by_row_id() {
    let store =
        Store::with_pager(Arc::new(llkv_store::pager::MemoryPager::new()), small()).unwrap();
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(meta()).unwrap();
    w.append(id, &rows(0..300)).unwrap();
    w.delete(id, &[5, 150]).unwrap();
    let vals: Arc<dyn Array> = Arc::new(Int64Array::from(vec![-1, -2]));
    w.update(id, 0, &[0, 299], &vals).unwrap();
    w.commit().unwrap();
    let v = store.current();
    let t = v.table(id).unwrap();
    let got = ids_of(&store.scan(t, &ScanRequest::all()).unwrap());
    assert_eq!(got.len(), 298);
    assert_eq!(got[0], -1);
    assert_eq!(*got.last().unwrap(), -2);
    assert!(!got.contains(&5) && !got.contains(&150));
    assert!(matches!(store.read_rows(t, &[5], &[0]), Err(Error::NotFound(_))));
    let b = store.read_rows(t, &[299, 1], &[0]).unwrap();
    assert_eq!(ids_of(&[b]), vec![-2, 1]);
}

#[test]
fn a_foreign_file_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    std::fs::write(&path, b"these are not the bytes you are looking for").unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err}");
    assert!(err.to_string().contains("not an llkv database"));
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn a_second_open_of_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let _first = Store::open(&path, StoreOptions::default()).unwrap();
    let err = Store::open(&path, StoreOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let err = Store::open("/nonexistent/dir/db.llkv", StoreOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Io(_)), "{err}");
}

/// An append of many segments (several groups of 8 encoded while the
/// previous group is written) keeps every row, in order, in full segments.
#[test]
fn a_large_append_of_many_segment_groups_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let opts = StoreOptions { chunk_rows: 10, ..StoreOptions::default() };
    {
        let store = Store::open(&path, opts).unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w.create_table(meta()).unwrap();
        // 25 groups of 8 segments of 10 rows, and a partial one.
        w.append(id, &rows(0..2_005)).unwrap();
        w.commit().unwrap();
    }
    let store = Store::open(&path, opts).unwrap();
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    let segs = t.segments().unwrap();
    assert_eq!(segs.len(), 201);
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.first_row_id, 10 * i as u64);
    }
    let got = store.scan(t, &ScanRequest::all()).unwrap();
    assert_eq!(ids_of(&got), (0..2_005).collect::<Vec<_>>());
    let scores: Vec<f64> = got
        .iter()
        .flat_map(|b| b.column(2).as_primitive::<arrow::datatypes::Float64Type>().values().to_vec())
        .collect();
    assert_eq!(scores, (0..2_005).map(|i| i as f64 * 0.5).collect::<Vec<_>>());
}
