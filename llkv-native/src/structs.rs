//! STRUCT values (DuckDB's `{'k': v}` literals and `ROW(k T)` / `STRUCT(k T)`
//! columns) on the native route.
//!
//! The native route has no nested [`Value`]: a struct is kept as its text,
//! written the way DuckDB prints one — `{'k': 42, 'name': hello, 'n': NULL}`,
//! nested structs inline, text quoted only where it would be ambiguous
//! (`'it\'s'`, `'a, b'`). A `ROW`/`STRUCT` column is stored as TEXT holding
//! that form, and `col.field` (see the binder's compound names) reads a field
//! back with [`extract`]. Two structs compare by that text, so equal
//! structs are equal; their order is the text's order, not DuckDB's.

use crate::value::{Value, format_real};
use llkv_sql::{SqlError, SqlResult};

/// The column property recording a STRUCT column's declared type (the column
/// itself is TEXT).
pub const STRUCT_PROPERTY: &str = "struct";

/// Whether a declared column type is a STRUCT: `ROW(k T, …)` or `STRUCT(k T, …)`.
pub fn is_struct_type(t: &sqlparser::ast::DataType) -> bool {
    use sqlparser::ast::DataType as D;
    match t {
        D::Struct(..) => true,
        D::Custom(name, args) => {
            !args.is_empty()
                && name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| {
                    i.value.eq_ignore_ascii_case("row") || i.value.eq_ignore_ascii_case("struct")
                })
        }
        _ => false,
    }
}

/// The text of a struct with these fields, in order.
pub fn pack(fields: &[(String, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&quote(k));
        out.push_str(": ");
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Int(n) => out.push_str(&n.to_string()),
            Value::Real(r) => out.push_str(&format_real(*r)),
            Value::Text(s) if is_struct_text(s) => out.push_str(s),
            Value::Text(s) => out.push_str(&text_item(s)),
            Value::Blob(b) => out.push_str(&text_item(&String::from_utf8_lossy(b))),
        }
    }
    out.push('}');
    out
}

/// `'s'` with `'` and `\` escaped by a backslash.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// A text field as DuckDB prints it: bare unless bare text would read back
/// as something else (a number, NULL, a nested struct) or break the syntax.
fn text_item(s: &str) -> String {
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.eq_ignore_ascii_case("null")
        && s.parse::<f64>().is_err()
        && !s.contains([',', ':', '{', '}', '\'', '\\', '[', ']']);
    if plain { s.to_string() } else { quote(s) }
}

/// Whether `s` has the shape of a struct's text.
fn is_struct_text(s: &str) -> bool {
    s.starts_with('{') && s.ends_with('}')
}

/// A cursor over a struct's text.
struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn bad(&self) -> SqlError {
        SqlError::execution(format!("not a STRUCT value: {}", self.s))
    }

    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(' ') {
            self.pos += 1;
        }
    }

    fn expect(&mut self, c: char) -> SqlResult<()> {
        self.skip_spaces();
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            Ok(())
        } else {
            Err(self.bad())
        }
    }

    /// A quoted string (after its opening quote is seen).
    fn quoted(&mut self) -> SqlResult<String> {
        self.expect('\'')?;
        let mut out = String::new();
        let mut chars = self.s[self.pos..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) => out.push(e),
                    None => return Err(self.bad()),
                },
                '\'' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(self.bad())
    }

    /// One field value.
    fn value(&mut self) -> SqlResult<Value> {
        self.skip_spaces();
        match self.peek() {
            Some('\'') => Ok(Value::Text(self.quoted()?)),
            Some('{') => {
                let start = self.pos;
                let mut depth = 0usize;
                let mut quoted = false;
                let mut escaped = false;
                for (i, c) in self.s[start..].char_indices() {
                    if quoted {
                        match (escaped, c) {
                            (true, _) => escaped = false,
                            (false, '\\') => escaped = true,
                            (false, '\'') => quoted = false,
                            _ => {}
                        }
                        continue;
                    }
                    match c {
                        '\'' => quoted = true,
                        '{' => depth += 1,
                        '}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                self.pos = start + i + 1;
                                return Ok(Value::Text(self.s[start..self.pos].to_string()));
                            }
                        }
                        _ => {}
                    }
                }
                Err(self.bad())
            }
            Some(_) => {
                let rest = &self.s[self.pos..];
                let end = rest.find([',', '}']).unwrap_or(rest.len());
                let token = rest[..end].trim();
                self.pos += end;
                Ok(if token.eq_ignore_ascii_case("null") {
                    Value::Null
                } else if let Ok(i) = token.parse::<i64>() {
                    Value::Int(i)
                } else if let Ok(r) = token.parse::<f64>() {
                    Value::Real(r)
                } else {
                    Value::Text(token.to_string())
                })
            }
            None => Err(self.bad()),
        }
    }
}

