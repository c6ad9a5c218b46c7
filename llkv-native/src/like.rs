//! `LIKE` and `GLOB` pattern matching.
//!
//! SQLite's LIKE: `%` matches any run, `_` one character, ASCII letters match
//! case-insensitively, an ESCAPE character makes the next one literal.
//! GLOB: `*`, `?`, case-sensitive.

/// Whether `text` matches `pattern`.
pub fn like_match(pattern: &str, text: &str, escape: Option<char>, glob: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    matches(&p, &t, escape, glob)
}

fn eq_char(a: char, b: char, glob: bool) -> bool {
    if glob { a == b } else { a.eq_ignore_ascii_case(&b) }
}

fn matches(p: &[char], t: &[char], escape: Option<char>, glob: bool) -> bool {
    let (any, one) = if glob { ('*', '?') } else { ('%', '_') };
    // Iterative matcher with backtracking to the last `any`.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        let step = match p.get(pi) {
            Some(&c) if Some(c) == escape => match p.get(pi + 1) {
                Some(&lit) if eq_char(lit, t[ti], glob) => Some(2),
                _ => None,
            },
            Some(&c) if c == any => {
                star = Some((pi, ti));
                pi += 1;
                continue;
            }
            Some(&c) if c == one => Some(1),
            Some(&c) => eq_char(c, t[ti], glob).then_some(1),
            None => None,
        };
        match step {
            Some(n) => {
                pi += n;
                ti += 1;
            }
            None => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    while p.get(pi) == Some(&any) {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::like_match;

    #[test]
    fn like_follows_sqlite() {
        assert!(like_match("a%", "ABC", None, false));
        assert!(like_match("_b_", "abc", None, false));
        assert!(!like_match("a_", "abc", None, false));
        assert!(like_match("%c", "abc", None, false));
        assert!(like_match("a\\%", "a%", Some('\\'), false));
        assert!(!like_match("a\\%", "ab", Some('\\'), false));
        assert!(like_match("a*", "abc", None, true));
        assert!(!like_match("A*", "abc", None, true));
    }
}
