//! The DataFusion route against DataFusion's own `MemTable` and against
//! Parquet files, on the same data (issue 5): full scan + aggregate, selective
//! filter, group by, two-table join and `count(*)`, at 1M rows. llkv reads
//! from a database file; the Parquet peer reads files written by DataFusion
//! with its default writer settings (page statistics on).
//!
//! `cargo bench --bench provider_vs_memtable` (`LLKV_BENCH_ROWS` changes the size).
#![expect(missing_docs, reason = "criterion_group! generates undocumented functions")]

use arrow::array::RecordBatch;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use llkv::Database;
use llkv::provider::LlkvCatalog;
use std::sync::Arc;

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/data.rs"]
mod data;
use data::{dim, dim_schema, fact, fact_schema, meta};

const QUERIES: [(&str, &str); 5] = [
    ("scan_aggregate", "SELECT sum(x), avg(k), max(g) FROM t"),
    ("selective_filter", "SELECT count(*), sum(x) FROM t WHERE k BETWEEN 500000 AND 505000"),
    ("group_by", "SELECT g, sum(x), count(*) FROM t GROUP BY g"),
    ("join", "SELECT d.name, sum(t.x) FROM t JOIN d ON t.g = d.g GROUP BY d.name"),
    ("count_star", "SELECT count(*) FROM t"),
];

fn rows() -> usize {
    std::env::var("LLKV_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn llkv_context(path: &std::path::Path, fact: &[RecordBatch], dim: &RecordBatch) -> SessionContext {
    let db = Database::open(path).unwrap();
    let txn = db.begin();
    let t = txn.create_table(meta("t", &fact_schema(false))).unwrap();
    for b in fact {
        txn.insert(&t, b).unwrap();
    }
    let d = txn.create_table(meta("d", &dim_schema())).unwrap();
    txn.insert(&d, dim).unwrap();
    txn.commit().unwrap();
    LlkvCatalog::new(db).session_context()
}

fn memtable_context(fact: &[RecordBatch], dim: &RecordBatch) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new());
    let parts = ctx.state().config().target_partitions();
    let mut partitions: Vec<Vec<RecordBatch>> = vec![Vec::new(); parts];
    for (i, b) in fact.iter().enumerate() {
        partitions[i % parts].push(b.clone());
    }
    ctx.register_table("t", Arc::new(MemTable::try_new(fact_schema(false), partitions).unwrap()))
        .unwrap();
    ctx.register_table(
        "d",
        Arc::new(MemTable::try_new(dim_schema(), vec![vec![dim.clone()]]).unwrap()),
    )
    .unwrap();
    ctx
}

/// The same tables as Parquet files in `dir`, registered in a new context.
async fn parquet_context(mem: &SessionContext, dir: &std::path::Path) -> SessionContext {
    let ctx = SessionContext::new_with_config(SessionConfig::new());
    for name in ["t", "d"] {
        let path = dir.join(format!("{name}.parquet"));
        let path = path.to_str().unwrap();
        let opts = DataFrameWriteOptions::new().with_single_file_output(true);
        mem.table(name).await.unwrap().write_parquet(path, opts, None).await.unwrap();
        ctx.register_parquet(name, path, ParquetReadOptions::default()).await.unwrap();
    }
    ctx
}

fn bench(c: &mut Criterion) {
    let n = rows();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let fact = fact(n, false);
    let dim = dim();
    let dir = tempfile::tempdir().unwrap();
    let llkv = llkv_context(&dir.path().join("bench.llkv"), &fact, &dim);
    let mem = memtable_context(&fact, &dim);
    let parquet = rt.block_on(parquet_context(&mem, dir.path()));
    let mut g = c.benchmark_group("df_vs_memtable");
    g.sample_size(20);
    for (name, sql) in QUERIES {
        for (engine, ctx) in [("llkv_file", &llkv), ("memtable", &mem), ("parquet", &parquet)] {
            g.bench_function(BenchmarkId::new(name, format!("{engine}/rows={n}")), |b| {
                b.iter(|| {
                    rt.block_on(async { ctx.sql(sql).await.unwrap().collect().await.unwrap() })
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
