//! Index benchmarks (issues 6 and 8) on an orders-like table of 1.5M rows
//! (`o_orderkey` PRIMARY KEY, `o_key2` the same values without an index):
//!
//! - point lookup by primary key: native SQL, and the llkv-mvcc API;
//! - the same SQL lookup on the unindexed copy (a pruned scan), for the ratio;
//! - a single-row UPDATE by key inside a transaction (native SQL);
//! - bulk loading rows into a table with and without a PRIMARY KEY;
//! - the TPC-H micro shapes on a 9-column `orders` table of 1.5M rows (strings,
//!   Decimal128, Date32): `SELECT *` by key, and an UPDATE of the string
//!   `o_comment` / the decimal `o_totalprice` by key inside a transaction;
//! - the same 9-column `orders` in a database *file* (written, then reopened so
//!   reads go through the memory map): `SELECT *` by key, the issue-8 UPDATE of
//!   `o_totalprice` by key inside a transaction, and the same UPDATE in
//!   autocommit with OS-buffered durability (group `orders_9col_file`).
//!
//! `cargo bench -p llkv-native --bench index_lookup` (one group:
//! `cargo bench -p llkv-native --bench index_lookup -- orders_9col_file`)
#![expect(missing_docs, reason = "criterion_group! generates undocumented functions")]

use arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Float64Array, Int32Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow::datatypes::DataType;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use llkv_mvcc::{Database, TableHandle};
use llkv_native::NativeEngine;
use llkv_sql::Engine;
use llkv_store::{ColumnMeta, ScanRequest, TableMeta};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: i64 = 1_500_000;
const BATCH: i64 = 65_536;

fn meta(pk: bool) -> TableMeta {
    let mut m = TableMeta::new(
        "orders",
        vec![
            ColumnMeta::new("o_orderkey", DataType::Int64, false),
            ColumnMeta::new("o_custkey", DataType::Int64, false),
            ColumnMeta::new("o_totalprice", DataType::Float64, false),
            ColumnMeta::new("o_comment", DataType::Utf8, false),
            ColumnMeta::new("o_key2", DataType::Int64, false),
        ],
    );
    if pk {
        m.primary_key = vec![0];
    }
    m
}

fn batch(t: &TableHandle, from: i64, to: i64) -> RecordBatch {
    // Keys are shuffled within each batch (a multiplicative permutation), so
    // statistics alone cannot find a key.
    let n = to - from;
    let keys: Vec<i64> = (0..n).map(|i| from + (i * 7919) % n).collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(keys.clone())),
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k % 150_000))),
        Arc::new(Float64Array::from_iter_values(keys.iter().map(|k| (k % 1000) as f64 * 1.5))),
        Arc::new(StringArray::from_iter_values(keys.iter().map(|k| format!("comment {k}")))),
        Arc::new(Int64Array::from(keys)),
    ];
    RecordBatch::try_new(t.meta.schema(), cols).unwrap_or_else(|e| panic!("batch: {e}"))
}

fn load(db: &Database, rows: i64, pk: bool) {
    let txn = db.begin();
    txn.create_table(meta(pk)).unwrap();
    txn.commit().unwrap();
    let mut from = 0;
    while from < rows {
        let to = (from + BATCH).min(rows);
        let txn = db.begin();
        let t = txn.table("orders").unwrap().unwrap();
        txn.insert(&t, &batch(&t, from, to)).unwrap();
        txn.commit().unwrap();
        from = to;
    }
}

fn key(i: u64) -> i64 {
    ((i * 104_729) % ROWS as u64) as i64
}

