//! The full-scan SUM after deleting 10% of a table, against the same scan
//! before the delete, in one run (issue 8).
//!
//! `cargo bench -p llkv-mvcc --bench scan_after_delete` — set
//! `LLKV_BENCH_ROWS` to change the table size (default 10M rows). The
//! delete is `k % 10 = 0` (scattered, like TPC-H's `l_orderkey % 10 = 0`),
//! one commit; automatic vacuum is off, so the scan filters the deleted rows
//! (through each segment's settled-rows cache, built by the warm-up's first
//! scan). `after_delete_first_scan_after_open` times the first scan after a
//! reopen, which builds that cache.
#![expect(missing_docs, reason = "criterion_group! generates undocumented functions")]

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use llkv_mvcc::{Database, TableHandle, Transaction};
use llkv_store::{ColumnMeta, Durability, ScanRequest, StoreOptions, TableMeta};
use std::sync::Arc;
use std::sync::Mutex;

fn rows() -> usize {
    std::env::var("LLKV_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000)
}

/// SUM(x) as `txn` sees `t`: one parallel pass over the segments, summing
/// each batch as the scan yields it (as a query engine consumes a scan).
fn scan_sum(txn: &Transaction, t: &TableHandle) -> f64 {
    let req = ScanRequest { projection: Some(vec![1]), ..Default::default() };
    let scan = txn.prepare_scan(t, &req).unwrap();
    let total = Mutex::new(0.0f64);
    scan.run_segments(0..scan.segment_count(), |_, b| {
        let s = arrow::compute::sum(b.column(0).as_primitive::<Float64Type>()).unwrap_or(0.0);
        *total.lock().unwrap() += s;
        Ok(())
    })
    .unwrap();
    let local: f64 = scan
        .local_batches()
        .iter()
        .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Float64Type>()).unwrap_or(0.0))
        .sum();
    total.into_inner().unwrap() + local
}

fn bench(c: &mut Criterion) {
    let n = rows();
    let dir = tempfile::tempdir().unwrap();
    let opts = StoreOptions { durability: Durability::Buffered, ..StoreOptions::default() };
    let db = Database::open_with(dir.path().join("scan.llkv"), opts).unwrap();
    db.set_auto_vacuum(None);
    let txn = db.begin();
    let meta = TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("k", DataType::Int64, false),
            ColumnMeta::new("x", DataType::Float64, false),
        ],
    );
    let t = txn.create_table(meta).unwrap();
    let step = 1 << 20;
    let mut start = 0;
    while start < n {
        let len = step.min(n - start);
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter_values(start as i64..(start + len) as i64)),
            Arc::new(Float64Array::from_iter_values((start..start + len).map(|r| r as f64))),
        ];
        txn.insert(&t, &RecordBatch::try_new(t.meta.schema(), cols).unwrap()).unwrap();
        start += len;
    }
    txn.commit().unwrap();
    drop((t, txn));

    let label = format!("rows={n}");
    let mut g = c.benchmark_group("scan_sum_after_delete_10pct");
    g.sample_size(20);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(BenchmarkId::new("before_delete", &label), |b| {
        b.iter(|| {
            let txn = db.begin();
            let t = txn.table("t").unwrap().unwrap();
            scan_sum(&txn, &t)
        })
    });

    // DELETE WHERE k % 10 = 0, in one commit.
    let txn = db.begin();
    let t = txn.table("t").unwrap().unwrap();
    let req = ScanRequest { projection: Some(vec![0]), with_row_ids: true, ..Default::default() };
    let mut ids = Vec::with_capacity(n / 10 + 1);
    for b in txn.scan(&t, &req).unwrap() {
        let k = b.column(0).as_primitive::<Int64Type>();
        let id = b.column(1).as_primitive::<arrow::datatypes::UInt64Type>();
        ids.extend((0..b.num_rows()).filter(|&i| k.value(i) % 10 == 0).map(|i| id.value(i)));
    }
    txn.delete(&t, &ids).unwrap();
    txn.commit().unwrap();

    let want: f64 = (0..n).filter(|r| r % 10 != 0).map(|r| r as f64).sum();
    // The first scan after an open pays for the selection and the copies.
    drop((t, txn));
    drop(db);
    let path = dir.path().join("scan.llkv");
    g.bench_function(BenchmarkId::new("after_delete_first_scan_after_open", &label), |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let db = Database::open_with(&path, opts).unwrap();
                db.set_auto_vacuum(None);
                let txn = db.begin();
                let t = txn.table("t").unwrap().unwrap();
                let t0 = std::time::Instant::now();
                let s = scan_sum(&txn, &t);
                total += t0.elapsed();
                assert!((s - want).abs() <= want * 1e-9, "{s} != {want}");
            }
            total
        })
    });
    let db = Database::open_with(&path, opts).unwrap();
    db.set_auto_vacuum(None);
    g.bench_function(BenchmarkId::new("after_delete", &label), |b| {
        b.iter(|| {
            let txn = db.begin();
            let t = txn.table("t").unwrap().unwrap();
            let s = scan_sum(&txn, &t);
            assert!((s - want).abs() <= want * 1e-9, "{s} != {want}");
            s
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
