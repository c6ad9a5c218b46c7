//! `.import FILE TABLE`: a CSV file (with a header line) or a Parquet file
//! (by its extension) read as Arrow batches and turned into SQL statements —
//! a `CREATE TABLE` from the file's schema when the table does not exist,
//! then `INSERT … VALUES` per batch — so the import runs on either route and
//! inside the session's transaction.

use arrow::array::{Array, RecordBatch};
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::datatypes::{DataType, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Rows per `INSERT` statement.
pub const CHUNK: usize = 500;

/// A file format the shell reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl FileFormat {
    /// The format a file name implies: `.parquet`/`.pq` is Parquet, anything else CSV.
    pub fn of_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("parquet" | "pq") => FileFormat::Parquet,
            _ => FileFormat::Csv,
        }
    }

    /// Parses a format name (`csv`, `parquet`).
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "parquet" => Some(FileFormat::Parquet),
            _ => None,
        }
    }
}

/// How far a [`Source`] has read, in its own unit.
#[derive(Debug, Clone)]
pub struct Progress {
    done: Arc<AtomicU64>,
    /// The total in the same unit (rows for Parquet, bytes for CSV).
    pub total: u64,
    /// Whether the unit is bytes (else rows).
    pub bytes: bool,
}

impl Progress {
    /// How much was read so far.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }
}

/// An open data file: its schema and its batches.
pub struct Source {
    /// The file's schema (inferred for CSV).
    pub schema: SchemaRef,
    /// How far reading has got.
    pub progress: Progress,
    batches: Box<dyn Iterator<Item = Result<RecordBatch, String>>>,
}

impl Iterator for Source {
    type Item = Result<RecordBatch, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let next = self.batches.next();
        if !self.progress.bytes
            && let Some(Ok(b)) = &next
        {
            self.progress.done.fetch_add(b.num_rows() as u64, Ordering::Relaxed);
        }
        next
    }
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens `path` as CSV or Parquet (by extension), reading `batch_rows` rows at a time.
///
/// # Errors
/// When the file cannot be opened or is not valid CSV / Parquet.
pub fn open_source(path: &Path, batch_rows: usize) -> Result<Source, String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
    let mut file = File::open(path).map_err(|e| err(&e))?;
    let done = Arc::new(AtomicU64::new(0));
    match FileFormat::of_path(path) {
        FileFormat::Parquet => {
            let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| err(&e))?;
            let total = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
            let schema = Arc::clone(builder.schema());
            let reader = builder.with_batch_size(batch_rows).build().map_err(|e| err(&e))?;
            let display = path.display().to_string();
            Ok(Source {
                schema,
                progress: Progress { done, total, bytes: false },
                batches: Box::new(
                    reader.map(move |b| b.map_err(|e| format!("cannot read {display}: {e}"))),
                ),
            })
        }
        FileFormat::Csv => {
            let total = file.metadata().map(|m| m.len()).unwrap_or(0);
            let format = Format::default().with_header(true);
            let (schema, _) = format.infer_schema(&mut file, Some(1000)).map_err(|e| err(&e))?;
            file.rewind().map_err(|e| err(&e))?;
            let schema = Arc::new(schema);
            let counting = Counting { inner: file, count: Arc::clone(&done) };
            let reader = ReaderBuilder::new(Arc::clone(&schema))
                .with_header(true)
                .with_batch_size(batch_rows)
                .build(counting)
                .map_err(|e| err(&e))?;
            let display = path.display().to_string();
            Ok(Source {
                schema,
                progress: Progress { done, total, bytes: true },
                batches: Box::new(
                    reader.map(move |b| b.map_err(|e| format!("cannot read {display}: {e}"))),
                ),
            })
        }
    }
}

/// The `CREATE TABLE` statement for a table shaped like `schema`.
pub fn create_statement(table: &str, schema: &SchemaRef) -> String {
    let cols: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| format!("{} {}", ident(f.name()), sql_type(f.data_type())))
        .collect();
    format!("CREATE TABLE {} ({})", ident(table), cols.join(", "))
}

/// The statements that import `path` into `table`, the `CREATE TABLE` first
/// when `create` is set (for tests and small files; the shell streams).
///
/// # Errors
/// When the file cannot be read or is not valid CSV / Parquet.
pub fn statements(path: &Path, table: &str, create: bool) -> Result<Vec<String>, String> {
    let source = open_source(path, CHUNK)?;
    let mut out = Vec::new();
    if create {
        out.push(create_statement(table, &source.schema));
    }
    for batch in source {
        let batch = batch?;
        if batch.num_rows() > 0 {
            out.push(
                insert_statement(table, &batch)
                    .map_err(|e| format!("cannot import {}: {e}", path.display()))?,
            );
        }
    }
    Ok(out)
}

fn sql_type(t: &DataType) -> String {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => "INTEGER".into(),
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s)
            if *p <= 38 =>
        {
            format!("DECIMAL({p},{s})")
        }
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        _ => "TEXT".into(),
    }
}

/// A double-quoted identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One `INSERT … VALUES` statement with the rows of `batch`.
///
/// # Errors
/// When a value cannot be formatted.
pub fn insert_statement(
    table: &str,
    batch: &RecordBatch,
) -> Result<String, arrow::error::ArrowError> {
    let options = FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::with_capacity(batch.num_rows());
    for r in 0..batch.num_rows() {
        let mut values = Vec::with_capacity(formatters.len());
        for (c, f) in batch.columns().iter().zip(&formatters) {
            let text = f.value(r).try_to_string()?;
            let t = c.data_type();
            values.push(if c.is_null(r) {
                "NULL".to_string()
            } else if (t.is_numeric() || t == &DataType::Boolean)
                && !matches!(text.as_str(), "NaN" | "inf" | "-inf")
            {
                text
            } else {
                format!("'{}'", text.replace('\'', "''"))
            });
        }
        rows.push(format!("({})", values.join(", ")));
    }
    Ok(format!("INSERT INTO {} VALUES {}", ident(table), rows.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csv_file_becomes_create_and_insert_statements() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("people.csv");
        std::fs::write(&path, "id,name,score\n1,ann,1.5\n2,o'brien,\n").unwrap();
        let stmts = statements(&path, "people", true).unwrap();
        assert_eq!(
            stmts,
            vec![
                "CREATE TABLE \"people\" (\"id\" INTEGER, \"name\" TEXT, \"score\" DOUBLE)",
                "INSERT INTO \"people\" VALUES (1, 'ann', 1.5), (2, 'o''brien', NULL)",
            ]
        );
        assert_eq!(statements(&path, "people", false).unwrap().len(), 1);
        assert!(statements(&dir.path().join("missing.csv"), "t", true).is_err());
    }

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(FileFormat::of_path(Path::new("a.PARQUET")), FileFormat::Parquet);
        assert_eq!(FileFormat::of_path(Path::new("a.pq")), FileFormat::Parquet);
        assert_eq!(FileFormat::of_path(Path::new("a.csv")), FileFormat::Csv);
        assert_eq!(FileFormat::of_path(Path::new("a")), FileFormat::Csv);
    }

    #[test]
    fn a_file_that_is_not_parquet_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, "id\n1\n").unwrap();
        let e = open_source(&path, 10).err().unwrap();
        assert!(e.starts_with("cannot read"), "{e}");
    }
}
