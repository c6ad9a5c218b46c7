//! Dynamically typed SQL values with SQLite's semantics.
//!
//! The native route evaluates expressions over [`Value`]s, the five storage
//! classes of SQLite (NULL, INTEGER, REAL, TEXT, BLOB). Rules written down here:
//!
//! - **Arithmetic**: INTEGER op INTEGER stays INTEGER; if either side is REAL the
//!   result is REAL. An INTEGER result that overflows i64 becomes REAL (`+ - *`).
//!   `/` on two INTEGERs truncates toward zero (`7/2` is 3). Division or modulo by
//!   zero gives NULL. `%` converts both sides to INTEGER first. TEXT operands are
//!   read as their longest numeric prefix (`'12abc'` is 12, `'abc'` is 0).
//! - **Comparison order** (also ORDER BY): NULL < numbers < TEXT < BLOB; INTEGER
//!   and REAL compare by numeric value; TEXT compares bytewise (BINARY collation).
//! - **Truth**: NULL is unknown; a number is true when non-zero; TEXT is read as a
//!   number first.

use std::cmp::Ordering;
use std::fmt;

/// One SQL value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit signed integer.
    Int(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

/// A row of values.
pub type Row = Vec<Value>;

impl Value {
    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a number (INTEGER or REAL), reading TEXT by its numeric prefix.
    pub fn to_numeric(&self) -> Value {
        match self {
            Value::Null => Value::Null,
            Value::Int(_) | Value::Real(_) => self.clone(),
            Value::Text(s) => parse_numeric_prefix(s),
            Value::Blob(b) => parse_numeric_prefix(&String::from_utf8_lossy(b)),
        }
    }

    /// The value as f64 (NULL as None).
    pub fn as_f64(&self) -> Option<f64> {
        match self.to_numeric() {
            Value::Int(i) => Some(i as f64),
            Value::Real(r) => Some(r),
            _ => None,
        }
    }

    /// The value as i64 (REAL truncated; NULL as None), as `CAST(x AS INTEGER)`.
    pub fn as_i64(&self) -> Option<i64> {
        match self.to_numeric() {
            Value::Int(i) => Some(i),
            Value::Real(r) => Some(real_to_int(r)),
            _ => None,
        }
    }

    /// SQL truth: None for NULL.
    pub fn truth(&self) -> Option<bool> {
        match self.to_numeric() {
            Value::Int(i) => Some(i != 0),
            Value::Real(r) => Some(r != 0.0),
            _ => None,
        }
    }

    /// A boolean as SQLite returns it: 1 or 0.
    pub fn from_bool(b: bool) -> Value {
        Value::Int(i64::from(b))
    }

    /// An optional boolean; None is NULL.
    pub fn from_opt_bool(b: Option<bool>) -> Value {
        b.map_or(Value::Null, Value::from_bool)
    }

    /// The value as text, as `CAST(x AS TEXT)` renders it (None for NULL).
    pub fn to_text(&self) -> Option<String> {
        match self {
            Value::Null => None,
            Value::Int(i) => Some(i.to_string()),
            Value::Real(r) => Some(format_real(*r)),
            Value::Text(s) => Some(s.clone()),
            Value::Blob(b) => Some(String::from_utf8_lossy(b).into_owned()),
        }
    }

    fn class_rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Int(_) | Value::Real(_) => 1,
            Value::Text(_) => 2,
            Value::Blob(_) => 3,
        }
    }

    /// SQLite's total order of values (NULL first), used by ORDER BY, DISTINCT,
    /// GROUP BY, MIN/MAX and comparisons once NULLs are handled.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Int(a), Value::Real(b)) => cmp_int_real(*a, *b),
            (Value::Real(a), Value::Int(b)) => cmp_int_real(*b, *a).reverse(),
            (Value::Real(a), Value::Real(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (Value::Text(a), Value::Text(b)) => a.as_bytes().cmp(b.as_bytes()),
            (Value::Blob(a), Value::Blob(b)) => a.cmp(b),
            _ => self.class_rank().cmp(&other.class_rank()),
        }
    }

    /// `self <op> other` with SQL NULL semantics: None when either side is NULL.
    pub fn sql_cmp(&self, other: &Value) -> Option<Ordering> {
        if self.is_null() || other.is_null() {
            return None;
        }
        Some(self.total_cmp(other))
    }

    /// A key that groups equal values together (`1` and `1.0` are one key).
    pub fn group_key(&self) -> GroupKey {
        match self {
            Value::Null => GroupKey::Null,
            Value::Int(i) => GroupKey::Int(*i),
            Value::Real(r) => {
                if r.fract() == 0.0 && *r >= -9.2e18 && *r <= 9.2e18 {
                    GroupKey::Int(*r as i64)
                } else {
                    GroupKey::Real(r.to_bits())
                }
            }
            Value::Text(s) => GroupKey::Text(s.clone()),
            Value::Blob(b) => GroupKey::Blob(b.clone()),
        }
    }
}

