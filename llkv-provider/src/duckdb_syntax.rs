//! DuckDB syntax that DataFusion parses but plans differently, rewritten on
//! the statement before planning:
//! - `FROM t` without SELECT (DuckDB's FROM-first form) means `SELECT *`;
//! - `SET immediate_transaction_mode = …` is accepted and ignored (llkv's
//!   BEGIN takes its snapshot immediately anyway);
//! - `SET default_null_order = '…'` sets DataFusion's
//!   `datafusion.sql_parser.default_null_ordering` to the same order;
//! - unary `+` is a no-op on any type (as in SQLite; DataFusion
//!   refuses it on text): `+x` becomes `(x)`, which stays an expression
//!   (`ORDER BY +1` does not become a column position);
//! - `CREATE TEMPORARY TABLE` / `VIEW` creates an ordinary table or view (as
//!   on the native route; DataFusion refuses temporary ones).

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    self, SelectFlavor, SelectItem, VisitMut, VisitorMut, WildcardAdditionalOptions,
};
use std::ops::ControlFlow;

/// Drops unary plus (see the module docs).
struct UnaryPlus;

impl VisitorMut for UnaryPlus {
    type Break = ();
    fn post_visit_expr(&mut self, e: &mut ast::Expr) -> ControlFlow<()> {
        if let ast::Expr::UnaryOp { op: ast::UnaryOperator::Plus, expr } = e {
            let inner = std::mem::replace(expr.as_mut(), ast::Expr::value(ast::Value::Null));
            *e = ast::Expr::Nested(Box::new(inner));
        }
        ControlFlow::Continue(())
    }
}

struct FromFirst;

impl VisitorMut for FromFirst {
    type Break = ();
    fn pre_visit_query(&mut self, q: &mut ast::Query) -> ControlFlow<()> {
        if let ast::SetExpr::Select(s) = q.body.as_mut()
            && s.projection.is_empty()
            && matches!(s.flavor, SelectFlavor::FromFirstNoSelect)
        {
            s.projection.push(SelectItem::Wildcard(WildcardAdditionalOptions::default()));
        }
        ControlFlow::Continue(())
    }
}

/// Applies the rewrites to a statement.
pub(crate) fn duckdb_syntax(stmt: &mut Statement) {
    if let Statement::Statement(s) = stmt {
        let _ = s.visit(&mut FromFirst);
        let _ = s.visit(&mut UnaryPlus);
        match s.as_mut() {
            ast::Statement::CreateTable(ct) => ct.temporary = false,
            ast::Statement::CreateView(cv) => cv.temporary = false,
            ast::Statement::Set(ast::Set::SingleAssignment { variable, values, .. })
                if variable.to_string().eq_ignore_ascii_case("default_null_order") =>
            {
                null_order(variable, values);
            }
            _ => {}
        }
    }
}

/// Whether the statement is a setting llkv accepts and ignores.
pub(crate) fn ignored_setting(stmt: &Statement) -> bool {
    let Statement::Statement(s) = stmt else { return false };
    matches!(s.as_ref(), ast::Statement::Set(ast::Set::SingleAssignment { variable, .. })
        if variable.to_string().eq_ignore_ascii_case("immediate_transaction_mode"))
}

/// DuckDB's `default_null_order` as DataFusion's `default_null_ordering`.
fn null_order(variable: &mut ast::ObjectName, values: &mut [ast::Expr]) {
    let Some(ast::Expr::Value(v)) = values.first_mut() else { return };
    let Some(text) = v.value.clone().into_string() else { return };
    let df = match text.to_ascii_lowercase().replace(' ', "_").as_str() {
        "nulls_first" => "nulls_first",
        "nulls_last" => "nulls_last",
        "nulls_first_on_asc_last_on_desc" => "nulls_min",
        "nulls_last_on_asc_first_on_desc" => "nulls_max",
        _ => return,
    };
    *variable = ast::ObjectName::from(
        ["datafusion", "sql_parser", "default_null_ordering"].map(ast::Ident::new).to_vec(),
    );
    v.value = ast::Value::SingleQuotedString(df.to_string());
}
