//! The storage micro-workloads of `peers.py`, with the same SQL, order, key
//! samples and record fields, through one route's SQL (point lookups and
//! updates are one statement each); the client bulk insert goes through the
//! MVCC API with Arrow batches.
//!
//! One workload llkv adds: `update_10k_autocommit_buffered`, the autocommit
//! updates again with OS-buffered durability (the database is reopened with
//! `Durability::Buffered` for it, untimed).

use crate::load;
use crate::measure::{self, Fingerprint, Timing};
use crate::pyrand::PyRandom;
use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use llkv::Database;
use llkv::sql::Engine;
use llkv::store::{Durability, StoreOptions};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// `peers.MICRO_SCAN_SUM`.
pub const SCAN_SUM: &str = "select sum(l_extendedprice) from lineitem";
/// `peers.MICRO_FILTER` (~1% of lineitem).
pub const FILTER: &str = "select count(*) from lineitem where l_shipdate between date '1995-06-01' and date '1995-06-25'";
/// `peers.MICRO_LOOKUP`.
pub const LOOKUP: &str = "select * from orders where o_orderkey = ?";
/// `peers.MICRO_UPDATE`.
pub const UPDATE: &str = "update orders set o_totalprice = o_totalprice + 1 where o_orderkey = ?";
/// `peers.MICRO_DELETE` (~10% of lineitem).
pub const DELETE: &str = "delete from lineitem where l_orderkey % 10 = 0";
/// Rows of the bulk inserts.
pub const BULK_ROWS: usize = 1_000_000;
/// Point lookups.
pub const LOOKUPS: usize = 1_000;
/// Single-row updates.
pub const UPDATES: usize = 10_000;

/// Workload names and descriptions, in run order (as `peers.MICRO`, plus the
/// buffered autocommit updates).
pub fn workloads() -> Vec<(&'static str, String)> {
    vec![
        ("scan_sum", format!("full scan: {SCAN_SUM}")),
        ("filter_1pct", format!("selective filter ~1%: {FILTER}")),
        (
            "point_lookup_1k",
            format!(
                "{LOOKUPS} single-row lookups by o_orderkey, one statement each (seconds for all)"
            ),
        ),
        (
            "insert_select_1M",
            format!(
                "INSERT INTO <empty lineitem-shaped table> SELECT * FROM lineitem LIMIT {BULK_ROWS}"
            ),
        ),
        (
            "insert_client_1M",
            format!(
                "{BULK_ROWS} lineitem rows handed over by the client in the engine's bulk path \
                 (llkv: Arrow batches of 64K rows through the MVCC API, one transaction)"
            ),
        ),
        (
            "update_10k_txn",
            format!("{UPDATES} single-row UPDATEs by o_orderkey inside one transaction"),
        ),
        (
            "update_10k_autocommit",
            format!("{UPDATES} single-row UPDATEs by o_orderkey, each its own commit"),
        ),
        (
            "update_10k_autocommit_buffered",
            format!(
                "{UPDATES} single-row UPDATEs by o_orderkey, each its own commit, \
                 OS-buffered durability (llkv only)"
            ),
        ),
        ("delete_10pct", format!("delete ~10%: {DELETE}")),
        ("scan_sum_after_delete", "the full scan again, after the delete".to_string()),
    ]
}

