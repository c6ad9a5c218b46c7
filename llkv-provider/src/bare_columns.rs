//! SQLite's bare columns in an aggregate query: `SELECT a, sum(b) FROM t
//! GROUP BY c`, where `a` is neither grouped nor aggregated. SQLite takes `a`
//! from some row of the group; DataFusion refuses the query, as PostgreSQL
//! and DuckDB do.
//!
//! When DataFusion refuses a query for this reason, the engine retries it
//! with every such column of the select list and HAVING wrapped in
//! `first_value(…)` (the value of some row of the group, as the native route
//! takes it).
//! Statements DataFusion accepts are never changed, so a dialect that
//! refuses bare columns only loses the error.

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, ObjectName,
    SelectItem, SetExpr, Statement as SqlStatement, UnaryOperator, Value, visit_expressions_mut,
};
use std::ops::ControlFlow;

/// Placeholder prefix for the parts of an expression left alone.
const HIDDEN: &str = "$__llkv_hidden_";

/// Whether `message` is DataFusion refusing a bare column.
pub(crate) fn is_bare_column_error(message: &str) -> bool {
    message.contains("must appear in the GROUP BY clause")
        || message.contains("must be in GROUP BY or an aggregate function")
}

/// `stmt` with the bare columns of its select lists wrapped in
/// `first_value`; `None` when nothing was wrapped.
pub(crate) fn wrap_bare_columns(
    stmt: &Statement,
    is_aggregate: &dyn Fn(&str) -> bool,
) -> Option<Statement> {
    let mut stmt = stmt.clone();
    let Statement::Statement(s) = &mut stmt else { return None };
    let SqlStatement::Query(q) = s.as_mut() else { return None };
    let mut changed = false;
    body(&mut q.body, is_aggregate, &mut changed);
    changed.then_some(stmt)
}

fn body(b: &mut SetExpr, is_aggregate: &dyn Fn(&str) -> bool, changed: &mut bool) {
    match b {
        SetExpr::Select(s) => {
            let GroupByExpr::Expressions(groups, _) = &s.group_by else { return };
            let grouped: Vec<Column> = groups.iter().filter_map(column_of).collect();
            let aggregated = !groups.is_empty()
                || s.projection.iter().any(|i| match i {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        has_aggregate(e, is_aggregate)
                    }
                    _ => false,
                });
            if !aggregated {
                return;
            }
            for item in &mut s.projection {
                if let SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } = item
                {
                    *changed |= wrap(e, &grouped, is_aggregate);
                }
            }
            // In HAVING too (a name there is a column of the input, as DataFusion resolves it).
            if let Some(h) = s.having.as_mut() {
                *changed |= wrap(h, &grouped, is_aggregate);
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            body(left, is_aggregate, changed);
            body(right, is_aggregate, changed);
        }
        SetExpr::Query(q) => body(&mut q.body, is_aggregate, changed),
        _ => {}
    }
}

/// A column reference: its qualifier (if any) and name, in lower case.
type Column = (Option<String>, String);

/// The column `e` names (through parentheses and unary `+`), if it is one.
fn column_of(e: &Expr) -> Option<Column> {
    match e {
        Expr::Identifier(id) => Some((None, id.value.to_lowercase())),
        Expr::CompoundIdentifier(ids) => {
            let (last, rest) = ids.split_last()?;
            let qualifier = rest.last().map(|q| q.value.to_lowercase());
            Some((qualifier, last.value.to_lowercase()))
        }
        Expr::Nested(e) | Expr::UnaryOp { op: UnaryOperator::Plus, expr: e } => column_of(e),
        _ => None,
    }
}

/// Whether column `c` is one of the GROUP BY columns (an unqualified name on
/// either side matches any qualifier).
fn is_grouped(c: &Column, grouped: &[Column]) -> bool {
    grouped.iter().any(|g| g.1 == c.1 && (g.0.is_none() || c.0.is_none() || g.0 == c.0))
}

/// Whether `e` is a call that must not be looked into: an aggregate, a window
/// function or a subquery.
fn is_closed(e: &Expr, is_aggregate: &dyn Fn(&str) -> bool) -> bool {
    match e {
        Expr::Function(f) => {
            f.over.is_some()
                || f.name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .is_some_and(|id| is_aggregate(&id.value.to_lowercase()))
        }
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => true,
        _ => false,
    }
}

fn has_aggregate(e: &Expr, is_aggregate: &dyn Fn(&str) -> bool) -> bool {
    let mut e = e.clone();
    visit_expressions_mut(&mut e, |e| {
        if matches!(e, Expr::Function(f) if f.over.is_none()) && is_closed(e, is_aggregate) {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })
    .is_break()
}

/// Wraps the columns of `e` outside aggregates and subqueries that are not
/// grouped; returns whether any was.
fn wrap(e: &mut Expr, grouped: &[Column], is_aggregate: &dyn Fn(&str) -> bool) -> bool {
    // Hide the closed parts, wrap what is left, then put the parts back.
    let mut hidden: Vec<Expr> = Vec::new();
    let _ = visit_expressions_mut(e, |x| {
        if is_closed(x, is_aggregate) {
            let placeholder = Expr::value(Value::Placeholder(format!("{HIDDEN}{}", hidden.len())));
            hidden.push(std::mem::replace(x, placeholder));
        }
        ControlFlow::<()>::Continue(())
    });
    let mut changed = false;
    let _ = visit_expressions_mut(e, |x| {
        if matches!(x, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
            && let Some(c) = column_of(x)
            && !is_grouped(&c, grouped)
        {
            let column = std::mem::replace(x, Expr::value(Value::Null));
            *x = first_value(column);
            changed = true;
        }
        ControlFlow::<()>::Continue(())
    });
    // A hidden part may hold hidden parts of its own (hidden first).
    while !hidden.is_empty() {
        let mut restored = false;
        let _ = visit_expressions_mut(e, |x| {
            if let Expr::Value(v) = x
                && let Value::Placeholder(p) = &v.value
                && let Some(i) = p.strip_prefix(HIDDEN).and_then(|n| n.parse::<usize>().ok())
                && let Some(part) = hidden.get_mut(i)
            {
                *x = std::mem::replace(part, Expr::value(Value::Null));
                restored = true;
            }
            ControlFlow::<()>::Continue(())
        });
        if !restored {
            break;
        }
        if !expr_has_placeholder(e) {
            break;
        }
    }
    changed
}

fn expr_has_placeholder(e: &mut Expr) -> bool {
    visit_expressions_mut(e, |x| match x {
        Expr::Value(v) if matches!(&v.value, Value::Placeholder(p) if p.starts_with(HIDDEN)) => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// `first_value(column)`.
fn first_value(column: Expr) -> Expr {
    Expr::Function(datafusion::sql::sqlparser::ast::Function {
        name: ObjectName::from(vec![Ident::new("first_value")]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(datafusion::sql::sqlparser::ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(column))],
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}
