//! UPDATE's SET list (`c = e`, `c = DEFAULT`, DuckDB's `(a, b) = (x, y)`) and
//! `UPDATE t SET … FROM s, … [WHERE …]`.
//!
//! With FROM, each row of `t` is joined with the rows of the FROM items; the
//! first combination that satisfies WHERE gives the new values (a row is
//! updated at most once, as in DuckDB and PostgreSQL); rows without a match
//! stay as they are. The FROM items are single relations (tables, views,
//! subqueries), each named by its alias or table name.

use crate::binder::{Binder, Scope, ScopeCol, ident_name, object_name};
use crate::dml::{
    column_index, default_value, is_default_keyword, matching_rows, row_id, single_table, table,
    table_scope, write_update,
};
use crate::eval::{eval, eval_pred};
use crate::exec::{ExecCtx, execute};
use crate::expr::Expr;
use crate::value::Row;
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::{CancelFlag, Output, SqlError, SqlResult};
use sqlparser::ast;

/// The SET list as (column, expression over `scope`) pairs.
///
/// # Errors
/// Unknown columns, a tuple whose value count does not match its columns.
pub(crate) fn bind_assignments(
    txn: &Transaction,
    h: &TableHandle,
    binder: &mut Binder<'_>,
    scope: &Scope,
    assignments: &[ast::Assignment],
) -> SqlResult<Vec<(usize, Expr)>> {
    let mut sets = Vec::new();
    for a in assignments {
        let targets: Vec<&ast::ObjectName> = match &a.target {
            ast::AssignmentTarget::ColumnName(c) => vec![c],
            ast::AssignmentTarget::Tuple(cs) => cs.iter().collect(),
        };
        // `(a, b) = (x, y)` pairs values with columns; `(a, b) = x` gives
        // every column x.
        let values: Vec<&ast::Expr> = match (&a.value, targets.len()) {
            (ast::Expr::Tuple(vs), n) if n > 1 => vs.iter().collect(),
            (v, n) => vec![v; n],
        };
        if values.len() != targets.len() {
            return Err(SqlError::plan(format!(
                "could not perform multiple assignment: {} columns, {} values",
                targets.len(),
                values.len()
            )));
        }
        for (c, v) in targets.into_iter().zip(values) {
            let col = column_index(h, &object_name(c)?)?;
            let e = if is_default_keyword(v) {
                Expr::Literal(default_value(txn, h, col)?)
            } else {
                binder.bind_scoped_expr(v, scope)?
            };
            sets.push((col, e));
        }
    }
    Ok(sets)
}

/// One FROM item: its rows and its scope columns.
fn from_item(
    binder: &mut Binder<'_>,
    twj: &ast::TableWithJoins,
    ctx: &ExecCtx<'_>,
) -> SqlResult<(Vec<Row>, Scope)> {
    if !twj.joins.is_empty() {
        return Err(SqlError::plan("UPDATE … FROM with JOIN is not supported"));
    }
    let qual = match &twj.relation {
        ast::TableFactor::Table { name, alias, .. } => match alias {
            Some(a) => ident_name(&a.name),
            None => object_name(name)?,
        },
        ast::TableFactor::Derived { alias: Some(a), .. } => ident_name(&a.name),
        other => {
            return Err(SqlError::plan(format!("unsupported UPDATE … FROM item {other}")));
        }
    };
    let query = crate::parse::parse_query(&format!("SELECT * FROM {}", twj.relation))?;
    let bound = binder.bind_query(&query)?;
    let scope = Scope {
        cols: bound
            .names
            .iter()
            .map(|n| ScopeCol {
                table: Some(qual.clone()),
                name: n.clone(),
                hidden: false,
                system: false,
            })
            .collect(),
    };
    Ok((execute(&bound.plan, None, ctx)?, scope))
}

/// `UPDATE t SET … FROM … [WHERE …]`.
///
/// # Errors
/// Unknown names, unsupported FROM items, constraint violations, conflicts.
pub(crate) fn update_from(
    txn: &Transaction,
    u: &ast::Update,
    cancel: &CancelFlag,
) -> SqlResult<Output> {
    let items = match &u.from {
        Some(ast::UpdateTableFromKind::AfterSet(v) | ast::UpdateTableFromKind::BeforeSet(v)) => v,
        None => return Err(SqlError::plan("UPDATE … FROM without a FROM list")),
    };
    let (name, alias) = single_table(&u.table)?;
    let h = table(txn, name)?;
    let mut scope = table_scope(&h, alias.as_deref());
    let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
    let mut binder = Binder::new(txn);
    // The FROM rows, as one cross product.
    let mut combos: Vec<Row> = vec![Vec::new()];
    for twj in items {
        let (rows, s) = from_item(&mut binder, twj, &ctx)?;
        scope.cols.extend(s.cols);
        combos = combos
            .iter()
            .flat_map(|c| rows.iter().map(move |r| c.iter().chain(r).cloned().collect::<Row>()))
            .collect();
    }
    let sets = bind_assignments(txn, &h, &mut binder, &scope, &u.assignments)?;
    let pred = u.selection.as_ref().map(|w| binder.bind_scoped_expr(w, &scope)).transpose()?;
    let targets = matching_rows(txn, &h, &table_scope(&h, alias.as_deref()), None, &ctx)?;
    let ncols = h.meta.columns.len();
    let (mut old_rows, mut ids, mut new_rows) = (Vec::new(), Vec::new(), Vec::new());
    for t in &targets {
        for c in &combos {
            ctx.check_cancel()?;
            let joined: Row = t.iter().chain(c).cloned().collect();
            if let Some(p) = &pred
                && !eval_pred(p, &joined, None, &ctx)?
            {
                continue;
            }
            let mut nr: Row = t.iter().take(ncols).cloned().collect();
            for (col, e) in &sets {
                nr[*col] = eval(e, &joined, None, &ctx)?;
            }
            ids.push(row_id(t)?);
            old_rows.push(t.clone());
            new_rows.push(nr);
            break;
        }
    }
    if ids.is_empty() {
        return Ok(Output::Affected(0));
    }
    let assigned: Vec<usize> = sets.iter().map(|(c, _)| *c).collect();
    write_update(txn, &h, &assigned, &ids, &old_rows, &new_rows)
}
