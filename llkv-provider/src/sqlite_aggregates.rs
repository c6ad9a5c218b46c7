//! SQLite's aggregates `total` and `group_concat`, rewritten on the statement
//! before planning into DataFusion built-ins with the same results:
//! - `total([DISTINCT] x)` becomes
//!   `coalesce(sum([DISTINCT] TRY_CAST(x AS DOUBLE)), 0.0)`: always a float,
//!   0.0 over no rows or only NULLs (text that is not a number counts as
//!   NULL, where SQLite takes its numeric prefix);
//! - `group_concat([DISTINCT] x [, sep])` becomes
//!   `string_agg([DISTINCT] CAST(x AS VARCHAR), sep)` with `','` as the
//!   default separator: NULL over no rows or only NULLs, values as text.
//!   `group_concat(DISTINCT x)` becomes
//!   `llkv_group_concat_distinct(CAST(x AS VARCHAR))`
//!   ([`crate::group_concat`]), which lists the values in the order of their
//!   first appearance as SQLite does. DISTINCT with a separator is refused,
//!   as in SQLite;
//! - `count(DISTINCT *)` is refused, as in SQLite.

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    self, CastKind, DataType, DuplicateTreatment, FunctionArg, FunctionArgExpr, FunctionArguments,
    VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// The rewrite (see the module docs); breaks with an error message.
struct SqliteAggregates;

impl VisitorMut for SqliteAggregates {
    type Break = String;
    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<String> {
        let ast::Expr::Function(f) = e else { return ControlFlow::Continue(()) };
        let name = f.name.to_string().to_ascii_lowercase();
        // SQLite refuses count(DISTINCT *); DataFusion would count the rows.
        if name == "count"
            && let FunctionArguments::List(list) = &f.args
            && matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct))
            && matches!(list.args.as_slice(), [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)])
        {
            return ControlFlow::Break("count(DISTINCT *) is not allowed".to_string());
        }
        if name != "total" && name != "group_concat" {
            return ControlFlow::Continue(());
        }
        let FunctionArguments::List(list) = &mut f.args else {
            return ControlFlow::Continue(());
        };
        let distinct = matches!(list.duplicate_treatment, Some(DuplicateTreatment::Distinct));
        let n = list.args.len();
        let valid = if name == "total" { n == 1 } else { n == 1 || (n == 2 && !distinct) };
        if !valid {
            return ControlFlow::Break(format!("wrong arguments to {name}()"));
        }
        let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))) = list.args.first_mut() else {
            return ControlFlow::Break(format!("wrong arguments to {name}()"));
        };
        let inner = std::mem::replace(arg, ast::Expr::value(ast::Value::Null));
        let (kind, ty) = if name == "total" {
            (CastKind::TryCast, DataType::Double(ast::ExactNumberInfo::None))
        } else {
            (CastKind::Cast, DataType::Varchar(None))
        };
        *arg = ast::Expr::Cast {
            kind,
            expr: Box::new(inner),
            data_type: ty,
            array: false,
            format: None,
        };
        if name == "group_concat" && distinct {
            list.duplicate_treatment = None;
            f.name = ast::ObjectName::from(vec![ast::Ident::new(crate::group_concat::NAME)]);
            return ControlFlow::Continue(());
        }
        if name == "group_concat" {
            if n == 1 {
                list.args.push(FunctionArg::Unnamed(FunctionArgExpr::Expr(ast::Expr::value(
                    ast::Value::SingleQuotedString(",".to_string()),
                ))));
            }
            f.name = ast::ObjectName::from(vec![ast::Ident::new("string_agg")]);
            return ControlFlow::Continue(());
        }
        f.name = ast::ObjectName::from(vec![ast::Ident::new("sum")]);
        let sum = std::mem::replace(e, ast::Expr::value(ast::Value::Null));
        let zero = ast::Expr::value(ast::Value::Number("0.0".to_string(), false));
        *e = ast::Expr::Function(ast::Function {
            name: ast::ObjectName::from(vec![ast::Ident::new("coalesce")]),
            uses_odbc_syntax: false,
            parameters: FunctionArguments::None,
            args: FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: [sum, zero].map(|x| FunctionArg::Unnamed(FunctionArgExpr::Expr(x))).to_vec(),
                clauses: Vec::new(),
            }),
            filter: None,
            null_treatment: None,
            over: None,
            within_group: Vec::new(),
        });
        ControlFlow::Continue(())
    }
}

/// Applies the rewrite to a statement.
///
/// # Errors
/// The message for `total` / `group_concat` called with wrong arguments.
pub(crate) fn sqlite_aggregates(stmt: &mut Statement) -> Result<(), String> {
    if let Statement::Statement(s) = stmt
        && let ControlFlow::Break(msg) = s.visit(&mut SqliteAggregates)
    {
        return Err(msg);
    }
    Ok(())
}
