//! CREATE / DROP of tables, views and indexes.
//!
//! Tables map to store [`TableMeta`]s: column types through
//! [`llkv_sql::types::arrow_type`], `NOT NULL` as non-nullable, `PRIMARY KEY`
//! and `UNIQUE` as the store's key sets (enforced by `llkv-mvcc`), and a
//! `DEFAULT` expression's SQL text in the column property `default`.
//! Views and indexes are database properties: `view.<name>` holds the view's
//! query text, `index.<name>` holds `<table>(<columns>)` (recorded; the
//! native route does not use secondary indexes yet).

use crate::binder::view_key;
use crate::binder::{Binder, table_name};
use crate::convert::build_array;
use crate::exec::{ExecCtx, execute};
use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::DataType;
use llkv_mvcc::{FOREIGN_KEYS_PROPERTY, ForeignKey, Transaction};
use llkv_sql::{Output, SqlError, SqlResult};
use llkv_store::{ColumnMeta, TableMeta};
use sqlparser::ast::{self, ColumnOption, TableConstraint};

pub use llkv_sql::table_info::DEFAULT_PROPERTY;

/// The table an index record (`[UNIQUE ]table(cols)`) belongs to.
fn index_table(v: &str) -> &str {
    v.trim_start_matches("UNIQUE ").split('(').next().unwrap_or_default()
}

/// The column lists of the UNIQUE indexes on `table`.
pub fn unique_indexes(txn: &Transaction, table: &TableMeta) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    for v in txn.properties_with_prefix("index.").values() {
        let Some(rest) = v.strip_prefix("UNIQUE ") else { continue };
        if index_table(v) != table.name {
            continue;
        }
        let cols = rest.split_once('(').map_or("", |(_, c)| c.trim_end_matches(')'));
        let idx: Option<Vec<usize>> = cols.split(',').map(|c| table.column_index(c)).collect();
        if let Some(idx) = idx {
            out.push(idx);
        }
    }
    out
}

fn index_key(name: &str) -> String {
    format!("index.{name}")
}

fn column_positions(meta: &TableMeta, cols: &[ast::IndexColumn]) -> SqlResult<Vec<usize>> {
    cols.iter()
        .map(|c| {
            let name = match &c.column.expr {
                ast::Expr::Identifier(i) => i.value.clone(),
                other => return Err(SqlError::plan(format!("unsupported key column {other}"))),
            };
            meta.columns
                .iter()
                .position(|m| m.name.eq_ignore_ascii_case(&name))
                .ok_or_else(|| SqlError::plan(format!("no such column: {name}")))
        })
        .collect()
}

/// `CREATE TABLE` (also `AS SELECT`).
///
/// # Errors
/// Bad definitions, an existing name (unless IF NOT EXISTS).
pub fn create_table(txn: &Transaction, c: &ast::CreateTable) -> SqlResult<Output> {
    let name = table_name(&c.name)?;
    if c.or_replace && txn.table(&name)?.is_some() {
        drop(txn, &ast::ObjectType::Table, false, std::slice::from_ref(&c.name))?;
    }
    if txn.table(&name)?.is_some() || txn.property(&view_key(&name)).is_some() {
        if c.if_not_exists {
            return Ok(Output::Done("CREATE TABLE".into()));
        }
        return Err(SqlError::plan(format!("table {name} already exists")));
    }
    if let Some(q) = &c.query {
        return create_table_as(txn, &name, q);
    }
    let mut meta = TableMeta::new(name, Vec::new());
    let mut checks = Vec::new();
    let mut fks = Vec::new();
    for col in &c.columns {
        let is_struct = crate::structs::is_struct_type(&col.data_type);
        let t = if is_struct {
            DataType::Utf8
        } else {
            crate::user_types::column_type(txn, &col.data_type)?
        };
        let mut cm = ColumnMeta::new(col.name.value.clone(), t, true);
        if is_struct {
            cm.properties.insert(crate::structs::STRUCT_PROPERTY.into(), col.data_type.to_string());
        }
        for o in &col.options {
            match &o.option {
                ColumnOption::Null => {}
                ColumnOption::NotNull => cm.nullable = false,
                ColumnOption::Default(e) => {
                    cm.properties.insert(DEFAULT_PROPERTY.into(), e.to_string());
                }
                ColumnOption::PrimaryKey(_) => {
                    // A PRIMARY KEY is NOT NULL (standard SQL, DuckDB, the DataFusion route).
                    cm.nullable = false;
                    meta.primary_key = vec![meta.columns.len()];
                }
                ColumnOption::Unique(_) => meta.unique.push(vec![meta.columns.len()]),
                ColumnOption::Check(ck) => checks.push(ck.expr.to_string()),
                ColumnOption::ForeignKey(fk) => {
                    let mut fk = fk.clone();
                    fk.columns = vec![col.name.clone()];
                    fks.push(foreign_key(&fk)?);
                }
                ColumnOption::Collation(_) | ColumnOption::Comment(_) => {}
                other => return Err(SqlError::plan(format!("unsupported column option {other}"))),
            }
        }
        meta.columns.push(cm);
    }
    for tc in &c.constraints {
        match tc {
            TableConstraint::PrimaryKey(pk) => {
                meta.primary_key = column_positions(&meta, &pk.columns)?;
                for &i in &meta.primary_key {
                    if let Some(c) = meta.columns.get_mut(i) {
                        c.nullable = false;
                    }
                }
            }
            TableConstraint::Unique(u) => {
                let cols = column_positions(&meta, &u.columns)?;
                meta.unique.push(cols);
            }
            TableConstraint::Check(ck) => checks.push(ck.expr.to_string()),
            TableConstraint::ForeignKey(fk) => fks.push(foreign_key(fk)?),
            other => return Err(SqlError::plan(format!("unsupported table constraint {other}"))),
        }
    }
    if !fks.is_empty() {
        meta.properties.insert(FOREIGN_KEYS_PROPERTY.into(), ForeignKey::encode_all(&fks));
    }
    if !checks.is_empty() {
        crate::check::record(txn, &mut meta, &checks)?;
    }
    txn.create_table(meta)?;
    Ok(Output::Done("CREATE TABLE".into()))
}

