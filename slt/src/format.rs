//! Formats result values the way the corpus's reference runners print them.
//!
//! SQLite dialect (the reference runner `slt_sqlite.c`): `NULL` for null;
//! by type letter, `I` is the value converted to a 64-bit integer (reals
//! truncated toward zero and saturated, text parsed leniently by its leading
//! integer, booleans 1/0), `R` is the value converted to a double and printed
//! `%.3f`, anything else is text (reals as SQLite writes them, `%!.15g`),
//! with the empty string shown as `(empty)` and control characters as `@`.
//!
//! DuckDB dialect (kept simple): every value is printed as its natural text
//! whatever the letter — integers as integers, floats in the shortest form
//! that round-trips (`2.0`, `0.1`), booleans `true`/`false`, `NULL`, and the
//! empty string as `(empty)`.

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// Which runner's conventions to format by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite's sqllogictest corpus and the project's own files.
    Sqlite,
    /// DuckDB's `test/sql` files.
    DuckDb,
}

/// One value as the engine returned it, reduced to what formatting needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer (any width; unsigned values above `i64::MAX` saturate).
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A decimal as its text and its value as a double.
    Decimal(String, f64),
    /// Text, or any other type in Arrow's display form.
    Text(String),
}

/// Extracts the values of column `col` of `batch`, row by row.
pub fn column_values(array: &ArrayRef) -> Vec<Value> {
    let n = array.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! prim {
        ($t:ty, $conv:expr) => {{
            let a = array.as_primitive::<$t>();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { $conv(a.value(i)) });
            }
        }};
    }
    match array.data_type() {
        DataType::Null => out.extend(std::iter::repeat_n(Value::Null, n)),
        DataType::Boolean => {
            let a = array.as_boolean();
            for i in 0..n {
                out.push(if a.is_null(i) { Value::Null } else { Value::Bool(a.value(i)) });
            }
        }
        DataType::Int8 => prim!(Int8Type, |v: i8| Value::Int(v.into())),
        DataType::Int16 => prim!(Int16Type, |v: i16| Value::Int(v.into())),
        DataType::Int32 => prim!(Int32Type, |v: i32| Value::Int(v.into())),
        DataType::Int64 => prim!(Int64Type, Value::Int),
        DataType::UInt8 => prim!(UInt8Type, |v: u8| Value::Int(v.into())),
        DataType::UInt16 => prim!(UInt16Type, |v: u16| Value::Int(v.into())),
        DataType::UInt32 => prim!(UInt32Type, |v: u32| Value::Int(v.into())),
        DataType::UInt64 => {
            prim!(UInt64Type, |v: u64| Value::Int(i64::try_from(v).unwrap_or(i64::MAX)))
        }
        DataType::Float16 => prim!(Float16Type, |v| Value::Float(f64::from(v))),
        DataType::Float32 => prim!(Float32Type, |v: f32| Value::Float(v.into())),
        DataType::Float64 => prim!(Float64Type, Value::Float),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            for i in 0..n {
                out.push(if array.is_null(i) {
                    Value::Null
                } else {
                    Value::Text(string_at(array, i))
                });
            }
        }
        DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => {
            display_each(array, &mut out, |s| {
                let f = s.parse::<f64>().unwrap_or(0.0);
                Value::Decimal(s, f)
            })
        }
        _ => display_each(array, &mut out, Value::Text),
    }
    out
}

fn string_at(array: &ArrayRef, i: usize) -> String {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().value(i).to_string(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(i).to_string(),
        _ => array.as_string_view().value(i).to_string(),
    }
}

fn display_each(array: &ArrayRef, out: &mut Vec<Value>, wrap: impl Fn(String) -> Value) {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array.as_ref(), &options) {
        Ok(f) => {
            for i in 0..array.len() {
                out.push(if array.is_null(i) { Value::Null } else { wrap(f.value(i).to_string()) });
            }
        }
        Err(e) => out.extend((0..array.len()).map(|_| Value::Text(format!("<{e}>")))),
    }
}

/// The rows of `batches` as values, row-major.
pub fn rows_of(batches: &[RecordBatch]) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for batch in batches {
        let cols: Vec<Vec<Value>> = batch.columns().iter().map(column_values).collect();
        for r in 0..batch.num_rows() {
            rows.push(cols.iter().map(|c| c[r].clone()).collect());
        }
    }
    rows
}

