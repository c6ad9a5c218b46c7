//! Session settings of the native route (`SET name = value`).
//!
//! - `default_null_order`: where ORDER BY puts NULLs when a key does not say
//!   `NULLS FIRST|LAST`: `nulls_first_on_asc_last_on_desc` (SQLite's order and
//!   the default: NULL is the smallest value), `nulls_first`, `nulls_last`;
//! - `immediate_transaction_mode` (DuckDB): accepted; llkv's BEGIN already
//!   takes its snapshot immediately.
//!
//! Any other name is an error naming it.

use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast::{self, VisitMut, VisitorMut};
use std::ops::ControlFlow;

/// The settings of one native session.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `Some(first)`: NULLs first (or last) whatever the direction.
    pub nulls_first: Option<bool>,
}

fn text_value(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            other => other.to_string(),
        },
        other => other.to_string(),
    }
    .to_ascii_lowercase()
}

impl Settings {
    /// Applies `SET variable = values`.
    ///
    /// # Errors
    /// An unknown setting or value.
    pub fn set(&mut self, variable: &ast::ObjectName, values: &[ast::Expr]) -> SqlResult<()> {
        let name = variable.to_string().to_ascii_lowercase();
        let value = match values {
            [v] => text_value(v),
            _ => return Err(SqlError::plan(format!("SET {name} takes one value"))),
        };
        match (name.as_str(), value.as_str()) {
            ("default_null_order", "nulls_first") => self.nulls_first = Some(true),
            ("default_null_order", "nulls_last") => self.nulls_first = Some(false),
            ("default_null_order", "nulls_first_on_asc_last_on_desc") => self.nulls_first = None,
            ("immediate_transaction_mode", "true" | "false") => {}
            ("default_null_order" | "immediate_transaction_mode", v) => {
                return Err(SqlError::plan(format!("unsupported value {v} for setting {name}")));
            }
            _ => return Err(SqlError::plan(format!("unsupported setting: {name}"))),
        }
        Ok(())
    }

    /// Whether [`Settings::apply`] may change a statement.
    pub fn changes_statements(&self) -> bool {
        self.nulls_first.is_some()
    }

    /// Applies the default NULL order to every ORDER BY key of `stmt` that
    /// does not give one.
    pub fn apply(&self, stmt: &mut ast::Statement) {
        if let Some(first) = self.nulls_first {
            let _ = stmt.visit(&mut NullOrder(first));
        }
    }
}

struct NullOrder(bool);

impl VisitorMut for NullOrder {
    type Break = ();
    fn pre_visit_query(&mut self, q: &mut ast::Query) -> ControlFlow<()> {
        match &mut q.order_by {
            Some(ast::OrderBy { kind: ast::OrderByKind::Expressions(v), .. }) => {
                for o in v {
                    o.options.nulls_first.get_or_insert(self.0);
                }
            }
            Some(ast::OrderBy { kind: ast::OrderByKind::All(o), .. }) => {
                o.nulls_first.get_or_insert(self.0);
            }
            None => {}
        }
        ControlFlow::Continue(())
    }
}