/// Runs the micro-workloads on the database file `db_path` (which they
/// change); `emit` receives each record.
pub fn run(
    db_path: &Path,
    data: &Path,
    open: &dyn Fn(Database) -> Result<Box<dyn Engine>, String>,
    t: Timing,
    mut emit: impl FnMut(&str, Value),
) -> Result<(), String> {
    let mut db = Database::open(db_path).map_err(|e| e.to_string())?;
    let mut eng = open(db.clone())?;
    let total_lineitem = load::parquet_rows(&data.join("lineitem.parquet"))?;

    let scan = |eng: &mut dyn Engine| -> Result<Fingerprint, String> {
        Ok(measure::fingerprint(&measure::query(eng, SCAN_SUM)?))
    };
    emit("scan_sum", measure::measure(t, || scan(eng.as_mut())));
    let mut rec =
        measure::measure(t, || Ok(measure::fingerprint(&measure::query(eng.as_mut(), FILTER)?)));
    if let Some(c) = rec.get("checksum").and_then(Value::as_f64) {
        rec["selectivity"] = json!(c / total_lineitem as f64);
    }
    emit("filter_1pct", rec);

    // Keys drawn from the data exactly as peers.py draws them.
    let keys = order_keys(&data.join("orders.parquet"))?;
    let lookup_keys = PyRandom::new(42).sample(&keys, LOOKUPS);
    let update_keys = PyRandom::new(43).sample(&keys, UPDATES);
    let mut rec = measure::measure(t, || {
        let mut hits = 0u64;
        for k in &lookup_keys {
            let sql = LOOKUP.replace('?', &k.to_string());
            hits += measure::query(eng.as_mut(), &sql)?
                .iter()
                .map(|b| b.num_rows() as u64)
                .sum::<u64>();
        }
        Ok(Fingerprint { rows: 1, checksum: hits as f64 })
    });
    if let Some(m) = rec.get("median_s").and_then(Value::as_f64) {
        rec["us_per_lookup"] = json!(m / LOOKUPS as f64 * 1e6);
    }
    if let Some(obj) = rec.as_object_mut()
        && let Some(c) = obj.remove("checksum")
    {
        obj.insert("hits".into(), c);
    }
    emit("point_lookup_1k", rec);

    emit(
        "insert_select_1M",
        measure::run_once(t, || {
            measure::execute(eng.as_mut(), &load::create_sql("bulk_sql", "lineitem", false))?;
            let sql = format!("insert into bulk_sql select * from lineitem limit {BULK_ROWS}");
            Ok(json!({"rows": measure::execute(eng.as_mut(), &sql)?}))
        }),
    );

    let client = client_batches(&db, data)?;
    measure::execute(eng.as_mut(), &load::create_sql("bulk_client", "lineitem", false))?;
    emit("insert_client_1M", measure::run_once(t, || ingest(&db, "bulk_client", &client)));
    drop(client);

    let updates = |eng: &mut dyn Engine, in_txn: bool| -> Value {
        let mut rec = measure::run_once(t, || {
            let deadline = Instant::now() + std::time::Duration::from_secs_f64(t.timeout_s * 0.95);
            let (mut done, mut affected) = (0usize, 0u64);
            if in_txn {
                measure::execute(eng, "begin transaction")?;
            }
            for k in &update_keys {
                affected += measure::execute(eng, &UPDATE.replace('?', &k.to_string()))?;
                done += 1;
                if Instant::now() > deadline {
                    break;
                }
            }
            if in_txn {
                measure::execute(eng, "commit")?;
            }
            Ok(json!({"ops": done, "rows_affected": affected, "complete": done == UPDATES}))
        });
        if rec["status"] == "ok" {
            let ops = rec["ops"].as_u64().unwrap_or(1).max(1);
            rec["us_per_op"] =
                json!(rec["median_s"].as_f64().unwrap_or(f64::NAN) / ops as f64 * 1e6);
            if rec["complete"] == false {
                rec["status"] = json!("timeout");
            }
        }
        rec
    };
    emit("update_10k_txn", updates(eng.as_mut(), true));
    emit("update_10k_autocommit", updates(eng.as_mut(), false));

    // Reopen with OS-buffered durability for the same loop (untimed reopen).
    drop(eng);
    drop(db);
    let buffered = StoreOptions { durability: Durability::Buffered, ..StoreOptions::default() };
    db = Database::open_with(db_path, buffered).map_err(|e| e.to_string())?;
    eng = open(db.clone())?;
    emit("update_10k_autocommit_buffered", updates(eng.as_mut(), false));
    drop(eng);
    drop(db);
    db = Database::open(db_path).map_err(|e| e.to_string())?;
    eng = open(db.clone())?;

    let mut rec =
        measure::run_once(t, || Ok(json!({"rows": measure::execute(eng.as_mut(), DELETE)?})));
    if let Some(n) = rec.get("rows").and_then(Value::as_u64) {
        rec["fraction"] = json!(n as f64 / total_lineitem as f64);
    }
    emit("delete_10pct", rec);
    emit("scan_sum_after_delete", measure::measure(t, || scan(eng.as_mut())));
    drop(eng);
    drop(db);
    Ok(())
}

/// `o_orderkey` in file order.
fn order_keys(path: &Path) -> Result<Vec<i64>, String> {
    let mut keys = Vec::new();
    for b in load::read_parquet(path, None)? {
        let col = arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Int64)
            .map_err(|e| e.to_string())?;
        keys.extend(col.as_primitive::<Int64Type>().values().iter().copied());
    }
    Ok(keys)
}

/// The first `BULK_ROWS` lineitem rows as batches of the table's types (untimed).
fn client_batches(db: &Database, data: &Path) -> Result<Vec<RecordBatch>, String> {
    let raw = load::read_parquet(&data.join("lineitem.parquet"), Some(BULK_ROWS))?;
    raw.iter().map(|b| load::conform(db, "lineitem", std::slice::from_ref(b))).collect()
}

/// Inserts the client batches into `table` in one transaction.
fn ingest(db: &Database, table: &str, batches: &[RecordBatch]) -> Result<Value, String> {
    let txn = db.begin();
    let h =
        txn.table(table).map_err(|e| e.to_string())?.ok_or_else(|| format!("no table {table}"))?;
    let mut rows = 0;
    for b in batches {
        rows += txn.insert(&h, b).map_err(|e| e.to_string())?;
    }
    txn.commit().map_err(|e| e.to_string())?;
    Ok(json!({"rows": rows}))
}
