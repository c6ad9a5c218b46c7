//! Loading the TPC-H Parquet files into llkv tables.
//!
//! Each table is created by SQL with the TPC-H primary key declared (the
//! schema of `peers.py`: ids BIGINT, other integers INTEGER, money
//! DECIMAL(15,2), dates DATE, strings VARCHAR), then filled through the MVCC
//! API in one transaction: the Parquet file is decoded into Arrow batches,
//! cast to the table's types (string views → Utf8, Int32 → Int64) and
//! inserted as one batch, so the primary key is checked in one pass.

use crate::measure;
use arrow::array::{Array, ArrayRef, RecordBatch};
use arrow::compute::{cast, concat};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use llkv::Database;
use llkv::sql::Engine;
use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

/// The 8 tables in load order (as `peers.TABLES`).
pub const TABLES: [&str; 8] =
    ["region", "nation", "part", "supplier", "partsupp", "customer", "orders", "lineitem"];

/// Column definitions of `table` (as `peers.SCHEMA` with DuckDB's types).
pub fn columns(table: &str) -> &'static [(&'static str, &'static str)] {
    const ID: &str = "BIGINT";
    const INT: &str = "INTEGER";
    const MONEY: &str = "DECIMAL(15,2)";
    const DATE: &str = "DATE";
    const STR: &str = "VARCHAR";
    match table {
        "region" => &[("r_regionkey", ID), ("r_name", STR), ("r_comment", STR)],
        "nation" => {
            &[("n_nationkey", ID), ("n_name", STR), ("n_regionkey", ID), ("n_comment", STR)]
        }
        "part" => &[
            ("p_partkey", ID),
            ("p_name", STR),
            ("p_mfgr", STR),
            ("p_brand", STR),
            ("p_type", STR),
            ("p_size", INT),
            ("p_container", STR),
            ("p_retailprice", MONEY),
            ("p_comment", STR),
        ],
        "supplier" => &[
            ("s_suppkey", ID),
            ("s_name", STR),
            ("s_address", STR),
            ("s_nationkey", ID),
            ("s_phone", STR),
            ("s_acctbal", MONEY),
            ("s_comment", STR),
        ],
        "partsupp" => &[
            ("ps_partkey", ID),
            ("ps_suppkey", ID),
            ("ps_availqty", INT),
            ("ps_supplycost", MONEY),
            ("ps_comment", STR),
        ],
        "customer" => &[
            ("c_custkey", ID),
            ("c_name", STR),
            ("c_address", STR),
            ("c_nationkey", ID),
            ("c_phone", STR),
            ("c_acctbal", MONEY),
            ("c_mktsegment", STR),
            ("c_comment", STR),
        ],
        "orders" => &[
            ("o_orderkey", ID),
            ("o_custkey", ID),
            ("o_orderstatus", STR),
            ("o_totalprice", MONEY),
            ("o_orderdate", DATE),
            ("o_orderpriority", STR),
            ("o_clerk", STR),
            ("o_shippriority", INT),
            ("o_comment", STR),
        ],
        _ => &[
            ("l_orderkey", ID),
            ("l_partkey", ID),
            ("l_suppkey", ID),
            ("l_linenumber", INT),
            ("l_quantity", MONEY),
            ("l_extendedprice", MONEY),
            ("l_discount", MONEY),
            ("l_tax", MONEY),
            ("l_returnflag", STR),
            ("l_linestatus", STR),
            ("l_shipdate", DATE),
            ("l_commitdate", DATE),
            ("l_receiptdate", DATE),
            ("l_shipinstruct", STR),
            ("l_shipmode", STR),
            ("l_comment", STR),
        ],
    }
}

/// Primary key of `table` (as `peers.PRIMARY_KEYS`).
pub fn primary_key(table: &str) -> &'static [&'static str] {
    match table {
        "region" => &["r_regionkey"],
        "nation" => &["n_nationkey"],
        "part" => &["p_partkey"],
        "supplier" => &["s_suppkey"],
        "partsupp" => &["ps_partkey", "ps_suppkey"],
        "customer" => &["c_custkey"],
        "orders" => &["o_orderkey"],
        _ => &["l_orderkey", "l_linenumber"],
    }
}