fn lookups(c: &mut Criterion) {
    let db = Database::in_memory();
    load(&db, ROWS, true);
    let mut e = NativeEngine::new(db.clone());
    // Warm: build the primary-key index once (first use).
    e.execute("SELECT o_totalprice FROM orders WHERE o_orderkey = 1").unwrap();
    let mut g = c.benchmark_group("point_lookup");
    g.measurement_time(Duration::from_secs(5));
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_sql_pk", format!("rows={ROWS}")), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("SELECT o_totalprice FROM orders WHERE o_orderkey = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("mvcc_lookup_pk", format!("rows={ROWS}")), |b| {
        b.iter(|| {
            i += 1;
            let txn = db.begin();
            let t = txn.table("orders").unwrap().unwrap();
            let k: ArrayRef = Arc::new(Int64Array::from(vec![key(i)]));
            let req = ScanRequest { projection: Some(vec![2]), ..Default::default() };
            black_box(txn.lookup(&t, &[0], &[k], &req).unwrap())
        })
    });
    g.sample_size(10);
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_sql_no_index_scan", format!("rows={ROWS}")), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("SELECT o_totalprice FROM orders WHERE o_key2 = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    g.finish();

    let mut g = c.benchmark_group("update_by_key");
    g.measurement_time(Duration::from_secs(5));
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_sql_in_txn", format!("rows={ROWS}")), |b| {
        // Each UPDATE runs in its own BEGIN … ROLLBACK; only the UPDATE is timed.
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                i += 1;
                e.execute("BEGIN").unwrap();
                let sql = format!(
                    "UPDATE orders SET o_totalprice = o_totalprice + 1 WHERE o_orderkey = {}",
                    key(i)
                );
                let t0 = Instant::now();
                black_box(e.execute(&sql).unwrap());
                total += t0.elapsed();
                e.execute("ROLLBACK").unwrap();
            }
            total
        })
    });
    g.finish();
}

fn bulk_load(c: &mut Criterion) {
    let rows = 500_000;
    let mut g = c.benchmark_group("bulk_load");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows as u64));
    for pk in [false, true] {
        let name = if pk { "with_pk" } else { "no_pk" };
        g.bench_function(BenchmarkId::new(name, format!("rows={rows}")), |b| {
            b.iter(|| {
                let db = Database::in_memory();
                load(&db, rows, pk);
                black_box(db)
            })
        });
    }
    g.finish();
}

/// The TPC-H `orders` columns, `o_orderkey` the primary key.
fn orders_meta() -> TableMeta {
    let mut m = TableMeta::new(
        "orders",
        vec![
            ColumnMeta::new("o_orderkey", DataType::Int64, false),
            ColumnMeta::new("o_custkey", DataType::Int64, false),
            ColumnMeta::new("o_orderstatus", DataType::Utf8, false),
            ColumnMeta::new("o_totalprice", DataType::Decimal128(15, 2), false),
            ColumnMeta::new("o_orderdate", DataType::Date32, false),
            ColumnMeta::new("o_orderpriority", DataType::Utf8, false),
            ColumnMeta::new("o_clerk", DataType::Utf8, false),
            ColumnMeta::new("o_shippriority", DataType::Int32, false),
            ColumnMeta::new("o_comment", DataType::Utf8, false),
        ],
    );
    m.primary_key = vec![0];
    m
}

fn orders_batch(t: &TableHandle, from: i64, to: i64) -> RecordBatch {
    let n = to - from;
    let keys: Vec<i64> = (0..n).map(|i| from + (i * 7919) % n).collect();
    let prio = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"];
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(keys.clone())),
        Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k % 150_000))),
        Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| ["O", "F", "P"][(k % 3) as usize]),
        )),
        Arc::new(
            Decimal128Array::from_iter_values(keys.iter().map(|k| i128::from(k % 50_000_000)))
                .with_precision_and_scale(15, 2)
                .unwrap_or_else(|e| panic!("decimal: {e}")),
        ),
        Arc::new(Date32Array::from_iter_values(keys.iter().map(|k| 8000 + (k % 2400) as i32))),
        Arc::new(StringArray::from_iter_values(keys.iter().map(|k| prio[(k % 5) as usize]))),
        Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| format!("Clerk#{:09}", k % 1000)),
        )),
        Arc::new(Int32Array::from_iter_values(keys.iter().map(|_| 0))),
        Arc::new(StringArray::from_iter_values(
            keys.iter().map(|k| format!("furiously regular deposits sleep {k} carefully")),
        )),
    ];
    RecordBatch::try_new(t.meta.schema(), cols).unwrap_or_else(|e| panic!("orders batch: {e}"))
}

