//! A fast path for `UPDATE t SET c = e, … WHERE k = literal [AND …]` that
//! changes at most one row.
//!
//! The general UPDATE ([`crate::dml::update`]) reads every matching row into
//! a row of [`Value`]s (every column, strings and decimals included), builds
//! the new rows as values and converts them back into Arrow arrays. For one
//! row found through a key, most of that work is conversion. Here the row is
//! read as Arrow arrays (a point read), only the columns the WHERE clause and
//! the SET expressions read are converted to values, and the new row version
//! is the old row's arrays with only the SET columns replaced.
//!
//! The statement takes this path only when the general path would do the
//! same: no triggers on the table for the SET columns (which could change
//! rows between the read and the write) and no CHECK constraints (which the
//! general path enforces on value rows); the WHERE clause is bound as the
//! point SELECT binds it ([`crate::point`]). The new row goes through
//! [`Transaction::update_columns`] as in the general path, so NOT NULL,
//! uniqueness of changed keys, foreign keys and write-write conflicts are
//! checked as there. Anything else (more than one matching row included)
//! returns `None` before anything is written, and the caller runs the
//! general path.

use crate::binder::{Binder, Scope};
use crate::convert::{array_values, build_array};
use crate::dml::{has_checks, single_table, table_scope};
use crate::eval::{eval, eval_pred};
use crate::exec::ExecCtx;
use crate::triggers::{self, Event};
use crate::value::Value;
use arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions, UInt64Array};
use llkv_mvcc::Transaction;
use llkv_sql::{CancelFlag, ErrorKind, Output, SqlError, SqlResult};
use llkv_store::ScanRequest;
use sqlparser::ast;

/// Runs `u` when it has the shape of the module docs; `None` otherwise.
///
/// # Errors
/// Binding errors of the SET expressions, their evaluation errors, storage
/// errors, constraint violations and write conflicts (as the general path).
pub(crate) fn update(
    txn: &Transaction,
    u: &ast::Update,
    cancel: &CancelFlag,
) -> SqlResult<Option<Output>> {
    if !crate::point::enabled() || !plain(u) {
        return Ok(None);
    }
    let Some(selection) = &u.selection else { return Ok(None) };
    let Ok((name, alias)) = single_table(&u.table) else { return Ok(None) };
    let Ok(tname) = crate::binder::table_name(name) else { return Ok(None) };
    let Some(h) = txn.table(&tname)? else { return Ok(None) };
    if has_checks(&h) {
        return Ok(None);
    }
    let Some(pred) = crate::point::where_expr(&h, selection) else { return Ok(None) };
    let mut parts = Vec::new();
    crate::planner::conjuncts(&pred, &mut parts);
    let predicates = crate::planner::predicates_for(&h.meta, &parts);
    if predicates.is_empty() {
        return Ok(None);
    }
    let scope: Scope = table_scope(&h, alias.as_deref());
    let mut binder = Binder::new(txn);
    let sets = crate::update_from::bind_assignments(txn, &h, &mut binder, &scope, &u.assignments)?;
    if sets.iter().any(|(_, e)| e.has_subquery()) {
        return Ok(None);
    }
    let assigned: Vec<usize> = sets.iter().map(|(c, _)| *c).collect();
    if !triggers::matching(txn, &h, Event::Update, &assigned)?.is_empty() {
        return Ok(None);
    }
    let ncols = h.meta.columns.len();
    let req = ScanRequest { predicates, with_row_ids: true, ..Default::default() };
    let batches = txn.scan(&h, &req)?;
    cancel.check()?;
    let mut found = batches.iter().filter(|b| b.num_rows() > 0);
    let Some(old) = found.next() else { return Ok(Some(Output::Affected(0))) };
    if old.num_rows() > 1 || found.next().is_some() || old.num_columns() != ncols + 1 {
        return Ok(None);
    }
    // The row as the scope sees it: the columns read, then the row id.
    let mut read = vec![false; ncols + 1];
    pred.visit_columns(&mut |c| mark(&mut read, c));
    for (_, e) in &sets {
        e.visit_columns(&mut |c| mark(&mut read, c));
    }
    let ids = old
        .column(ncols)
        .as_any()
        .downcast_ref::<UInt64Array>()
        .ok_or_else(|| SqlError::new(ErrorKind::Internal, "scan returned no row id"))?;
    let id = ids.value(0);
    let mut row = vec![Value::Null; ncols + 1];
    for (c, v) in row.iter_mut().enumerate().take(ncols).filter(|(c, _)| read[*c]) {
        *v = array_values(old.column(c).as_ref())?.into_iter().next().unwrap_or(Value::Null);
    }
    row[ncols] = Value::Int(id as i64);
    let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
    if !eval_pred(&pred, &row, None, &ctx)? {
        return Ok(Some(Output::Affected(0)));
    }
    let mut columns: Vec<ArrayRef> = old.columns()[..ncols].to_vec();
    for (c, e) in &sets {
        let v = eval(e, &row, None, &ctx)?;
        let col = &h.meta.columns[*c];
        columns[*c] = build_array(&col.data_type, &mut std::iter::once(&v), &col.name)?;
    }
    // The table's (cached) schema, unless a NULL goes into a NOT NULL
    // column: then the store's constraint check reports it.
    let nulls_in_not_null = sets.iter().any(|(c, _)| {
        h.meta.columns.get(*c).is_some_and(|m| !m.nullable)
            && columns.get(*c).is_some_and(|a| a.null_count() > 0)
    });
    let schema =
        if nulls_in_not_null { crate::convert::nullable_schema(&h.meta) } else { h.schema() };
    let opts = RecordBatchOptions::new().with_row_count(Some(1));
    let batch = RecordBatch::try_new_with_options(schema, columns, &opts)?;
    let n = txn.update_columns(&h, &[id], &batch, &assigned)?;
    Ok(Some(Output::Affected(n)))
}

/// Marks column `c` as read (the row id included).
fn mark(read: &mut [bool], c: usize) {
    if let Some(r) = read.get_mut(c) {
        *r = true;
    }
}

/// Whether the statement has nothing but a table, assignments and a WHERE.
fn plain(u: &ast::Update) -> bool {
    u.optimizer_hints.is_empty()
        && u.from.is_none()
        && u.returning.is_none()
        && u.output.is_none()
        && u.or.is_none()
        && u.order_by.is_empty()
        && u.limit.is_none()
        && !u.assignments.is_empty()
}
