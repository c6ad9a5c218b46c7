//! Triggers on the native route: SQLite's row triggers, stored, matched and
//! substituted by [`llkv_sql::triggers`]; this module evaluates their WHEN
//! conditions and runs their statements on the native engine.

use crate::binder::Binder;
use crate::eval::eval;
use crate::exec::ExecCtx;
use crate::value::{Row, Value};
use llkv_mvcc::{TableHandle, Transaction};
use llkv_sql::SqlResult;
use llkv_sql::triggers::{self as shared, Pseudo, TriggerHost};
use sqlparser::ast;

pub use llkv_sql::triggers::{Event, create, drop, drop_for_table, matching};

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

/// The native engine as a trigger host.
struct Native<'a> {
    txn: &'a Transaction,
}

impl TriggerHost for Native<'_> {
    fn condition(&self, cond: &ast::Expr) -> SqlResult<bool> {
        let b = Binder::new(self.txn).bind_const_expr(cond)?;
        Ok(eval(&b, &[], None, &ExecCtx::new(self.txn))?.truth() == Some(true))
    }

    fn execute(&self, stmt: &ast::Statement) -> SqlResult<()> {
        crate::engine::run_in(self.txn, stmt).map(|_| ())
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
    let n = old.or(new).map_or(0, <[Row]>::len);
    let mut value = |i: usize, p: Pseudo, col: &ast::Ident| {
        let rows = match p {
            Pseudo::New => new,
            Pseudo::Old => old,
        };
        let row = rows.and_then(|r| r.get(i)).map(|r| r.as_slice());
        shared::column_value(h, row, p, col).map(literal)
    };
    shared::fire(&Native { txn }, triggers, before, n, &mut value)
}
