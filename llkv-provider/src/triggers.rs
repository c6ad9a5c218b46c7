//! SQLite row triggers on the DataFusion route.
//!
//! Definitions are created, dropped, stored and matched by
//! [`llkv_sql::triggers`] (the same catalog property as the native route).
//! Firing happens at the engine level: an INSERT, UPDATE or DELETE on a table
//! with matching triggers first computes its rows through DataFusion (the old
//! rows by its WHERE, the new ones from its SET expressions or its INSERT
//! source), then runs the BEFORE triggers for each row, the statement itself,
//! and the AFTER triggers for each row, all in one transaction (the session's
//! explicit one, else one opened for the statement). Trigger bodies and WHEN
//! conditions run through the DataFusion route with `NEW.col` / `OLD.col`
//! replaced by the row's values. Statements on tables without triggers take
//! the plain path after one property lookup.

use crate::engine::DataFusionEngine;
use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::common::ScalarValue;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use llkv_mvcc::TableHandle;
use llkv_sql::names::{ident_name, table_name};
use llkv_sql::triggers::{self as shared, Event, Pseudo, TriggerHost};
use llkv_sql::{Output, SqlError, SqlResult};

/// `CREATE TRIGGER` / `DROP TRIGGER` in the statement's transaction, or
/// `None` for any other statement.
pub(crate) fn ddl(engine: &DataFusionEngine, s: &ast::Statement) -> Option<SqlResult<Output>> {
    let st = match s {
        ast::Statement::CreateTrigger(_) | ast::Statement::DropTrigger(_) => {
            engine.session().statement_txn()
        }
        _ => return None,
    };
    let result = match s {
        ast::Statement::CreateTrigger(t) => shared::create(&st.txn, t),
        ast::Statement::DropTrigger(d) => shared::drop(&st.txn, d),
        _ => return None,
    };
    Some(match result {
        Ok(out) => st.finish(Ok(())).map(|()| out).map_err(SqlError::from),
        Err(e) => {
            st.abort(e.message.clone());
            Err(e)
        }
    })
}

/// What a DML statement with triggers changes.
struct Change {
    handle: TableHandle,
    event: Event,
    triggers: Vec<ast::CreateTrigger>,
    /// SQL text of the query computing the rows (see [`rows_query`]).
    query: Option<String>,
    /// For an UPDATE: the assigned column positions, in the query's order.
    assigned: Vec<usize>,
    /// For an INSERT: the table column each source column fills.
    insert_targets: Vec<usize>,
}

/// Runs an INSERT, UPDATE or DELETE whose table has matching triggers, with
/// them; `None` (nothing done) for other statements and tables without them.
pub(crate) fn run_with_triggers(
    engine: &DataFusionEngine,
    s: &ast::Statement,
) -> Option<SqlResult<Output>> {
    if !matches!(
        s,
        ast::Statement::Insert(_) | ast::Statement::Update(_) | ast::Statement::Delete(_)
    ) {
        return None;
    }
    let change = {
        let st = engine.session().statement_txn();
        let change = if shared::any(&st.txn) { plan_change(&st.txn, s) } else { Ok(None) };
        if !st.explicit {
            st.txn.rollback();
        }
        match change {
            Ok(Some(c)) => c,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        }
    };
    let session = engine.session();
    let own = !session.in_transaction();
    if own && let Err(e) = session.begin() {
        return Some(Err(e.into()));
    }
    let result = fire_around(engine, s, &change);
    Some(match (result, own) {
        (Ok(out), true) => session.commit().map(|()| out).map_err(SqlError::from),
        (Err(e), true) => {
            // The statement's transaction: nothing of it stays.
            let _ = session.rollback();
            Err(e)
        }
        (r, false) => r,
    })
}

