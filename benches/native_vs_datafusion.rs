//! The native route against the DataFusion route on the same llkv tables
//! (issue 6), and the native route's thread scaling.
//!
//! - `native_vs_datafusion/<query>/<route>/rows=N`: full scan + aggregate,
//!   selective filter, group by with many groups, two-table join, ORDER BY …
//!   LIMIT, on one database file (1M rows by default, `LLKV_BENCH_ROWS`).
//! - `native_threads/aggregate/threads=T/rows=N`: a 10M-row scan + aggregate
//!   on the native route in a rayon pool of 1 and 2 threads
//!   (`LLKV_BENCH_BIG_ROWS` changes the size).
//!
//! `cargo bench --bench native_vs_datafusion`
#![expect(missing_docs, reason = "criterion_group! generates undocumented functions")]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use llkv::Database;
use llkv::native::NativeEngine;
use llkv::provider::LlkvCatalog;
use llkv::sql::Engine;

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/data.rs"]
mod data;
use data::{dim, dim_schema, fact, fact_schema, meta};

const QUERIES: [(&str, &str); 5] = [
    ("scan_aggregate", "SELECT sum(x), avg(k), max(g), count(*) FROM t"),
    ("selective_filter", "SELECT count(*), sum(x) FROM t WHERE k BETWEEN 500000 AND 505000"),
    ("group_by_100k_groups", "SELECT h, sum(x), count(*) FROM t GROUP BY h"),
    ("join", "SELECT d.name, sum(t.x) FROM t JOIN d ON t.g = d.g GROUP BY d.name"),
    ("top_k", "SELECT k, x FROM t ORDER BY x DESC, k LIMIT 10"),
];

const BIG_QUERY: &str = "SELECT sum(x), min(k), max(g), count(*) FROM t WHERE g < 900";

fn env_rows(var: &str, default: usize) -> usize {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn database(path: &std::path::Path, n: usize, with_dim: bool) -> Database {
    let db = Database::open(path).unwrap();
    let txn = db.begin();
    let t = txn.create_table(meta("t", &fact_schema(true))).unwrap();
    for b in fact(n, true) {
        txn.insert(&t, &b).unwrap();
    }
    if with_dim {
        let d = txn.create_table(meta("d", &dim_schema())).unwrap();
        txn.insert(&d, &dim()).unwrap();
    }
    txn.commit().unwrap();
    db
}

fn routes(c: &mut Criterion) {
    let n = env_rows("LLKV_BENCH_ROWS", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir.path().join("bench.llkv"), n, true);
    let df = LlkvCatalog::new(db.clone()).session_context();
    let mut native = NativeEngine::new(db);
    let mut g = c.benchmark_group("native_vs_datafusion");
    g.sample_size(10);
    for (name, sql) in QUERIES {
        // Same answer on both routes (row counts), checked once.
        let a = native.execute(sql).unwrap();
        let b = rt.block_on(async { df.sql(sql).await.unwrap().collect().await.unwrap() });
        let rows_native: usize = match &a[0] {
            llkv::sql::Output::Rows { batches, .. } => batches.iter().map(|b| b.num_rows()).sum(),
            _ => 0,
        };
        assert_eq!(rows_native, b.iter().map(|b| b.num_rows()).sum::<usize>(), "{name}");
        g.bench_function(BenchmarkId::new(name, format!("native/rows={n}")), |bch| {
            bch.iter(|| native.execute(sql).unwrap())
        });
        g.bench_function(BenchmarkId::new(name, format!("datafusion/rows={n}")), |bch| {
            bch.iter(|| rt.block_on(async { df.sql(sql).await.unwrap().collect().await.unwrap() }))
        });
    }
    g.finish();
}

fn threads(c: &mut Criterion) {
    let n = env_rows("LLKV_BENCH_BIG_ROWS", 10_000_000);
    let dir = tempfile::tempdir().unwrap();
    let db = database(&dir.path().join("big.llkv"), n, false);
    let mut native = NativeEngine::new(db);
    let mut g = c.benchmark_group("native_threads");
    g.sample_size(10);
    for t in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(t).build().unwrap();
        g.bench_function(BenchmarkId::new("aggregate", format!("threads={t}/rows={n}")), |b| {
            b.iter(|| pool.install(|| native.execute(BIG_QUERY).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, routes, threads);
criterion_main!(benches);
