//! SQLite row triggers, the parts both routes share.
//!
//! `CREATE TRIGGER name [BEFORE|AFTER] INSERT|DELETE|UPDATE [OF cols] ON t
//! [FOR EACH ROW] [WHEN cond] BEGIN stmt; … END` is kept in the catalog as
//! the database property `trigger.<name>` holding the statement's text, so a
//! database written by one route has the same triggers on the other.
//! For each row an INSERT, UPDATE or DELETE changes, the matching triggers run
//! their statements (BEFORE ones before the statement's change, AFTER ones
//! after it) with `NEW.col` / `OLD.col` replaced by that row's values. With
//! neither BEFORE nor AFTER a trigger is BEFORE, as in SQLite.
//!
//! A route supplies a [`TriggerHost`] (how it tests a WHEN condition and runs
//! a statement) and the rows' values; [`fire`] does the rest.

use crate::names::{ident_name, table_name};
use crate::{SqlError, SqlResult};
use llkv_mvcc::{TableHandle, Transaction};
use sqlparser::ast::{self, VisitMut, VisitorMut};
use sqlparser::dialect::{GenericDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use std::cell::Cell;
use std::ops::ControlFlow;

/// The database-property prefix of stored triggers.
pub const TRIGGER_PREFIX: &str = "trigger.";
/// Triggers that fire triggers stop at this depth.
pub const MAX_DEPTH: usize = 32;

thread_local! {
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// The triggers whose statements are running (SQLite's default, with
    /// `recursive_triggers` off: a trigger does not fire again from within itself).
    static ACTIVE: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn key(name: &str) -> String {
    format!("{TRIGGER_PREFIX}{name}")
}

fn object_name(n: &ast::ObjectName) -> SqlResult<String> {
    n.0.last()
        .and_then(|p| p.as_ident())
        .map(ident_name)
        .ok_or_else(|| SqlError::plan(format!("unsupported name {n}")))
}

/// `CREATE TRIGGER`: checks the table and records the trigger.
///
/// # Errors
/// An unknown table, an existing trigger name, an unsupported form.
pub fn create(txn: &Transaction, t: &ast::CreateTrigger) -> SqlResult<crate::Output> {
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
    Ok(crate::Output::Done("CREATE TRIGGER".into()))
}

/// `DROP TRIGGER [IF EXISTS] name`.
///
/// # Errors
/// An unknown name without IF EXISTS.
pub fn drop(txn: &Transaction, d: &ast::DropTrigger) -> SqlResult<crate::Output> {
    let name = object_name(&d.trigger_name)?;
    if txn.property(&key(&name)).is_some() {
        txn.set_property(&key(&name), None)?;
    } else if !d.if_exists {
        return Err(SqlError::plan(format!("no such trigger: {name}")));
    }
    Ok(crate::Output::Done("DROP TRIGGER".into()))
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

/// Whether the database has any trigger at all (the cheap test before
/// looking for the triggers of a statement's table).
pub fn any(txn: &Transaction) -> bool {
    !txn.properties_with_prefix(TRIGGER_PREFIX).is_empty()
}

/// Parses a stored trigger (either route's text).
fn parse(text: &str) -> Option<ast::CreateTrigger> {
    let parsed = Parser::parse_sql(&SQLiteDialect {}, text)
        .or_else(|_| Parser::parse_sql(&GenericDialect {}, text))
        .ok()?;
    match <[ast::Statement; 1]>::try_from(parsed) {
        Ok([ast::Statement::CreateTrigger(t)]) => Some(t),
        _ => None,
    }
}

fn all(txn: &Transaction) -> SqlResult<Vec<(String, ast::CreateTrigger)>> {
    let mut out = Vec::new();
    for (k, text) in txn.properties_with_prefix(TRIGGER_PREFIX) {
        match parse(&text) {
            Some(t) => out.push((k, t)),
            None => return Err(SqlError::plan(format!("bad stored trigger {k}"))),
        }
    }
    Ok(out)
}

/// The kind of change.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event {
    /// INSERT.
    Insert,
    /// UPDATE (of the given column positions).
    Update,
    /// DELETE.
    Delete,
}

/// The triggers of `h` for `event`; for UPDATE, `assigned` are the updated
/// columns' positions (an `UPDATE OF cols` trigger needs one of its columns among them).
///
/// # Errors
/// A stored trigger that does not parse.
pub fn matching(
    txn: &Transaction,
    h: &TableHandle,
    event: Event,
    assigned: &[usize],
) -> SqlResult<Vec<ast::CreateTrigger>> {
    if !any(txn) {
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

/// Which changed row a `NEW.col` / `OLD.col` reference names.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pseudo {
    /// `NEW`: the row after the change (INSERT, UPDATE).
    New,
    /// `OLD`: the row before the change (UPDATE, DELETE).
    Old,
}

/// Replaces `NEW.col` and `OLD.col` by what `value` gives for them.
struct Substitute<'a> {
    value: &'a mut dyn FnMut(Pseudo, &ast::Ident) -> SqlResult<ast::Expr>,
    error: Option<SqlError>,
}

impl VisitorMut for Substitute<'_> {
    type Break = ();
    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        let ast::Expr::CompoundIdentifier(parts) = e else { return ControlFlow::Continue(()) };
        let [q, col] = parts.as_slice() else { return ControlFlow::Continue(()) };
        let pseudo = match q.value.to_ascii_lowercase().as_str() {
            "new" => Pseudo::New,
            "old" => Pseudo::Old,
            _ => return ControlFlow::Continue(()),
        };
        match (self.value)(pseudo, col) {
            Ok(v) => {
                *e = v;
                ControlFlow::Continue(())
            }
            Err(err) => {
                self.error = Some(err);
                ControlFlow::Break(())
            }
        }
    }
}