/// The table, event and matching triggers of a DML statement (`None` without triggers).
fn plan_change(txn: &llkv_mvcc::Transaction, s: &ast::Statement) -> SqlResult<Option<Change>> {
    let (name, event) = match s {
        ast::Statement::Insert(i) => match &i.table {
            ast::TableObject::TableName(n) => (table_name(n)?, Event::Insert),
            _ => return Ok(None),
        },
        ast::Statement::Update(u) => (relation_name(&u.table)?, Event::Update),
        ast::Statement::Delete(d) => {
            let from = match &d.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
            };
            match from.as_slice() {
                [t] => (relation_name(t)?, Event::Delete),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let Some(handle) = txn.table(&name)? else { return Ok(None) };
    let column = |n: &str| {
        handle
            .meta
            .columns
            .iter()
            .position(|c| c.name.eq_ignore_ascii_case(n))
            .ok_or_else(|| SqlError::plan(format!("no such column: {n}")))
    };
    let mut assigned = Vec::new();
    let mut insert_targets = Vec::new();
    match s {
        ast::Statement::Update(u) => {
            for a in &u.assignments {
                let ast::AssignmentTarget::ColumnName(n) = &a.target else {
                    return Err(SqlError::plan(
                        "UPDATE of a column tuple on a table with triggers is not supported",
                    ));
                };
                let last = n.0.last().and_then(|p| p.as_ident()).map(ident_name);
                assigned.push(column(&last.unwrap_or_default())?);
            }
        }
        ast::Statement::Insert(i) => {
            if i.columns.is_empty() {
                insert_targets = (0..handle.meta.columns.len()).collect();
            } else {
                for c in &i.columns {
                    let last = c.0.last().and_then(|p| p.as_ident()).map(ident_name);
                    insert_targets.push(column(&last.unwrap_or_default())?);
                }
            }
        }
        _ => {}
    }
    let triggers = shared::matching(txn, &handle, event, &assigned)?;
    if triggers.is_empty() {
        return Ok(None);
    }
    let query = rows_query(s);
    Ok(Some(Change { handle, event, triggers, query, assigned, insert_targets }))
}

fn relation_name(t: &ast::TableWithJoins) -> SqlResult<String> {
    match &t.relation {
        ast::TableFactor::Table { name, .. } if t.joins.is_empty() => table_name(name),
        _ => Err(SqlError::plan("a DML statement on a table with triggers needs one plain table")),
    }
}

/// The name under which a statement's target table is visible in its query.
fn visible_name(t: &ast::TableWithJoins) -> String {
    match &t.relation {
        ast::TableFactor::Table { alias: Some(a), .. } => a.name.to_string(),
        ast::TableFactor::Table { name, .. } => name.to_string(),
        other => other.to_string(),
    }
}

/// The query computing a statement's rows: an INSERT's source; for an UPDATE
/// the target's columns then the SET expressions; for a DELETE the target's
/// columns. `None` for `INSERT … DEFAULT VALUES`.
fn rows_query(s: &ast::Statement) -> Option<String> {
    let filter =
        |w: &Option<ast::Expr>| w.as_ref().map(|e| format!(" WHERE {e}")).unwrap_or_default();
    match s {
        ast::Statement::Insert(i) => i.source.as_ref().map(ToString::to_string),
        ast::Statement::Update(u) => {
            let q = visible_name(&u.table);
            let sets: Vec<String> =
                u.assignments.iter().map(|a| format!(", ({})", a.value)).collect();
            let from = match &u.from {
                Some(
                    ast::UpdateTableFromKind::BeforeSet(f) | ast::UpdateTableFromKind::AfterSet(f),
                ) => f.iter().map(|t| format!(", {t}")).collect::<String>(),
                None => String::new(),
            };
            Some(format!(
                "SELECT {q}.*{} FROM {}{from}{}",
                sets.concat(),
                u.table,
                filter(&u.selection)
            ))
        }
        ast::Statement::Delete(d) => {
            let from = match &d.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
            };
            let t = from.first()?;
            Some(format!("SELECT {}.* FROM {t}{}", visible_name(t), filter(&d.selection)))
        }
        _ => None,
    }
}

/// Literal of one value of an Arrow column.
fn literal(array: &dyn Array, row: usize) -> SqlResult<ast::Expr> {
    let v =
        ScalarValue::try_from_array(array, row).map_err(|e| SqlError::execution(e.to_string()))?;
    if v.is_null() {
        return Ok(ast::Expr::value(ast::Value::Null));
    }
    let number = |s: String| Ok(ast::Expr::value(ast::Value::Number(s, false)));
    match v {
        ScalarValue::Int8(Some(x)) => number(x.to_string()),
        ScalarValue::Int16(Some(x)) => number(x.to_string()),
        ScalarValue::Int32(Some(x)) => number(x.to_string()),
        ScalarValue::Int64(Some(x)) => number(x.to_string()),
        ScalarValue::UInt8(Some(x)) => number(x.to_string()),
        ScalarValue::UInt16(Some(x)) => number(x.to_string()),
        ScalarValue::UInt32(Some(x)) => number(x.to_string()),
        ScalarValue::UInt64(Some(x)) => number(x.to_string()),
        ScalarValue::Float32(Some(x)) => float(f64::from(x)),
        ScalarValue::Float64(Some(x)) => float(x),
        ScalarValue::Boolean(Some(b)) => Ok(ast::Expr::value(ast::Value::Boolean(b))),
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Ok(ast::Expr::value(ast::Value::SingleQuotedString(s))),
        ScalarValue::Binary(Some(b))
        | ScalarValue::LargeBinary(Some(b))
        | ScalarValue::BinaryView(Some(b)) => Ok(ast::Expr::value(ast::Value::HexStringLiteral(
            b.iter().map(|x| format!("{x:02X}")).collect(),
        ))),
        ScalarValue::Decimal128(..) | ScalarValue::Decimal256(..) => number(v.to_string()),
        other => {
            // Dates, times and the like: their text, cast back to their type.
            let text = ast::Expr::value(ast::Value::SingleQuotedString(other.to_string()));
            let sql = format!("CAST({text} AS {})", sql_type(&other.data_type()));
            Parser::new(&GenericDialect {})
                .try_with_sql(&sql)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| SqlError::execution(e.to_string()))
        }
    }
}

