//! Column-store benchmarks (issue 3). Names carry their parameters.
//!
//! `cargo bench -p llkv-store --bench store` — set `LLKV_BENCH_ROWS` to change
//! the scan size (default 10M rows).
#![expect(missing_docs, reason = "criterion_group! generates undocumented functions")]

use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use llkv_store::{
    CmpOp, ColumnMeta, Durability, Predicate, ScanRequest, Store, StoreOptions, TableMeta,
};
use rayon::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn scan_rows() -> usize {
    std::env::var("LLKV_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000_000)
}

fn lineitem_meta() -> TableMeta {
    let mut cols = Vec::new();
    for i in 0..4 {
        cols.push(ColumnMeta::new(format!("k{i}"), DataType::Int64, false));
    }
    for i in 0..4 {
        cols.push(ColumnMeta::new(format!("f{i}"), DataType::Float64, false));
    }
    for i in 0..4 {
        cols.push(ColumnMeta::new(format!("d{i}"), DataType::Date32, false));
    }
    for i in 0..4 {
        cols.push(ColumnMeta::new(format!("s{i}"), DataType::Utf8, false));
    }
    TableMeta::new("lineitem", cols)
}

fn lineitem_batch(start: i64, rows: usize) -> RecordBatch {
    let meta = lineitem_meta();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for i in 0..4 {
        cols.push(Arc::new(Int64Array::from_iter_values(
            (0..rows as i64).map(|r| (start + r) * (i + 1)),
        )));
    }
    for i in 0..4 {
        cols.push(Arc::new(Float64Array::from_iter_values(
            (0..rows).map(|r| r as f64 * 0.25 + i as f64),
        )));
    }
    for i in 0..4 {
        cols.push(Arc::new(arrow::array::Date32Array::from_iter_values(
            (0..rows as i32).map(|r| 9000 + (r + i) % 2500),
        )));
    }
    let flags = ["A", "F", "N", "R", "O"];
    for i in 0..4 {
        cols.push(Arc::new(StringArray::from_iter_values(
            (0..rows).map(|r| flags[(r + i) % flags.len()]),
        )));
    }
    RecordBatch::try_new(meta.schema(), cols).unwrap()
}

fn two_col_meta() -> TableMeta {
    TableMeta::new(
        "t",
        vec![
            ColumnMeta::new("k", DataType::Int64, false),
            ColumnMeta::new("x", DataType::Float64, false),
        ],
    )
}

fn two_col_batch(start: i64, rows: usize) -> RecordBatch {
    RecordBatch::try_new(
        two_col_meta().schema(),
        vec![
            Arc::new(Int64Array::from_iter_values(start..start + rows as i64)),
            Arc::new(Float64Array::from_iter_values((0..rows).map(|r| (r % 1000) as f64 * 0.5))),
        ],
    )
    .unwrap()
}

fn build_two_col(path: &Path, rows: usize) -> Store {
    build_two_col_with(path, rows, StoreOptions::default().chunk_rows)
}

fn build_two_col_with(path: &Path, rows: usize, chunk_rows: usize) -> Store {
    let opts = StoreOptions { durability: Durability::Buffered, chunk_rows };
    let store = Store::open(path, opts).unwrap();
    let mut w = store.begin_write().unwrap();
    let id = w.create_table(two_col_meta()).unwrap();
    let step = 1 << 20;
    let mut start = 0;
    while start < rows {
        let n = step.min(rows - start);
        w.append(id, &two_col_batch(start as i64, n)).unwrap();
        start += n;
    }
    w.commit().unwrap();
    store
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    g.sample_size(10);
    let rows = 200_000;
    g.throughput(Throughput::Elements(rows as u64));
    let batch = lineitem_batch(0, rows);
    g.bench_function(BenchmarkId::new("lineitem16_file_synced", format!("rows={rows}")), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let store =
                    Store::open(dir.path().join("a.llkv"), StoreOptions::default()).unwrap();
                let t0 = Instant::now();
                let mut w = store.begin_write().unwrap();
                let id = w.create_table(lineitem_meta()).unwrap();
                w.append(id, &batch).unwrap();
                w.commit().unwrap();
                total += t0.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn bench_scan(c: &mut Criterion) {
    let rows = scan_rows();
    let dir = tempfile::tempdir().unwrap();
    let store = build_two_col(&dir.path().join("scan.llkv"), rows);
    let v = store.current();
    let t = Arc::clone(v.table_by_name("t").unwrap());
    // The same data, already in memory, in batches of the same size.
    let mem: Vec<RecordBatch> =
        store.scan(&t, &ScanRequest::all()).unwrap().iter().map(deep_copy).collect();

    let mut g = c.benchmark_group("scan_sum");
    g.sample_size(20);
    g.throughput(Throughput::Elements(rows as u64));
    let label = format!("rows={rows}");
    // The file side sums each segment's batch as the scan yields it (one
    // parallel pass, as a query engine consumes a scan), like the in-memory
    // side sums its batches in one parallel pass.
    g.bench_function(BenchmarkId::new("int64_llkv_file", &label), |b| {
        let req = ScanRequest { projection: Some(vec![0]), ..Default::default() };
        b.iter(|| {
            let total = AtomicI64::new(0);
            store
                .scan_with(&t, &req, 0..usize::MAX, |_, batch| {
                    let s = arrow::compute::sum(batch.column(0).as_primitive::<Int64Type>());
                    total.fetch_add(s.unwrap_or(0), Ordering::Relaxed);
                    Ok(())
                })
                .unwrap();
            total.into_inner()
        })
    });
    g.bench_function(BenchmarkId::new("int64_arrow_in_memory", &label), |b| {
        b.iter(|| {
            mem.par_iter()
                .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Int64Type>()).unwrap_or(0))
                .sum::<i64>()
        })
    });
    g.bench_function(BenchmarkId::new("float64_llkv_file", &label), |b| {
        let req = ScanRequest { projection: Some(vec![1]), ..Default::default() };
        b.iter(|| {
            let total = Mutex::new(0.0f64);
            store
                .scan_with(&t, &req, 0..usize::MAX, |_, batch| {
                    let s = arrow::compute::sum(batch.column(0).as_primitive::<Float64Type>());
                    *total.lock().unwrap() += s.unwrap_or(0.0);
                    Ok(())
                })
                .unwrap();
            total.into_inner().unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("float64_arrow_in_memory", &label), |b| {
        b.iter(|| {
            mem.par_iter()
                .map(|b| {
                    arrow::compute::sum(b.column(1).as_primitive::<Float64Type>()).unwrap_or(0.0)
                })
                .sum::<f64>()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("range_filter");
    g.sample_size(20);
    let lo = (rows / 2) as i64;
    let hi = lo + (rows / 100) as i64;
    let filtered = ScanRequest {
        projection: Some(vec![1]),
        predicates: vec![
            Predicate::Compare {
                column: 0,
                op: CmpOp::GtEq,
                value: Arc::new(Int64Array::from(vec![lo])),
            },
            Predicate::Compare {
                column: 0,
                op: CmpOp::Lt,
                value: Arc::new(Int64Array::from(vec![hi])),
            },
        ],
        ..Default::default()
    };
    g.bench_function(BenchmarkId::new("clustered_1pct_pruned", &label), |b| {
        b.iter(|| sum_f64(&store.scan(&t, &filtered).unwrap()))
    });
    let full = ScanRequest { projection: Some(vec![0, 1]), ..Default::default() };
    g.bench_function(BenchmarkId::new("full_scan_same_columns", &label), |b| {
        b.iter(|| sum_f64_col(&store.scan(&t, &full).unwrap(), 1))
    });
    g.finish();
}

fn bench_point(c: &mut Criterion) {
    let rows = 1_000_000;
    let dir = tempfile::tempdir().unwrap();
    let store = build_two_col(&dir.path().join("point.llkv"), rows);
    let mut g = c.benchmark_group("point");
    let label = format!("rows={rows}");
    let mut x = 12345u64;
    g.bench_function(BenchmarkId::new("read_by_row_id", &label), |b| {
        let v = store.current();
        let t = Arc::clone(v.table_by_name("t").unwrap());
        b.iter(|| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            store.read_rows(&t, &[x % rows as u64], &[0, 1]).unwrap()
        })
    });
    g.sample_size(20);
    g.bench_function(BenchmarkId::new("update_by_row_id_buffered_commit", &label), |b| {
        let id = store.current().table_by_name("t").unwrap().id;
        let val: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
        b.iter(|| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let mut w = store.begin_write().unwrap();
            w.update(id, 1, &[x % rows as u64], &val).unwrap();
            w.commit().unwrap();
        })
    });
    g.finish();
}

/// Opening must not take longer as the data grows: ~100 MB against ~1 GB.
/// `reopen` is `Store::open` alone (no segment record is decoded);
/// `reopen_and_read_one_row` adds decoding one segment record, the first
/// chunk read (from llkv's own map, at the location the segment record
/// carries) and closing the store. `reopen_and_first_commit` adds a synced
/// commit: llkv appends it itself, so simd-r-drive's open, which reads the
/// whole file, never runs (docs/design.md §3).
fn bench_open(c: &mut Criterion) {
    let mut g = c.benchmark_group("open");
    g.sample_size(10);
    for rows in [6_600_000usize, 66_000_000] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("open.llkv");
        drop(build_two_col(&path, rows));
        let mb = std::fs::metadata(&path).unwrap().len() >> 20;
        let label = format!("rows={rows}/file_mb={mb}");
        // Closing is left out here; `reopen_and_read_one_row` includes it.
        g.bench_function(BenchmarkId::new("reopen", &label), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    let store = Store::open(&path, StoreOptions::default()).unwrap();
                    total += t0.elapsed();
                    drop(store);
                }
                total
            })
        });
        g.bench_function(BenchmarkId::new("reopen_and_read_one_row", &label), |b| {
            b.iter(|| {
                let store = Store::open(&path, StoreOptions::default()).unwrap();
                let v = store.current();
                let t = v.table_by_name("t").unwrap();
                store.read_rows(t, &[rows as u64 / 2], &[0]).unwrap()
            })
        });
        // The first write after a reopen: a synced commit of one property.
        g.bench_function(BenchmarkId::new("reopen_and_first_commit", &label), |b| {
            let mut n = 0u64;
            b.iter(|| {
                n += 1;
                let store = Store::open(&path, StoreOptions::default()).unwrap();
                let mut w = store.begin_write().unwrap();
                w.set_property("bench", Some(n.to_string()));
                w.commit().unwrap();
            })
        });
    }
    g.finish();
}

/// Vacuum copies what the last commit reaches into a new file: time per MB
/// of live data (nothing to drop here, so every iteration does the same work).
fn bench_vacuum(c: &mut Criterion) {
    let mut g = c.benchmark_group("vacuum");
    g.sample_size(10);
    let rows = 6_600_000usize;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vacuum.llkv");
    let store = build_two_col(&path, rows);
    let bytes = std::fs::metadata(&path).unwrap().len();
    g.throughput(Throughput::Bytes(bytes));
    let label = format!("rows={rows}/file_mb={}", bytes >> 20);
    g.bench_function(BenchmarkId::new("copy_live_file", &label), |b| {
        b.iter(|| store.vacuum().unwrap())
    });
    g.finish();
}

/// A copy of `b` in freshly allocated memory (concatenating with an empty
/// array forces a copy).
fn deep_copy(b: &RecordBatch) -> RecordBatch {
    let cols = b
        .columns()
        .iter()
        .map(|c| {
            arrow::compute::concat(&[
                c.as_ref(),
                arrow::array::new_empty_array(c.data_type()).as_ref(),
            ])
            .unwrap()
        })
        .collect();
    RecordBatch::try_new(b.schema(), cols).unwrap()
}

fn sum_i64(batches: &[RecordBatch]) -> i64 {
    batches
        .par_iter()
        .map(|b| arrow::compute::sum(b.column(0).as_primitive::<Int64Type>()).unwrap_or(0))
        .sum()
}

fn sum_f64(batches: &[RecordBatch]) -> f64 {
    sum_f64_col(batches, 0)
}

fn sum_f64_col(batches: &[RecordBatch], col: usize) -> f64 {
    batches
        .par_iter()
        .map(|b| arrow::compute::sum(b.column(col).as_primitive::<Float64Type>()).unwrap_or(0.0))
        .sum()
}

/// The chunk-size rule: large chunks amortize per-chunk work in scans; small
/// ones make pruning finer and point changes cheaper. Measured side by side.
fn bench_chunk_rows(c: &mut Criterion) {
    let rows = 4_000_000;
    let mut g = c.benchmark_group("chunk_rows");
    g.sample_size(10);
    for chunk in [4_096usize, 16_384, 65_536, 262_144, 1_048_576] {
        let dir = tempfile::tempdir().unwrap();
        let store = build_two_col_with(&dir.path().join("c.llkv"), rows, chunk);
        let v = store.current();
        let t = Arc::clone(v.table_by_name("t").unwrap());
        let label = format!("rows={rows}/chunk={chunk}");
        let sum = ScanRequest { projection: Some(vec![0]), ..Default::default() };
        g.bench_function(BenchmarkId::new("scan_sum_int64", &label), |b| {
            b.iter(|| sum_i64(&store.scan(&t, &sum).unwrap()))
        });
        let lo = (rows / 2) as i64;
        let filtered = ScanRequest {
            projection: Some(vec![1]),
            predicates: vec![Predicate::Between {
                column: 0,
                low: Arc::new(Int64Array::from(vec![lo])),
                high: Arc::new(Int64Array::from(vec![lo + (rows / 100) as i64])),
            }],
            ..Default::default()
        };
        g.bench_function(BenchmarkId::new("filter_1pct", &label), |b| {
            b.iter(|| sum_f64(&store.scan(&t, &filtered).unwrap()))
        });
        let id = t.id;
        let val: ArrayRef = Arc::new(Float64Array::from(vec![1.0]));
        let mut x = 7u64;
        g.bench_function(BenchmarkId::new("point_update_commit", &label), |b| {
            b.iter(|| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                let mut w = store.begin_write().unwrap();
                w.update(id, 1, &[x % rows as u64], &val).unwrap();
                w.commit().unwrap();
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_append,
    bench_scan,
    bench_point,
    bench_open,
    bench_vacuum,
    bench_chunk_rows
);
criterion_main!(benches);
