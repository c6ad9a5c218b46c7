//! Times TPC-H queries on the native route without the DataFusion-based
//! benchmark program: loads the CSV files of a TPC-H data directory
//! (`<dir>/csv/<table>.csv`) into an in-memory database and runs each SQL
//! file given, printing rows and seconds (one run each; a quick probe, the
//! `tpch` bench is the measurement).
//!
//! `cargo run --release -p llkv-native --example tpch_probe -- DATA_DIR Q.sql…`

use llkv_native::NativeEngine;
use llkv_sql::{Engine, Output};
use std::time::Instant;

const TABLES: [&str; 8] =
    ["region", "nation", "supplier", "customer", "part", "partsupp", "orders", "lineitem"];

/// The column type of a TPC-H column, from its name.
fn sql_type(col: &str) -> &'static str {
    let c = col.split_once('_').map_or(col, |(_, c)| c);
    if c.ends_with("key") || matches!(c, "size" | "availqty" | "linenumber" | "shippriority") {
        "BIGINT"
    } else if matches!(
        c,
        "quantity"
            | "extendedprice"
            | "discount"
            | "tax"
            | "acctbal"
            | "supplycost"
            | "totalprice"
            | "retailprice"
    ) {
        "DECIMAL(15,2)"
    } else if c.ends_with("date") {
        "DATE"
    } else {
        "VARCHAR"
    }
}

/// The peer harness's checksum: the sum of all numeric cells.
fn checksum(b: &arrow::array::RecordBatch) -> f64 {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, Int64Type};
    let mut s = 0.0;
    for c in b.columns() {
        if let Some(a) = c.as_primitive_opt::<Int64Type>() {
            s += a.iter().flatten().map(|v| v as f64).sum::<f64>();
        } else if let Some(a) = c.as_primitive_opt::<Float64Type>() {
            s += a.iter().flatten().sum::<f64>();
        }
    }
    s
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = std::path::PathBuf::from(args.next().ok_or("usage: tpch_probe DATA_DIR Q.sql…")?);
    let db = llkv_mvcc::Database::in_memory();
    let mut e = NativeEngine::new(db.clone());
    for t in TABLES {
        let path = dir.join("csv").join(format!("{t}.csv"));
        let header = std::fs::read_to_string(&path)?.lines().next().unwrap_or_default().to_string();
        let cols: Vec<String> = header.split(',').map(|c| format!("{c} {}", sql_type(c))).collect();
        e.execute(&format!("CREATE TABLE {t} ({})", cols.join(", ")))?;
        let txn = db.begin();
        let handle = txn.table(t)?.ok_or("table missing")?;
        let schema = handle.meta.schema();
        let reader = arrow::csv::ReaderBuilder::new(schema)
            .with_header(true)
            .with_batch_size(65_536)
            .build(std::fs::File::open(&path)?)?;
        let t0 = Instant::now();
        let mut n = 0;
        for b in reader {
            let b = b?;
            n += b.num_rows();
            txn.insert(&handle, &b)?;
        }
        txn.commit()?;
        eprintln!("loaded {t}: {n} rows in {:.2}s", t0.elapsed().as_secs_f64());
    }
    for q in args {
        let sql = std::fs::read_to_string(&q)?;
        let t0 = Instant::now();
        let r = e.execute(&sql);
        let secs = t0.elapsed().as_secs_f64();
        match r {
            Ok(out) => {
                let (mut rows, mut sum) = (0usize, 0f64);
                if let Some(Output::Rows { batches, .. }) = out.last() {
                    for b in batches {
                        rows += b.num_rows();
                        sum += checksum(b);
                    }
                }
                println!("{q}\trows={rows}\tchecksum={sum}\t{secs:.3}s");
            }
            Err(err) => println!("{q}\terror={err}\t{secs:.3}s"),
        }
    }
    Ok(())
}
