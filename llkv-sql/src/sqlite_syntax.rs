//! SQLite syntax that sqlparser does not parse, rewritten into standard SQL
//! on the token stream, with the original text of every other token kept
//! byte for byte. Both routes retry a statement that fails to parse with
//! the rewritten text:
//! - `x IN tbl` → `x IN (SELECT * FROM tbl)`;
//! - `x IN ()` → `x IN (SELECT NULL WHERE 1 = 0)` (an empty list);
//! - `NOT INDEXED` and `INDEXED BY name` (index hints) are dropped;
//! - a trailing comma before `)` (DuckDB's `VALUES ('a',)`) is dropped.

use sqlparser::dialect::SQLiteDialect;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

/// What an empty list `x IN ()` becomes: a query of no rows, so that
/// `x IN ()` is false and `x NOT IN ()` true for every `x`, NULL included.
const EMPTY_LIST: &str = "SELECT NULL WHERE 1 = 0";

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

/// Rewrites SQLite syntax that sqlparser does not parse (see the module
/// documentation) into equivalent standard SQL; `None` when nothing changed
/// (or the text does not tokenize).
pub fn rewrite(sql: &str) -> Option<String> {
    let toks = Tokenizer::new(&SQLiteDialect {}, sql).tokenize_with_location().ok()?;
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
                if matches!(toks[next].token, Token::LParen)
                    && sig.get(k + 2).is_some_and(|&i| matches!(toks[i].token, Token::RParen))
                {
                    pieces[next] = format!("({EMPTY_LIST}");
                    changed = true;
                    continue;
                }
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
        let r = rewrite("SELECT 1 IN t1, 'it''s' FROM t NOT INDEXED");
        assert_eq!(r.as_deref(), Some("SELECT 1 IN (SELECT * FROM t1), 'it''s' FROM t  "));
        let r = rewrite("SELECT * FROM t INDEXED BY i WHERE a NOT IN t2");
        assert_eq!(r.as_deref(), Some("SELECT * FROM t    WHERE a NOT IN (SELECT * FROM t2)"));
        assert_eq!(rewrite("SELECT x IN (1, 2), y IN (SELECT 1) FROM t"), None);
        assert_eq!(rewrite("VALUES ('a',)").as_deref(), Some("VALUES ('a')"));
        let r = rewrite("SELECT 1 NOT IN ( )");
        assert_eq!(r.as_deref(), Some("SELECT 1 NOT IN (SELECT NULL WHERE 1 = 0 )"));
    }
}
