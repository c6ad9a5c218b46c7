//! Table functions in FROM: `range(…)`, `generate_series(…)` and
//! `pragma_table_info(table)`.
//!
//! - `range(stop)`, `range(start, stop[, step])`: the integers from `start`
//!   (default 0) up to but excluding `stop`, one column `range`;
//! - `generate_series(…)`: the same with `stop` included, column `generate_series`;
//! - `pragma_table_info('t')`: one row per column of table `t` (`cid`, `name`,
//!   `type`, `notnull`, `dflt_value`, `pk`), as SQLite and DuckDB give it.

use super::{Binder, Scope, ScopeCol, ident_name};
use crate::eval::eval;
use crate::exec::ExecCtx;
use crate::plan::Plan;
use crate::value::{Row, Value};
use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast;
use std::sync::Arc;

/// More rows than this from one series is refused (every row is materialized).
const MAX_SERIES_ROWS: i128 = 100_000_000;

impl Binder<'_> {
    /// Binds a table function call in FROM.
    pub(crate) fn bind_table_function(
        &mut self,
        name: &str,
        args: &[ast::FunctionArg],
        alias: &Option<ast::TableAlias>,
    ) -> SqlResult<(Plan, Scope)> {
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            let e = match a {
                ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => e,
                other => {
                    return Err(SqlError::plan(format!(
                        "unsupported argument {other} of table function {name}"
                    )));
                }
            };
            let bound = self.bind_const_expr(e)?;
            values.push(eval(&bound, &[], None, &ExecCtx::new(self.txn))?);
        }
        let (names, rows) = match name {
            "range" => (vec![name.to_string()], series(name, &values, false)?),
            "generate_series" => (vec![name.to_string()], series(name, &values, true)?),
            "pragma_table_info" => self.table_info(&values)?,
            other => return Err(SqlError::plan(format!("no such table function: {other}"))),
        };
        let qual = alias.as_ref().map_or_else(|| name.to_string(), |a| ident_name(&a.name));
        let mut scope = Scope {
            cols: names
                .into_iter()
                .map(|n| ScopeCol {
                    table: Some(qual.clone()),
                    name: n,
                    hidden: false,
                    system: false,
                })
                .collect(),
        };
        if let Some(a) = alias {
            for (c, n) in scope.cols.iter_mut().zip(&a.columns) {
                c.name = n.name.value.clone();
            }
        }
        Ok((Plan::Rows(Arc::new(rows)), scope))
    }

    fn table_info(&self, args: &[Value]) -> SqlResult<(Vec<String>, Vec<Row>)> {
        let [Value::Text(t)] = args else {
            return Err(SqlError::plan("pragma_table_info takes one table name"));
        };
        let rows = llkv_sql::table_info::table_info(self.txn, t)?
            .into_iter()
            .map(|c| {
                vec![
                    Value::Int(c.cid),
                    Value::Text(c.name),
                    Value::Text(c.type_name),
                    Value::Int(c.notnull),
                    c.dflt_value.map_or(Value::Null, Value::Text),
                    Value::Int(c.pk),
                ]
            })
            .collect();
        Ok((llkv_sql::table_info::COLUMNS.iter().map(|n| n.to_string()).collect(), rows))
    }
}

fn int_arg(name: &str, v: &Value) -> SqlResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(SqlError::plan(format!("{name}() takes integer arguments, not {other}"))),
    }
}

fn series(name: &str, args: &[Value], inclusive: bool) -> SqlResult<Vec<Row>> {
    if args.iter().any(Value::is_null) {
        return Ok(Vec::new());
    }
    let (start, stop, step) = match args {
        [stop] => (0, int_arg(name, stop)?, 1),
        [start, stop] => (int_arg(name, start)?, int_arg(name, stop)?, 1),
        [start, stop, step] => (int_arg(name, start)?, int_arg(name, stop)?, int_arg(name, step)?),
        _ => return Err(SqlError::plan(format!("{name}() takes one to three arguments"))),
    };
    if step == 0 {
        return Err(SqlError::plan(format!("{name}(): the step cannot be 0")));
    }
    let (start, stop, step) = (i128::from(start), i128::from(stop), i128::from(step));
    let span = if step > 0 { stop - start } else { start - stop };
    let count = if span < 0 || (span == 0 && !inclusive) {
        0
    } else {
        let s = step.abs();
        if inclusive { span / s + 1 } else { (span + s - 1) / s }
    };
    if count > MAX_SERIES_ROWS {
        return Err(SqlError::plan(format!("{name}(): {count} rows are more than llkv generates")));
    }
    Ok((0..count).map(|i| vec![Value::Int((start + i * step) as i64)]).collect())
}