fn float(x: f64) -> SqlResult<ast::Expr> {
    let text = if x.is_finite() {
        format!("{x:?}")
    } else if x.is_nan() {
        return Ok(ast::Expr::value(ast::Value::Null));
    } else {
        format!("{}9e999", if x < 0.0 { "-" } else { "" })
    };
    Ok(ast::Expr::value(ast::Value::Number(text, false)))
}

fn sql_type(t: &datafusion::arrow::datatypes::DataType) -> &'static str {
    use datafusion::arrow::datatypes::DataType as D;
    match t {
        D::Date32 | D::Date64 => "DATE",
        D::Time32(_) | D::Time64(_) => "TIME",
        D::Timestamp(..) => "TIMESTAMP",
        D::Interval(_) => "INTERVAL",
        _ => "VARCHAR",
    }
}

/// A statement's changed rows, as literals per table column.
struct Rows {
    old: Vec<Vec<ast::Expr>>,
    new: Vec<Vec<ast::Expr>>,
}

/// Computes the old and new rows of `change` through DataFusion.
fn compute_rows(engine: &DataFusionEngine, change: &Change) -> SqlResult<Rows> {
    let width = change.handle.meta.columns.len();
    let batches = match &change.query {
        Some(q) => query(engine, q)?,
        None => Vec::new(),
    };
    let mut old = Vec::new();
    let mut new = Vec::new();
    match change.event {
        Event::Delete | Event::Update => {
            for b in &batches {
                if b.num_columns() < width + change.assigned.len() {
                    return Err(SqlError::execution("a trigger's rows lack columns"));
                }
                for r in 0..b.num_rows() {
                    let o: Vec<ast::Expr> = (0..width)
                        .map(|c| literal(b.column(c).as_ref(), r))
                        .collect::<SqlResult<_>>()?;
                    if change.event == Event::Update {
                        let mut n = o.clone();
                        for (k, &c) in change.assigned.iter().enumerate() {
                            if let Some(slot) = n.get_mut(c) {
                                *slot = literal(b.column(width + k).as_ref(), r)?;
                            }
                        }
                        new.push(n);
                    }
                    old.push(o);
                }
            }
        }
        Event::Insert => {
            let defaults = defaults(&change.handle)?;
            if change.query.is_none() {
                new.push(defaults.clone());
            }
            for b in &batches {
                for r in 0..b.num_rows() {
                    let mut row = defaults.clone();
                    for (k, &c) in change.insert_targets.iter().enumerate() {
                        if let (Some(slot), Some(col)) = (row.get_mut(c), b.columns().get(k)) {
                            *slot = literal(col.as_ref(), r)?;
                        }
                    }
                    new.push(row);
                }
            }
        }
    }
    Ok(Rows { old, new })
}

