//! `ALTER TABLE` on both routes: `RENAME TO`, `RENAME COLUMN`,
//! `DROP COLUMN`, `ADD COLUMN` and `ALTER COLUMN … SET DATA TYPE`
//! (DataFusion 55 does not execute ALTER TABLE; `llkv-provider` runs it here).
//!
//! The table is rewritten in the transaction: its rows are read, the table is
//! replaced by one of the new definition ([`Transaction::replace_table`]) and
//! the rows, converted, are inserted again. Columns that a FOREIGN KEY or
//! (for DROP) a PRIMARY KEY / UNIQUE constraint uses cannot be renamed,
//! retyped or dropped, and a table other tables reference cannot be renamed.

use crate::{CHECK_PREFIX, Output, SqlError, SqlResult};
use llkv_mvcc::{ForeignKey, TableHandle, Transaction};
use llkv_store::{ColumnMeta, ScanRequest, TableMeta};
use sqlparser::ast::{self, AlterColumnOperation as C, AlterTableOperation as Op};
use std::sync::Arc;

/// The last part of an object's name, lower-cased unless quoted.
fn object_name(n: &ast::ObjectName) -> SqlResult<String> {
    let last =
        n.0.last()
            .and_then(|p| p.as_ident())
            .ok_or_else(|| SqlError::plan(format!("unsupported name {n}")))?;
    Ok(ident_name(last))
}

/// An identifier's name: lower-case unless quoted.
fn ident_name(i: &ast::Ident) -> String {
    if i.quote_style.is_some() { i.value.clone() } else { i.value.to_ascii_lowercase() }
}

