//! SQL text to sqlparser statements (SQLite dialect).

use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast::{Query, Statement};
use sqlparser::dialect::SQLiteDialect;
use sqlparser::parser::Parser;

/// Parses one or more statements.
///
/// # Errors
/// A parse error with sqlparser's message.
pub fn parse_sql(sql: &str) -> SqlResult<Vec<Statement>> {
    Parser::parse_sql(&SQLiteDialect {}, sql).map_err(|e| SqlError::parse(e.to_string()))
}

/// Parses a single query (a stored view's definition).
///
/// # Errors
/// A parse error, or a statement that is not a query.
pub fn parse_query(sql: &str) -> SqlResult<Box<Query>> {
    let mut stmts = parse_sql(sql)?;
    match (stmts.pop(), stmts.is_empty()) {
        (Some(Statement::Query(q)), true) => Ok(q),
        _ => Err(SqlError::plan(format!("not a query: {sql}"))),
    }
}