/// Replaces every `NEW.col` / `OLD.col` in `node` by `value(pseudo, col)`.
///
/// # Errors
/// The first error of `value`.
pub fn substitute<T: VisitMut>(
    node: &mut T,
    value: &mut dyn FnMut(Pseudo, &ast::Ident) -> SqlResult<ast::Expr>,
) -> SqlResult<()> {
    let mut sub = Substitute { value, error: None };
    let _ = node.visit(&mut sub);
    match sub.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The value of `col` in a row of table `h` given as one value per column
/// (`None`: the trigger has no such row, e.g. `OLD` in an INSERT trigger).
///
/// # Errors
/// No such row, or no such column.
pub fn column_value<'r, V>(
    h: &TableHandle,
    row: Option<&'r [V]>,
    pseudo: Pseudo,
    col: &ast::Ident,
) -> SqlResult<&'r V> {
    let q = match pseudo {
        Pseudo::New => "NEW",
        Pseudo::Old => "OLD",
    };
    let Some(row) = row else {
        return Err(SqlError::plan(format!("{q}.{col} is not available in this trigger")));
    };
    h.meta
        .columns
        .iter()
        .position(|m| m.name.eq_ignore_ascii_case(&col.value))
        .and_then(|i| row.get(i))
        .ok_or_else(|| SqlError::plan(format!("no such column: {q}.{col}")))
}

/// How a route runs a trigger's parts.
pub trait TriggerHost {
    /// Whether a WHEN condition (its NEW/OLD references already replaced) is true.
    ///
    /// # Errors
    /// The condition's evaluation error.
    fn condition(&self, cond: &ast::Expr) -> SqlResult<bool>;
    /// Runs one statement of a trigger's body (NEW/OLD already replaced),
    /// in the transaction of the statement that fired it.
    ///
    /// # Errors
    /// The statement's error.
    fn execute(&self, stmt: &ast::Statement) -> SqlResult<()>;
}

