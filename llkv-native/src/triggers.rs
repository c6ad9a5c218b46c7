//! Triggers on the native route (SQLite's row triggers).
//!
//! `CREATE TRIGGER name [BEFORE|AFTER] INSERT|DELETE|UPDATE [OF cols] ON t
//! [FOR EACH ROW] [WHEN cond] BEGIN stmt; … END` is kept in the catalog as
//! the database property `trigger.<name>` holding the statement's text.
//! For each row an INSERT, UPDATE or DELETE changes, the matching triggers run
//! their statements (BEFORE ones before the statement's change, AFTER ones
//! after it) with `NEW.col` / `OLD.col` replaced by that row's values. With
//! neither BEFORE nor AFTER a trigger is BEFORE, as in SQLite.

use crate::binder::{Binder, object_name, table_name};
use crate::eval::eval;
use crate::exec::ExecCtx;
use crate::value::{Row, Value};
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::{Output, SqlError, SqlResult};
use sqlparser::ast::{self, VisitMut, VisitorMut};
use std::cell::Cell;
use std::ops::ControlFlow;

const TRIGGER_PREFIX: &str = "trigger.";
/// Triggers that fire triggers stop at this depth.
const MAX_DEPTH: usize = 32;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

fn key(name: &str) -> String {
    format!("{TRIGGER_PREFIX}{name}")
}

/// `CREATE TRIGGER`: checks the table and records the trigger.
///
/// # Errors
/// An unknown table, an existing trigger name, an unsupported form.
pub fn create(txn: &Transaction, t: &ast::CreateTrigger) -> SqlResult<Output> {
    let name = object_name(&t.name)?;
    let table = table_name(&t.table_name)?;
    if txn.table(&table)?.is_none() {
        return Err(SqlError::plan(format!("no such table: {table}")));
    }
    if t.exec_body.is_some() || t.statements.is_none() {
        return Err(SqlError::plan("a trigger needs a BEGIN … END body of statements"));
    }
    if matches!(
        t.trigger_object,
        Some(ast::TriggerObjectKind::ForEach(ast::TriggerObject::Statement))
            | Some(ast::TriggerObjectKind::For(ast::TriggerObject::Statement))
    ) {
        return Err(SqlError::plan("FOR EACH STATEMENT triggers are not supported"));
    }
    if matches!(t.period, Some(ast::TriggerPeriod::InsteadOf)) {
        return Err(SqlError::plan("INSTEAD OF triggers are not supported"));
    }
    if txn.property(&key(&name)).is_some() && !t.or_replace {
        return Err(SqlError::plan(format!("trigger {name} already exists")));
    }
    txn.set_property(&key(&name), Some(t.to_string()))?;
    Ok(Output::Done("CREATE TRIGGER".into()))
}

/// `DROP TRIGGER [IF EXISTS] name`.
///
/// # Errors
/// An unknown name without IF EXISTS.
pub fn drop(txn: &Transaction, d: &ast::DropTrigger) -> SqlResult<Output> {
    let name = object_name(&d.trigger_name)?;
    if txn.property(&key(&name)).is_some() {
        txn.set_property(&key(&name), None)?;
    } else if !d.if_exists {
        return Err(SqlError::plan(format!("no such trigger: {name}")));
    }
    Ok(Output::Done("DROP TRIGGER".into()))
}

/// Removes the triggers of a dropped table.
///
/// # Errors
/// A stored trigger that does not parse.
pub fn drop_for_table(txn: &Transaction, table: &str) -> SqlResult<()> {
    for (k, t) in all(txn)? {
        if table_name(&t.table_name)? == table {
            txn.set_property(&k, None)?;
        }
    }
    Ok(())
}

fn all(txn: &Transaction) -> SqlResult<Vec<(String, ast::CreateTrigger)>> {
    let mut out = Vec::new();
    for (k, text) in txn.properties_with_prefix(TRIGGER_PREFIX) {
        match crate::parse::parse_sql(&text)?.pop() {
            Some(ast::Statement::CreateTrigger(t)) => out.push((k, t)),
            _ => return Err(SqlError::plan(format!("bad stored trigger {k}"))),
        }
    }
    Ok(out)
}

/// The kind of change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// INSERT.
    Insert,
    /// UPDATE (of the given column positions).
    Update,
    /// DELETE.
    Delete,
}