/// The DEFAULT of each column of `h` (NULL without one).
fn defaults(h: &TableHandle) -> SqlResult<Vec<ast::Expr>> {
    h.meta
        .columns
        .iter()
        .map(|c| match c.properties.get("default") {
            Some(text) => Parser::new(&GenericDialect {})
                .try_with_sql(text)
                .and_then(|mut p| p.parse_expr())
                .map_err(|e| SqlError::parse(e.to_string())),
            None => Ok(ast::Expr::value(ast::Value::Null)),
        })
        .collect()
}

fn query(engine: &DataFusionEngine, sql: &str) -> SqlResult<Vec<RecordBatch>> {
    let stmt = Parser::parse_sql(&GenericDialect {}, sql)
        .map_err(|e| SqlError::parse(e.to_string()))?
        .pop()
        .ok_or_else(|| SqlError::parse(format!("not a query: {sql}")))?;
    match engine.run_nested(Statement::Statement(Box::new(stmt)))? {
        Output::Rows { batches, .. } => Ok(batches),
        _ => Err(SqlError::execution(format!("not a query: {sql}"))),
    }
}

/// The DataFusion route as a trigger host.
struct Host<'a> {
    engine: &'a DataFusionEngine,
}

impl TriggerHost for Host<'_> {
    fn condition(&self, cond: &ast::Expr) -> SqlResult<bool> {
        let batches = query(self.engine, &format!("SELECT CASE WHEN {cond} THEN 1 ELSE 0 END"))?;
        let first = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .map(|b| ScalarValue::try_from_array(b.column(0).as_ref(), 0))
            .transpose()
            .map_err(|e| SqlError::execution(e.to_string()))?;
        Ok(matches!(first, Some(ScalarValue::Int64(Some(1)))))
    }

    fn execute(&self, stmt: &ast::Statement) -> SqlResult<()> {
        self.engine.run_nested(Statement::Statement(Box::new(stmt.clone()))).map(|_| ())
    }
}

/// BEFORE triggers, the statement, AFTER triggers.
fn fire_around(
    engine: &DataFusionEngine,
    s: &ast::Statement,
    change: &Change,
) -> SqlResult<Output> {
    let rows = compute_rows(engine, change)?;
    let h = &change.handle;
    let n = rows.old.len().max(rows.new.len());
    let mut value = |i: usize, p: Pseudo, col: &ast::Ident| {
        let side = match p {
            Pseudo::New => &rows.new,
            Pseudo::Old => &rows.old,
        };
        let row = side.get(i).map(Vec::as_slice);
        shared::column_value(h, row, p, col).cloned()
    };
    let host = Host { engine };
    shared::fire(&host, &change.triggers, true, n, &mut value)?;
    let out = engine.run_plain(Statement::Statement(Box::new(s.clone())))?;
    shared::fire(&host, &change.triggers, false, n, &mut value)?;
    Ok(out)
}
