//! Times a few analytic queries on the native route with the columnar path
//! off and on (a quick probe; the criterion bench is the measurement).
//!
//! `cargo run --release -p llkv-native --example columnar_probe [ROWS]`

use arrow::array::{Float64Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use llkv_native::NativeEngine;
use llkv_native::columnar::{ColumnarMode, runs};
use llkv_sql::Engine;
use llkv_store::{ColumnMeta, TableMeta};
use std::sync::Arc;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: i64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("h", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
    ]));
    let dir = tempfile::tempdir()?;
    let db = llkv_mvcc::Database::open(dir.path().join("probe.llkv"))?;
    let txn = db.begin();
    let cols = schema
        .fields()
        .iter()
        .map(|f| ColumnMeta::new(f.name(), f.data_type().clone(), false))
        .collect();
    let t = txn.create_table(TableMeta::new("t", cols))?;
    let mut start = 0;
    while start < n {
        let end = (start + 65_536).min(n);
        let b = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from_iter_values(start..end)),
                Arc::new(Int64Array::from_iter_values(
                    (start..end).map(|v| (v * 104_729) % 100_000),
                )),
                Arc::new(Float64Array::from_iter_values(
                    (start..end).map(|v| (v % 997) as f64 * 0.5),
                )),
            ],
        )?;
        txn.insert(&t, &b)?;
        start = end;
    }
    txn.commit()?;
    let mut e = NativeEngine::new(db);
    for q in [
        "SELECT sum(x), avg(k), max(h), count(*) FROM t",
        "SELECT count(*), sum(x) FROM t WHERE k BETWEEN 500000 AND 505000",
        "SELECT h, sum(x), count(*) FROM t GROUP BY h",
        "SELECT k, x FROM t ORDER BY x DESC, k LIMIT 10",
    ] {
        for mode in [ColumnarMode::Off, ColumnarMode::Auto] {
            ColumnarMode::set(Some(mode));
            let r0 = runs();
            let t0 = Instant::now();
            e.execute(q)?;
            println!("{mode:?}\t{:?}\tcolumnar nodes: {}\t{q}", t0.elapsed(), runs() - r0);
        }
    }
    Ok(())
}
