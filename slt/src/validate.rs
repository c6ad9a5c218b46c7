//! Compares formatted results with a record's expected lines: sort modes,
//! the hash threshold, and the value-wise layout of the SQLite corpus.

use md5::{Digest, Md5};
use sqllogictest::SortMode;

/// Orders formatted rows as the sort mode says (byte-wise, as the reference
/// runner's `strcmp`) and returns the values in that order.
pub fn sorted_values(mut rows: Vec<Vec<String>>, mode: SortMode) -> Vec<String> {
    match mode {
        SortMode::NoSort => rows.into_iter().flatten().collect(),
        SortMode::RowSort => {
            rows.sort();
            rows.into_iter().flatten().collect()
        }
        SortMode::ValueSort => {
            let mut values: Vec<String> = rows.into_iter().flatten().collect();
            values.sort();
            values
        }
    }
}

/// `N values hashing to <md5>`, the MD5 taken over each value followed by `\n`.
pub fn hash_line(values: &[String]) -> String {
    let mut h = Md5::new();
    for v in values {
        h.update(v.as_bytes());
        h.update(b"\n");
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{} values hashing to {hex}", values.len())
}

fn is_hash_line(line: &str) -> bool {
    line.contains(" values hashing to ")
}

/// Whether the actual result matches the expected lines.
///
/// `rows` are already formatted and ordered by the sort mode (`values` is the
/// same, flattened). Expected lines may hold one value per line (the SQLite
/// corpus), one row per line with values separated by tabs (DuckDB) or
/// single spaces (sqllogictest-rs files), or one hash line. With a non-zero
/// `threshold`, more values than it are compared as their hash.
pub fn matches(
    rows: &[Vec<String>],
    values: &[String],
    expected: &[String],
    threshold: u64,
) -> bool {
    if let [line] = expected
        && is_hash_line(line)
    {
        return *line == hash_line(values);
    }
    if threshold > 0 && values.len() as u64 > threshold {
        return false;
    }
    if expected.len() == values.len() && expected.iter().zip(values).all(|(e, v)| e == v) {
        return true;
    }
    if expected.len() != rows.len() || rows.first().is_none_or(|r| r.len() < 2) {
        return false;
    }
    expected.iter().zip(rows).all(|(e, row)| row_matches(e, row))
}

/// Whether one expected line spells one row. DuckDB's files separate values by
/// tabs, some with a trailing tab, and a few align columns with runs of
/// spaces; the values themselves must still be equal one by one. Splitting on
/// spaces is only done when no value holds whitespace, so a text value can
/// never be matched by pieces of another.
fn row_matches(e: &str, row: &[String]) -> bool {
    if *e == row.join("\t") || *e == row.join(" ") {
        return true;
    }
    let tabbed: Vec<&str> = e.strip_suffix('\t').unwrap_or(e).split('\t').collect();
    if tabbed.len() == row.len() && tabbed.iter().zip(row).all(|(a, b)| a == b) {
        return true;
    }
    row.iter().all(|v| !v.is_empty() && !v.contains(char::is_whitespace))
        && e.split_whitespace().count() == row.len()
        && e.split_whitespace().zip(row).all(|(a, b)| a == b)
}

/// DuckDB's runner compares a DOUBLE, DECIMAL or BOOLEAN column by value, not
/// by its text: the expected `100` matches a `DECIMAL(15,2)` that prints
/// `100.00`, `0.1` matches a float printed `0.1` or `0.10`, `TRUE` matches `true`. For the columns marked
/// in `numeric`, each actual value that equals its expected token as a number
/// is replaced by that token; the caller then compares the rows as usual.
/// Returns `None` when the expected lines do not line up with the rows.
pub fn adopt_equal_numbers(
    rows: &[Vec<String>],
    expected: &[String],
    numeric: &[bool],
) -> Option<Vec<Vec<String>>> {
    let width = rows.first()?.len();
    if width != numeric.len() || !numeric.contains(&true) {
        return None;
    }
    let tokens: Vec<Vec<&str>> = if expected.len() == rows.len() {
        expected
            .iter()
            .map(|e| {
                let tabbed: Vec<&str> = e.strip_suffix('\t').unwrap_or(e).split('\t').collect();
                if tabbed.len() == width { tabbed } else { e.split_whitespace().collect() }
            })
            .collect()
    } else if expected.len() == rows.len() * width {
        expected.chunks(width).map(|c| c.iter().map(String::as_str).collect()).collect()
    } else {
        return None;
    };
    let mut out = rows.to_vec();
    for (row, line) in out.iter_mut().zip(&tokens) {
        if line.len() != width {
            return None;
        }
        for ((value, token), is_numeric) in row.iter_mut().zip(line).zip(numeric) {
            if *is_numeric && numbers_equal(value, token) {
                *value = (*token).to_string();
            }
        }
    }
    Some(out)
}

/// Whether two texts are numbers of (nearly) the same value (the DuckDB
/// runner's tolerance for approximate and decimal columns), or the same
/// boolean spelled differently (`true`, `TRUE` and `1`: DuckDB's runner casts
/// the expected text to BOOLEAN, and `CAST('1' AS BOOLEAN)` is true).
fn numbers_equal(actual: &str, expected: &str) -> bool {
    let boolean = |s: &str| match s.to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    };
    if let Some(a) = boolean(actual) {
        let e = match expected {
            "1" => Some(true),
            "0" => Some(false),
            e => boolean(e),
        };
        return e == Some(a);
    }
    match (actual.parse::<f64>(), expected.parse::<f64>()) {
        (Ok(a), Ok(e)) => a == e || (a - e).abs() <= 1e-9 * a.abs().max(e.abs()),
        _ => false,
    }
}