/// Formats one value for a column of type letter `letter`.
pub fn format_value(value: &Value, letter: char, dialect: Dialect) -> String {
    if dialect == Dialect::DuckDb {
        return natural(value);
    }
    match (value, letter) {
        (Value::Null, _) => "NULL".to_string(),
        (_, 'I') => to_i64(value).to_string(),
        (_, 'R') => sqlite_fixed3(to_f64(value)),
        (Value::Text(s), _) => sqlite_text(s),
        (Value::Float(f), _) => sqlite_real_text(*f),
        _ => sqlite_text(&natural(value)),
    }
}

/// `%.3f` as SQLite's own printf writes it (the reference runner formats with
/// `sqlite3_snprintf`): at most 16 significant digits, the rest zeros, so
/// `-2^63` prints `-9223372036854776000.000`.
fn sqlite_fixed3(f: f64) -> String {
    if !f.is_finite() || f.abs() < 1e13 {
        return format!("{f:.3}");
    }
    let sci = format!("{:.15e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let int_len = exp.parse::<usize>().unwrap_or(0) + 1;
    let sign = if f < 0.0 { "-" } else { "" };
    if int_len >= digits.len() {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.000")
    } else {
        let (int, frac) = digits.split_at(int_len);
        format!("{sign}{int}.{frac:0<3}")
    }
}

fn sqlite_text(s: &str) -> String {
    if s.is_empty() {
        return "(empty)".to_string();
    }
    s.chars().map(|c| if (' '..='~').contains(&c) || !c.is_ascii() { c } else { '@' }).collect()
}

/// A value's natural text: what DuckDB's runner and `T` columns show.
pub fn natural(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => float_text(*f),
        Value::Decimal(s, _) => s.clone(),
        Value::Text(s) if s.is_empty() => "(empty)".to_string(),
        Value::Text(s) => s.clone(),
    }
}

/// A real as SQLite turns it into text (`%!.15g`): 15 significant digits,
/// always with a decimal point (`100.0`, `0.333333333333333`, `1.0e+20`).
pub fn sqlite_real_text(f: f64) -> String {
    if f.is_nan() {
        return "NULL".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Inf".to_string() } else { "-Inf".to_string() };
    }
    if f == 0.0 {
        return "0.0".to_string();
    }
    let sci = format!("{f:.14e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |m: &str| {
        let m = if m.contains('.') { m.trim_end_matches('0').trim_end_matches('.') } else { m };
        if m.contains('.') { m.to_string() } else { format!("{m}.0") }
    };
    if !(-4..15).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        let decimals = usize::try_from(14 - exp).unwrap_or(0);
        trim(&format!("{f:.decimals$}"))
    }
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// The value as SQLite's `sqlite3_column_int64` gives it.
pub fn to_i64(value: &Value) -> i64 {
    match value {
        Value::Null => 0,
        Value::Bool(b) => i64::from(*b),
        Value::Int(i) => *i,
        // `as` truncates toward zero, saturates, and maps NaN to 0, as SQLite does.
        Value::Float(f) | Value::Decimal(_, f) => *f as i64,
        Value::Text(s) => lenient_i64(s),
    }
}

/// The value as SQLite's `sqlite3_column_double` gives it.
pub fn to_f64(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Int(i) => *i as f64,
        Value::Float(f) | Value::Decimal(_, f) => *f,
        Value::Text(s) => lenient_f64(s),
    }
}

/// The leading integer of `s` (after spaces and a sign), 0 when there is none;
/// saturates on overflow.
pub fn lenient_i64(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        let d = i64::from(b - b'0');
        v = match v
            .checked_mul(10)
            .and_then(|x| if neg { x.checked_sub(d) } else { x.checked_add(d) })
        {
            Some(x) => x,
            None => return if neg { i64::MIN } else { i64::MAX },
        };
    }
    v
}

/// The longest leading real number of `s`, 0.0 when there is none.
pub fn lenient_f64(s: &str) -> f64 {
    let t = s.trim_start();
    let mut best = 0.0;
    for (end, _) in t.char_indices().skip(1).chain(std::iter::once((t.len(), ' '))).take(64) {
        let prefix = &t[..end];
        if !prefix.contains(['i', 'I', 'n', 'N'])
            && let Ok(v) = prefix.parse::<f64>()
        {
            best = v;
        }
    }
    best
}

