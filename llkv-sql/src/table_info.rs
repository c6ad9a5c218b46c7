//! `pragma_table_info('t')`, the same on both routes: one row per column of
//! table `t` (`cid`, `name`, `type`, `notnull`, `dflt_value`, `pk`), as SQLite
//! and DuckDB give it.

use crate::error::{SqlError, SqlResult};
use arrow::datatypes::DataType;
use llkv_mvcc::{TableHandle, Transaction};

/// The column property holding a column's DEFAULT as SQL text, written and
/// read by both routes.
pub const DEFAULT_PROPERTY: &str = "default";

/// The result columns of `pragma_table_info`, in order.
pub const COLUMNS: [&str; 6] = ["cid", "name", "type", "notnull", "dflt_value", "pk"];

/// One row of `pragma_table_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column's position, from 0.
    pub cid: i64,
    /// The column's name.
    pub name: String,
    /// The SQL name of its type.
    pub type_name: String,
    /// 1 when declared NOT NULL, else 0.
    pub notnull: i64,
    /// The DEFAULT expression's text, if any.
    pub dflt_value: Option<String>,
    /// Its position in the PRIMARY KEY, from 1; 0 when not part of it.
    pub pk: i64,
}

/// The rows of `pragma_table_info(table)` as `txn` sees the table (looked up
/// as written, then lower-cased).
///
/// # Errors
/// No such table.
pub fn table_info(txn: &Transaction, table: &str) -> SqlResult<Vec<ColumnInfo>> {
    let h: TableHandle = match txn.table(table)? {
        Some(h) => h,
        None => txn
            .table(&table.to_ascii_lowercase())?
            .ok_or_else(|| SqlError::plan(format!("no such table: {table}")))?,
    };
    Ok(h.meta
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnInfo {
            cid: i as i64,
            name: c.name.clone(),
            type_name: type_name(&c.data_type),
            notnull: i64::from(!c.nullable),
            dflt_value: c.properties.get(DEFAULT_PROPERTY).cloned(),
            pk: h.meta.primary_key.iter().position(|&p| p == i).map_or(0, |p| p as i64 + 1),
        })
        .collect())
}

/// The SQL name `pragma_table_info` shows for an Arrow type.
pub fn type_name(t: &DataType) -> String {
    use DataType as D;
    match t {
        D::Int8 | D::Int16 | D::Int32 | D::Int64 => "INTEGER".into(),
        D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64 => "UBIGINT".into(),
        D::Float16 | D::Float32 | D::Float64 => "DOUBLE".into(),
        D::Utf8 | D::LargeUtf8 | D::Utf8View => "VARCHAR".into(),
        D::Boolean => "BOOLEAN".into(),
        D::Binary | D::LargeBinary | D::BinaryView => "BLOB".into(),
        other => other.to_string().to_ascii_uppercase(),
    }
}