/// `CREATE TABLE` for `name` with `table`'s columns; `pk` adds its primary key.
pub fn create_sql(name: &str, table: &str, pk: bool) -> String {
    let mut cols: Vec<String> = columns(table).iter().map(|(c, t)| format!("{c} {t}")).collect();
    if pk {
        cols.push(format!("PRIMARY KEY ({})", primary_key(table).join(", ")));
    }
    format!("CREATE TABLE {name} ({})", cols.join(", "))
}

/// Reads up to `limit` rows of a Parquet file as batches; the whole file is
/// decoded one row group per rayon task (in file order).
pub fn read_parquet(path: &Path, limit: Option<usize>) -> Result<Vec<RecordBatch>, String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let open = || -> Result<ParquetRecordBatchReaderBuilder<std::fs::File>, String> {
        let file = std::fs::File::open(path).map_err(|e| err(&e))?;
        Ok(ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| err(&e))?
            .with_batch_size(64 * 1024))
    };
    let b = open()?;
    let groups = b.metadata().num_row_groups();
    if let Some(n) = limit {
        let reader = b.with_limit(n).build().map_err(|e| err(&e))?;
        return reader.map(|r| r.map_err(|e| err(&e))).collect();
    }
    let parts = (0..groups)
        .into_par_iter()
        .map(|g| {
            let reader = open()?.with_row_groups(vec![g]).build().map_err(|e| err(&e))?;
            reader.map(|r| r.map_err(|e| err(&e))).collect::<Result<Vec<_>, String>>()
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(parts.into_iter().flatten().collect())
}

/// Casts `batches` to the table's column types and concatenates them, one
/// column per rayon task.
pub fn conform(db: &Database, table: &str, batches: &[RecordBatch]) -> Result<RecordBatch, String> {
    let txn = db.begin();
    let handle =
        txn.table(table).map_err(|e| e.to_string())?.ok_or_else(|| format!("no table {table}"))?;
    let schema = handle.meta.schema();
    if batches.is_empty() {
        return Ok(RecordBatch::new_empty(schema));
    }
    for b in batches {
        if b.num_columns() != schema.fields().len() {
            return Err(format!("{table}: the file has {} columns", b.num_columns()));
        }
    }
    let cols = schema
        .fields()
        .par_iter()
        .enumerate()
        .map(|(c, f)| {
            let parts = batches
                .iter()
                .map(|b| cast(b.column(c), f.data_type()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{table}.{}: {e}", f.name()))?;
            let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            concat(&refs).map_err(|e| format!("{table}.{}: {e}", f.name()))
        })
        .collect::<Result<Vec<ArrayRef>, String>>()?;
    RecordBatch::try_new(schema, cols).map_err(|e| e.to_string())
}

/// Inserts `batch` into `table` in one transaction.
pub fn insert(db: &Database, table: &str, batch: &RecordBatch) -> Result<u64, String> {
    let txn = db.begin();
    let handle =
        txn.table(table).map_err(|e| e.to_string())?.ok_or_else(|| format!("no table {table}"))?;
    let n = txn.insert(&handle, batch).map_err(|e| e.to_string())?;
    txn.commit().map_err(|e| e.to_string())?;
    Ok(n)
}

/// Loads every table from `data`; returns (table, seconds) per table.
pub fn load_all(
    db: &Database,
    ddl: &mut dyn Engine,
    data: &Path,
) -> Result<Vec<(String, f64)>, String> {
    let mut times = Vec::new();
    for table in TABLES {
        let t0 = Instant::now();
        measure::execute(ddl, &create_sql(table, table, true))?;
        let batches = read_parquet(&data.join(format!("{table}.parquet")), None)?;
        let batch = conform(db, table, &batches)?;
        drop(batches);
        let n = insert(db, table, &batch)?;
        let s = t0.elapsed().as_secs_f64();
        eprintln!("[load] {table}: {n} rows in {s:.2}s");
        times.push((table.to_string(), s));
    }
    Ok(times)
}

/// Rows of a Parquet file, from its metadata.
pub fn parquet_rows(path: &Path) -> Result<u64, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(b.metadata().file_metadata().num_rows().max(0) as u64)
}
