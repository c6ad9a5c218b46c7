//! Point operations on a database file, in a loop, for profiling
//! (`perf record -g`): primary-key lookups, then single-row UPDATEs by key
//! inside one transaction, then a DELETE of 10% of the rows (rolled back), on
//! an `orders` table with an integer key.
//!
//! `cargo run --release -p llkv-native --example point_ops -- <db file> [seconds] [only]`
//! (the file is created with 1.5M rows when it does not exist; `only` is
//! `lookup`, `update` or `delete` to run one workload, for a profile of it).

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::Engine;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: i64 = 1_500_000;

fn key(i: u64) -> i64 {
    ((i * 104_729) % ROWS as u64) as i64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: point_ops <db file> [seconds]")?;
    let secs: f64 = args.get(2).map_or(Ok(5.0), |s| s.parse())?;
    let only = args.get(3).map(String::as_str);
    let runs = |w: &str| only.is_none_or(|o| o == w);
    if !std::path::Path::new(path).exists() {
        let db = Database::open(path)?;
        let mut e = NativeEngine::new(db.clone());
        e.execute(
            "CREATE TABLE orders (o_orderkey BIGINT PRIMARY KEY, o_custkey BIGINT, \
             o_totalprice DOUBLE, o_comment VARCHAR, o_clerk VARCHAR)",
        )?;
        let mut from = 0;
        while from < ROWS {
            let to = (from + 65_536).min(ROWS);
            let txn = db.begin();
            let t = txn.table("orders")?.ok_or("no table")?;
            let keys: Vec<i64> = (from..to).collect();
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(keys.clone())),
                Arc::new(Int64Array::from_iter_values(keys.iter().map(|k| k % 150_000))),
                Arc::new(Float64Array::from_iter_values(keys.iter().map(|k| *k as f64 * 0.5))),
                Arc::new(StringArray::from_iter_values(
                    keys.iter().map(|k| format!("furiously regular deposits {k}")),
                )),
                Arc::new(StringArray::from_iter_values(
                    keys.iter().map(|k| format!("Clerk#{:09}", k % 1000)),
                )),
            ];
            txn.insert(&t, &RecordBatch::try_new(t.meta.schema(), cols)?)?;
            txn.commit()?;
            from = to;
        }
    }
    let db = Database::open(path)?;
    let mut e = NativeEngine::new(db);
    e.execute("SELECT * FROM orders WHERE o_orderkey = 1")?;
    let run = |e: &mut NativeEngine, what: &str, sql: &dyn Fn(u64) -> String| {
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < Duration::from_secs_f64(secs) {
            n += 1;
            if let Err(err) = e.execute(&sql(n)) {
                eprintln!("{what}: {err}");
                return;
            }
        }
        println!("{what}: {:.1} µs/op", t0.elapsed().as_secs_f64() / n as f64 * 1e6);
    };
    if runs("lookup") {
        run(&mut e, "lookup", &|i| format!("SELECT * FROM orders WHERE o_orderkey = {}", key(i)));
    }
    if runs("update") {
        e.execute("BEGIN")?;
        run(&mut e, "update_in_txn", &|i| {
            format!(
                "UPDATE orders SET o_totalprice = o_totalprice + 1 WHERE o_orderkey = {}",
                key(i)
            )
        });
        e.execute("ROLLBACK")?;
    }
    if !runs("delete") {
        return Ok(());
    }
    // DELETE of 10% of the rows (by an expression no index answers), rolled back.
    e.execute("BEGIN")?;
    let t0 = Instant::now();
    e.execute("DELETE FROM orders WHERE o_orderkey % 10 = 0")?;
    println!("delete_10pct: {:.3} s", t0.elapsed().as_secs_f64());
    e.execute("ROLLBACK")?;
    Ok(())
}