/// A hashable form of a [`Value`] for grouping, DISTINCT and hash joins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupKey {
    /// NULL.
    Null,
    /// An integer (or a real with an integral value).
    Int(i64),
    /// Other reals, by bits.
    Real(u64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

fn cmp_int_real(a: i64, b: f64) -> Ordering {
    if b.is_nan() {
        return Ordering::Greater;
    }
    (a as f64).partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// `CAST(real AS INTEGER)`: truncation, saturating at the i64 range.
pub fn real_to_int(r: f64) -> i64 {
    if r.is_nan() {
        0
    } else if r >= 9.223_372_036_854_776e18 {
        i64::MAX
    } else if r <= -9.223_372_036_854_776e18 {
        i64::MIN
    } else {
        r as i64
    }
}

/// How SQLite prints a REAL: integral values keep a `.0`, others use up to 15
/// significant digits.
pub fn format_real(r: f64) -> String {
    if r.is_nan() {
        return "NaN".into();
    }
    if r.is_infinite() {
        return if r > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    if r.fract() == 0.0 && r.abs() < 1e15 {
        return format!("{r:.1}");
    }
    let s = format!("{:.15e}", r);
    // Trim to 15 significant digits the way %!.15g does.
    match s.parse::<f64>() {
        Ok(v) => {
            let mut t = format!("{v}");
            if !t.contains('.') && !t.contains('e') && !t.contains("inf") {
                t.push_str(".0");
            }
            t
        }
        Err(_) => s,
    }
}

/// Reads the longest numeric prefix of `s` as SQLite does for TEXT in
/// arithmetic: `'12abc'` → 12, `' 3.5'` → 3.5, `'abc'` → 0.
pub fn parse_numeric_prefix(s: &str) -> Value {
    let t = s.trim_start();
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut is_real = false;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > i + 1 || i > digits_start {
            is_real = true;
            i = j;
        }
    }
    if i == digits_start {
        return Value::Int(0);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let exp_start = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j > exp_start {
            is_real = true;
            i = j;
        }
    }
    let num = t.get(..i).unwrap_or("0");
    if !is_real && let Ok(v) = num.parse::<i64>() {
        return Value::Int(v);
    }
    num.parse::<f64>().map_or(Value::Int(0), Value::Real)
}

/// Whether `s` is entirely a number (used by type affinity on insert).
pub fn parse_exact_numeric(s: &str) -> Option<Value> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Value::Int(i));
    }
    let ok = t.bytes().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if ok { t.parse::<f64>().ok().map(Value::Real) } else { None }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_text() {
            Some(s) => f.write_str(&s),
            None => f.write_str("NULL"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_prefix_reads_like_sqlite() {
        assert_eq!(parse_numeric_prefix("12abc"), Value::Int(12));
        assert_eq!(parse_numeric_prefix(" 3.5x"), Value::Real(3.5));
        assert_eq!(parse_numeric_prefix("abc"), Value::Int(0));
        assert_eq!(parse_numeric_prefix("-7"), Value::Int(-7));
    }

    #[test]
    fn order_puts_null_first_then_numbers_then_text() {
        let mut v = vec![Value::Text("a".into()), Value::Int(2), Value::Null, Value::Real(1.5)];
        v.sort_by(|a, b| a.total_cmp(b));
        assert_eq!(v, vec![Value::Null, Value::Real(1.5), Value::Int(2), Value::Text("a".into())]);
    }
}
