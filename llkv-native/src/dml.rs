//! INSERT, UPDATE and DELETE.
//!
//! Values are converted to the column's storage type with SQLite's type
//! affinity (text that reads as a number goes into numeric columns as that
//! number); a column left out of an INSERT takes its DEFAULT, else NULL.
//! `llkv-mvcc` enforces NOT NULL, PRIMARY KEY, UNIQUE and UNIQUE indexes
//! (through their indexes).

use crate::binder::{Binder, Scope, ScopeCol, object_name};
use crate::convert::build_array;
use crate::ddl::DEFAULT_PROPERTY;
use crate::eval::{eval, eval_pred};
use crate::exec::{ExecCtx, ScanExecutor, execute};
use crate::triggers::{self, Event};
use crate::value::{Row, Value};
use arrow::array::{RecordBatch, RecordBatchOptions};
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::CancelFlag;
use llkv_sql::{ErrorKind, Output, SqlError, SqlResult};
use sqlparser::ast;
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

pub(crate) fn table(txn: &Transaction, name: &ast::ObjectName) -> SqlResult<TableHandle> {
    let n = crate::binder::table_name(name)?;
    txn.table(&n)?.ok_or_else(|| SqlError::plan(format!("no such table: {n}")))
}

pub(crate) fn column_index(h: &TableHandle, name: &str) -> SqlResult<usize> {
    h.meta
        .columns
        .iter()
        .position(|c| c.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| SqlError::plan(format!("table {} has no column named {name}", h.name)))
}

pub(crate) fn default_value(txn: &Transaction, h: &TableHandle, col: usize) -> SqlResult<Value> {
    let Some(text) = h.meta.columns.get(col).and_then(|c| c.properties.get(DEFAULT_PROPERTY))
    else {
        return Ok(Value::Null);
    };
    let e = Parser::new(&SQLiteDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::plan(format!("bad DEFAULT {text}: {e}")))?;
    let bound = Binder::new(txn).bind_const_expr(&e)?;
    eval(&bound, &[], None, &ExecCtx::new(txn))
}

pub(crate) fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// Builds a batch in the table's column types from full rows.
///
/// # Errors
/// Values that cannot be stored in their column.
pub fn rows_batch(h: &TableHandle, rows: &[Row]) -> SqlResult<RecordBatch> {
    let arrays = h
        .meta
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            build_array(
                &c.data_type,
                &mut rows.iter().map(|r| r.get(i).unwrap_or(&Value::Null)),
                &c.name,
            )
        })
        .collect::<SqlResult<Vec<_>>>()?;
    let opts = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    Ok(RecordBatch::try_new_with_options(crate::convert::nullable_schema(&h.meta), arrays, &opts)?)
}

