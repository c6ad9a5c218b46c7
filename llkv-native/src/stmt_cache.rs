//! A cache of parsed statements by the shape of their text.
//!
//! Clients that send the same statement again and again with other
//! constants (`SELECT … WHERE k = 17`, then `… = 18`) pay for tokenizing and
//! parsing each time. Here the text's numeric and single-quoted string
//! literals are cut out ([`shape`]), giving a template with numbered
//! placeholders (`… WHERE k = ?1`) and the literals in order. The template is
//! parsed once; later texts of the same shape clone it and put their own
//! literals in.
//!
//! A template is only trusted after a check on the first text that produced
//! it: the text's own parse must equal the template's with that text's
//! literals put back. Shapes that fail the check (a literal whose meaning
//! depends on its value, say) are remembered as such and always parsed. The
//! cache holds syntax only, no names resolved against the catalog, so DDL
//! and transactions cannot make an entry stale.

use crate::parse::parse_sql;
use llkv_sql::SqlResult;
use sqlparser::ast::{self, Statement, VisitMut, VisitorMut};
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::ControlFlow;

/// Entries kept before the cache is emptied (clients with unbounded numbers
/// of shapes must not grow it without bound).
const MAX_ENTRIES: usize = 512;

/// Texts longer than this are parsed without the cache (bulk INSERTs).
const MAX_TEXT: usize = 4096;

/// A literal cut out of a statement's text.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    /// A number, as written.
    Number(String),
    /// A single-quoted string, unescaped.
    Text(String),
}

impl Lit {
    fn value(&self) -> ast::Value {
        match self {
            Lit::Number(n) => ast::Value::Number(n.clone(), false),
            Lit::Text(s) => ast::Value::SingleQuotedString(s.clone()),
        }
    }
}

/// A checked template: its statements and, for each value in the order a
/// visitor meets them, the literal it takes (`None`: a value of the template
/// itself). The literals of the last text filled in stay in place, so a hit
/// costs one walk over the values and no copy.
struct Template {
    stmts: Vec<Statement>,
    slots: Vec<Option<usize>>,
}

/// Parsed templates by text shape; `None` marks a shape that must be parsed.
#[derive(Default)]
pub(crate) struct StatementCache {
    map: HashMap<String, Option<Template>>,
}

impl StatementCache {
    /// The statements of `sql`: from the cache when its shape is known,
    /// else parsed (and the shape's template checked and remembered).
    ///
    /// # Errors
    /// The parse error of `sql`.
    pub(crate) fn parse(&mut self, sql: &str) -> SqlResult<Cow<'_, [Statement]>> {
        let Some((text, lits)) = shape(sql) else { return parse_sql(sql).map(Cow::Owned) };
        if !self.map.contains_key(&text) {
            let stmts = parse_sql(sql)?;
            let checked = Template::new(&text, &lits).filter(|t| t.stmts == stmts);
            if self.map.len() >= MAX_ENTRIES {
                self.map.clear();
            }
            self.map.insert(text, checked);
            return Ok(Cow::Owned(stmts));
        }
        match self.map.get_mut(&text) {
            Some(Some(t)) => {
                t.fill(&lits);
                Ok(Cow::Borrowed(&t.stmts))
            }
            _ => parse_sql(sql).map(Cow::Owned),
        }
    }
}

impl Template {
    /// The template of shape `text`, filled with `lits`.
    fn new(text: &str, lits: &[Lit]) -> Option<Self> {
        let mut stmts = parse_sql(text).ok()?;
        let mut find = FindSlots { slots: Vec::new() };
        for s in &mut stmts {
            let _ = s.visit(&mut find);
        }
        let mut t = Template { stmts, slots: find.slots };
        // Every literal must have exactly one slot.
        let mut seen = vec![0usize; lits.len()];
        for s in t.slots.iter().flatten() {
            *seen.get_mut(*s)? += 1;
        }
        if seen.iter().any(|&n| n != 1) {
            return None;
        }
        t.fill(lits);
        Some(t)
    }

    /// Puts `lits` into the slots.
    fn fill(&mut self, lits: &[Lit]) {
        let mut v = Fill { slots: &self.slots, lits, next: 0 };
        for s in &mut self.stmts {
            let _ = s.visit(&mut v);
        }
    }
}

/// Records which literal each value of a freshly parsed template takes.
struct FindSlots {
    slots: Vec<Option<usize>>,
}

impl VisitorMut for FindSlots {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ast::ValueWithSpan) -> ControlFlow<()> {
        let slot = match &value.value {
            ast::Value::Placeholder(p) => p
                .strip_prefix('?')
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| n.checked_sub(1)),
            _ => None,
        };
        self.slots.push(slot);
        ControlFlow::Continue(())
    }
}

/// Puts literals into the slots, visiting values in the same order.
struct Fill<'a> {
    slots: &'a [Option<usize>],
    lits: &'a [Lit],
    next: usize,
}

