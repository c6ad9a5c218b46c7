//! CHECK constraints on the native route.
//!
//! A table's CHECK expressions are kept, as SQL text, in the table properties
//! `check.0`, `check.1`, … of its catalog entry. An INSERT or UPDATE fails
//! when a new row makes one of them false (NULL passes, as in SQL).

use crate::binder::{Binder, Scope, ScopeCol};
use crate::eval::eval;
use crate::exec::ExecCtx;
use crate::value::Row;
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::{ErrorKind, SqlError, SqlResult};
use llkv_store::TableMeta;
use sqlparser::ast::{self, Visit, Visitor};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// The prefix of the table properties holding CHECK expressions.
pub const CHECK_PREFIX: &str = "check.";

fn scope_of(meta: &TableMeta) -> Scope {
    Scope {
        cols: meta
            .columns
            .iter()
            .map(|c| ScopeCol {
                table: Some(meta.name.clone()),
                name: c.name.clone(),
                hidden: false,
                system: false,
            })
            .collect(),
    }
}

/// Finds what a CHECK may not contain: subqueries and aggregates.
struct Forbidden(Option<&'static str>);

impl Visitor for Forbidden {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
        let bad = match e {
            ast::Expr::Subquery(_) | ast::Expr::Exists { .. } | ast::Expr::InSubquery { .. } => {
                Some("a subquery")
            }
            ast::Expr::Function(f) => {
                let name = f.name.to_string().to_ascii_lowercase();
                let n = match &f.args {
                    ast::FunctionArguments::List(l) => l.args.len(),
                    _ => 0,
                };
                crate::functions::is_aggregate(&name, n).then_some("an aggregate function")
            }
            _ => None,
        };
        if bad.is_some() {
            self.0 = bad;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

fn parse(text: &str) -> SqlResult<ast::Expr> {
    Parser::new(&SQLiteDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::plan(format!("bad CHECK expression {text}: {e}")))
}

/// Checks the CHECK expressions of a new table (they must bind to its columns
/// and contain no subquery or aggregate) and records them in `meta`.
///
/// # Errors
/// A plan error naming what is wrong.
pub fn record(txn: &Transaction, meta: &mut TableMeta, checks: &[String]) -> SqlResult<()> {
    let scope = scope_of(meta);
    for (i, text) in checks.iter().enumerate() {
        let e = parse(text)?;
        let mut f = Forbidden(None);
        let _ = e.visit(&mut f);
        if let Some(what) = f.0 {
            return Err(SqlError::plan(format!(
                "a CHECK constraint cannot contain {what}: {text}"
            )));
        }
        Binder::new(txn).bind_scoped_expr(&e, &scope)?;
        meta.properties.insert(format!("{CHECK_PREFIX}{i}"), text.clone());
    }
    Ok(())
}

/// Checks new rows (in the table's storage types) against the table's CHECKs.
///
/// # Errors
/// A constraint error naming the failed CHECK.
pub fn enforce(txn: &Transaction, h: &TableHandle, rows: &[Row]) -> SqlResult<()> {
    let texts: Vec<&String> = h
        .meta
        .properties
        .iter()
        .filter(|(k, _)| k.starts_with(CHECK_PREFIX))
        .map(|(_, v)| v)
        .collect();
    if texts.is_empty() || rows.is_empty() {
        return Ok(());
    }
    let scope = scope_of(&h.meta);
    let ctx = ExecCtx::new(txn);
    for text in texts {
        let bound = Binder::new(txn).bind_scoped_expr(&parse(text)?, &scope)?;
        for r in rows {
            let failed = eval(&bound, r, None, &ctx)?.truth() == Some(false);
            if failed {
                return Err(SqlError::new(
                    ErrorKind::Constraint,
                    format!("CHECK constraint failed: {}: {text}", h.name),
                ));
            }
        }
    }
    Ok(())
}