/// The fields of a struct's text, in order.
///
/// # Errors
/// An execution error for text that is not a struct.
pub fn unpack(s: &str) -> SqlResult<Vec<(String, Value)>> {
    let mut r = Reader { s, pos: 0 };
    r.expect('{')?;
    let mut out = Vec::new();
    r.skip_spaces();
    if r.peek() == Some('}') {
        return Ok(out);
    }
    loop {
        let key = r.quoted()?;
        r.expect(':')?;
        out.push((key, r.value()?));
        r.skip_spaces();
        match r.peek() {
            Some(',') => r.pos += 1,
            Some('}') => return Ok(out),
            _ => return Err(r.bad()),
        }
        r.skip_spaces();
    }
}

/// `struct.field` (DuckDB's `struct_extract`): the field's value, NULL for a
/// NULL struct; field names match case-insensitively.
///
/// # Errors
/// A value that is not a struct, or a struct without that field.
pub fn extract(v: &Value, field: &str) -> SqlResult<Value> {
    let text = match v {
        Value::Null => return Ok(Value::Null),
        Value::Text(s) if is_struct_text(s) => s,
        other => {
            return Err(SqlError::plan(format!(
                "cannot extract field {field} from a value that is not a STRUCT: {other:?}"
            )));
        }
    };
    unpack(text)?
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
        .ok_or_else(|| SqlError::plan(format!("the STRUCT has no field named {field}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn structs_print_as_duckdb_and_read_back() {
        let inner = pack(&[("t".into(), Value::Int(42))]);
        assert_eq!(inner, "{'t': 42}");
        let outer = pack(&[
            ("t".into(), t(&inner)),
            ("v".into(), t("hello")),
            ("q".into(), t("it's, odd")),
            ("n".into(), Value::Null),
            ("r".into(), Value::Real(1.5)),
            ("s".into(), t("42")),
        ]);
        assert_eq!(
            outer,
            "{'t': {'t': 42}, 'v': hello, 'q': 'it\\'s, odd', 'n': NULL, 'r': 1.5, 's': '42'}"
        );
        let o = t(&outer);
        assert_eq!(extract(&o, "t").unwrap(), t("{'t': 42}"));
        assert_eq!(extract(&extract(&o, "T").unwrap(), "t").unwrap(), Value::Int(42));
        assert_eq!(extract(&o, "v").unwrap(), t("hello"));
        assert_eq!(extract(&o, "q").unwrap(), t("it's, odd"));
        assert_eq!(extract(&o, "n").unwrap(), Value::Null);
        assert_eq!(extract(&o, "r").unwrap(), Value::Real(1.5));
        assert_eq!(extract(&o, "s").unwrap(), t("42"));
        assert_eq!(extract(&Value::Null, "x").unwrap(), Value::Null);
        assert!(extract(&o, "missing").is_err());
        assert!(extract(&Value::Int(1), "t").is_err());
        assert!(extract(&t("{'a': "), "a").is_err());
        assert_eq!(unpack("{}").unwrap(), Vec::new());
    }
}
