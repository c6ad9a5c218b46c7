//! Where the parser stopped: sqlparser's errors end in `at Line: L, Column: C`;
//! the shell shows that line of the statement with a caret under the column.

/// The 1-based line and column named in a parser error message, if any.
pub fn position(message: &str) -> Option<(usize, usize)> {
    let at = message.rfind("Line: ")?;
    let rest = &message[at + "Line: ".len()..];
    let line: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let rest = rest.get(line.len()..)?.strip_prefix(", Column: ")?;
    let column: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((line.parse().ok()?, column.parse().ok()?))
}

/// The statement's line `line` and a caret under `column`, both indented by
/// two spaces, or `None` when the position is not in `sql`.
pub fn caret(sql: &str, line: usize, column: usize) -> Option<String> {
    let text = sql.lines().nth(line.checked_sub(1)?)?;
    let column = column.max(1);
    // Tabs keep their place under the caret; other characters become spaces.
    let lead: String =
        text.chars().take(column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
    Some(format!("  {text}\n  {lead}^"))
}

/// A parser error message made readable: DataFusion wraps sqlparser's error
/// as `SQL error: ParserError("…")`; the message inside is what matters.
pub fn clean(message: &str) -> String {
    if let Some(start) = message.find("ParserError(\"")
        && let Some(inner) = message[start + 13..].strip_suffix("\")")
    {
        return format!("syntax error: {}", inner.replace("\\\"", "\""));
    }
    if let Some(inner) = message.strip_prefix("sql parser error: ") {
        return format!("syntax error: {inner}");
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_position_is_read_and_marked() {
        let m = "sql parser error: Expected: end of statement, found: x at Line: 2, Column: 8";
        assert_eq!(position(m), Some((2, 8)));
        assert_eq!(caret("SELECT 1\nFROM t x y", 2, 8).unwrap(), "  FROM t x y\n         ^");
        assert_eq!(position("no position here"), None);
        assert_eq!(caret("SELECT 1", 3, 1), None);
    }

    #[test]
    fn wrapped_messages_are_unwrapped() {
        assert_eq!(
            clean(
                "SQL error: ParserError(\"Expected: x, found: \\\"y\\\" at Line: 1, Column: 2\")"
            ),
            "syntax error: Expected: x, found: \"y\" at Line: 1, Column: 2"
        );
        assert_eq!(clean("sql parser error: bad"), "syntax error: bad");
        assert_eq!(clean("other"), "other");
    }
}