/// The triggers of `h` for `event`; for UPDATE, `assigned` are the updated columns.
///
/// # Errors
/// A stored trigger that does not parse.
pub fn matching(
    txn: &Transaction,
    h: &TableHandle,
    event: Event,
    assigned: &[usize],
) -> SqlResult<Vec<ast::CreateTrigger>> {
    if txn.properties_with_prefix(TRIGGER_PREFIX).is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (_, t) in all(txn)? {
        if table_name(&t.table_name)? != h.name {
            continue;
        }
        let hit = t.events.iter().any(|e| match (e, event) {
            (ast::TriggerEvent::Insert, Event::Insert) => true,
            (ast::TriggerEvent::Delete, Event::Delete) => true,
            (ast::TriggerEvent::Update(cols), Event::Update) => {
                cols.is_empty()
                    || cols.iter().any(|c| {
                        h.meta
                            .columns
                            .iter()
                            .position(|m| m.name.eq_ignore_ascii_case(&c.value))
                            .is_some_and(|i| assigned.contains(&i))
                    })
            }
            _ => false,
        });
        if hit {
            out.push(t);
        }
    }
    Ok(out)
}

fn literal(v: &Value) -> ast::Expr {
    let val = match v {
        Value::Null => ast::Value::Null,
        Value::Int(i) => ast::Value::Number(i.to_string(), false),
        Value::Real(r) if r.is_finite() => ast::Value::Number(format!("{r:?}"), false),
        Value::Real(r) => {
            ast::Value::Number(format!("{}9e999", if *r < 0.0 { "-" } else { "" }), false)
        }
        Value::Text(s) => ast::Value::SingleQuotedString(s.clone()),
        Value::Blob(b) => {
            ast::Value::HexStringLiteral(b.iter().map(|x| format!("{x:02X}")).collect())
        }
    };
    ast::Expr::value(val)
}

/// Replaces `NEW.col` and `OLD.col` by the row's values.
struct Substitute<'a> {
    h: &'a TableHandle,
    old: Option<&'a Row>,
    new: Option<&'a Row>,
    error: Option<SqlError>,
}

impl VisitorMut for Substitute<'_> {
    type Break = ();
    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        let ast::Expr::CompoundIdentifier(parts) = e else { return ControlFlow::Continue(()) };
        let [q, col] = parts.as_slice() else { return ControlFlow::Continue(()) };
        let row = match q.value.to_ascii_lowercase().as_str() {
            "new" => self.new,
            "old" => self.old,
            _ => return ControlFlow::Continue(()),
        };
        let Some(row) = row else {
            self.error =
                Some(SqlError::plan(format!("{q}.{col} is not available in this trigger")));
            return ControlFlow::Break(());
        };
        let idx = self.h.meta.columns.iter().position(|m| m.name.eq_ignore_ascii_case(&col.value));
        match idx.and_then(|i| row.get(i)) {
            Some(v) => *e = literal(v),
            None => {
                self.error = Some(SqlError::plan(format!("no such column: {q}.{col}")));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Runs the triggers of one timing (`before` or after) for each changed row:
/// `old` and `new` hold the rows (either may be absent, else the same length).
///
/// # Errors
/// An error of a trigger's statement, or triggers nested too deep.
pub fn fire(
    txn: &Transaction,
    h: &TableHandle,
    triggers: &[ast::CreateTrigger],
    before: bool,
    old: Option<&[Row]>,
    new: Option<&[Row]>,
) -> SqlResult<()> {
    let timed: Vec<&ast::CreateTrigger> = triggers
        .iter()
        .filter(|t| matches!(t.period, Some(ast::TriggerPeriod::After)) != before)
        .collect();
    if timed.is_empty() {
        return Ok(());
    }
    let depth = DEPTH.with(Cell::get);
    if depth >= MAX_DEPTH {
        return Err(SqlError::plan("too many levels of trigger recursion"));
    }
    DEPTH.with(|d| d.set(depth + 1));
    let r = fire_rows(txn, h, &timed, old, new);
    DEPTH.with(|d| d.set(depth));
    r
}

fn fire_rows(
    txn: &Transaction,
    h: &TableHandle,
    triggers: &[&ast::CreateTrigger],
    old: Option<&[Row]>,
    new: Option<&[Row]>,
) -> SqlResult<()> {
    let n = old.or(new).map_or(0, <[Row]>::len);
    for i in 0..n {
        let o = old.and_then(|r| r.get(i));
        let nw = new.and_then(|r| r.get(i));
        for t in triggers {
            let mut sub = Substitute { h, old: o, new: nw, error: None };
            if let Some(cond) = &t.condition {
                let mut c = cond.clone();
                let _ = c.visit(&mut sub);
                if let Some(e) = sub.error.take() {
                    return Err(e);
                }
                let b = Binder::new(txn).bind_const_expr(&c)?;
                if eval(&b, &[], None, &ExecCtx::new(txn))?.truth() != Some(true) {
                    continue;
                }
            }
            let stmts = t.statements.as_ref().map(|s| s.statements().clone()).unwrap_or_default();
            for mut s in stmts {
                let _ = s.visit(&mut sub);
                if let Some(e) = sub.error.take() {
                    return Err(e);
                }
                crate::engine::run_in(txn, &s)?;
            }
        }
    }
    Ok(())
}
