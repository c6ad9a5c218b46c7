//! Vacuum: the live state rewritten into a new file that replaces the old one.

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use llkv_store::pager::{FaultPlan, FaultyPager, FilePager, Pager};
use llkv_store::{ColumnMeta, Durability, Error, ScanRequest, Store, StoreOptions, TableMeta};
use std::path::Path;
use std::sync::Arc;

fn options() -> StoreOptions {
    StoreOptions { chunk_rows: 1024, durability: Durability::Immediate }
}

fn meta() -> TableMeta {
    TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("k", DataType::Int64, false),
            ColumnMeta::new("v", DataType::Int64, true),
        ],
    )
}

fn rows(range: std::ops::Range<i64>) -> RecordBatch {
    RecordBatch::try_new(
        meta().schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(range.clone())),
            Arc::new(Int64Array::from_iter_values(range.map(|x| x * 10))),
        ],
    )
    .unwrap()
}

/// (row id, k, v) of every live row, in row-id order.
fn contents(store: &Store) -> Vec<(u64, i64, i64)> {
    let v = store.current();
    let Some(t) = v.table_by_name("t") else { return Vec::new() };
    table_contents(store, t)
}

fn table_contents(store: &Store, t: &llkv_store::TableData) -> Vec<(u64, i64, i64)> {
    let req = ScanRequest { with_row_ids: true, ..Default::default() };
    let mut out = Vec::new();
    for b in store.scan(t, &req).unwrap() {
        let k = b.column(0).as_primitive::<Int64Type>();
        let v = b.column(1).as_primitive::<Int64Type>();
        let id = b.column(2).as_primitive::<arrow::datatypes::UInt64Type>();
        for i in 0..b.num_rows() {
            out.push((id.value(i), k.value(i), v.value(i)));
        }
    }
    out
}

/// 20,000 rows; then most rows deleted (whole segments) and many updated.
fn build(store: &Store) {
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(meta()).unwrap();
    w.append(id, &rows(0..20_000)).unwrap();
    w.commit().unwrap();
    let mut w = store.begin_write().unwrap();
    w.delete(id, &(0..15_000).collect::<Vec<u64>>()).unwrap();
    w.commit().unwrap();
    // Updates in several commits: folded chunks supersede older ones.
    for round in 0..3 {
        let mut w = store.begin_write().unwrap();
        let ids: Vec<u64> = (15_000..20_000).step_by(2).collect();
        let vals: ArrayRef =
            Arc::new(Int64Array::from_iter_values(ids.iter().map(|&i| i as i64 * 100 + round)));
        w.update(id, 1, &ids, &vals).unwrap();
        // And a small patch that stays a patch.
        let one: ArrayRef = Arc::new(Int64Array::from(vec![-1]));
        w.update(id, 1, &[19_999], &one).unwrap();
        w.commit().unwrap();
    }
}

fn vacuum_file(path: &Path) -> bool {
    path.with_extension("llkv.vacuum").exists()
}

#[test]
fn vacuum_shrinks_the_file_and_keeps_every_row_and_row_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let store = Store::open(&path, options()).unwrap();
    build(&store);
    let before = contents(&store);
    assert_eq!(before.len(), 5_000);
    let size_before = std::fs::metadata(&path).unwrap().len();
    let stats = store.vacuum().unwrap();
    let size_after = std::fs::metadata(&path).unwrap().len();
    assert!(size_after * 3 < size_before, "{size_before} -> {size_after}: {stats:?}");
    assert_eq!(stats.bytes_after, size_after);
    assert!(stats.segments_dropped >= 14, "{stats:?}");
    assert!(stats.chunks_rewritten >= 1, "{stats:?}");
    assert_eq!(contents(&store), before);
    assert!(!vacuum_file(&path));

    // Writes after a vacuum are kept (simd-r-drive's compact() loses them).
    let mut w = store.begin_write().unwrap();
    let id = w.version().table_by_name("t").unwrap().id;
    w.append(id, &rows(50_000..50_010)).unwrap();
    w.delete(id, &[15_001]).unwrap();
    w.commit().unwrap();
    let after = contents(&store);
    drop(store);
    let reopened = Store::open(&path, options()).unwrap();
    assert_eq!(contents(&reopened), after);
    assert_eq!(after.len(), 5_009);
    assert!(after.iter().any(|r| r.0 == 20_000 && r.1 == 50_000), "new rows keep new ids");
}

#[test]
fn readers_of_older_versions_and_their_buffers_survive_a_vacuum() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let store = Store::open(&path, options()).unwrap();
    build(&store);
    let old_version = store.current();
    let old_table = Arc::clone(old_version.table_by_name("t").unwrap());
    let want = table_contents(&store, &old_table);
    // A zero-copy buffer read before the vacuum.
    let held = store.scan(&old_table, &ScanRequest::all()).unwrap();
    let held_sum: i64 = held
        .iter()
        .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Int64Type>()).unwrap())
        .sum();
    store.vacuum().unwrap();
    // More commits and another vacuum: the old table still reads the old file.
    let mut w = store.begin_write().unwrap();
    let id = w.version().table_by_name("t").unwrap().id;
    w.delete(id, &(15_000..19_000).collect::<Vec<u64>>()).unwrap();
    w.commit().unwrap();
    store.vacuum().unwrap();
    assert_eq!(table_contents(&store, &old_table), want);
    let sum_again: i64 = held
        .iter()
        .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Int64Type>()).unwrap())
        .sum();
    assert_eq!(sum_again, held_sum);
    assert_eq!(contents(&store).len(), 1_000);
}

#[test]
fn an_in_memory_store_vacuums_too() {
    let store = Store::in_memory();
    build(&store);
    let before = contents(&store);
    let size = store.size_bytes().unwrap();
    let stats = store.vacuum().unwrap();
    assert!(stats.bytes_after < size);
    assert_eq!(contents(&store), before);
}

