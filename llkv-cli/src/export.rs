//! Writing results to files (`.export`, `COPY … TO`), and reading the
//! `COPY` statement, which the shell handles itself on both routes:
//!
//! ```sql
//! COPY t TO 'out.csv';                               -- format from the extension
//! COPY (SELECT a FROM t WHERE b > 1) TO 'out.parquet' (FORMAT parquet);
//! COPY t (a, b) TO 'out.csv' (FORMAT csv, HEADER false);
//! COPY t FROM 'in.parquet';                          -- the same as .import
//! ```

use crate::import::{FileFormat, ident};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use sqlparser::ast::{CopyLegacyOption, CopyOption, CopySource, CopyTarget, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Writes `batches` to `path` as `format`; returns the number of rows.
///
/// # Errors
/// When the file cannot be created or written.
pub fn write_file(
    path: &Path,
    format: FileFormat,
    header: bool,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<u64, String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let file = File::create(path).map_err(|e| err(&e))?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    match format {
        FileFormat::Csv => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(header)
                .with_null(String::new())
                .build(BufWriter::new(file));
            if batches.is_empty() && header {
                // A header also for zero rows.
                w.write(&RecordBatch::new_empty(Arc::clone(schema))).map_err(|e| err(&e))?;
            }
            for b in batches {
                w.write(b).map_err(|e| err(&e))?;
            }
            w.into_inner().into_inner().map_err(|e| err(&e.error()))?.sync_all().ok();
        }
        FileFormat::Parquet => {
            let mut w =
                ArrowWriter::try_new(file, Arc::clone(schema), None).map_err(|e| err(&e))?;
            for b in batches {
                w.write(b).map_err(|e| err(&e))?;
            }
            w.close().map_err(|e| err(&e))?;
        }
    }
    Ok(rows as u64)
}

/// A `COPY` statement, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// `COPY … TO` (export) or `COPY … FROM` (import).
    pub to: bool,
    /// The table (`COPY t …`), if not a query.
    pub table: Option<String>,
    /// The SELECT whose rows are exported.
    pub query: String,
    /// The file.
    pub path: PathBuf,
    /// The file's format (FORMAT option, else the extension).
    pub format: FileFormat,
    /// Whether a CSV file has a header line (default true).
    pub header: bool,
}

/// Whether `sql` is a `COPY` statement (the shell runs those itself).
pub fn is_copy(sql: &str) -> bool {
    let word: String = sql.trim_start().chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    word.eq_ignore_ascii_case("copy")
}

/// Reads a `COPY` statement.
///
/// # Errors
/// A parse error, or a form the shell does not support (STDIN/STDOUT,
/// PROGRAM, an unknown format).
pub fn parse_copy(sql: &str) -> Result<Copy, String> {
    let mut stmts =
        Parser::parse_sql(&PostgreSqlDialect {}, sql).map_err(|e| format!("COPY: {e}"))?;
    let stmt = match (stmts.pop(), stmts.is_empty()) {
        (Some(s), true) => s,
        _ => return Err("COPY: expected one statement".into()),
    };
    let Statement::Copy { source, to, target, options, legacy_options, .. } = stmt else {
        return Err("COPY: expected COPY … TO 'file' or COPY table FROM 'file'".into());
    };
    let CopyTarget::File { filename } = target else {
        return Err(format!("COPY {target} is not supported; name a file"));
    };
    let path = PathBuf::from(filename);
    let mut format = FileFormat::of_path(&path);
    let mut header = true;
    for o in &options {
        match o {
            CopyOption::Format(f) => {
                format = FileFormat::parse(&f.value)
                    .ok_or_else(|| format!("COPY: unknown format {f}; use csv or parquet"))?;
            }
            CopyOption::Header(h) => header = *h,
            other => return Err(format!("COPY: option {other} is not supported")),
        }
    }
    for o in &legacy_options {
        match o {
            CopyLegacyOption::Csv(_) => format = FileFormat::Csv,
            other => return Err(format!("COPY: option {other} is not supported")),
        }
    }
    let (table, query) = match source {
        CopySource::Table { table_name, columns } => {
            let cols = if columns.is_empty() {
                "*".to_string()
            } else {
                columns.iter().map(|c| ident(&c.value)).collect::<Vec<_>>().join(", ")
            };
            let name = table_name.to_string();
            (Some(name.clone()), format!("SELECT {cols} FROM {name}"))
        }
        CopySource::Query(q) if to => (None, q.to_string()),
        CopySource::Query(_) => return Err("COPY (query) FROM is not possible".into()),
    };
    Ok(Copy { to, table, query, path, format, header })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_statements_are_read() {
        let c = parse_copy("COPY t TO '/tmp/x.parquet'").unwrap();
        assert_eq!(c.query, "SELECT * FROM t");
        assert_eq!(c.format, FileFormat::Parquet);
        assert!(c.to);
        let c =
            parse_copy("copy (SELECT a FROM t WHERE a > 1) TO 'x.out' (FORMAT csv, HEADER false)")
                .unwrap();
        assert_eq!(c.query, "SELECT a FROM t WHERE a > 1");
        assert_eq!((c.format, c.header, c.table), (FileFormat::Csv, false, None));
        let c = parse_copy("COPY t (a, b) TO 'x' (FORMAT parquet)").unwrap();
        assert_eq!(c.query, "SELECT \"a\", \"b\" FROM t");
        assert_eq!(c.format, FileFormat::Parquet);
        let c = parse_copy("COPY t FROM 'in.csv'").unwrap();
        assert!(!c.to);
        assert_eq!(c.table.as_deref(), Some("t"));
        assert!(parse_copy("COPY t TO STDOUT").is_err());
        assert!(parse_copy("COPY t TO 'x' (FORMAT xml)").is_err());
        assert!(parse_copy("COPY t TO").is_err());
        assert!(is_copy("  copy t to 'x'") && !is_copy("copyright") && !is_copy("SELECT 1"));
    }
}