/// What the actual result looks like in a file, for failure reports: one value
/// per line, or the hash line above the threshold.
pub fn expected_form(values: &[String], threshold: u64) -> Vec<String> {
    if threshold > 0 && values.len() as u64 > threshold {
        vec![hash_line(values)]
    } else {
        values.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[&[&str]]) -> Vec<Vec<String>> {
        r.iter().map(|row| row.iter().map(|s| s.to_string()).collect()).collect()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn rowsort_sorts_rows_bytewise_and_valuesort_all_values() {
        let r = rows(&[&["b", "1"], &["a", "9"], &["a", "10"]]);
        assert_eq!(
            sorted_values(r.clone(), SortMode::RowSort),
            strings(&["a", "10", "a", "9", "b", "1"])
        );
        assert_eq!(
            sorted_values(r.clone(), SortMode::ValueSort),
            strings(&["1", "10", "9", "a", "a", "b"])
        );
        assert_eq!(sorted_values(r, SortMode::NoSort), strings(&["b", "1", "a", "9", "a", "10"]));
    }

    #[test]
    fn hash_is_md5_of_values_each_followed_by_newline() {
        // printf '1\n2\n' | md5sum
        assert_eq!(
            hash_line(&strings(&["1", "2"])),
            "2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0"
        );
    }

    #[test]
    fn values_per_line_rows_per_line_and_hashes_match() {
        let r = rows(&[&["1", "x y"], &["2", "z"]]);
        let v: Vec<String> = r.iter().flatten().cloned().collect();
        assert!(matches(&r, &v, &strings(&["1", "x y", "2", "z"]), 0));
        assert!(matches(&r, &v, &strings(&["1\tx y", "2\tz"]), 0));
        assert!(matches(&r, &v, &strings(&["1 x y", "2 z"]), 0));
        assert!(!matches(&r, &v, &strings(&["1", "x y", "2"]), 0));
        assert!(!matches(&r, &v, &strings(&["2", "z", "1", "x y"]), 0));
        let h = hash_line(&v);
        assert!(matches(&r, &v, std::slice::from_ref(&h), 0));
        assert!(matches(&r, &v, &[h], 3));
        // Above the threshold only the hash may match.
        assert!(!matches(&r, &v, &strings(&["1", "x y", "2", "z"]), 3));
    }

    #[test]
    fn rows_with_a_trailing_tab_or_aligned_by_spaces_match_value_by_value() {
        let r = rows(&[&["2", "12"], &["131072", "98304"]]);
        let v: Vec<String> = r.iter().flatten().cloned().collect();
        assert!(matches(&r, &v, &strings(&["2\t12\t", "131072  98304"]), 0));
        assert!(!matches(&r, &v, &strings(&["2\t13\t", "131072  98304"]), 0));
        assert!(!matches(&r, &v, &strings(&["2\t12\t", "131072  98304  7"]), 0));
        // A value with a space is never matched by splitting on spaces.
        let t = rows(&[&["a b", "c"]]);
        let tv: Vec<String> = t.iter().flatten().cloned().collect();
        assert!(!matches(&t, &tv, &strings(&["a  b c"]), 0));
    }

    #[test]
    fn duckdb_numeric_columns_match_by_value() {
        let r = rows(&[&["1", "100.00", "x"], &["2", "0.5", "1.0"]]);
        let e = strings(&["1\t100\tx", "2\t0.50\t1"]);
        let adopted = adopt_equal_numbers(&r, &e, &[false, true, false]);
        assert_eq!(adopted, Some(rows(&[&["1", "100", "x"], &["2", "0.50", "1.0"]])));
        // A different number stays as it was.
        let e2 = strings(&["1\t100.5\tx", "2\t0.5\t1.0"]);
        let adopted = adopt_equal_numbers(&r, &e2, &[false, true, false]);
        assert_eq!(adopted, Some(r.clone()));
        assert_eq!(adopt_equal_numbers(&r, &e, &[false, false, false]), None);
        let b = rows(&[&["true", "1"], &["false", "0"]]);
        let adopted = adopt_equal_numbers(&b, &strings(&["1\t1", "0\t0"]), &[true, true]);
        assert_eq!(adopted, Some(rows(&[&["1", "1"], &["0", "0"]])));
        let adopted = adopt_equal_numbers(&b, &strings(&["0\t1", "1\t0"]), &[true, true]);
        assert_eq!(adopted, Some(b.clone()));
        let b = rows(&[&["true"], &["false"]]);
        let adopted = adopt_equal_numbers(&b, &strings(&["TRUE", "true"]), &[true]);
        assert_eq!(adopted, Some(rows(&[&["TRUE"], &["false"]])));
    }

    #[test]
    fn an_empty_result_matches_no_lines() {
        assert!(matches(&[], &[], &[], 8));
        assert!(!matches(&[], &[], &strings(&["1"]), 8));
    }
}