/// Runs the triggers of one timing (`before`, else after) once for each of
/// `rows` changed rows, except those already running (as SQLite does by
/// default, a trigger does not fire itself again, directly or through others); `value(row, pseudo, col)` gives the literal a
/// `NEW.col` / `OLD.col` reference becomes for row number `row`.
///
/// # Errors
/// An error of a trigger's statement, or triggers nested deeper than [`MAX_DEPTH`].
pub fn fire(
    host: &dyn TriggerHost,
    triggers: &[ast::CreateTrigger],
    before: bool,
    rows: usize,
    value: &mut dyn FnMut(usize, Pseudo, &ast::Ident) -> SqlResult<ast::Expr>,
) -> SqlResult<()> {
    let active = |t: &ast::CreateTrigger| {
        let name = t.name.to_string();
        ACTIVE.with(|a| a.borrow().iter().any(|n| n.eq_ignore_ascii_case(&name)))
    };
    let timed: Vec<&ast::CreateTrigger> =
        triggers.iter().filter(|t| is_after(t) != before && !active(t)).collect();
    if timed.is_empty() || rows == 0 {
        return Ok(());
    }
    let depth = DEPTH.with(Cell::get);
    if depth >= MAX_DEPTH {
        return Err(SqlError::plan("too many levels of trigger recursion"));
    }
    DEPTH.with(|d| d.set(depth + 1));
    let r = fire_rows(host, &timed, rows, value);
    DEPTH.with(|d| d.set(depth));
    r
}

/// Whether a trigger runs after the change (else before).
pub fn is_after(t: &ast::CreateTrigger) -> bool {
    matches!(t.period, Some(ast::TriggerPeriod::After))
}

fn fire_rows(
    host: &dyn TriggerHost,
    triggers: &[&ast::CreateTrigger],
    rows: usize,
    value: &mut dyn FnMut(usize, Pseudo, &ast::Ident) -> SqlResult<ast::Expr>,
) -> SqlResult<()> {
    for i in 0..rows {
        let mut of_row = |p: Pseudo, c: &ast::Ident| value(i, p, c);
        for t in triggers {
            if let Some(cond) = &t.condition {
                let mut c = cond.clone();
                substitute(&mut c, &mut of_row)?;
                if !host.condition(&c)? {
                    continue;
                }
            }
            let stmts = t.statements.as_ref().map(|s| s.statements().clone()).unwrap_or_default();
            ACTIVE.with(|a| a.borrow_mut().push(t.name.to_string()));
            let r = stmts.into_iter().try_for_each(|mut s| {
                substitute(&mut s, &mut of_row)?;
                host.execute(&s)
            });
            ACTIVE.with(|a| a.borrow_mut().pop());
            r?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_parses_back_and_substitutes() {
        let text = "CREATE TRIGGER tr AFTER UPDATE OF a ON t1 FOR EACH ROW WHEN new.a > 1 \
                    BEGIN INSERT INTO log VALUES (old.a, NEW.a, b); END";
        let Some(t) = parse(text) else { panic!("does not parse") };
        let again = parse(&t.to_string());
        assert_eq!(again.as_ref().map(ToString::to_string), Some(t.to_string()));
        assert!(is_after(&t));
        let mut body = t.statements.as_ref().map(|s| s.statements().clone()).unwrap_or_default();
        let mut value = |p: Pseudo, c: &ast::Ident| {
            Ok(ast::Expr::value(ast::Value::Number(
                format!("{}{}", if p == Pseudo::New { 1 } else { 2 }, c.value.len()),
                false,
            )))
        };
        for s in &mut body {
            substitute(s, &mut value).map_err(|e| e.message).unwrap_or_else(|e| panic!("{e}"));
        }
        let shown: Vec<String> = body.iter().map(ToString::to_string).collect();
        assert_eq!(shown, vec!["INSERT INTO log VALUES (21, 11, b)".to_string()]);
    }
}
