//! Rewrites a test file's text so that sqllogictest's parser accepts it and
//! the records mean what the corpus's own runners make them mean.
//!
//! The SQLite corpus and DuckDB's files do not parse as-is. This pass, line by
//! line and keeping a map back to the original line numbers:
//! - strips trailing `# comments` from `skipif`/`onlyif` lines;
//! - resolves a `halt` preceded by conditions: when the conditions select us
//!   (llkv is `sqlite`), the file ends there; otherwise the conditions and the
//!   `halt` become comments (the parser would otherwise attach the conditions to
//!   the next record). An unconditional `halt` ends the file;
//! - DuckDB connections: `statement ok con1` / `query I con2` become a
//!   `connection con1` line followed by the record without the name;
//! - expected error messages are dropped (`statement error <text>` →
//!   `statement error`, and the lines under its `----` up to the next blank
//!   line): only that a statement failed is compared, never its words;
//! - DuckDB `loop VAR FROM TO` … `endloop` blocks are unrolled with `${VAR}`
//!   substituted; `load` lines become comments; `require` ends the file.

/// Labels for which llkv counts as the engine in `skipif`/`onlyif`.
pub const ENGINE_LABELS: &[&str] = &["sqlite", "llkv"];

/// The rewritten text and, for each of its lines, the 1-based line of the
/// original file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preprocessed {
    /// Text for `sqllogictest::parse_with_name`.
    pub text: String,
    /// `line_map[i]` is the original line of output line `i + 1`.
    pub line_map: Vec<usize>,
}

impl Preprocessed {
    /// The original line for a 1-based line of the rewritten text.
    pub fn original_line(&self, line: usize) -> usize {
        line.checked_sub(1).and_then(|i| self.line_map.get(i)).copied().unwrap_or(line)
    }
}

/// Whether a condition (`onlyif X` / `skipif X`) lets llkv run the record.
pub fn condition_selects_us(kind: &str, label: &str) -> bool {
    let ours = ENGINE_LABELS.contains(&label);
    match kind {
        "onlyif" => ours,
        _ => !ours,
    }
}

/// Rewrites `text` as described in the module documentation.
pub fn preprocess(text: &str) -> Preprocessed {
    let numbered: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let unrolled = unroll_loops(&numbered);
    let mut out: Vec<(usize, String)> = Vec::with_capacity(unrolled.len());
    let mut i = 0;
    while i < unrolled.len() {
        let (no, line) = (unrolled[i].0, unrolled[i].1.as_str());
        let tokens: Vec<&str> = line.split_whitespace().collect();
        match tokens.as_slice() {
            [kind @ ("skipif" | "onlyif"), label, ..] if !line.starts_with(char::is_whitespace) => {
                out.push((no, format!("{kind} {label}")));
            }
            ["halt"] => {
                let mut first_cond = out.len();
                while first_cond > 0 && is_condition(&out[first_cond - 1].1) {
                    first_cond -= 1;
                }
                let selected = out[first_cond..].iter().all(|(_, l)| {
                    let t: Vec<&str> = l.split_whitespace().collect();
                    condition_selects_us(t[0], t.get(1).copied().unwrap_or(""))
                });
                if selected {
                    out.truncate(first_cond);
                    break;
                }
                for entry in &mut out[first_cond..] {
                    entry.1 = format!("# {}", entry.1);
                }
                out.push((no, format!("# {line}")));
            }
            ["require", ..] => break,
            ["load", ..] => out.push((no, format!("# {line}"))),
            [kind @ ("statement" | "query"), rest @ ..] => {
                let (header, conn, is_error) = rewrite_header(kind, rest);
                if let Some(conn) = conn {
                    out.push((no, format!("connection {conn}")));
                }
                out.push((no, header));
                i += 1;
                // SQL lines up to a blank line or `----`.
                while i < unrolled.len() && !unrolled[i].1.is_empty() {
                    let (n, l) = (unrolled[i].0, &unrolled[i].1);
                    if l == "----" {
                        if is_error {
                            // Drop the expected message up to the blank line.
                            while i < unrolled.len() && !unrolled[i].1.is_empty() {
                                i += 1;
                            }
                            break;
                        }
                        out.push((n, l.clone()));
                        i += 1;
                        // Expected values up to the blank line.
                        while i < unrolled.len() && !unrolled[i].1.is_empty() {
                            out.push((unrolled[i].0, unrolled[i].1.clone()));
                            i += 1;
                        }
                        break;
                    }
                    out.push((n, l.clone()));
                    i += 1;
                }
                continue;
            }
            _ => out.push((no, line.to_string())),
        }
        i += 1;
    }
    let mut text = String::new();
    let mut line_map = Vec::with_capacity(out.len());
    for (no, line) in out {
        text.push_str(&line);
        text.push('\n');
        line_map.push(no);
    }
    Preprocessed { text, line_map }
}