/// The table's columns, all nullable (a rewritten table's rows are checked by the store).
fn nullable_schema(meta: &TableMeta) -> Arc<arrow::datatypes::Schema> {
    Arc::new(arrow::datatypes::Schema::new(
        meta.columns
            .iter()
            .map(|c| arrow::datatypes::Field::new(&c.name, c.data_type.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

/// `ALTER TABLE name op, …`.
///
/// # Errors
/// Unknown names, unsupported operations, columns in use by constraints.
pub fn alter_table(txn: &Transaction, a: &ast::AlterTable) -> SqlResult<Output> {
    let name = crate::names::table_name(&a.name)?;
    let Some(mut h) = txn.table(&name)? else {
        if a.if_exists {
            return Ok(Output::Done("ALTER TABLE".into()));
        }
        return Err(SqlError::plan(format!("no such table: {name}")));
    };
    if txn
        .properties_with_prefix("index.")
        .values()
        .any(|v| v.trim_start_matches("UNIQUE ").split('(').next() == Some(name.as_str()))
    {
        return Err(SqlError::plan(format!(
            "ALTER TABLE on a table with indexes is not supported ({name})"
        )));
    }
    for op in &a.operations {
        h = apply(txn, &h, op)?;
    }
    Ok(Output::Done("ALTER TABLE".into()))
}

fn column(meta: &TableMeta, name: &ast::Ident) -> SqlResult<usize> {
    let n = ident_name(name);
    meta.columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(&n))
        .ok_or_else(|| SqlError::plan(format!("table {} has no column named {n}", meta.name)))
}

/// The columns of `h` that foreign keys use (its own, and those others reference).
fn fk_columns(txn: &Transaction, h: &TableHandle) -> SqlResult<Vec<String>> {
    let mut cols: Vec<String> = Vec::new();
    for fk in ForeignKey::of(&h.meta)? {
        cols.extend(fk.columns);
        if fk.parent == h.name {
            cols.extend(fk.parent_columns);
        }
    }
    for other in txn.table_names()? {
        let Some(t) = txn.table(&other)? else { continue };
        for fk in ForeignKey::of(&t.meta)? {
            if fk.parent == h.name {
                cols.extend(fk.parent_columns);
            }
        }
    }
    Ok(cols)
}

fn referenced_by_others(txn: &Transaction, h: &TableHandle) -> SqlResult<Option<String>> {
    for other in txn.table_names()? {
        if other == h.name {
            continue;
        }
        let Some(t) = txn.table(&other)? else { continue };
        if ForeignKey::of(&t.meta)?.iter().any(|fk| fk.parent == h.name) {
            return Ok(Some(other));
        }
    }
    Ok(None)
}

fn in_use(txn: &Transaction, h: &TableHandle, col: usize, what: &str) -> SqlResult<()> {
    let name = &h.meta.columns[col].name;
    if fk_columns(txn, h)?.iter().any(|c| c == name) {
        return Err(SqlError::plan(format!(
            "cannot {what} column {name} of {}: a FOREIGN KEY depends on it",
            h.name
        )));
    }
    let mentions = h
        .meta
        .properties
        .iter()
        .filter(|(k, _)| k.starts_with(CHECK_PREFIX))
        .any(|(_, v)| v.to_ascii_lowercase().contains(&name.to_ascii_lowercase()));
    if mentions {
        return Err(SqlError::plan(format!(
            "cannot {what} column {name} of {}: a CHECK constraint depends on it",
            h.name
        )));
    }
    Ok(())
}

/// Applies one operation; returns the table's new handle.
fn apply(txn: &Transaction, h: &TableHandle, op: &Op) -> SqlResult<TableHandle> {
    let mut meta: TableMeta = (*h.meta).clone();
    // For each new column, the old column it is filled from.
    let mut source: Vec<Option<usize>> = (0..meta.columns.len()).map(Some).collect();
    match op {
        Op::RenameTable {
            table_name: ast::RenameTableNameKind::To(n) | ast::RenameTableNameKind::As(n),
        } => {
            if let Some(other) = referenced_by_others(txn, h)? {
                return Err(SqlError::plan(format!(
                    "cannot rename {}: table {other} references it",
                    h.name
                )));
            }
            // A bare new name stays in the table's schema.
            let new = match n.0.len() {
                1 => llkv_mvcc::qualified_name(
                    llkv_mvcc::split_qualified(&h.name).0,
                    &object_name(n)?,
                ),
                _ => crate::names::table_name(n)?,
            };
            if txn.table(&new)?.is_some() {
                return Err(SqlError::plan(format!("table {new} already exists")));
            }
            meta.name = new;
        }
        Op::RenameColumn { old_column_name, new_column_name } => {
            let c = column(&meta, old_column_name)?;
            in_use(txn, h, c, "rename")?;
            let new = ident_name(new_column_name);
            if meta.columns.iter().any(|m| m.name.eq_ignore_ascii_case(&new)) {
                return Err(SqlError::plan(format!("column {new} already exists")));
            }
            meta.columns[c].name = new;
        }
        Op::DropColumn { column_names, if_exists, .. } => {
            for n in column_names {
                let c = match column(&meta, n) {
                    Ok(c) => c,
                    Err(_) if *if_exists => continue,
                    Err(e) => return Err(e),
                };
                let orig = source[c].unwrap_or(c);
                in_use(txn, h, orig, "drop")?;
                if meta.primary_key.contains(&c) || meta.unique.iter().any(|u| u.contains(&c)) {
                    return Err(SqlError::plan(format!(
                        "cannot drop column {} of {}: a PRIMARY KEY or UNIQUE constraint depends on it",
                        meta.columns[c].name, meta.name
                    )));
                }
                if meta.columns.len() == 1 {
                    return Err(SqlError::plan("cannot drop the only column of a table"));
                }
                meta.columns.remove(c);
                source.remove(c);
                let shift = |i: &mut usize| {
                    if *i > c {
                        *i -= 1;
                    }
                };
                meta.primary_key.iter_mut().for_each(shift);
                meta.unique.iter_mut().for_each(|u| u.iter_mut().for_each(shift));
            }
        }
        Op::AddColumn { if_not_exists, column_def, .. } => {
            let n = ident_name(&column_def.name);
            if meta.columns.iter().any(|m| m.name.eq_ignore_ascii_case(&n)) {
                if *if_not_exists {
                    return Ok(h.clone());
                }
                return Err(SqlError::plan(format!("column {n} already exists")));
            }
            if !column_def.options.is_empty() {
                return Err(SqlError::plan(
                    "ADD COLUMN with constraints or DEFAULT is not supported",
                ));
            }
            meta.columns.push(ColumnMeta::new(
                n,
                crate::user_types::column_type(txn, &column_def.data_type)?,
                true,
            ));
            source.push(None);
        }
        Op::AlterColumn { column_name, op: C::SetDataType { data_type, using: None, .. } } => {
            let c = column(&meta, column_name)?;
            in_use(txn, h, c, "change the type of")?;
            let t = crate::user_types::column_type(txn, data_type)?;
            meta.columns[c].data_type = llkv_store::chunk::storage_type(&t);
        }
        Op::AlterColumn { column_name, op: C::SetNotNull } => {
            let c = column(&meta, column_name)?;
            meta.columns[c].nullable = false;
        }
        Op::AlterColumn { column_name, op: C::DropNotNull } => {
            let c = column(&meta, column_name)?;
            if meta.primary_key.contains(&c) {
                return Err(SqlError::plan("cannot drop NOT NULL from a PRIMARY KEY column"));
            }
            meta.columns[c].nullable = true;
        }
        other => return Err(SqlError::plan(format!("unsupported ALTER TABLE operation: {other}"))),
    }
    let batches = txn.scan(h, &ScanRequest::all())?;
    let new = txn.replace_table(&h.name, meta)?;
    for b in batches {
        let cols: Vec<arrow::array::ArrayRef> = source
            .iter()
            .zip(&new.meta.columns)
            .map(|(s, m)| match s {
                Some(i) => Arc::clone(b.column(*i)),
                None => arrow::array::new_null_array(&m.data_type, b.num_rows()),
            })
            .collect();
        let opts = arrow::array::RecordBatchOptions::new().with_row_count(Some(b.num_rows()));
        let batch = arrow::array::RecordBatch::try_new_with_options(
            nullable_schema(&new.meta),
            cols.clone(),
            &opts,
        );
        let batch = match batch {
            Ok(b) => b,
            // Types differ: let the store convert (and report what does not convert).
            Err(_) => {
                let fields: Vec<arrow::datatypes::Field> = cols
                    .iter()
                    .zip(&new.meta.columns)
                    .map(|(c, m)| {
                        arrow::datatypes::Field::new(&m.name, c.data_type().clone(), true)
                    })
                    .collect();
                arrow::array::RecordBatch::try_new_with_options(
                    Arc::new(arrow::datatypes::Schema::new(fields)),
                    cols,
                    &opts,
                )?
            }
        };
        txn.insert(&new, &batch)?;
    }
    Ok(new)
}
