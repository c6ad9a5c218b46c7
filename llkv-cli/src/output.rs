//! Result formatting for every output mode, written once.
//!
//! - `table`: a box like arrow's pretty printer and sqlite's table mode;
//!   numbers right-aligned, NULL shown as `NULL` (or `.nullvalue`, dimmed on a
//!   terminal), a header also for zero rows; on a terminal, a table wider
//!   than the window has its widest columns cut, each cut value ending in `…`.
//! - `csv`: a header line, then one line per row (RFC 4180 quoting; NULL is
//!   an empty field).
//! - `json`: each result is one JSON array of objects (`[{"a":1},…]`), NULLs
//!   as explicit `null`s; zero rows print `[]`.
//! - `line`: one `column = value` line per value, a blank line between rows.

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use std::io::{self, Write};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// How values are shown, beyond the mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// The widest a table may be (the terminal's width); `None` for no limit.
    pub max_width: Option<usize>,
    /// How NULL is shown in `table` and `line` modes.
    pub null: String,
    /// Dim NULLs with an ANSI escape (on a terminal).
    pub dim_null: bool,
}

impl Default for Style {
    fn default() -> Self {
        Self { max_width: None, null: "NULL".into(), dim_null: false }
    }
}

/// Narrowest a column is cut to.
const MIN_COLUMN: usize = 5;

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Aligned box.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON array of objects per result.
    Json,
    /// `column = value` lines.
    Line,
}

impl Mode {
    /// Parses a mode name (`table`, `csv`, `json`, `line`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "table" | "box" => Some(Mode::Table),
            "csv" => Some(Mode::Csv),
            "json" => Some(Mode::Json),
            "line" => Some(Mode::Line),
            _ => None,
        }
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Table => "table",
            Mode::Csv => "csv",
            Mode::Json => "json",
            Mode::Line => "line",
        }
    }
}

/// An error while printing: the output failed or a value could not be shown.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    /// Writing failed (for example a closed pipe).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// Arrow could not format a value.
    #[error("{0}")]
    Arrow(#[from] ArrowError),
}

/// Prints one result set in `mode`.
///
/// # Errors
/// When writing to `out` fails or a value cannot be formatted.
pub fn print_rows(
    out: &mut dyn Write,
    mode: Mode,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), PrintError> {
    print_rows_styled(out, mode, schema, batches, &Style::default())
}

/// Prints one result set in `mode` with `style`.
///
/// # Errors
/// When writing to `out` fails or a value cannot be formatted.
pub fn print_rows_styled(
    out: &mut dyn Write,
    mode: Mode,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    style: &Style,
) -> Result<(), PrintError> {
    match mode {
        Mode::Table => print_table(out, schema, batches, style),
        Mode::Csv => print_csv(out, schema, batches),
        Mode::Json => print_json(out, batches),
        Mode::Line => print_line(out, schema, batches, style),
    }
}

