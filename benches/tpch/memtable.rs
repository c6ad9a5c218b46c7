//! The reference routes: plain DataFusion over in-memory tables (`MemTable`)
//! built from the Parquet files the way the peer harness's `datafusion-mem`
//! engine builds them (`read_parquet(…).collect_partitioned()`, one
//! partition per thread, string columns as DataFusion 55 reads them:
//! `Utf8View`). Running them in the same `tpch` run as the llkv routes gives
//! ratios measured under the same machine load.
//!
//! `memtable-utf8` is the same with the columns cast to the types the llkv
//! tables have (string views → `Utf8`, `Int32` → `Int64`), to tell how much of
//! a difference comes from the column types alone.

use crate::load::TABLES;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use llkv::sql::{Engine, ErrorKind, Output, SqlError, SqlResult};
use std::path::Path;
use std::sync::Arc;

/// Whether `route` is one of this module's reference routes.
pub fn is_memtable_route(route: &str) -> bool {
    matches!(route, "memtable" | "memtable-utf8")
}

/// DataFusion over `MemTable`s of the TPC-H tables.
pub struct MemTableEngine {
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
}

fn err(e: impl std::fmt::Display) -> SqlError {
    SqlError::new(ErrorKind::Execution, e.to_string())
}

/// The type the llkv table has for a column the Parquet file has as `dt`
/// (as `load::conform` casts them).
fn llkv_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::Int32 => DataType::Int64,
        other => other.clone(),
    }
}

fn to_llkv_types(
    schema: &SchemaRef,
    parts: Vec<Vec<RecordBatch>>,
) -> Result<(SchemaRef, Vec<Vec<RecordBatch>>), String> {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(llkv_type(f.data_type())))
        .collect();
    let out = Arc::new(Schema::new(fields));
    let parts = parts
        .into_iter()
        .map(|p| {
            p.into_iter()
                .map(|b| {
                    let cols = b
                        .columns()
                        .iter()
                        .zip(out.fields())
                        .map(|(c, f)| cast(c, f.data_type()))
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|e| e.to_string())?;
                    RecordBatch::try_new(Arc::clone(&out), cols).map_err(|e| e.to_string())
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok((out, parts))
}

impl MemTableEngine {
    /// Loads the 8 tables of `data` for `route` (see [`is_memtable_route`]).
    pub fn load(route: &str, data: &Path) -> Result<Self, String> {
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let ctx =
            SessionContext::new_with_config(SessionConfig::new().with_target_partitions(threads));
        let utf8 = route == "memtable-utf8";
        runtime.block_on(async {
            for t in TABLES {
                let path = data.join(format!("{t}.parquet"));
                let path = path.to_str().ok_or("non-UTF-8 data path")?;
                let df = ctx
                    .read_parquet(path, ParquetReadOptions::default())
                    .await
                    .map_err(|e| e.to_string())?;
                let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
                let parts: Vec<Vec<RecordBatch>> = df
                    .collect_partitioned()
                    .await
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect();
                let (schema, parts) =
                    if utf8 { to_llkv_types(&schema, parts)? } else { (schema, parts) };
                let table = MemTable::try_new(schema, parts).map_err(|e| e.to_string())?;
                ctx.register_table(t, Arc::new(table)).map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        })?;
        Ok(Self { ctx, runtime })
    }
}

impl Engine for MemTableEngine {
    fn route(&self) -> &'static str {
        "memtable"
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        let ctx = &self.ctx;
        self.runtime.block_on(async {
            let df = ctx.sql(sql).await.map_err(err)?;
            let schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
            let batches = df.collect().await.map_err(err)?;
            Ok(vec![Output::Rows { schema, batches }])
        })
    }
}
