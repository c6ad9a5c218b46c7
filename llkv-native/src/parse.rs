//! SQL text to sqlparser statements.
//!
//! The SQLite dialect first. When it fails, SQLite syntax that sqlparser does
//! not know is rewritten ([`llkv_sql::sqlite_syntax`]) and parsing is retried,
//! and as a last resort the generic dialect is tried (it knows `<<`, `>>`).

use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast::{Query, Statement};
use sqlparser::dialect::{Dialect, GenericDialect, SQLiteDialect};
use sqlparser::parser::Parser;

/// Parses one or more statements.
///
/// # Errors
/// A parse error with sqlparser's message (for the original text).
pub fn parse_sql(sql: &str) -> SqlResult<Vec<Statement>> {
    let first = match parse_with(&SQLiteDialect {}, sql) {
        Ok(s) => return Ok(s),
        Err(e) => SqlError::parse(e.to_string()),
    };
    let rewritten = llkv_sql::sqlite_syntax::rewrite(sql);
    if let Some(r) = &rewritten
        && let Ok(s) = Parser::parse_sql(&SQLiteDialect {}, r)
    {
        return Ok(s);
    }
    let text = rewritten.as_deref().unwrap_or(sql);
    parse_with(&GenericDialect {}, text).map_err(|_| first)
}

/// Deeply nested expressions (the corpus has some) need more than sqlparser's
/// default recursion limit of 50.
const RECURSION_LIMIT: usize = 200;

fn parse_with(
    dialect: &dyn Dialect,
    sql: &str,
) -> Result<Vec<Statement>, sqlparser::parser::ParserError> {
    Parser::new(dialect).with_recursion_limit(RECURSION_LIMIT).try_with_sql(sql)?.parse_statements()
}

/// Parses a single query, or a stored view's definition: a `CREATE VIEW`
/// statement (as both routes store it) or its bare query.
///
/// # Errors
/// A parse error, or a statement that is neither.
pub fn parse_query(sql: &str) -> SqlResult<Box<Query>> {
    let mut stmts = parse_sql(sql)?;
    match (stmts.pop(), stmts.is_empty()) {
        (Some(Statement::Query(q)), true) => Ok(q),
        (Some(Statement::CreateView(v)), true) => {
            if v.columns.is_empty() {
                return Ok(v.query);
            }
            // Keep the column names: SELECT * FROM (q) AS name(cols).
            let cols: Vec<String> = v.columns.iter().map(|c| c.name.to_string()).collect();
            let alias = v.name.0.last().map(ToString::to_string).unwrap_or_default();
            let wrapped = format!("SELECT * FROM ({}) AS {alias}({})", v.query, cols.join(", "));
            parse_query(&wrapped)
        }
        _ => Err(SqlError::plan(format!("not a query: {sql}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_only_syntax_is_rewritten() {
        assert!(parse_sql("SELECT 1 NOT IN t1").is_ok());
        assert!(parse_sql("SELECT 1<<3").is_ok());
        assert!(parse_sql("SELECT * FROM (VALUES ('v2',)) v(id)").is_ok());
    }
}