/// The display width of `s` in terminal columns.
fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` cut to at most `w` columns, ending in `…` when cut.
fn fit(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.push('…');
    out
}

/// Column widths that fit `max` (the box adds 3 columns per column plus 1):
/// the widest column loses a column at a time, down to [`MIN_COLUMN`].
fn fit_widths(mut widths: Vec<usize>, max: Option<usize>) -> Vec<usize> {
    let Some(max) = max else { return widths };
    let frame = 3 * widths.len() + 1;
    let mut total: usize = widths.iter().sum::<usize>() + frame;
    while total > max {
        let widest =
            widths.iter().enumerate().filter(|(_, w)| **w > MIN_COLUMN).max_by_key(|(_, w)| **w);
        let Some((i, _)) = widest else { break };
        widths[i] -= 1;
        total -= 1;
    }
    widths
}

/// The cells of all rows as text; `None` for NULL.
fn cells(batches: &[RecordBatch]) -> Result<Vec<Vec<Option<String>>>, ArrowError> {
    let options = FormatOptions::default();
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()?;
        // Logical nulls: a `NULL` literal's column (type Null) has no null buffer.
        let nulls: Vec<_> = batch.columns().iter().map(|c| c.logical_nulls()).collect();
        for r in 0..batch.num_rows() {
            let mut row = Vec::with_capacity(formatters.len());
            for (n, f) in nulls.iter().zip(&formatters) {
                let null = n.as_ref().is_some_and(|n| n.is_null(r));
                row.push(if null { None } else { Some(f.value(r).try_to_string()?) });
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric()
}

fn print_table(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    style: &Style,
) -> Result<(), PrintError> {
    let rows = cells(batches)?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let right: Vec<bool> = schema.fields().iter().map(|f| is_numeric(f.data_type())).collect();
    let shown = |c: &Option<String>| c.as_deref().map_or(width(&style.null), width);
    let mut widths: Vec<usize> = names.iter().map(|n| width(n)).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(shown(c));
        }
    }
    let widths = fit_widths(widths, style.max_width);
    let rule: String =
        format!("+{}+", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    // One cell: cut to its width, padded by display width, NULL styled.
    let cell = |v: Option<&str>, w: usize, right: bool| {
        let (text, null) = match v {
            Some(v) => (fit(v, w), false),
            None => (fit(&style.null, w), true),
        };
        let pad = " ".repeat(w.saturating_sub(width(&text)));
        let text = if null && style.dim_null { format!("\x1b[2m{text}\x1b[0m") } else { text };
        if right { format!(" {pad}{text} ") } else { format!(" {text}{pad} ") }
    };
    writeln!(out, "{rule}")?;
    let header: Vec<String> =
        names.iter().zip(&widths).map(|(n, w)| cell(Some(n), *w, false)).collect();
    writeln!(out, "|{}|", header.join("|"))?;
    writeln!(out, "{rule}")?;
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(&right)
            .map(|((c, w), r)| cell(c.as_deref(), *w, *r))
            .collect();
        writeln!(out, "|{}|", line.join("|"))?;
    }
    if !rows.is_empty() {
        writeln!(out, "{rule}")?;
    }
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn print_csv(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<(), PrintError> {
    let header: Vec<String> = schema.fields().iter().map(|f| csv_field(f.name())).collect();
    writeln!(out, "{}", header.join(","))?;
    for row in cells(batches)? {
        let fields: Vec<String> =
            row.iter().map(|c| c.as_deref().map(csv_field).unwrap_or_default()).collect();
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

fn print_json(out: &mut dyn Write, batches: &[RecordBatch]) -> Result<(), PrintError> {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    if rows == 0 {
        writeln!(out, "[]")?;
        return Ok(());
    }
    let mut buf = Vec::new();
    {
        let mut w = arrow::json::WriterBuilder::new()
            .with_explicit_nulls(true)
            .build::<_, arrow::json::writer::JsonArray>(&mut buf);
        for b in batches {
            w.write(b)?;
        }
        w.finish()?;
    }
    out.write_all(&buf)?;
    writeln!(out)?;
    Ok(())
}

fn print_line(
    out: &mut dyn Write,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    style: &Style,
) -> Result<(), PrintError> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (i, row) in cells(batches)?.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        for (n, c) in names.iter().zip(row) {
            writeln!(out, "{n:>width$} = {}", c.as_deref().unwrap_or(&style.null))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(Int64Array::from(vec![Some(1), None, Some(100)])) as ArrayRef),
            ("name", Arc::new(StringArray::from(vec![Some("a,b"), Some("x"), None])) as ArrayRef),
        ])
        .unwrap()
    }

    fn render(mode: Mode) -> String {
        let b = batch();
        let mut out = Vec::new();
        print_rows(&mut out, mode, &b.schema(), std::slice::from_ref(&b)).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_mode_aligns_numbers_right_and_shows_null() {
        assert_eq!(
            render(Mode::Table),
            "+------+------+\n\
             | id   | name |\n\
             +------+------+\n\
             |    1 | a,b  |\n\
             | NULL | x    |\n\
             |  100 | NULL |\n\
             +------+------+\n"
        );
    }

    #[test]
    fn a_wide_table_is_cut_to_the_width_with_ellipses() {
        let b = RecordBatch::try_from_iter(vec![
            ("n", Arc::new(Int64Array::from(vec![Some(12345), None])) as ArrayRef),
            (
                "text",
                Arc::new(StringArray::from(vec![Some("a rather long value here"), Some("short")]))
                    as ArrayRef,
            ),
        ])
        .unwrap();
        let style = Style { max_width: Some(20), null: "∅".into(), dim_null: false };
        let mut out = Vec::new();
        print_rows_styled(&mut out, Mode::Table, &b.schema(), &[b], &style).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "+-------+----------+\n\
             | n     | text     |\n\
             +-------+----------+\n\
             | 12345 | a rathe… |\n\
             |     ∅ | short    |\n\
             +-------+----------+\n"
        );
        assert!(text.lines().all(|l| width(l) <= 20));
    }

    #[test]
    fn dimmed_nulls_keep_the_alignment() {
        let b = batch();
        let style = Style { dim_null: true, ..Style::default() };
        let mut out = Vec::new();
        print_rows_styled(&mut out, Mode::Table, &b.schema(), std::slice::from_ref(&b), &style)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("| \x1b[2mNULL\x1b[0m | x    |"), "{text}");
    }

    #[test]
    fn csv_mode_has_a_header_and_quotes() {
        assert_eq!(render(Mode::Csv), "id,name\n1,\"a,b\"\n,x\n100,\n");
    }

    #[test]
    fn json_mode_is_one_array_with_explicit_nulls() {
        assert_eq!(
            render(Mode::Json),
            "[{\"id\":1,\"name\":\"a,b\"},{\"id\":null,\"name\":\"x\"},{\"id\":100,\"name\":null}]\n"
        );
    }

    #[test]
    fn line_mode_prints_one_value_per_line() {
        assert!(render(Mode::Line).starts_with("  id = 1\nname = a,b\n\n  id = NULL\n"));
    }

    #[test]
    fn a_null_typed_column_shows_null() {
        let b = RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(arrow::array::NullArray::new(1)) as ArrayRef,
        )])
        .unwrap();
        let mut out = Vec::new();
        print_rows(&mut out, Mode::Line, &b.schema(), std::slice::from_ref(&b)).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "n = NULL\n");
    }

    #[test]
    fn zero_rows_still_show_the_header() {
        let b = batch();
        let mut out = Vec::new();
        print_rows(&mut out, Mode::Csv, &b.schema(), &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "id,name\n");
        let mut out = Vec::new();
        print_rows(&mut out, Mode::Json, &b.schema(), &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "[]\n");
    }
}