/// A FOREIGN KEY clause as the store records it (NO ACTION / RESTRICT only).
fn foreign_key(fk: &ast::ForeignKeyConstraint) -> SqlResult<ForeignKey> {
    for a in [&fk.on_delete, &fk.on_update].into_iter().flatten() {
        if !matches!(a, ast::ReferentialAction::NoAction | ast::ReferentialAction::Restrict) {
            return Err(SqlError::plan(format!(
                "FOREIGN KEY action {a} is not supported (only NO ACTION and RESTRICT)"
            )));
        }
    }
    Ok(ForeignKey {
        columns: fk.columns.iter().map(crate::binder::ident_name).collect(),
        parent: table_name(&fk.foreign_table)?,
        parent_columns: fk.referred_columns.iter().map(crate::binder::ident_name).collect(),
    })
}

fn create_table_as(txn: &Transaction, name: &str, q: &ast::Query) -> SqlResult<Output> {
    let bq = Binder::new(txn).bind_query(q)?;
    let ctx = ExecCtx::new(txn);
    let rows = execute(&bq.plan, None, &ctx)?;
    let (schema, _) = crate::convert::rows_to_batch(&bq.names, &rows)?;
    let cols = schema
        .fields()
        .iter()
        .map(|f| {
            let t = if f.data_type() == &DataType::Null {
                DataType::Utf8
            } else {
                f.data_type().clone()
            };
            ColumnMeta::new(f.name().clone(), t, true)
        })
        .collect();
    let h = txn.create_table(TableMeta::new(name, cols))?;
    let arrays = h
        .meta
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| build_array(&c.data_type, &mut rows.iter().map(|r| &r[i]), &c.name))
        .collect::<SqlResult<Vec<_>>>()?;
    let opts = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let batch =
        RecordBatch::try_new_with_options(crate::convert::nullable_schema(&h.meta), arrays, &opts)?;
    txn.insert(&h, &batch)?;
    Ok(Output::Done("CREATE TABLE".into()))
}

/// `DROP TABLE|VIEW|INDEX [IF EXISTS] …`.
///
/// # Errors
/// An unknown name without IF EXISTS.
pub fn drop(
    txn: &Transaction,
    object_type: &ast::ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
) -> SqlResult<Output> {
    for n in names {
        let name = table_name(n)?;
        match object_type {
            ast::ObjectType::Table => {
                if txn.table(&name)?.is_some() {
                    txn.drop_table(&name)?;
                    crate::triggers::drop_for_table(txn, &name)?;
                    // Indexes on the table go with it.
                    for (k, v) in txn.properties_with_prefix("index.") {
                        if index_table(&v) == name {
                            txn.set_property(&k, None)?;
                        }
                    }
                } else if !if_exists {
                    return Err(SqlError::plan(format!("no such table: {name}")));
                }
            }
            ast::ObjectType::View => {
                if txn.property(&view_key(&name)).is_some() {
                    txn.set_property(&view_key(&name), None)?;
                } else if !if_exists {
                    return Err(SqlError::plan(format!("no such view: {name}")));
                }
            }
            ast::ObjectType::Index => {
                if txn.property(&index_key(&name)).is_some() {
                    txn.set_property(&index_key(&name), None)?;
                } else if !if_exists {
                    return Err(SqlError::plan(format!("no such index: {name}")));
                }
            }
            ast::ObjectType::Type => crate::user_types::drop(txn, &name, if_exists)?,
            other => return Err(SqlError::plan(format!("unsupported DROP {other}"))),
        }
    }
    Ok(Output::Done(format!("DROP {object_type}")))
}