/// `INSERT [OR REPLACE|IGNORE] INTO t [(cols)] VALUES … | SELECT … | DEFAULT VALUES`.
///
/// # Errors
/// Unknown table/columns, arity mismatches, constraint violations.
pub fn insert(txn: &Transaction, ins: &ast::Insert, cancel: &CancelFlag) -> SqlResult<Output> {
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(SqlError::plan("INSERT into a table function is not supported"));
    };
    if ins.returning.is_some() || ins.on.is_some() {
        return Err(SqlError::plan("INSERT … RETURNING / ON CONFLICT is not supported"));
    }
    let h = table(txn, name)?;
    let ncols = h.meta.columns.len();
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..ncols).collect()
    } else {
        ins.columns.iter().map(|c| column_index(&h, &object_name(c)?)).collect::<SqlResult<_>>()?
    };
    let defaults: Vec<Value> =
        (0..ncols).map(|i| default_value(txn, &h, i)).collect::<SqlResult<_>>()?;
    let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
    // Each source row as Option<Value> per target (None: DEFAULT keyword).
    let source: Vec<Vec<Option<Value>>> = match &ins.source {
        None => vec![Vec::new()],
        Some(q) => match (
            q.body.as_ref(),
            q.order_by.is_none() && q.limit_clause.is_none() && q.with.is_none(),
        ) {
            (ast::SetExpr::Values(v), true) => {
                let mut binder = Binder::new(txn);
                let mut out = Vec::with_capacity(v.rows.len());
                for r in &v.rows {
                    let mut vals = Vec::with_capacity(r.content.len());
                    for e in &r.content {
                        if is_default_keyword(e) {
                            vals.push(None);
                        } else {
                            let b = binder.bind_const_expr(e)?;
                            vals.push(Some(eval(&b, &[], None, &ctx)?));
                        }
                    }
                    out.push(vals);
                }
                out
            }
            _ => {
                let bq = Binder::new(txn).bind_query(q)?;
                if matches!(insert_mode(ins), Conflict::Abort)
                    && !has_checks(&h)
                    && triggers::matching(txn, &h, Event::Insert, &[])?.is_empty()
                    && let Some(n) =
                        crate::insert_select::try_insert(txn, &h, &targets, &bq.plan, &ctx)?
                {
                    return Ok(Output::Affected(n));
                }
                execute(&bq.plan, None, &ctx)?
                    .into_iter()
                    .map(|r| r.into_iter().map(Some).collect())
                    .collect()
            }
        },
    };
    let mut rows = Vec::with_capacity(source.len());
    for vals in source {
        if ins.source.is_some() && vals.len() != targets.len() {
            return Err(SqlError::plan(format!(
                "table {} has {} columns but {} values were supplied",
                h.name,
                targets.len(),
                vals.len()
            )));
        }
        let mut row = defaults.clone();
        for (t, v) in targets.iter().zip(vals) {
            if let Some(v) = v {
                row[*t] = v;
            }
        }
        rows.push(row);
    }
    let mode = insert_mode(ins);
    if !matches!(mode, Conflict::Abort) && !crate::ddl::unique_indexes(txn, &h.meta).is_empty() {
        return Err(SqlError::plan(
            "INSERT OR REPLACE/IGNORE on a table with a UNIQUE index is not supported",
        ));
    }
    let triggers = triggers::matching(txn, &h, Event::Insert, &[])?;
    triggers::fire(txn, &h, &triggers, true, None, Some(&rows))?;
    check_rows(txn, &h, &rows)?;
    let n = match mode {
        Conflict::Abort => txn.insert(&h, &rows_batch(&h, &rows)?)?,
        Conflict::Ignore => {
            let mut n = 0;
            for r in &rows {
                match txn.insert(&h, &rows_batch(&h, std::slice::from_ref(r))?) {
                    Ok(k) => n += k,
                    Err(llkv_mvcc::Error::Constraint(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            n
        }
        Conflict::Replace => {
            let mut n = 0;
            for r in &rows {
                replace_conflicts(txn, &h, r)?;
                n += txn.insert(&h, &rows_batch(&h, std::slice::from_ref(r))?)?;
            }
            n
        }
    };
    triggers::fire(txn, &h, &triggers, false, None, Some(&rows))?;
    Ok(Output::Affected(n))
}

enum Conflict {
    Abort,
    Ignore,
    Replace,
}

fn insert_mode(ins: &ast::Insert) -> Conflict {
    match (&ins.or, ins.replace_into, ins.ignore) {
        (Some(ast::SqliteOnConflict::Replace), _, _) | (_, true, _) => Conflict::Replace,
        (Some(ast::SqliteOnConflict::Ignore), _, _) | (_, _, true) => Conflict::Ignore,
        _ => Conflict::Abort,
    }
}

/// Whether the table has CHECK constraints (enforced on rows, by the row path).
pub(crate) fn has_checks(h: &TableHandle) -> bool {
    h.meta.properties.keys().any(|k| k.starts_with(crate::check::CHECK_PREFIX))
}

/// OR REPLACE: deletes the rows whose PRIMARY KEY or UNIQUE key equals the new row's.
fn replace_conflicts(txn: &Transaction, h: &TableHandle, new: &Row) -> SqlResult<()> {
    let mut keys: Vec<Vec<usize>> = h.meta.unique.clone();
    if !h.meta.primary_key.is_empty() {
        keys.push(h.meta.primary_key.clone());
    }
    if keys.is_empty() {
        return Ok(());
    }
    // Compare in storage types: convert the new row first.
    let batch = rows_batch(h, std::slice::from_ref(new))?;
    let stored = crate::convert::batch_rows(&batch)?;
    let Some(new) = stored.first() else { return Ok(()) };
    let ctx = ExecCtx::new(txn);
    let rows = ScanExecutor::read_table(&ctx, h, true)?;
    let mut ids = Vec::new();
    for r in &rows {
        let hit = keys.iter().any(|k| {
            k.iter().all(|&c| match (r.get(c), new.get(c)) {
                (Some(a), Some(b)) => a.sql_cmp(b) == Some(std::cmp::Ordering::Equal),
                _ => false,
            })
        });
        if hit && let Some(Value::Int(id)) = r.last() {
            ids.push(*id as u64);
        }
    }
    if !ids.is_empty() {
        txn.delete(h, &ids)?;
    }
    Ok(())
}

/// The scope of an UPDATE/DELETE: the table's columns, then its row id as
/// `rowid` (unless a column has that name), which [`matching_rows`] puts last.
pub(crate) fn table_scope(h: &TableHandle, alias: Option<&str>) -> Scope {
    let t = alias.map_or_else(|| h.name.clone(), str::to_string);
    let mut cols: Vec<ScopeCol> = h
        .meta
        .columns
        .iter()
        .map(|c| ScopeCol {
            table: Some(t.clone()),
            name: c.name.clone(),
            hidden: false,
            system: false,
        })
        .collect();
    if !h.meta.columns.iter().any(|c| c.name.eq_ignore_ascii_case("rowid")) {
        cols.push(ScopeCol { table: Some(t), name: "rowid".into(), hidden: false, system: false });
    }
    Scope { cols }
}

/// The rows of `h` (with the row id last) that satisfy `selection`.
pub(crate) fn matching_rows(
    txn: &Transaction,
    h: &TableHandle,
    scope: &Scope,
    selection: Option<&ast::Expr>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Vec<Row>> {
    let pred = selection.map(|w| Binder::new(txn).bind_scoped_expr(w, scope)).transpose()?;
    // Pushable conjuncts narrow the scan (and may pick an index); the whole
    // predicate is still evaluated on every row read.
    let mut parts = Vec::new();
    if let Some(p) = &pred
        && !p.has_subquery()
    {
        crate::planner::conjuncts(p, &mut parts);
    }
    let predicates = crate::planner::predicates_for(&h.meta, &parts);
    let rows = ScanExecutor::read_filtered(ctx, h, predicates, true)?;
    let mut out = Vec::new();
    for r in rows {
        let keep = match &pred {
            Some(p) => eval_pred(p, &r, None, ctx)?,
            None => true,
        };
        if keep {
            out.push(r);
        }
    }
    Ok(out)
}

pub(crate) fn row_id(r: &Row) -> SqlResult<u64> {
    match r.last() {
        Some(Value::Int(i)) => Ok(*i as u64),
        _ => Err(SqlError::new(ErrorKind::Internal, "scan returned no row id")),
    }
}

pub(crate) fn single_table(
    twj: &ast::TableWithJoins,
) -> SqlResult<(&ast::ObjectName, Option<String>)> {
    match &twj.relation {
        ast::TableFactor::Table { name, alias, .. } if twj.joins.is_empty() => {
            Ok((name, alias.as_ref().map(|a| crate::binder::ident_name(&a.name))))
        }
        _ => Err(SqlError::plan("UPDATE/DELETE of joins is not supported")),
    }
}

/// `UPDATE t SET c = e, … [WHERE …]`.
///
/// # Errors
/// Unknown names, constraint violations, write conflicts.
pub fn update(txn: &Transaction, u: &ast::Update, cancel: &CancelFlag) -> SqlResult<Output> {
    if u.returning.is_some() || u.limit.is_some() {
        return Err(SqlError::plan("UPDATE … RETURNING / LIMIT is not supported"));
    }
    if u.from.is_some() {
        return crate::update_from::update_from(txn, u, cancel);
    }
    let (name, alias) = single_table(&u.table)?;
    let h = table(txn, name)?;
    let scope = table_scope(&h, alias.as_deref());
    let mut binder = Binder::new(txn);
    let sets = crate::update_from::bind_assignments(txn, &h, &mut binder, &scope, &u.assignments)?;
    let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
    let rows = matching_rows(txn, &h, &scope, u.selection.as_ref(), &ctx)?;
    if rows.is_empty() {
        return Ok(Output::Affected(0));
    }
    let ncols = h.meta.columns.len();
    let mut ids = Vec::with_capacity(rows.len());
    let mut new_rows = Vec::with_capacity(rows.len());
    for r in &rows {
        ids.push(row_id(r)?);
        let mut nr: Row = r.iter().take(ncols).cloned().collect();
        for (c, e) in &sets {
            nr[*c] = eval(e, r, None, &ctx)?;
        }
        new_rows.push(nr);
    }
    let assigned: Vec<usize> = sets.iter().map(|(c, _)| *c).collect();
    write_update(txn, &h, &assigned, &ids, &rows, &new_rows)
}

/// Writes an UPDATE's new row versions: BEFORE triggers, CHECK constraints,
/// the store update, AFTER triggers. `assigned` are the SET columns'
/// positions (they select the `UPDATE OF` triggers); `old_rows[i]` and
/// `new_rows[i]` are the row `ids[i]` before and after.
pub(crate) fn write_update(
    txn: &Transaction,
    h: &TableHandle,
    assigned: &[usize],
    ids: &[u64],
    old_rows: &[Row],
    new_rows: &[Row],
) -> SqlResult<Output> {
    let triggers = triggers::matching(txn, h, Event::Update, assigned)?;
    triggers::fire(txn, h, &triggers, true, Some(old_rows), Some(new_rows))?;
    check_rows(txn, h, new_rows)?;
    let batch = rows_batch(h, new_rows)?;
    // Without triggers nothing runs between reading the rows and replacing
    // them, so only the SET columns differ and unchanged keys need no check.
    let n = if triggers.is_empty() {
        txn.update_columns(h, ids, &batch, assigned)?
    } else {
        txn.update(h, ids, &batch)?
    };
    triggers::fire(txn, h, &triggers, false, Some(old_rows), Some(new_rows))?;
    Ok(Output::Affected(n))
}

/// `DELETE FROM t [WHERE …]`.
///
/// # Errors
/// Unknown names, write conflicts.
pub fn delete(txn: &Transaction, d: &ast::Delete, cancel: &CancelFlag) -> SqlResult<Output> {
    if d.using.is_some() || d.returning.is_some() || d.limit.is_some() || !d.tables.is_empty() {
        return Err(SqlError::plan("DELETE … USING / RETURNING / LIMIT is not supported"));
    }
    let from = match &d.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [twj] = from.as_slice() else {
        return Err(SqlError::plan("DELETE from several tables is not supported"));
    };
    let (name, alias) = single_table(twj)?;
    let h = table(txn, name)?;
    let scope = table_scope(&h, alias.as_deref());
    let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
    let triggers = triggers::matching(txn, &h, Event::Delete, &[])?;
    if triggers.is_empty()
        && let Some(ids) = matching_ids(txn, &h, &scope, d.selection.as_ref(), &ctx)?
    {
        // No trigger needs the old rows: only the row ids were read.
        if ids.is_empty() {
            return Ok(Output::Affected(0));
        }
        return Ok(Output::Affected(txn.delete(&h, &ids)?));
    }
    let rows = matching_rows(txn, &h, &scope, d.selection.as_ref(), &ctx)?;
    let ids = rows.iter().map(row_id).collect::<SqlResult<Vec<_>>>()?;
    if ids.is_empty() {
        return Ok(Output::Affected(0));
    }
    triggers::fire(txn, &h, &triggers, true, Some(&rows), None)?;
    let n = txn.delete(&h, &ids)?;
    triggers::fire(txn, &h, &triggers, false, Some(&rows), None)?;
    Ok(Output::Affected(n))
}

/// The row ids of `h`'s rows that satisfy `selection`, reading only the
/// columns it names (a DELETE of 10% of a wide table would otherwise turn
/// every column of every row into values). `None` when `selection` has a
/// subquery, which may read any column of the row.
fn matching_ids(
    txn: &Transaction,
    h: &TableHandle,
    scope: &Scope,
    selection: Option<&ast::Expr>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Option<Vec<u64>>> {
    let pred = selection.map(|w| Binder::new(txn).bind_scoped_expr(w, scope)).transpose()?;
    if pred.as_ref().is_some_and(crate::expr::Expr::has_subquery) {
        return Ok(None);
    }
    let ncols = h.meta.columns.len();
    let mut parts = Vec::new();
    if let Some(p) = &pred {
        crate::planner::conjuncts(p, &mut parts);
    }
    let predicates = crate::planner::predicates_for(&h.meta, &parts);
    // The user columns the predicate reads, in table order; the row id
    // (scope position `ncols`) comes last in every scanned row.
    let mut cols: Vec<usize> = pred.as_ref().map_or_else(Vec::new, crate::expr::Expr::columns);
    cols.retain(|&c| c < ncols);
    cols.sort_unstable();
    cols.dedup();
    let pred = pred.map(|mut p| {
        p.map_columns(&|i| cols.iter().position(|&c| c == i).unwrap_or(cols.len()));
        p
    });
    let req = llkv_store::ScanRequest {
        projection: Some(cols.clone()),
        predicates,
        with_row_ids: true,
        ..Default::default()
    };
    let batches = txn.scan(h, &req)?;
    let mut ids = Vec::new();
    for b in &batches {
        ctx.check_cancel()?;
        let id_col = b.column(b.num_columns() - 1);
        let Some(id_col) = id_col.as_any().downcast_ref::<arrow::array::UInt64Array>() else {
            return Err(SqlError::new(ErrorKind::Internal, "scan returned no row ids"));
        };
        match &pred {
            None => ids.extend(id_col.values().iter().copied()),
            Some(p) => {
                for r in crate::convert::batch_rows(b)? {
                    if eval_pred(p, &r, None, ctx)? {
                        ids.push(row_id(&r)?);
                    }
                }
            }
        }
    }
    Ok(Some(ids))
}

/// Checks a UNIQUE index over `cols`: the table's rows (minus `removed` row
/// ids) plus `added` rows must not repeat a key without NULLs.
///
/// # Errors
/// A constraint error naming the columns.
pub fn check_unique_index(
    txn: &Transaction,
    h: &TableHandle,
    cols: &[usize],
    removed: &[u64],
    added: &[Row],
) -> SqlResult<()> {
    let ctx = ExecCtx::new(txn);
    let rows = ScanExecutor::read_table(&ctx, h, true)?;
    let removed: std::collections::HashSet<u64> = removed.iter().copied().collect();
    let mut seen = std::collections::HashSet::new();
    let existing = rows.iter().filter(|r| match r.last() {
        Some(Value::Int(id)) => !removed.contains(&(*id as u64)),
        _ => true,
    });
    for r in existing.chain(added.iter()) {
        let key: Option<Vec<_>> =
            cols.iter().map(|&c| r.get(c).filter(|v| !v.is_null()).map(Value::group_key)).collect();
        if let Some(k) = key
            && !seen.insert(k)
        {
            {
                let names: Vec<String> = cols
                    .iter()
                    .filter_map(|&c| h.meta.columns.get(c))
                    .map(|c| format!("{}.{}", h.name, c.name))
                    .collect();
                return Err(SqlError::new(
                    ErrorKind::Constraint,
                    format!("UNIQUE constraint failed: {}", names.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

/// Checks new rows against the table's CHECK constraints (in storage types).
pub(crate) fn check_rows(txn: &Transaction, h: &TableHandle, rows: &[Row]) -> SqlResult<()> {
    if !has_checks(h) {
        return Ok(());
    }
    let stored = crate::convert::batch_rows(&rows_batch(h, rows)?)?;
    crate::check::enforce(txn, h, &stored)
}
