//! Transaction benchmarks (issue 4): single-row autocommit inserts and updates
//! with synced and OS-buffered durability, and the bank workload at 1, 2 and
//! 8 threads. `cargo bench -p llkv-mvcc --bench transactions`.
#![expect(missing_docs, reason = "criterion_group! generates undocumented functions")]

use arrow::array::{AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Int64Type};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use llkv_mvcc::{Database, Error, TableHandle, Transaction, row_ids_of};
use llkv_store::{CmpOp, ColumnMeta, Durability, Predicate, ScanRequest, StoreOptions, TableMeta};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

fn open(dir: &tempfile::TempDir, durability: Durability) -> Database {
    let opts = StoreOptions { durability, ..StoreOptions::default() };
    Database::open_with(dir.path().join("bench.llkv"), opts).unwrap()
}

fn create(db: &Database, pk: bool) {
    let txn = db.begin();
    let mut meta = TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("id", DataType::Int64, false),
            ColumnMeta::new("v", DataType::Int64, false),
        ],
    );
    if pk {
        meta.primary_key = vec![0];
    }
    txn.create_table(meta).unwrap();
    txn.commit().unwrap();
}

fn row(t: &TableHandle, id: i64, v: i64) -> RecordBatch {
    RecordBatch::try_new(
        t.meta.schema(),
        vec![Arc::new(Int64Array::from(vec![id])), Arc::new(Int64Array::from(vec![v]))],
    )
    .unwrap()
}

fn find(txn: &Transaction, t: &TableHandle, id: i64) -> llkv_mvcc::Result<(u64, i64)> {
    let req = ScanRequest {
        projection: Some(vec![1]),
        predicates: vec![Predicate::Compare {
            column: 0,
            op: CmpOp::Eq,
            value: Arc::new(Int64Array::from(vec![id])),
        }],
        with_row_ids: true,
        ..Default::default()
    };
    let b = txn.scan(t, &req)?;
    let v = b
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
        .unwrap_or(0);
    Ok((row_ids_of(&b)[0], v))
}

fn bench_autocommit(c: &mut Criterion) {
    let mut g = c.benchmark_group("autocommit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1));
    for (name, durability) in
        [("synced", Durability::Immediate), ("buffered", Durability::Buffered)]
    {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir, durability);
        create(&db, false);
        let mut next = 0i64;
        g.bench_function(BenchmarkId::new("insert_1_row", name), |b| {
            b.iter(|| {
                let txn = db.begin();
                let t = txn.table("t").unwrap().unwrap();
                txn.insert(&t, &row(&t, next, next)).unwrap();
                txn.commit().unwrap();
                next += 1;
            })
        });
        g.bench_function(BenchmarkId::new("update_1_row", format!("{name}/rows={next}")), |b| {
            let mut x = 1u64;
            b.iter(|| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let id = (x >> 33) as i64 % next.max(1);
                let txn = db.begin();
                let t = txn.table("t").unwrap().unwrap();
                let (rid, v) = find(&txn, &t, id).unwrap();
                txn.update(&t, &[rid], &row(&t, id, v + 1)).unwrap();
                txn.commit().unwrap();
            })
        });
    }
    g.finish();
}

fn bench_bank(c: &mut Criterion) {
    let mut g = c.benchmark_group("bank");
    g.sample_size(10);
    for threads in [1usize, 2, 8] {
        g.bench_function(
            BenchmarkId::new("transfers_per_s_buffered", format!("threads={threads}")),
            |b| {
                b.iter_custom(|iters| {
                    let dir = tempfile::tempdir().unwrap();
                    let db = open(&dir, Durability::Buffered);
                    create(&db, true);
                    let txn = db.begin();
                    let t = txn.table("t").unwrap().unwrap();
                    for id in 0..100 {
                        txn.insert(&t, &row(&t, id, 1000)).unwrap();
                    }
                    txn.commit().unwrap();
                    let target = iters;
                    let done = AtomicU64::new(0);
                    let stop = AtomicBool::new(false);
                    let t0 = Instant::now();
                    std::thread::scope(|s| {
                        for w in 0..threads {
                            let (db, done, stop) = (&db, &done, &stop);
                            s.spawn(move || {
                                let mut x = 0x9E37_79B9u64 + w as u64;
                                while !stop.load(Ordering::Relaxed) {
                                    x = x
                                        .wrapping_mul(6364136223846793005)
                                        .wrapping_add(1442695040888963407);
                                    let (a, b) =
                                        (((x >> 33) % 100) as i64, ((x >> 45) % 100) as i64);
                                    if a == b {
                                        continue;
                                    }
                                    let txn = db.begin();
                                    let t = txn.table("t").unwrap().unwrap();
                                    let r = (|| -> llkv_mvcc::Result<()> {
                                        let (ra, va) = find(&txn, &t, a)?;
                                        let (rb, vb) = find(&txn, &t, b)?;
                                        txn.update(&t, &[ra], &row(&t, a, va - 1))?;
                                        txn.update(&t, &[rb], &row(&t, b, vb + 1))?;
                                        txn.commit().map(|_| ())
                                    })();
                                    match r {
                                        Ok(()) => {
                                            if done.fetch_add(1, Ordering::Relaxed) + 1 >= target {
                                                stop.store(true, Ordering::Relaxed);
                                            }
                                        }
                                        Err(Error::Serialization { .. }) => {}
                                        Err(e) => panic!("{e}"),
                                    }
                                }
                            });
                        }
                    });
                    t0.elapsed()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_autocommit, bench_bank);
criterion_main!(benches);
