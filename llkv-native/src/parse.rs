//! SQL text to sqlparser statements.
//!
//! The SQLite dialect first. When it fails, SQLite syntax that sqlparser does
//! not know is rewritten on the token stream (with the original text of every
//! other token kept byte for byte) and parsing is retried:
//! - `x IN tbl` → `x IN (SELECT * FROM tbl)`;
//! - `NOT INDEXED` and `INDEXED BY name` (index hints) are dropped;
//! - a trailing comma before `)` (DuckDB's `VALUES ('a',)`) is dropped;
//!
//! and as a last resort the generic dialect is tried (it knows `<<`, `>>`).

use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast::{Query, Statement};
use sqlparser::dialect::{Dialect, GenericDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// Parses one or more statements.
///
/// # Errors
/// A parse error with sqlparser's message (for the original text).
pub fn parse_sql(sql: &str) -> SqlResult<Vec<Statement>> {
    let first = match parse_with(&SQLiteDialect {}, sql) {
        Ok(s) => return Ok(s),
        Err(e) => SqlError::parse(e.to_string()),
    };
    let rewritten = rewrite(&SQLiteDialect {}, sql);
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

fn offset(line_starts: &[Vec<usize>], loc: Location, len: usize) -> usize {
    let Some(line) = line_starts.get((loc.line as usize).saturating_sub(1)) else { return len };
    line.get((loc.column as usize).saturating_sub(1)).copied().unwrap_or(len)
}

fn word(t: &Token) -> Option<String> {
    match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    }
}

/// Applies the rewrites; None when nothing changed.
fn rewrite(dialect: &dyn Dialect, sql: &str) -> Option<String> {
    let toks = Tokenizer::new(dialect, sql).tokenize_with_location().ok()?;
    // Byte offset of every (line, column) position.
    let mut line_starts: Vec<Vec<usize>> = vec![Vec::new()];
    for (b, ch) in sql.char_indices() {
        if let Some(l) = line_starts.last_mut() {
            l.push(b);
        }
        if ch == '\n' {
            line_starts.push(Vec::new());
        }
    }
    if let Some(l) = line_starts.last_mut() {
        l.push(sql.len());
    }
    let starts: Vec<usize> =
        toks.iter().map(|t| offset(&line_starts, t.span.start, sql.len())).collect();
    let mut pieces: Vec<String> = (0..toks.len())
        .map(|i| {
            let end = starts.get(i + 1).copied().unwrap_or(sql.len());
            sql.get(starts[i]..end).unwrap_or_default().to_string()
        })
        .collect();
    let sig: Vec<usize> =
        (0..toks.len()).filter(|&i| !matches!(toks[i].token, Token::Whitespace(_))).collect();
    let w = |k: usize| sig.get(k).and_then(|&i| word(&toks[i].token));
    let mut changed = false;
    for k in 0..sig.len() {
        if matches!(toks[sig[k]].token, Token::Comma)
            && sig.get(k + 1).is_some_and(|&i| matches!(toks[i].token, Token::RParen))
        {
            pieces[sig[k]].clear();
            changed = true;
            continue;
        }
        match w(k).as_deref() {
            Some("NOT") if w(k + 1).as_deref() == Some("INDEXED") => {
                pieces[sig[k]].clear();
                pieces[sig[k + 1]].clear();
                changed = true;
            }
            Some("INDEXED") if w(k + 1).as_deref() == Some("BY") && sig.get(k + 2).is_some() => {
                for j in k..k + 3 {
                    pieces[sig[j]].clear();
                }
                changed = true;
            }
            Some("IN") => {
                let Some(&next) = sig.get(k + 1) else { continue };
                let Token::Word(name) = &toks[next].token else { continue };
                if matches!(name.value.to_ascii_uppercase().as_str(), "SELECT" | "VALUES" | "WITH")
                {
                    continue;
                }
                if matches!(
                    sig.get(k + 2).map(|&i| &toks[i].token),
                    Some(Token::LParen | Token::Period)
                ) {
                    continue;
                }
                let text = pieces[next].trim_end().to_string();
                let tail = &pieces[next][text.len()..];
                pieces[next] = format!("(SELECT * FROM {text}){tail}");
                changed = true;
            }
            _ => {}
        }
    }
    changed.then(|| pieces.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_only_syntax_is_rewritten() {
        let r = rewrite(&SQLiteDialect {}, "SELECT 1 IN t1, 'it''s' FROM t NOT INDEXED");
        assert_eq!(r.as_deref(), Some("SELECT 1 IN (SELECT * FROM t1), 'it''s' FROM t  "));
        assert!(parse_sql("SELECT 1 NOT IN t1").is_ok());
        assert!(parse_sql("SELECT 1<<3").is_ok());
        assert!(parse_sql("SELECT * FROM (VALUES ('v2',)) v(id)").is_ok());
    }
}
