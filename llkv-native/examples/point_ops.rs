//! Point operations on a database file, in a loop, for profiling
//! (`perf record -g`): primary-key lookups, then single-row UPDATEs by key
//! inside one transaction, then single-row UPDATEs each committed on its own
//! (OS-buffered durability), then a DELETE of 10% of the rows (rolled back),
//! on an `orders` table with an integer key.
//!
//! `cargo run --release -p llkv-native --example point_ops -- <db file> [seconds] [only] [max ops]`
//! (the file is created with 1.5M rows when it does not exist; `only` is
//! `lookup`, `update`, `commit` (the UPDATEs, committed), `autocommit` or
//! `delete` to run one workload, for a
//! profile of it; `max ops` bounds each loop, as the `tpch` bench's 10,000
//! UPDATEs). On a file with another `orders` table (a TPC-H database), the
//! keys are read from the table first. The UPDATE loops print the cost of
//! their first and last 1,000 statements too. The committed UPDATEs change
//! the file (every one adds a row version).

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};
use llkv_store::{Durability, StoreOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: i64 = 1_500_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: point_ops <db file> [seconds]")?;
    let secs: f64 = args.get(2).map_or(Ok(5.0), |s| s.parse())?;
    let only = args.get(3).map(String::as_str).filter(|o| *o != "all");
    let max_ops: u64 = args.get(4).map_or(Ok(u64::MAX), |s| s.parse())?;
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
    let mut e = NativeEngine::new(db.clone());
    e.execute("SELECT * FROM orders WHERE o_orderkey = 1")?;
    let keys = table_keys(&mut e)?;
    let key = |i: u64| keys[((i * 104_729) % keys.len() as u64) as usize];
    let run = |e: &mut NativeEngine, what: &str, sql: &dyn Fn(u64) -> String| {
        let t0 = Instant::now();
        let mut n = 0u64;
        let (mut first, mut last) = (0.0, std::collections::VecDeque::new());
        while t0.elapsed() < Duration::from_secs_f64(secs) && n < max_ops {
            n += 1;
            let t = Instant::now();
            if let Err(err) = e.execute(&sql(n)) {
                eprintln!("{what}: {err}");
                return;
            }
            let dt = t.elapsed().as_secs_f64();
            if n <= 1000 {
                first += dt;
            }
            last.push_back(dt);
            if last.len() > 1000 {
                last.pop_front();
            }
        }
        let tail: f64 = last.iter().sum::<f64>() / last.len().max(1) as f64;
        println!(
            "{what}: {:.1} µs/op over {n} ops (first 1000: {:.1}, last 1000: {:.1})",
            t0.elapsed().as_secs_f64() / n as f64 * 1e6,
            first / n.min(1000) as f64 * 1e6,
            tail * 1e6
        );
    };
    let update = |i: u64| {
        format!("UPDATE orders SET o_totalprice = o_totalprice + 1 WHERE o_orderkey = {}", key(i))
    };
    if runs("lookup") {
        run(&mut e, "lookup", &|i| format!("SELECT * FROM orders WHERE o_orderkey = {}", key(i)));
    }
    if runs("update") || only == Some("commit") {
        e.execute("BEGIN")?;
        let t0 = Instant::now();
        run(&mut e, "update_in_txn", &update);
        // The bench commits (`commit`, which changes the file); otherwise the
        // changes are rolled back to keep the file.
        let end = if only == Some("commit") { "COMMIT" } else { "ROLLBACK" };
        let t1 = Instant::now();
        e.execute(end)?;
        println!(
            "  {end}: {:.1} ms (with the UPDATEs: {:.2} s)",
            t1.elapsed().as_secs_f64() * 1e3,
            t0.elapsed().as_secs_f64()
        );
    }
    if only == Some("autocommit") {
        drop(e);
        drop(db);
        let buffered = StoreOptions { durability: Durability::Buffered, ..StoreOptions::default() };
        let mut e = NativeEngine::new(Database::open_with(path, buffered)?);
        run(&mut e, "update_autocommit_buffered", &update);
        return Ok(());
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

/// The keys of `orders`: `0..ROWS` for the table this example makes, else
/// read from the table.
fn table_keys(e: &mut NativeEngine) -> Result<Vec<i64>, Box<dyn std::error::Error>> {
    let out = e.execute("SELECT count(*), max(o_orderkey) FROM orders")?;
    let Some(Output::Rows { batches, .. }) = out.first() else { return Err("no count".into()) };
    let b = batches.first().ok_or("no count")?;
    let n = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64)?;
    let max = arrow::compute::cast(b.column(1), &arrow::datatypes::DataType::Int64)?;
    let int = |a: &ArrayRef| a.as_any().downcast_ref::<Int64Array>().map(|a| a.value(0));
    if int(&n) == Some(ROWS) && int(&max) == Some(ROWS - 1) {
        return Ok((0..ROWS).collect());
    }
    let mut keys = Vec::new();
    for o in e.execute("SELECT o_orderkey FROM orders")? {
        if let Output::Rows { batches, .. } = o {
            for b in batches {
                let c = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64)?;
                if let Some(c) = c.as_any().downcast_ref::<Int64Array>() {
                    keys.extend(c.values().iter().copied());
                }
            }
        }
    }
    if keys.is_empty() {
        return Err("orders has no rows".into());
    }
    Ok(keys)
}