impl VisitorMut for Fill<'_> {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ast::ValueWithSpan) -> ControlFlow<()> {
        if let Some(Some(i)) = self.slots.get(self.next)
            && let Some(lit) = self.lits.get(*i)
        {
            value.value = lit.value();
        }
        self.next += 1;
        ControlFlow::Continue(())
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The text with its numeric and single-quoted literals replaced by `?1`,
/// `?2`, … and the literals in order; `None` when the text has no literal,
/// or something the scan does not follow (comments, parameters, prefixed
/// strings such as `X'…'`, numbers running into letters).
fn shape(sql: &str) -> Option<(String, Vec<Lit>)> {
    if sql.len() > MAX_TEXT {
        return None;
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut lits = Vec::new();
    let mut i = 0;
    // Whether the previous byte continues an identifier or keyword.
    let mut in_word = false;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'\'' => {
                if in_word {
                    return None;
                }
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    let k = j + sql.get(j..)?.find('\'')?;
                    s.push_str(sql.get(j..k)?);
                    if bytes.get(k + 1) == Some(&b'\'') {
                        s.push('\'');
                        j = k + 2;
                    } else {
                        i = k + 1;
                        break;
                    }
                }
                lits.push(Lit::Text(s));
                out.push('?');
                out.push_str(&lits.len().to_string());
                in_word = false;
            }
            b'"' | b'`' | b'[' => {
                // A quoted identifier, kept as written.
                let close = match b {
                    b'[' => ']',
                    other => other as char,
                };
                let end = i + 1 + sql.get(i + 1..)?.find(close)?;
                out.push_str(sql.get(i..=end)?);
                i = end + 1;
                in_word = false;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => return None,
            b'/' if bytes.get(i + 1) == Some(&b'*') => return None,
            b'?' | b'$' | b':' | b'@' | b'#' | b'\\' => return None,
            b'0'..=b'9' | b'.'
                if !in_word && (b != b'.' || bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let start = i;
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if bytes.get(i) == Some(&b'.') {
                    i += 1;
                    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                }
                if matches!(bytes.get(i), Some(b'e' | b'E')) {
                    i += 1;
                    if matches!(bytes.get(i), Some(b'+' | b'-')) {
                        i += 1;
                    }
                    if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
                        return None;
                    }
                    while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                        i += 1;
                    }
                }
                if bytes.get(i).is_some_and(|&c| is_ident_byte(c) || c == b'.') {
                    return None;
                }
                lits.push(Lit::Number(sql.get(start..i)?.to_string()));
                out.push('?');
                out.push_str(&lits.len().to_string());
                in_word = false;
            }
            _ => {
                let c = sql.get(i..)?.chars().next()?;
                out.push(c);
                i += c.len_utf8();
                in_word = is_ident_byte(b);
            }
        }
    }
    (!lits.is_empty()).then_some((out, lits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_cut_out_of_the_text() {
        let (t, l) = shape("SELECT a1, 'it''s' FROM t2 WHERE k = 17 AND x > 1.5e3").unwrap();
        assert_eq!(t, "SELECT a1, ?1 FROM t2 WHERE k = ?2 AND x > ?3");
        assert_eq!(
            l,
            vec![Lit::Text("it's".into()), Lit::Number("17".into()), Lit::Number("1.5e3".into())]
        );
        let (t, _) = shape("SELECT \"c 1\" FROM [t 2] WHERE x = .5").unwrap();
        assert_eq!(t, "SELECT \"c 1\" FROM [t 2] WHERE x = ?1");
        for odd in ["SELECT X'01'", "SELECT 1 -- c", "SELECT ?", "SELECT 0x10", "SELECT 1a", "x"] {
            assert!(shape(odd).is_none(), "{odd}");
        }
    }

    #[test]
    fn a_cached_shape_parses_like_the_text() {
        let mut c = StatementCache::default();
        let texts = [
            "SELECT * FROM t WHERE k = 1",
            "SELECT * FROM t WHERE k = 2",
            "SELECT * FROM t WHERE k = 'x'",
            "UPDATE t SET v = v + 1 WHERE k = -5",
            "UPDATE t SET v = v + 2.5 WHERE k = -6",
            "SELECT 1 IN t1",
            "SELECT 2 IN t1",
        ];
        for t in texts {
            assert_eq!(c.parse(t).unwrap().as_ref(), parse_sql(t).unwrap(), "{t}");
            assert_eq!(c.parse(t).unwrap().as_ref(), parse_sql(t).unwrap(), "{t} (cached)");
        }
        assert!(c.map.get("SELECT * FROM t WHERE k = ?1").is_some_and(Option::is_some));
        assert!(c.map.get("UPDATE t SET v = v + ?1 WHERE k = -?2").is_some_and(Option::is_some));
        assert!(c.parse("SELECT * FROM t WHERE k = ").is_err());
    }
}
