//! The point-lookup fast path: `SELECT <columns | *> FROM t WHERE c = v
//! [AND …]` on one table, answered without the binder and the executors.
//!
//! Such statements are what clients send one key at a time, and for one row
//! the general route's fixed costs (binding a plan, compiling a pipeline,
//! converting between rows and batches) dominate. Here the WHERE clause is
//! built as the binder would build it (columns by position, literals as
//! [`Value`]s), its pushable conjuncts become store predicates (so a primary
//! key or index answers the lookup), and the full predicate is evaluated on
//! the rows read, exactly as [`crate::dml`] does for UPDATE and DELETE.
//!
//! Anything else, or a result of more than one row (whose order would be the
//! general route's to decide), returns `None`, and the caller runs the
//! statement the general way.

use crate::convert::rows_to_batch;
use crate::eval::eval_pred;
use crate::exec::{ExecCtx, ScanExecutor};
use crate::expr::{BinOp, Expr};
use crate::value::{Row, Value};
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::{CancelFlag, Output, SqlResult};
use sqlparser::ast;

/// Whether the statement cache and the point fast path are on: they are
/// unless the environment sets `LLKV_NATIVE_FAST=off` (to measure them).
pub(crate) fn enabled() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| !matches!(std::env::var("LLKV_NATIVE_FAST").as_deref(), Ok("off" | "0")))
}

/// Answers `q` when it is a point lookup (see the module docs).
///
/// # Errors
/// Storage errors of the lookup.
pub(crate) fn select(
    txn: &Transaction,
    q: &ast::Query,
    cancel: &CancelFlag,
) -> SqlResult<Option<Output>> {
    if !enabled() {
        return Ok(None);
    }
    let Some((name, items, selection)) = point_shape(q) else { return Ok(None) };
    let Ok(tname) = crate::binder::table_name(name) else { return Ok(None) };
    if txn.property(&crate::binder::view_key(&tname)).is_some() {
        return Ok(None);
    }
    let Some(h) = txn.table(&tname)? else { return Ok(None) };
    let Some(pred) = where_expr(&h, selection) else { return Ok(None) };
    let Some((cols, names)) = projection(&h, items) else { return Ok(None) };
    let mut parts = Vec::new();
    crate::planner::conjuncts(&pred, &mut parts);
    let predicates = crate::planner::predicates_for(&h.meta, &parts);
    if predicates.is_empty() {
        // No index or chunk statistics can help: leave it to the general route.
        return Ok(None);
    }
    let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
    let mut rows = ScanExecutor::read_filtered(&ctx, &h, predicates, false)?;
    let mut kept = Vec::with_capacity(1);
    for r in rows.drain(..) {
        if eval_pred(&pred, &r, None, &ctx)? {
            kept.push(r);
        }
    }
    if kept.len() > 1 {
        return Ok(None);
    }
    let out: Vec<Row> = kept
        .iter()
        .map(|r| cols.iter().map(|&c| r.get(c).cloned().unwrap_or(Value::Null)).collect())
        .collect();
    let (schema, batch) = rows_to_batch(&names, &out)?;
    Ok(Some(Output::Rows { schema, batches: vec![batch] }))
}

