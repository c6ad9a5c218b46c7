//! Binding scalar expressions (and aggregate calls in aggregate queries).

use super::{Binder, Scope, ident_name};
use crate::expr::{AggCall, AggFunc, BinOp, CastTo, Expr, UnOp};
use crate::functions::{is_aggregate, is_scalar};
use crate::value::Value;
use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast::{self, BinaryOperator as B, UnaryOperator as U};

impl Binder<'_> {
    /// A dotted name, resolved as DuckDB does, the most top-level reading
    /// first: `schema.table.column.field…`, then `table.column.field…`, then
    /// `column.field…`; the parts after the column read fields of a STRUCT.
    fn bind_compound(&mut self, parts: &[ast::Ident], scope: &Scope) -> SqlResult<Expr> {
        let mut first_err = None;
        for skip in [2usize, 1, 0] {
            if parts.len() <= skip {
                continue;
            }
            let table = match skip {
                2 => {
                    Some(llkv_mvcc::qualified_name(&ident_name(&parts[0]), &ident_name(&parts[1])))
                }
                1 => Some(ident_name(&parts[0])),
                _ => None,
            };
            match self.resolve(table.as_deref(), &parts[skip].value, scope) {
                Ok(mut x) => {
                    for f in &parts[skip + 1..] {
                        x = Expr::Func(
                            "struct_extract".into(),
                            vec![x, Expr::Literal(Value::Text(f.value.clone()))],
                        );
                    }
                    return Ok(x);
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(first_err.unwrap_or_else(|| {
            SqlError::plan(format!(
                "unsupported column reference {}",
                parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".")
            ))
        }))
    }

    /// Binds `e` over `scope` (and enclosing scopes).
    pub(crate) fn bind_expr(&mut self, e: &ast::Expr, scope: &Scope) -> SqlResult<Expr> {
        if let Some(agg) = &self.agg
            && let Some(i) = agg.group_asts.iter().position(|g| g == e)
        {
            return Ok(Expr::Column(i));
        }
        let b = |s: &mut Self, x: &ast::Expr| s.bind_expr(x, scope).map(Box::new);
        Ok(match e {
            ast::Expr::Identifier(id) => {
                match self.resolve(None, &id.value, scope) {
                    Ok(x) => x,
                    Err(err)
                        if self.aliases.iter().any(|(n, _)| n.eq_ignore_ascii_case(&id.value)) =>
                    {
                        // A result alias in WHERE/HAVING (SQLite resolves these too).
                        let pos = self
                            .aliases
                            .iter()
                            .position(|(n, _)| n.eq_ignore_ascii_case(&id.value));
                        let Some(pos) = pos else { return Err(err) };
                        let (n, ae) = self.aliases.remove(pos);
                        let r = self.bind_expr(&ae, scope);
                        self.aliases.insert(pos, (n, ae));
                        r?
                    }
                    // SQLite reads a double-quoted name that is no column as a string.
                    Err(_) if id.quote_style == Some('"') => {
                        Expr::Literal(Value::Text(id.value.clone()))
                    }
                    Err(err) => return Err(err),
                }
            }
            ast::Expr::CompoundIdentifier(parts) => self.bind_compound(parts, scope)?,
            ast::Expr::Dictionary(fields) => {
                let mut args = Vec::with_capacity(fields.len() * 2);
                for f in fields {
                    args.push(Expr::Literal(Value::Text(f.key.value.clone())));
                    args.push(self.bind_expr(&f.value, scope)?);
                }
                Expr::Func("struct_pack".into(), args)
            }
            ast::Expr::Value(v) => Expr::Literal(literal(&v.value)?),
            ast::Expr::Nested(x) => self.bind_expr(x, scope)?,
            ast::Expr::UnaryOp { op, expr } => {
                // Fold `-<number>` so that -9223372036854775808 stays an integer.
                if let (U::Minus, ast::Expr::Value(v)) = (op, expr.as_ref())
                    && let ast::Value::Number(n, _) = &v.value
                    && let Ok(i) = format!("-{n}").parse::<i64>()
                {
                    return Ok(Expr::Literal(Value::Int(i)));
                }
                let op = match op {
                    U::Minus => UnOp::Neg,
                    U::Plus => UnOp::Plus,
                    U::Not => UnOp::Not,
                    U::BitwiseNot => UnOp::BitNot,
                    other => {
                        return Err(SqlError::plan(format!("unsupported unary operator {other}")));
                    }
                };
                Expr::Unary(op, b(self, expr)?)
            }
            ast::Expr::BinaryOp { left, op: op @ (B::Plus | B::Minus), right }
                if let ast::Expr::Interval(iv) = right.as_ref() =>
            {
                self.bind_date_interval(left, *op == B::Minus, iv, scope)?
            }
            ast::Expr::BinaryOp { left, op: op @ (B::Plus | B::Minus), right }
                if let Some(x) =
                    super::dates::fold_decimal_literals(left, *op == B::Minus, right) =>
            {
                x
            }
            ast::Expr::BinaryOp { left, op, right } => {
                let op = match op {
                    B::Plus => BinOp::Add,
                    B::Minus => BinOp::Sub,
                    B::Multiply => BinOp::Mul,
                    B::Divide => BinOp::Div,
                    B::Modulo => BinOp::Mod,
                    B::StringConcat => BinOp::Concat,
                    B::Gt => BinOp::Gt,
                    B::Lt => BinOp::Lt,
                    B::GtEq => BinOp::GtEq,
                    B::LtEq => BinOp::LtEq,
                    B::Eq => BinOp::Eq,
                    B::NotEq => BinOp::NotEq,
                    B::And => BinOp::And,
                    B::Or => BinOp::Or,
                    B::BitwiseAnd => BinOp::BitAnd,
                    B::BitwiseOr => BinOp::BitOr,
                    B::PGBitwiseShiftLeft => BinOp::ShiftLeft,
                    B::PGBitwiseShiftRight => BinOp::ShiftRight,
                    other => return Err(SqlError::plan(format!("unsupported operator {other}"))),
                };
                Expr::Binary(op, b(self, left)?, b(self, right)?)
            }
            ast::Expr::IsNull(x) => Expr::IsNull(b(self, x)?, false),
            ast::Expr::IsNotNull(x) => Expr::IsNull(b(self, x)?, true),
            ast::Expr::IsNotDistinctFrom(x, y) => Expr::Binary(BinOp::Is, b(self, x)?, b(self, y)?),
            ast::Expr::IsDistinctFrom(x, y) => Expr::Binary(BinOp::IsNot, b(self, x)?, b(self, y)?),
            ast::Expr::IsTrue(x) => Expr::Binary(
                BinOp::Is,
                Box::new(Expr::Unary(UnOp::Not, Box::new(Expr::Unary(UnOp::Not, b(self, x)?)))),
                Box::new(Expr::Literal(Value::Int(1))),
            ),
            ast::Expr::IsFalse(x) => Expr::Binary(
                BinOp::Is,
                Box::new(Expr::Unary(UnOp::Not, b(self, x)?)),
                Box::new(Expr::Literal(Value::Int(1))),
            ),
            ast::Expr::IsNotTrue(x) => Expr::Binary(
                BinOp::IsNot,
                Box::new(Expr::Unary(UnOp::Not, Box::new(Expr::Unary(UnOp::Not, b(self, x)?)))),
                Box::new(Expr::Literal(Value::Int(1))),
            ),
            ast::Expr::IsNotFalse(x) => Expr::Binary(
                BinOp::IsNot,
                Box::new(Expr::Unary(UnOp::Not, b(self, x)?)),
                Box::new(Expr::Literal(Value::Int(1))),
            ),
            ast::Expr::Between { expr, negated, low, high } => Expr::Between {
                expr: b(self, expr)?,
                low: b(self, low)?,
                high: b(self, high)?,
                negated: *negated,
            },
            ast::Expr::InList { expr, list, negated } => Expr::InList {
                expr: b(self, expr)?,
                list: list.iter().map(|x| self.bind_expr(x, scope)).collect::<SqlResult<_>>()?,
                negated: *negated,
            },
            ast::Expr::InSubquery { expr, subquery, negated } => {
                let x = b(self, expr)?;
                let (q, correlated) = self.bind_subquery(subquery, scope)?;
                if q.names.len() != 1 {
                    return Err(SqlError::plan("sub-select returns more than 1 column"));
                }
                Expr::InSubquery { expr: x, plan: Box::new(q.plan), negated: *negated, correlated }
            }
            ast::Expr::Exists { subquery, negated } => {
                let (q, correlated) = self.bind_subquery(subquery, scope)?;
                Expr::Exists { plan: Box::new(q.plan), negated: *negated, correlated }
            }
            ast::Expr::Subquery(q) => {
                let (q, correlated) = self.bind_subquery(q, scope)?;
                if q.names.len() != 1 {
                    return Err(SqlError::plan("sub-select returns more than 1 column"));
                }
                Expr::Subquery { plan: Box::new(q.plan), correlated }
            }
            ast::Expr::Like { negated, any: false, expr, pattern, escape_char }
            | ast::Expr::ILike { negated, any: false, expr, pattern, escape_char } => Expr::Like {
                expr: b(self, expr)?,
                pattern: b(self, pattern)?,
                escape: match escape_char {
                    Some(v) => Some(Box::new(Expr::Literal(literal(&v.value)?))),
                    None => None,
                },
                negated: *negated,
                glob: false,
            },
            ast::Expr::Case { operand, conditions, else_result, .. } => Expr::Case {
                operand: match operand {
                    Some(o) => Some(b(self, o)?),
                    None => None,
                },
                whens: conditions
                    .iter()
                    .map(|w| {
                        Ok((
                            self.bind_expr(&w.condition, scope)?,
                            self.bind_expr(&w.result, scope)?,
                        ))
                    })
                    .collect::<SqlResult<_>>()?,
                else_: match else_result {
                    Some(x) => Some(b(self, x)?),
                    None => None,
                },
            },
            ast::Expr::Cast { expr, data_type: ast::DataType::Date, .. } => {
                self.bind_cast_date(expr, scope)?
            }
            ast::Expr::Cast { expr, data_type, .. } => {
                Expr::Cast(b(self, expr)?, cast_target(data_type))
            }
            ast::Expr::TypedString(t) => self.bind_typed_string(t)?,
            ast::Expr::Extract { field, expr, .. } => self.bind_extract(field, expr, scope)?,

            ast::Expr::Function(f) => self.bind_function(f, scope)?,
            ast::Expr::Substring { expr, substring_from, substring_for, .. } => {
                let mut args = vec![self.bind_expr(expr, scope)?];
                if let Some(x) = substring_from {
                    args.push(self.bind_expr(x, scope)?);
                } else {
                    args.push(Expr::Literal(Value::Int(1)));
                }
                if let Some(x) = substring_for {
                    args.push(self.bind_expr(x, scope)?);
                }
                Expr::Func("substr".into(), args)
            }
            ast::Expr::Trim { expr, trim_where, trim_what, trim_characters } => {
                let name = match trim_where {
                    Some(ast::TrimWhereField::Leading) => "ltrim",
                    Some(ast::TrimWhereField::Trailing) => "rtrim",
                    _ => "trim",
                };
                let mut args = vec![self.bind_expr(expr, scope)?];
                if let Some(w) = trim_what {
                    args.push(self.bind_expr(w, scope)?);
                }
                // SQLite's `trim(x, chars)` parses as trim characters.
                match trim_characters.as_deref() {
                    None | Some([]) => {}
                    Some([c]) if trim_what.is_none() => args.push(self.bind_expr(c, scope)?),
                    Some(_) => return Err(SqlError::plan(format!("unsupported TRIM form: {e}"))),
                }
                Expr::Func(name.into(), args)
            }
            ast::Expr::Tuple(items) if items.len() == 1 => self.bind_expr(&items[0], scope)?,
            other => return Err(SqlError::plan(format!("unsupported expression: {other}"))),
        })
    }

    fn bind_function(&mut self, f: &ast::Function, scope: &Scope) -> SqlResult<Expr> {
        let name = super::object_name(&f.name)?.to_ascii_lowercase();
        if f.over.is_some() {
            return Err(SqlError::plan(format!("window functions are not supported: {name}")));
        }
        let (args, distinct, star) = match &f.args {
            ast::FunctionArguments::None => (Vec::new(), false, false),
            ast::FunctionArguments::Subquery(_) => {
                return Err(SqlError::plan(format!("unsupported function arguments in {name}")));
            }
            ast::FunctionArguments::List(l) => {
                let distinct =
                    matches!(l.duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                let mut args = Vec::new();
                let mut star = false;
                for a in &l.args {
                    match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            args.push(e.clone())
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        other => {
                            return Err(SqlError::plan(format!(
                                "unsupported function argument {other}"
                            )));
                        }
                    }
                }
                (args, distinct, star)
            }
        };
        if is_aggregate(&name, args.len() + usize::from(star)) {
            let func = match name.as_str() {
                "count" if star => AggFunc::CountStar,
                "count" => AggFunc::Count,
                "sum" => AggFunc::Sum,
                "total" => AggFunc::Total,
                "avg" => AggFunc::Avg,
                "min" => AggFunc::Min,
                "max" => AggFunc::Max,
                _ => AggFunc::GroupConcat,
            };
            let nargs_ok = match func {
                AggFunc::CountStar => args.is_empty(),
                AggFunc::GroupConcat => (1..=2).contains(&args.len()),
                _ => args.len() == 1 && !star,
            };
            if distinct && (star || args.len() != 1) {
                return Err(SqlError::plan(format!(
                    "DISTINCT aggregates must have exactly one argument: {name}()"
                )));
            }
            if !nargs_ok {
                return Err(SqlError::plan(format!(
                    "wrong number of arguments to function {name}()"
                )));
            }
            let Some(state) = self.agg.take() else {
                // Not in an aggregate context: note it so the query is rebound as one.
                self.saw_agg = true;
                return Ok(Expr::Literal(Value::Null));
            };
            let bound =
                args.iter().map(|a| self.bind_expr(a, scope)).collect::<SqlResult<Vec<_>>>();
            let mut state = state;
            let bound = match bound {
                Ok(b) => b,
                Err(e) => {
                    self.agg = Some(state);
                    return Err(e);
                }
            };
            let mut it = bound.into_iter();
            state.aggs.push(AggCall { func, arg: it.next(), sep: it.next(), distinct });
            let idx = state.group_bound.len() + state.aggs.len() - 1;
            self.agg = Some(state);
            return Ok(Expr::Column(idx));
        }
        // DuckDB's operator functions: add(a, b) is a + b, and so on.
        let op = match name.as_str() {
            "add" => Some(BinOp::Add),
            "subtract" => Some(BinOp::Sub),
            "multiply" => Some(BinOp::Mul),
            _ => None,
        };
        if let (Some(op), [l, r], false, false) = (op, args.as_slice(), star, distinct) {
            let l = Box::new(self.bind_expr(l, scope)?);
            let r = Box::new(self.bind_expr(r, scope)?);
            return Ok(Expr::Binary(op, l, r));
        }
        if !is_scalar(&name) {
            return Err(SqlError::plan(format!("no such function: {name}")));
        }
        if star || distinct {
            return Err(SqlError::plan(format!("unsupported arguments to function {name}()")));
        }
        let bound = args.iter().map(|a| self.bind_expr(a, scope)).collect::<SqlResult<Vec<_>>>()?;
        Ok(Expr::Func(name, bound))
    }
}

/// A literal's value. Numbers without `.`/`e` are INTEGER when they fit.
pub(crate) fn literal(v: &ast::Value) -> SqlResult<Value> {
    Ok(match v {
        ast::Value::Number(n, _) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => n
                .parse::<f64>()
                .map(Value::Real)
                .map_err(|_| SqlError::plan(format!("bad number {n}")))?,
        },
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
            Value::Text(s.clone())
        }
        ast::Value::Boolean(b) => Value::from_bool(*b),
        ast::Value::Null => Value::Null,
        ast::Value::HexStringLiteral(h) => {
            let bytes: Option<Vec<u8>> = (0..h.len())
                .step_by(2)
                .map(|i| h.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
                .collect();
            Value::Blob(bytes.ok_or_else(|| SqlError::plan(format!("bad blob literal {h}")))?)
        }
        other => return Err(SqlError::plan(format!("unsupported literal {other}"))),
    })
}

/// The storage class a CAST to `t` produces, by SQLite's affinity rules on the
/// type name (INT → INTEGER; CHAR/CLOB/TEXT → TEXT; BLOB → BLOB;
/// REAL/FLOA/DOUB → REAL; else NUMERIC).
pub(crate) fn cast_target(t: &ast::DataType) -> CastTo {
    let n = t.to_string().to_ascii_uppercase();
    if n.contains("INT") {
        CastTo::Integer
    } else if n.contains("CHAR") || n.contains("CLOB") || n.contains("TEXT") || n.contains("STRING")
    {
        CastTo::Text
    } else if n.contains("BLOB") || n.contains("BINARY") || n.contains("BYTEA") {
        CastTo::Blob
    } else if n.contains("REAL") || n.contains("FLOA") || n.contains("DOUB") {
        CastTo::Real
    } else {
        CastTo::Numeric
    }
}