fn is_condition(line: &str) -> bool {
    line.starts_with("skipif ") || line.starts_with("onlyif ")
}

fn is_connection_name(s: &str) -> bool {
    s.strip_prefix("con").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The rewritten header line, the connection it names, and whether the record
/// expects an error.
fn rewrite_header(kind: &str, rest: &[&str]) -> (String, Option<String>, bool) {
    match rest {
        ["error", more @ ..] => {
            let conn = more.first().filter(|s| is_connection_name(s)).map(|s| s.to_string());
            (format!("{kind} error"), conn, true)
        }
        [first, more @ ..] if kind == "statement" => {
            let conn = more.first().filter(|s| is_connection_name(s)).map(|s| s.to_string());
            let kept: Vec<&str> = if conn.is_some() { vec![first] } else { rest.to_vec() };
            (format!("{kind} {}", kept.join(" ")), conn, false)
        }
        [types, more @ ..] => {
            let conn = more.iter().find(|s| is_connection_name(s)).map(|s| s.to_string());
            let kept: Vec<&str> = std::iter::once(*types)
                .chain(more.iter().copied().filter(|s| !is_connection_name(s)))
                .collect();
            (format!("{kind} {}", kept.join(" ")), conn, false)
        }
        [] => (kind.to_string(), None, false),
    }
}

/// Unrolls `loop VAR FROM TO` … `endloop` (nesting allowed).
fn unroll_loops(lines: &[(usize, &str)]) -> Vec<(usize, String)> {
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let (no, line) = lines[i];
        let tokens: Vec<&str> = line.split_whitespace().collect();
        if let ["loop", var, from, to] = tokens.as_slice()
            && let (Ok(from), Ok(to)) = (from.parse::<i64>(), to.parse::<i64>())
        {
            let body_start = i + 1;
            let mut depth = 1;
            let mut j = body_start;
            while j < lines.len() {
                let first = lines[j].1.split_whitespace().next();
                if first == Some("loop") {
                    depth += 1;
                } else if first == Some("endloop") {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                j += 1;
            }
            let body = unroll_loops(&lines[body_start..j.min(lines.len())]);
            let pattern = format!("${{{var}}}");
            for v in from..to {
                let value = v.to_string();
                out.extend(body.iter().map(|(n, l)| (*n, l.replace(&pattern, &value))));
            }
            i = j + 1;
            continue;
        }
        out.push((no, line.to_string()));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_comments_on_conditions_are_stripped() {
        let p = preprocess("skipif mysql # not compatible\nquery I\nSELECT 1\n----\n1\n");
        assert_eq!(p.text, "skipif mysql\nquery I\nSELECT 1\n----\n1\n");
    }

    #[test]
    fn a_halt_for_another_engine_is_ignored_with_its_conditions() {
        let p = preprocess("onlyif mssql\nhalt\n\nstatement ok\nSELECT 1\n");
        assert_eq!(p.text, "# onlyif mssql\n# halt\n\nstatement ok\nSELECT 1\n");
    }

    #[test]
    fn a_halt_that_selects_sqlite_ends_the_file() {
        let p = preprocess("statement ok\nSELECT 1\n\nskipif mysql # x\nhalt\n\nstatement ok\nX\n");
        assert_eq!(p.text, "statement ok\nSELECT 1\n\n");
    }

    #[test]
    fn duckdb_connections_become_connection_records() {
        let p = preprocess("statement ok con1\nBEGIN\n\nquery I con2\nSELECT 1\n----\n1\n");
        assert_eq!(
            p.text,
            "connection con1\nstatement ok\nBEGIN\n\nconnection con2\nquery I\nSELECT 1\n----\n1\n"
        );
        assert_eq!(p.original_line(2), 1);
        assert_eq!(p.original_line(6), 4);
    }

    #[test]
    fn expected_error_messages_are_dropped() {
        let src = "statement error con2\nSELECT * FROM t\n----\n<REGEX>:.*Catalog.*\n\nstatement error Table (\nX\n";
        let p = preprocess(src);
        assert_eq!(
            p.text,
            "connection con2\nstatement error\nSELECT * FROM t\n\nstatement error\nX\n"
        );
    }

    #[test]
    fn loops_are_unrolled() {
        let p = preprocess("loop i 0 2\nstatement ok\nINSERT INTO t VALUES (${i})\n\nendloop\n");
        assert_eq!(
            p.text,
            "statement ok\nINSERT INTO t VALUES (0)\n\nstatement ok\nINSERT INTO t VALUES (1)\n\n"
        );
    }
}