/// The table, select items and WHERE of a single-table SELECT with nothing
/// else (no DISTINCT, grouping, ordering, limit, alias or hints).
fn point_shape(q: &ast::Query) -> Option<(&ast::ObjectName, &[ast::SelectItem], &ast::Expr)> {
    let plain_query = q.with.is_none()
        && q.order_by.is_none()
        && q.limit_clause.is_none()
        && q.fetch.is_none()
        && q.locks.is_empty()
        && q.for_clause.is_none()
        && q.settings.is_none()
        && q.format_clause.is_none()
        && q.pipe_operators.is_empty();
    let ast::SetExpr::Select(s) = q.body.as_ref() else { return None };
    let plain_select = s.optimizer_hints.is_empty()
        && s.distinct.is_none()
        && s.select_modifiers.is_none()
        && s.top.is_none()
        && s.exclude.is_none()
        && s.into.is_none()
        && s.lateral_views.is_empty()
        && s.prewhere.is_none()
        && s.connect_by.is_empty()
        && matches!(&s.group_by, ast::GroupByExpr::Expressions(g, m) if g.is_empty() && m.is_empty())
        && s.cluster_by.is_empty()
        && s.distribute_by.is_empty()
        && s.sort_by.is_empty()
        && s.having.is_none()
        && s.named_window.is_empty()
        && s.qualify.is_none()
        && s.value_table_mode.is_none()
        && matches!(s.flavor, ast::SelectFlavor::Standard)
        && !s.projection.is_empty();
    if !plain_query || !plain_select {
        return None;
    }
    let [twj] = s.from.as_slice() else { return None };
    if !twj.joins.is_empty() {
        return None;
    }
    let ast::TableFactor::Table {
        name,
        alias: None,
        args: None,
        with_hints,
        version: None,
        with_ordinality: false,
        partitions,
        json_path: None,
        sample: None,
        index_hints,
    } = &twj.relation
    else {
        return None;
    };
    if !with_hints.is_empty() || !partitions.is_empty() || !index_hints.is_empty() {
        return None;
    }
    Some((name, &s.projection, s.selection.as_ref()?))
}

/// The column of `h` an unquoted or quoted identifier names.
fn column(h: &TableHandle, e: &ast::Expr) -> Option<usize> {
    let ast::Expr::Identifier(id) = e else { return None };
    h.meta.columns.iter().position(|c| c.name.eq_ignore_ascii_case(&id.value))
}

/// A literal as the binder reads it (only numbers and strings, and a
/// negated integer, which the binder folds).
fn literal(e: &ast::Expr) -> Option<Value> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, false) => match n.parse::<i64>() {
                Ok(i) => Some(Value::Int(i)),
                Err(_) => n.parse::<f64>().ok().map(Value::Real),
            },
            ast::Value::SingleQuotedString(s) => Some(Value::Text(s.clone())),
            _ => None,
        },
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => match expr.as_ref() {
            ast::Expr::Value(v) => match &v.value {
                ast::Value::Number(n, false) => format!("-{n}").parse::<i64>().ok().map(Value::Int),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// `c = v [AND …]` bound as the binder binds it; `None` for anything else.
pub(crate) fn where_expr(h: &TableHandle, e: &ast::Expr) -> Option<Expr> {
    match e {
        ast::Expr::BinaryOp { left, op: ast::BinaryOperator::And, right } => Some(Expr::Binary(
            BinOp::And,
            Box::new(where_expr(h, left)?),
            Box::new(where_expr(h, right)?),
        )),
        ast::Expr::BinaryOp { left, op: ast::BinaryOperator::Eq, right } => {
            let side = |x: &ast::Expr| match column(h, x) {
                Some(c) => Some(Expr::Column(c)),
                None => literal(x).map(Expr::Literal),
            };
            let (l, r) = (side(left)?, side(right)?);
            // One column and one literal.
            match (&l, &r) {
                (Expr::Column(_), Expr::Literal(_)) | (Expr::Literal(_), Expr::Column(_)) => {
                    Some(Expr::Binary(BinOp::Eq, Box::new(l), Box::new(r)))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// The table columns the select items read and their output names.
fn projection(h: &TableHandle, items: &[ast::SelectItem]) -> Option<(Vec<usize>, Vec<String>)> {
    let mut cols = Vec::new();
    let mut names = Vec::new();
    for item in items {
        match item {
            ast::SelectItem::Wildcard(opts) if *opts == Default::default() => {
                for (i, c) in h.meta.columns.iter().enumerate() {
                    cols.push(i);
                    names.push(c.name.clone());
                }
            }
            ast::SelectItem::UnnamedExpr(e @ ast::Expr::Identifier(id)) => {
                cols.push(column(h, e)?);
                names.push(id.value.clone());
            }
            ast::SelectItem::ExprWithAlias { expr, alias } => {
                cols.push(column(h, expr)?);
                names.push(alias.value.clone());
            }
            _ => return None,
        }
    }
    Some((cols, names))
}
