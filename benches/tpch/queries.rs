//! The 22 TPC-H queries and the SF1 answer-set row counts, read at run time
//! from the peer harness's `tpch_queries.py`, so llkv runs exactly the text the
//! peers run.
//!
//! The file is parsed, not executed: every `QUERIES[n] = """…"""` block and the
//! `SF1_ROW_COUNTS = {…}` dict. `{q11_fraction}` is filled in as Python's
//! `f"{0.0001 / sf:.10g}"`, and the text is stripped, as `tpch_queries.query()`
//! does. The "datafusion" dialect of `adapt()` leaves the text unchanged, and
//! so does this module for both llkv routes.

use std::collections::BTreeMap;
use std::path::Path;

/// The parsed query file.
pub struct QuerySet {
    /// Query number → spec text with the `{q11_fraction}` template.
    pub text: BTreeMap<u32, String>,
    /// Query number → rows in the SF1 answer set.
    pub sf1_rows: BTreeMap<u32, u64>,
}

impl QuerySet {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let src = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the query file {}: {e}", path.display()))?;
        let set = Self::parse(&src)?;
        if set.text.len() != 22 || set.sf1_rows.len() != 22 {
            return Err(format!(
                "{}: found {} queries and {} SF1 row counts, expected 22 of each",
                path.display(),
                set.text.len(),
                set.sf1_rows.len()
            ));
        }
        Ok(set)
    }

    fn parse(src: &str) -> Result<Self, String> {
        let mut text = BTreeMap::new();
        let mut rest = src;
        while let Some(at) = rest.find("QUERIES[") {
            rest = &rest[at + "QUERIES[".len()..];
            let Some(close) = rest.find(']') else { break };
            let Ok(n) = rest[..close].trim().parse::<u32>() else { continue };
            let after = rest[close + 1..].trim_start();
            let Some(after) = after.strip_prefix('=') else { continue };
            let Some(body) = after.trim_start().strip_prefix("\"\"\"") else { continue };
            let end =
                body.find("\"\"\"").ok_or_else(|| format!("query {n}: unterminated string"))?;
            text.insert(n, body[..end].to_string());
            rest = &body[end + 3..];
        }
        let mut sf1_rows = BTreeMap::new();
        if let Some(at) = src.find("SF1_ROW_COUNTS = {") {
            let body = &src[at + "SF1_ROW_COUNTS = {".len()..];
            let end = body.find('}').ok_or("SF1_ROW_COUNTS: no closing brace")?;
            for pair in body[..end].split(',') {
                let Some((k, v)) = pair.split_once(':') else { continue };
                let (Ok(k), Ok(v)) = (k.trim().parse::<u32>(), v.trim().parse::<u64>()) else {
                    return Err(format!("SF1_ROW_COUNTS: cannot read {pair:?}"));
                };
                sf1_rows.insert(k, v);
            }
        }
        Ok(Self { text, sf1_rows })
    }

    /// Query `n` for scale factor `sf`, as `tpch_queries.query(n, sf, "datafusion")`.
    pub fn query(&self, n: u32, sf: f64) -> Option<String> {
        let t = self.text.get(&n)?;
        Some(t.replace("{q11_fraction}", &python_g10(0.0001 / sf)).trim().to_string())
    }
}

/// Python's `format(v, ".10g")` for a positive finite `v`.
pub fn python_g10(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    // Round to 10 significant digits first, then decide the notation from the
    // exponent of the rounded value, as %g does.
    let sci = format!("{v:.9e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..10).contains(&exp) {
        let mant = strip_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (9 - exp).max(0) as usize;
    strip_zeros(&format!("{v:.decimals$}"))
}

fn strip_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.into()
    }
}
