//! Result formatting for every output mode, written once.
//!
//! - `table`: a box like arrow's pretty printer and sqlite's table mode;
//!   numbers right-aligned, NULL shown as `NULL`, a header also for zero rows.
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
    match mode {
        Mode::Table => print_table(out, schema, batches),
        Mode::Csv => print_csv(out, schema, batches),
        Mode::Json => print_json(out, batches),
        Mode::Line => print_line(out, schema, batches),
    }
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
) -> Result<(), PrintError> {
    let rows = cells(batches)?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let right: Vec<bool> = schema.fields().iter().map(|f| is_numeric(f.data_type())).collect();
    let shown = |c: &Option<String>| c.clone().unwrap_or_else(|| "NULL".to_string());
    let mut widths: Vec<usize> = names.iter().map(|n| n.chars().count()).collect();
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(shown(c).chars().count());
        }
    }
    let rule: String =
        format!("+{}+", widths.iter().map(|w| "-".repeat(w + 2)).collect::<Vec<_>>().join("+"));
    let line = |values: Vec<String>, align_right: &[bool]| {
        let cells: Vec<String> = values
            .iter()
            .zip(&widths)
            .zip(align_right)
            .map(|((v, w), r)| if *r { format!(" {v:>w$} ") } else { format!(" {v:<w$} ") })
            .collect();
        format!("|{}|", cells.join("|"))
    };
    writeln!(out, "{rule}")?;
    let left = vec![false; names.len()];
    writeln!(out, "{}", line(names.iter().map(|s| s.to_string()).collect(), &left))?;
    writeln!(out, "{rule}")?;
    for row in &rows {
        writeln!(out, "{}", line(row.iter().map(shown).collect(), &right))?;
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
) -> Result<(), PrintError> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (i, row) in cells(batches)?.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        for (n, c) in names.iter().zip(row) {
            writeln!(out, "{n:>width$} = {}", c.as_deref().unwrap_or("NULL"))?;
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
