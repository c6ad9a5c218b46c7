//! The query type letters of a record (`query ITR`), kept as written.

use sqllogictest::ColumnType;

/// One column's type letter from a `query` line: `I` integer, `R` real,
/// `T` text; any other letter is kept and formatted as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeLetter(pub char);

impl ColumnType for TypeLetter {
    fn from_char(value: char) -> Option<Self> {
        Some(Self(value))
    }

    fn to_char(&self) -> char {
        self.0
    }
}
