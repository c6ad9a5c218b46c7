//! Runs one SQL query in a loop over an existing database file, on the
//! native or the DataFusion route, for profiling (`perf record`): prints
//! each run's time and the median. A quick probe; the `tpch` bench is the
//! measurement.
//!
//! `cargo run --release --example query_loop -- <db file> <native|datafusion> <runs> <sql>`
//!
//! With one run the result is printed too (for an `EXPLAIN ANALYZE`).

use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, Output};
use std::time::Instant;

/// The allocator the `llkv` binary uses, so that the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: query_loop <db file> <native|datafusion> <runs> <sql>";
    let path = args.get(1).ok_or(usage)?;
    let route = args.get(2).ok_or(usage)?;
    let runs: usize = args.get(3).ok_or(usage)?.parse()?;
    let sql = args.get(4).ok_or(usage)?;
    let db = Database::open(path)?;
    let mut engine: Box<dyn Engine> = match route.as_str() {
        "native" => Box::new(NativeEngine::new(db)),
        "datafusion" => Box::new(DataFusionEngine::new(db)?),
        other => return Err(format!("unknown route {other}; {usage}").into()),
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let out = engine.execute(sql)?;
        let took = start.elapsed().as_secs_f64() * 1e3;
        times.push(took);
        if let Some(Output::Rows { batches, .. }) = out.last() {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            println!("{took:8.3} ms  {rows} rows");
            if runs == 1 {
                println!("{}", arrow::util::pretty::pretty_format_batches(batches)?);
            }
        }
    }
    times.sort_by(f64::total_cmp);
    println!("median {:.3} ms of {} runs", times[times.len() / 2], times.len());
    Ok(())
}
