//! Text kernels of the columnar path: `LIKE` with a constant pattern and
//! `substr` with constant bounds, with the row path's results
//! ([`crate::like::like_match`], `substr` in [`crate::functions`]).

use arrow::array::{BooleanArray, StringArray};

/// A compiled LIKE pattern (SQLite's: `%` any run, `_` one character,
/// ASCII letters case-insensitive, no ESCAPE).
#[derive(Debug)]
pub struct Pattern {
    /// The pattern text.
    text: String,
    /// For an ASCII pattern without `_`: its `%`-separated parts.
    parts: Option<Vec<Vec<u8>>>,
}

impl Pattern {
    /// Compiles `p` (`None` never: every pattern compiles; the fast form is
    /// used when the pattern is ASCII without `_`).
    pub fn new(p: &str) -> Option<Pattern> {
        let parts = (p.is_ascii() && !p.contains('_'))
            .then(|| p.split('%').map(|s| s.as_bytes().to_ascii_lowercase()).collect());
        Some(Pattern { text: p.to_string(), parts })
    }

    fn is_match(&self, t: &str) -> bool {
        let Some(parts) = &self.parts else {
            return crate::like::like_match(&self.text, t, None, false);
        };
        let t = t.as_bytes();
        // Byte-wise ASCII folding is exact for UTF-8 text against an ASCII
        // pattern: bytes of multi-byte characters are never ASCII.
        let eq = |a: &[u8], b: &[u8]| a.len() == b.len() && a.eq_ignore_ascii_case(b);
        let (first, last) = match (parts.first(), parts.last()) {
            (Some(f), Some(l)) => (f, l),
            _ => return t.is_empty(),
        };
        if parts.len() == 1 {
            return eq(t, first);
        }
        if t.len() < first.len() + last.len()
            || !eq(&t[..first.len()], first)
            || !eq(&t[t.len() - last.len()..], last)
        {
            return false;
        }
        let mut rest = &t[first.len()..t.len() - last.len()];
        for mid in &parts[1..parts.len() - 1] {
            if mid.is_empty() {
                continue;
            }
            match rest.windows(mid.len()).position(|w| eq(w, mid)) {
                Some(at) => rest = &rest[at + mid.len()..],
                None => return false,
            }
        }
        true
    }

    /// `s [NOT] LIKE pattern` per row (NULL stays NULL).
    pub fn matches(&self, s: &StringArray, negated: bool) -> BooleanArray {
        s.iter().map(|v| v.map(|t| self.is_match(t) != negated)).collect()
    }
}

/// `substr(s, start, len)` per row, for `start >= 1` and `len >= 0`
/// (characters, as SQLite counts them).
pub fn substr(s: &StringArray, start: i64, len: i64) -> StringArray {
    let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
    let take = usize::try_from(len).unwrap_or(usize::MAX);
    s.iter()
        .map(|v| {
            v.map(|t| {
                if t.is_ascii() {
                    let a = skip.min(t.len());
                    let b = a.saturating_add(take).min(t.len());
                    &t[a..b]
                } else {
                    let mut it = t.char_indices().skip(skip);
                    match it.next() {
                        None => "",
                        Some((a, _)) => {
                            let b = t[a..].char_indices().nth(take).map_or(t.len(), |(i, _)| a + i);
                            &t[a..b]
                        }
                    }
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;

    #[test]
    fn fast_patterns_agree_with_the_row_matcher() {
        let texts =
            ["", "a", "PROMO BRUSHED", "promo", "xpromox", "ab%c", "éPROMOé", "forest green"];
        let pats = ["", "%", "PROMO%", "%promo%", "%o", "a%c", "%green%", "forest%", "%%", "x%o%x"];
        for p in pats {
            let c = Pattern::new(p).unwrap();
            for t in texts {
                assert_eq!(c.is_match(t), crate::like::like_match(p, t, None, false), "{p} {t}");
            }
        }
    }

    #[test]
    fn substr_counts_characters() {
        let a = StringArray::from(vec![Some("13-123"), Some("é1x"), None, Some("a")]);
        let r = substr(&a, 1, 2);
        assert_eq!(r.value(0), "13");
        assert_eq!(r.value(1), "é1");
        assert!(r.is_null(2));
        assert_eq!(r.value(3), "a");
        assert_eq!(substr(&a, 5, 9).value(3), "");
    }
}
