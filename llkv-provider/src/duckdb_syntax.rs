//! DuckDB syntax that DataFusion parses but plans differently, rewritten on
//! the statement before planning:
//! - `FROM t` without SELECT (DuckDB's FROM-first form) means `SELECT *`;
//! - `SET immediate_transaction_mode = …` is accepted and ignored (llkv's
//!   BEGIN takes its snapshot immediately anyway).

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    self, SelectFlavor, SelectItem, VisitMut, VisitorMut, WildcardAdditionalOptions,
};
use std::ops::ControlFlow;

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
    }
}

/// Whether the statement is a setting llkv accepts and ignores.
pub(crate) fn ignored_setting(stmt: &Statement) -> bool {
    let Statement::Statement(s) = stmt else { return false };
    matches!(s.as_ref(), ast::Statement::Set(ast::Set::SingleAssignment { variable, .. })
        if variable.to_string().eq_ignore_ascii_case("immediate_transaction_mode"))
}