fn load_orders(db: &Database) {
    let txn = db.begin();
    txn.create_table(orders_meta()).unwrap();
    txn.commit().unwrap();
    let mut from = 0;
    while from < ROWS {
        let to = (from + BATCH).min(ROWS);
        let txn = db.begin();
        let t = txn.table("orders").unwrap().unwrap();
        txn.insert(&t, &orders_batch(&t, from, to)).unwrap();
        txn.commit().unwrap();
        from = to;
    }
}

fn orders_shapes(c: &mut Criterion) {
    let db = Database::in_memory();
    load_orders(&db);
    let mut e = NativeEngine::new(db.clone());
    e.execute("SELECT * FROM orders WHERE o_orderkey = 1").unwrap();
    let rows = format!("rows={ROWS},cols=9");
    let mut g = c.benchmark_group("orders_9col");
    g.measurement_time(Duration::from_secs(5));
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_select_star_pk", &rows), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("SELECT * FROM orders WHERE o_orderkey = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    let updates = [
        ("native_update_comment_in_txn", "o_comment = 'changed by the benchmark'"),
        ("native_update_totalprice_in_txn", "o_totalprice = o_totalprice + 1"),
    ];
    for (name, set) in updates {
        let mut i = 0u64;
        g.bench_function(BenchmarkId::new(name, &rows), |b| {
            // Each UPDATE runs in its own BEGIN … ROLLBACK; only the UPDATE is timed.
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    i += 1;
                    e.execute("BEGIN").unwrap();
                    let sql = format!("UPDATE orders SET {set} WHERE o_orderkey = {}", key(i));
                    let t0 = Instant::now();
                    black_box(e.execute(&sql).unwrap());
                    total += t0.elapsed();
                    e.execute("ROLLBACK").unwrap();
                }
                total
            })
        });
    }
    // Committed (autocommit) updates leave patches; lookups must stay fast after them.
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_update_comment_autocommit", &rows), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("UPDATE orders SET o_comment = 'c{i}' WHERE o_orderkey = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_select_star_pk_after_updates", &rows), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("SELECT * FROM orders WHERE o_orderkey = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    g.finish();
}

/// The issue-8 point operations on a database file: written, closed, reopened.
fn orders_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.llkv");
    load_orders(&Database::open(&path).unwrap());
    let buffered = llkv_store::StoreOptions {
        durability: llkv_store::Durability::Buffered,
        ..llkv_store::StoreOptions::default()
    };
    let db = Database::open_with(&path, buffered).unwrap();
    let mut e = NativeEngine::new(db.clone());
    // Warm: the primary-key index is built on first use.
    e.execute("SELECT * FROM orders WHERE o_orderkey = 1").unwrap();
    let rows = format!("rows={ROWS},cols=9");
    let mut g = c.benchmark_group("orders_9col_file");
    g.measurement_time(Duration::from_secs(5));
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_select_star_pk", &rows), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("SELECT * FROM orders WHERE o_orderkey = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_update_totalprice_in_txn", &rows), |b| {
        // As the TPC-H micro-workload: many UPDATEs in one transaction, which
        // is rolled back after each sample (only the UPDATEs are timed).
        b.iter_custom(|iters| {
            e.execute("BEGIN").unwrap();
            let t0 = Instant::now();
            for _ in 0..iters {
                i += 1;
                let sql = format!(
                    "UPDATE orders SET o_totalprice = o_totalprice + 1 WHERE o_orderkey = {}",
                    key(i)
                );
                black_box(e.execute(&sql).unwrap());
            }
            let total = t0.elapsed();
            e.execute("ROLLBACK").unwrap();
            total
        })
    });
    let mut i = 0u64;
    g.bench_function(
        BenchmarkId::new("native_update_totalprice_autocommit_buffered", &rows),
        |b| {
            b.iter(|| {
                i += 1;
                let sql = format!(
                    "UPDATE orders SET o_totalprice = o_totalprice + 1 WHERE o_orderkey = {}",
                    key(i)
                );
                black_box(e.execute(&sql).unwrap())
            })
        },
    );
    let mut i = 0u64;
    g.bench_function(BenchmarkId::new("native_select_star_pk_after_updates", &rows), |b| {
        b.iter(|| {
            i += 1;
            let sql = format!("SELECT * FROM orders WHERE o_orderkey = {}", key(i));
            black_box(e.execute(&sql).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, orders_shapes, orders_file, lookups, bulk_load);
criterion_main!(benches);
