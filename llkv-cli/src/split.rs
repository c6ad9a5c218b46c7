//! Splits SQL text into statements at `;`, respecting quotes and comments.
//!
//! A small lexer: `'…'` strings (with `''` escapes), `"…"` and `` `…` `` and
//! `[…]` identifiers, `$tag$…$tag$` dollar quotes, `-- …` line comments and
//! `/* … */` block comments. A `;` inside any of those does not end a
//! statement. Statements are returned trimmed, without the `;`; empty ones
//! (and ones holding only comments) are dropped.

/// Where the lexer is inside the text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Normal,
    Single,
    Double,
    Backtick,
    Bracket,
    Dollar(String),
    LineComment,
    BlockComment,
}

/// Accumulates text (for example line by line from a REPL) and hands out
/// complete statements.
#[derive(Debug, Clone)]
pub struct Splitter {
    buf: String,
    state: State,
    /// Byte offset in `buf` where the lexer resumes.
    pos: usize,
    /// Whether the current statement has any token besides comments and space.
    has_code: bool,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Splitter {
    /// An empty splitter.
    pub fn new() -> Self {
        Self { buf: String::new(), state: State::Normal, pos: 0, has_code: false }
    }

    /// Appends `text` and returns the statements it completed.
    pub fn push(&mut self, text: &str) -> Vec<String> {
        self.buf.push_str(text);
        let mut out = Vec::new();
        let mut start = 0;
        let mut buf = std::mem::take(&mut self.buf);
        let bytes = buf.as_bytes();
        let mut i = self.pos;
        while i < bytes.len() {
            let c = bytes[i];
            let next = bytes.get(i + 1).copied();
            match &self.state {
                State::Normal => match c {
                    b';' => {
                        if self.has_code {
                            out.push(buf[start..i].trim().to_string());
                        }
                        self.has_code = false;
                        start = i + 1;
                    }
                    b'\'' => self.enter(State::Single),
                    b'"' => self.enter(State::Double),
                    b'`' => self.enter(State::Backtick),
                    b'[' => self.enter(State::Bracket),
                    b'-' if next == Some(b'-') => {
                        self.state = State::LineComment;
                        i += 1;
                    }
                    b'/' if next == Some(b'*') => {
                        self.state = State::BlockComment;
                        i += 1;
                    }
                    b'$' => {
                        if let Some(tag) = dollar_tag(&buf[i..]) {
                            i += tag.len() - 1;
                            self.enter(State::Dollar(tag));
                        } else {
                            self.has_code = true;
                        }
                    }
                    c if !c.is_ascii_whitespace() => self.has_code = true,
                    _ => {}
                },
                State::Single => {
                    if c == b'\'' {
                        if next == Some(b'\'') {
                            i += 1;
                        } else {
                            self.state = State::Normal;
                        }
                    }
                }
                State::Double => {
                    if c == b'"' {
                        if next == Some(b'"') {
                            i += 1;
                        } else {
                            self.state = State::Normal;
                        }
                    }
                }
                State::Backtick => {
                    if c == b'`' {
                        self.state = State::Normal;
                    }
                }
                State::Bracket => {
                    if c == b']' {
                        self.state = State::Normal;
                    }
                }
                State::Dollar(tag) => {
                    if buf[i..].starts_with(tag.as_str()) {
                        i += tag.len() - 1;
                        self.state = State::Normal;
                    }
                }
                State::LineComment => {
                    if c == b'\n' {
                        self.state = State::Normal;
                    }
                }
                State::BlockComment => {
                    if c == b'*' && next == Some(b'/') {
                        i += 1;
                        self.state = State::Normal;
                    }
                }
            }
            i += 1;
        }
        buf.drain(..start);
        self.pos = buf.len();
        self.buf = buf;
        out
    }

    fn enter(&mut self, state: State) {
        self.state = state;
        self.has_code = true;
    }

    /// Whether text of an unfinished statement is waiting for its `;`.
    pub fn is_pending(&self) -> bool {
        self.has_code || !matches!(self.state, State::Normal | State::LineComment)
    }

    /// The unfinished statement (trimmed), if it holds any code, and resets.
    pub fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.buf);
        let had_code = self.has_code;
        *self = Self::new();
        let rest = rest.trim();
        (had_code && !rest.is_empty()).then(|| rest.to_string())
    }

    /// Drops any unfinished statement.
    pub fn clear(&mut self) {
        *self = Self::new();
    }
}

/// The `$tag$` opening at the start of `s`, if any (`$$` or `$name$`).
fn dollar_tag(s: &str) -> Option<String> {
    let rest = &s[1..];
    let end = rest.find('$')?;
    let name = &rest[..end];
    let valid = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then(|| format!("${name}$"))
}

/// Splits complete `text` into statements; a last statement without `;` counts.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut s = Splitter::new();
    let mut out = s.push(text);
    out.extend(s.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semicolons_in_strings_identifiers_and_comments_do_not_split() {
        let sql = "SELECT 'a;b', \"c;d\" FROM t; -- x; y\nSELECT 1 /* ; */ + 2;SELECT 'it''s;'";
        assert_eq!(
            split_statements(sql),
            vec![
                "SELECT 'a;b', \"c;d\" FROM t",
                "-- x; y\nSELECT 1 /* ; */ + 2",
                "SELECT 'it''s;'"
            ]
        );
    }

    #[test]
    fn empty_and_comment_only_statements_are_dropped() {
        assert!(split_statements(" ; ;\n-- only a comment\n").is_empty());
        assert_eq!(split_statements(";;SELECT 1;;"), vec!["SELECT 1"]);
    }

    #[test]
    fn dollar_quotes_are_respected() {
        assert_eq!(
            split_statements("SELECT $$a;b$$; SELECT $t$;$t$"),
            vec!["SELECT $$a;b$$", "SELECT $t$;$t$"]
        );
    }

    #[test]
    fn lines_accumulate_until_the_statement_ends() {
        let mut s = Splitter::new();
        assert!(s.push("SELECT 'x\n").is_empty());
        assert!(s.is_pending());
        assert!(s.push("y;' FROM t\n").is_empty());
        assert_eq!(s.push("WHERE a = 1; SELECT 2\n"), vec!["SELECT 'x\ny;' FROM t\nWHERE a = 1"]);
        assert!(s.is_pending());
        assert_eq!(s.finish(), Some("SELECT 2".to_string()));
        assert!(!s.is_pending());
    }

    #[test]
    fn a_comment_line_alone_is_not_pending() {
        let mut s = Splitter::new();
        assert!(s.push("-- hello\n").is_empty());
        assert!(!s.is_pending());
    }
}