/// Formats every row by the type letters, or explains why it cannot.
///
/// # Errors
/// When the number of columns differs from the number of type letters.
pub fn format_rows(
    rows: &[Vec<Value>],
    letters: &[char],
    dialect: Dialect,
) -> Result<Vec<Vec<String>>, String> {
    rows.iter()
        .map(|row| {
            if row.len() != letters.len() {
                return Err(format!(
                    "the query returned {} columns, the record expects {}",
                    row.len(),
                    letters.len()
                ));
            }
            Ok(row.iter().zip(letters).map(|(v, l)| format_value(v, *l, dialect)).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, StringArray};
    use std::sync::Arc;

    #[test]
    fn integers_are_truncated_reals_and_lenient_text() {
        let s = Dialect::Sqlite;
        assert_eq!(format_value(&Value::Float(2.9), 'I', s), "2");
        assert_eq!(format_value(&Value::Float(-2.9), 'I', s), "-2");
        assert_eq!(format_value(&Value::Text("12abc".into()), 'I', s), "12");
        assert_eq!(format_value(&Value::Text("abc".into()), 'I', s), "0");
        assert_eq!(format_value(&Value::Text(" -7.5".into()), 'I', s), "-7");
        assert_eq!(format_value(&Value::Bool(true), 'I', s), "1");
        assert_eq!(format_value(&Value::Null, 'I', s), "NULL");
    }

    #[test]
    fn reals_print_three_decimals() {
        let s = Dialect::Sqlite;
        assert_eq!(format_value(&Value::Int(3), 'R', s), "3.000");
        assert_eq!(format_value(&Value::Float(1.23456), 'R', s), "1.235");
        assert_eq!(format_value(&Value::Text("2.5x".into()), 'R', s), "2.500");
        assert_eq!(format_value(&Value::Null, 'R', s), "NULL");
        // SQLite's printf keeps 16 significant digits.
        assert_eq!(format_value(&Value::Int(i64::MIN), 'R', s), "-9223372036854776000.000");
        assert_eq!(
            format_value(&Value::Float(-1.8446744073709552e19), 'R', s),
            "-18446744073709550000.000"
        );
        assert_eq!(format_value(&Value::Float(12345678901234.567), 'R', s), "12345678901234.570");
        assert_eq!(format_value(&Value::Float(999999999999.9999), 'R', s), "1000000000000.000");
    }

    #[test]
    fn text_shows_empty_and_control_characters() {
        let s = Dialect::Sqlite;
        assert_eq!(format_value(&Value::Text(String::new()), 'T', s), "(empty)");
        assert_eq!(format_value(&Value::Text("a\tb".into()), 'T', s), "a@b");
        assert_eq!(format_value(&Value::Int(5), 'T', s), "5");
        assert_eq!(format_value(&Value::Float(5.0), 'T', s), "5.0");
    }

    #[test]
    fn reals_as_text_follow_sqlite() {
        assert_eq!(sqlite_real_text(100.0), "100.0");
        assert_eq!(sqlite_real_text(0.1), "0.1");
        assert_eq!(sqlite_real_text(1.0 / 3.0), "0.333333333333333");
        assert_eq!(sqlite_real_text(-2.5), "-2.5");
        assert_eq!(sqlite_real_text(1e20), "1.0e+20");
        assert_eq!(sqlite_real_text(1.5e-7), "1.5e-07");
        assert_eq!(sqlite_real_text(123456.789), "123456.789");
    }

    #[test]
    fn duckdb_values_print_naturally() {
        let d = Dialect::DuckDb;
        assert_eq!(format_value(&Value::Bool(false), 'I', d), "false");
        assert_eq!(format_value(&Value::Float(0.5), 'R', d), "0.5");
        assert_eq!(format_value(&Value::Int(42), 'T', d), "42");
    }

    #[test]
    fn arrow_columns_become_values() {
        let batch = RecordBatch::try_from_iter(vec![
            ("a", Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef),
            ("b", Arc::new(Float64Array::from(vec![1.5, 2.0])) as ArrayRef),
            ("c", Arc::new(StringArray::from(vec![Some("x"), Some("")])) as ArrayRef),
        ])
        .unwrap();
        let rows = rows_of(&[batch]);
        let f = format_rows(&rows, &['I', 'R', 'T'], Dialect::Sqlite).unwrap();
        assert_eq!(f, vec![vec!["1", "1.500", "x"], vec!["NULL", "2.000", "(empty)"]]);
        assert!(format_rows(&rows, &['I'], Dialect::Sqlite).is_err());
    }
}