/// The name of a schema in `CREATE SCHEMA` / `DROP SCHEMA` (lower-case unless quoted).
fn schema_name(n: &ast::ObjectName) -> SqlResult<String> {
    match n.0.as_slice() {
        [p] => p.as_ident().map(crate::binder::ident_name),
        _ => None,
    }
    .ok_or_else(|| SqlError::plan(format!("unsupported schema name {n}")))
}

/// `CREATE SCHEMA [IF NOT EXISTS] name`.
///
/// # Errors
/// An existing schema (unless IF NOT EXISTS), `AUTHORIZATION` forms.
pub fn create_schema(
    txn: &Transaction,
    name: &ast::SchemaName,
    if_not_exists: bool,
) -> SqlResult<Output> {
    let ast::SchemaName::Simple(n) = name else {
        return Err(SqlError::plan(format!("unsupported CREATE SCHEMA form: {name}")));
    };
    let name = schema_name(n)?;
    if txn.schema_exists(&name) {
        if if_not_exists {
            return Ok(Output::Done("CREATE SCHEMA".into()));
        }
        return Err(SqlError::plan(format!("schema {name} already exists")));
    }
    txn.create_schema(&name)?;
    Ok(Output::Done("CREATE SCHEMA".into()))
}

/// `DROP SCHEMA [IF EXISTS] name, … [CASCADE]`: with CASCADE the schemas'
/// tables (with their indexes and triggers) and views go too.
///
/// # Errors
/// An unknown schema without IF EXISTS; a schema that is not empty without
/// CASCADE; a table of another schema that references one being dropped.
pub fn drop_schemas(
    txn: &Transaction,
    if_exists: bool,
    cascade: bool,
    names: &[ast::ObjectName],
) -> SqlResult<Output> {
    for n in names {
        let name = schema_name(n)?;
        if !txn.schema_exists(&name) && if_exists {
            continue;
        }
        for t in txn.drop_schema(&name, cascade)? {
            crate::triggers::drop_for_table(txn, &t)?;
        }
    }
    Ok(Output::Done("DROP SCHEMA".into()))
}

/// `CREATE VIEW name AS query`: checks the query binds, then records its text.
///
/// # Errors
/// An existing name, a query that does not bind.
pub fn create_view(txn: &Transaction, v: &ast::CreateView) -> SqlResult<Output> {
    let name = table_name(&v.name)?;
    if txn.table(&name)?.is_some() || (!v.or_replace && txn.property(&view_key(&name)).is_some()) {
        return Err(SqlError::plan(format!("table {name} already exists")));
    }
    if v.materialized {
        return Err(SqlError::plan("materialized views are not supported"));
    }
    txn.check_schema_of(&name)?;
    // Stored as its CREATE VIEW text (as the DataFusion route stores views).
    let mut text = v.clone();
    text.or_replace = false;
    let sql = text.to_string();
    let q = crate::parse::parse_query(&sql)?;
    Binder::new(txn).bind_query(&q)?;
    txn.set_property(&view_key(&name), Some(sql))?;
    Ok(Output::Done("CREATE VIEW".into()))
}

/// `CREATE [UNIQUE] INDEX name ON table(cols)`: checked and recorded.
///
/// # Errors
/// Unknown table or columns, an existing name (unless IF NOT EXISTS), and
/// duplicate keys for UNIQUE.
pub fn create_index(txn: &Transaction, c: &ast::CreateIndex) -> SqlResult<Output> {
    let table = table_name(&c.table_name)?;
    let h = txn.table(&table)?.ok_or_else(|| SqlError::plan(format!("no such table: {table}")))?;
    let cols = column_positions(&h.meta, &c.columns)?;
    let name = match &c.name {
        Some(n) => table_name(n)?,
        None => return Err(SqlError::plan("CREATE INDEX needs a name")),
    };
    if txn.property(&index_key(&name)).is_some() {
        if c.if_not_exists {
            return Ok(Output::Done("CREATE INDEX".into()));
        }
        return Err(SqlError::plan(format!("index {name} already exists")));
    }
    let names: Vec<&str> =
        cols.iter().filter_map(|&i| h.meta.columns.get(i).map(|c| c.name.as_str())).collect();
    if c.unique {
        crate::dml::check_unique_index(txn, &h, &cols, &[], &[])?;
    }
    let prefix = if c.unique { "UNIQUE " } else { "" };
    txn.set_property(&index_key(&name), Some(format!("{prefix}{table}({})", names.join(","))))?;
    Ok(Output::Done("CREATE INDEX".into()))
}