fn faulty_store(path: &Path, plan: FaultPlan) -> (Store, Arc<FaultyPager>) {
    let (file, _) = FilePager::open(path).unwrap();
    let faulty = Arc::new(FaultyPager::new(Arc::new(file), plan));
    let store = Store::with_pager(Arc::clone(&faulty) as Arc<dyn Pager>, options()).unwrap();
    (store, faulty)
}

#[test]
fn a_crash_at_any_step_of_a_vacuum_leaves_the_old_or_the_new_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    {
        let store = Store::open(&path, options()).unwrap();
        build(&store);
    }
    let want = contents(&Store::open(&path, options()).unwrap());
    let original = std::fs::read(&path).unwrap();
    // How many writes a vacuum makes.
    let writes = {
        let (store, faulty) = faulty_store(&path, FaultPlan::default());
        store.vacuum().unwrap();
        faulty.write_count()
    };
    assert!(writes >= 3);
    let mut plans = Vec::new();
    for fail_write in 0..writes {
        for keep_entries in [0, 1, 1000] {
            plans.push(FaultPlan {
                fail_write: Some(fail_write),
                keep_entries,
                ..FaultPlan::default()
            });
        }
    }
    plans.push(FaultPlan { fail_sync: true, ..FaultPlan::default() });
    plans.push(FaultPlan { fail_install: true, ..FaultPlan::default() });
    plans.push(FaultPlan { crash_after_install: true, ..FaultPlan::default() });
    for plan in plans {
        std::fs::write(&path, &original).unwrap();
        let (store, faulty) = faulty_store(&path, plan);
        let err = store.vacuum();
        assert!(err.is_err(), "{plan:?} did not fail");
        if plan.fail_install || plan.crash_after_install {
            assert!(matches!(store.begin_write(), Err(Error::PreviousIo)));
        }
        drop((store, faulty));
        let reopened = Store::open(&path, options()).unwrap();
        assert_eq!(contents(&reopened), want, "{plan:?}");
        assert!(!vacuum_file(&path), "{plan:?}: the stale rewrite file was not removed");
        let replaced = std::fs::metadata(&path).unwrap().len() < original.len() as u64;
        assert_eq!(replaced, plan.crash_after_install, "{plan:?}");
        // And it takes new commits.
        let mut w = reopened.begin_write().unwrap();
        w.set_property("after", Some("crash".into()));
        w.commit().unwrap();
    }
}

#[test]
fn a_stale_rewrite_file_is_removed_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    {
        let store = Store::open(&path, options()).unwrap();
        build(&store);
    }
    std::fs::write(path.with_extension("llkv.vacuum"), b"half a vacuum").unwrap();
    let store = Store::open(&path, options()).unwrap();
    assert!(!vacuum_file(&path));
    assert_eq!(contents(&store).len(), 5_000);
    let first = contents(&store)[0];
    assert_eq!(first.0, 15_000);
    assert!(first.2 != 0);
}

#[test]
fn scattered_deleted_rows_are_dropped_and_the_rest_keep_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.llkv");
    let store = Store::open(&path, options()).unwrap();
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(meta()).unwrap();
    w.append(id, &rows(0..20_000)).unwrap();
    w.commit().unwrap();
    // Keep every tenth row.
    let mut w = store.begin_write().unwrap();
    w.delete(id, &(0..20_000).filter(|i| i % 10 != 3).collect::<Vec<u64>>()).unwrap();
    w.commit().unwrap();
    let before = contents(&store);
    assert_eq!(before.len(), 2_000);
    let size_before = std::fs::metadata(&path).unwrap().len();
    let stats = store.vacuum().unwrap();
    assert_eq!(stats.rows_dropped, 18_000, "{stats:?}");
    let size_after = std::fs::metadata(&path).unwrap().len();
    assert!(size_after * 4 < size_before, "{size_before} -> {size_after}");
    assert_eq!(contents(&store), before);

    // Row ids still address the rows: read, update, delete, exclude.
    let v = store.current();
    let t = v.table_by_name("t").unwrap();
    let b = store.read_rows(t, &[19_993, 3, 10_003], &[0]).unwrap();
    let k: Vec<i64> = b.column(0).as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(k, vec![19_993, 3, 10_003]);
    assert!(matches!(store.read_rows(t, &[4], &[0]), Err(Error::NotFound(_))));
    let excluded = ScanRequest {
        exclude: Some(Arc::new([13u64, 23].into_iter().collect())),
        ..Default::default()
    };
    let n: usize = store.scan(t, &excluded).unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(n, 1_998);
    let mut w = store.begin_write().unwrap();
    let vals: ArrayRef = Arc::new(Int64Array::from(vec![-5, -6]));
    w.update(id, 1, &[13, 19_983], &vals).unwrap();
    w.delete(id, &[23]).unwrap();
    assert!(w.delete(id, &[24]).is_err(), "a dropped row is gone");
    w.append(id, &rows(30_000..30_003)).unwrap();
    w.commit().unwrap();
    let mut want: Vec<(u64, i64, i64)> = before
        .iter()
        .filter(|r| r.0 != 23)
        .map(|&(id, k, v)| match id {
            13 => (id, k, -5),
            19_983 => (id, k, -6),
            _ => (id, k, v),
        })
        .collect();
    want.extend((0..3).map(|i| (20_000 + i as u64, 30_000 + i, (30_000 + i) * 10)));
    assert_eq!(contents(&store), want);
    drop(store);
    let reopened = Store::open(&path, options()).unwrap();
    assert_eq!(contents(&reopened), want);
    reopened.vacuum().unwrap();
    assert_eq!(contents(&reopened), want);
}
