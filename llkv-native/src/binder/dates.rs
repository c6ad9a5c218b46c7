//! Binding the date forms of [`crate::dates`]: date literals, constant
//! `date ± INTERVAL`, `EXTRACT` and `CAST(… AS DATE)`.

use super::{Binder, Scope};
use crate::dates::{Unit, add, format_date, parse_date};
use crate::expr::{CastTo, Expr};
use crate::value::Value;
use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast;

fn date_text(v: &Value) -> Option<(i64, u32, u32)> {
    match v {
        Value::Text(s) => parse_date(s),
        _ => None,
    }
}

fn literal_text(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) | ast::Value::Number(s, _) => Some(s.clone()),
            _ => None,
        },
        ast::Expr::UnaryOp { op: ast::UnaryOperator::Minus, expr } => {
            literal_text(expr).map(|s| format!("-{s}"))
        }
        _ => None,
    }
}

impl Binder<'_> {
    /// `DATE 'yyyy-mm-dd'` (a TEXT date) and `TIMESTAMP '…'` (its text).
    pub(super) fn bind_typed_string(&mut self, t: &ast::TypedString) -> SqlResult<Expr> {
        let text = match &t.value.value {
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            other => return Err(SqlError::plan(format!("unsupported literal {other}"))),
        };
        match t.data_type {
            ast::DataType::Date => parse_date(&text)
                .map(|d| Expr::Literal(Value::Text(format_date(d))))
                .ok_or_else(|| SqlError::plan(format!("invalid date '{text}'"))),
            ast::DataType::Timestamp(..) | ast::DataType::Datetime(_) => {
                Ok(Expr::Literal(Value::Text(text)))
            }
            ref other => Err(SqlError::plan(format!("unsupported typed literal {other}"))),
        }
    }

    /// `date ± INTERVAL 'n' unit` with a constant date.
    pub(super) fn bind_date_interval(
        &mut self,
        left: &ast::Expr,
        minus: bool,
        iv: &ast::Interval,
        scope: &Scope,
    ) -> SqlResult<Expr> {
        let unsupported = || SqlError::plan(format!("unsupported interval {iv}"));
        let unit = match iv.leading_field {
            Some(ast::DateTimeField::Day | ast::DateTimeField::Days) => Unit::Day,
            Some(ast::DateTimeField::Month | ast::DateTimeField::Months) => Unit::Month,
            Some(ast::DateTimeField::Year | ast::DateTimeField::Years) => Unit::Year,
            _ => return Err(unsupported()),
        };
        let n: i64 =
            literal_text(&iv.value).and_then(|s| s.trim().parse().ok()).ok_or_else(unsupported)?;
        let n = if minus { n.checked_neg().ok_or_else(unsupported)? } else { n };
        let l = self.bind_expr(left, scope)?;
        let Expr::Literal(v) = &l else {
            return Err(SqlError::plan(
                "date arithmetic needs a constant date on the native route",
            ));
        };
        let d = date_text(v).ok_or_else(|| SqlError::plan(format!("not a date: {v}")))?;
        let r = add(d, n, unit).ok_or_else(|| SqlError::plan("date out of range"))?;
        Ok(Expr::Literal(Value::Text(format_date(r))))
    }

    /// `EXTRACT(YEAR|MONTH|DAY FROM d)`: an INTEGER from the date's text.
    pub(super) fn bind_extract(
        &mut self,
        field: &ast::DateTimeField,
        e: &ast::Expr,
        scope: &Scope,
    ) -> SqlResult<Expr> {
        let (start, len) = match field {
            ast::DateTimeField::Year => (1, 4),
            ast::DateTimeField::Month => (6, 2),
            ast::DateTimeField::Day => (9, 2),
            other => return Err(SqlError::plan(format!("unsupported EXTRACT field {other}"))),
        };
        let x = self.bind_expr(e, scope)?;
        let sub = Expr::Func(
            "substr".into(),
            vec![x, Expr::Literal(Value::Int(start)), Expr::Literal(Value::Int(len))],
        );
        Ok(Expr::Cast(Box::new(sub), CastTo::Integer))
    }

    /// `CAST(x AS DATE)`: dates are TEXT here; a constant is checked and
    /// written `yyyy-mm-dd`.
    pub(super) fn bind_cast_date(&mut self, e: &ast::Expr, scope: &Scope) -> SqlResult<Expr> {
        let x = self.bind_expr(e, scope)?;
        Ok(match &x {
            Expr::Literal(v @ Value::Text(_)) => match date_text(v) {
                Some(d) => Expr::Literal(Value::Text(format_date(d))),
                None => return Err(SqlError::plan(format!("invalid date {v}"))),
            },
            _ => x,
        })
    }
}

/// A decimal literal (`0.06`) as (digits, scale); `None` for integers and
/// exponents.
fn decimal_literal(e: &ast::Expr) -> Option<(i128, u32)> {
    let ast::Expr::Value(v) = e else { return None };
    let ast::Value::Number(s, _) = &v.value else { return None };
    let (int, frac) = s.split_once('.')?;
    if !int.bytes().all(|c| c.is_ascii_digit()) || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let scale = u32::try_from(frac.len()).ok().filter(|&s| s <= 18)?;
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    Some((digits, scale))
}

/// `0.06 + 0.01` between two decimal literals, added exactly (as standard
/// SQL's exact numeric literals; TPC-H Q6 writes its discount range so): in
/// binary floating point `0.06 + 0.01` is below `0.07`.
pub(super) fn fold_decimal_literals(l: &ast::Expr, minus: bool, r: &ast::Expr) -> Option<Expr> {
    let ((a, sa), (b, sb)) = (decimal_literal(l)?, decimal_literal(r)?);
    let scale = sa.max(sb);
    let a = a.checked_mul(10i128.checked_pow(scale - sa)?)?;
    let b = b.checked_mul(10i128.checked_pow(scale - sb)?)?;
    let v = if minus { a.checked_sub(b)? } else { a.checked_add(b)? };
    let p = 10i128.checked_pow(scale)?;
    let sign = if v < 0 { "-" } else { "" };
    let text = format!("{sign}{}.{:0width$}", (v / p).abs(), (v % p).abs(), width = scale as usize);
    text.parse::<f64>().ok().map(|f| Expr::Literal(Value::Real(f)))
}
