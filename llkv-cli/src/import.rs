//! `.import FILE TABLE`: a CSV file (with a header line) as SQL statements —
//! a `CREATE TABLE` from the inferred schema when the table does not exist,
//! then `INSERT … VALUES` in chunks — so the import runs on either route.

use arrow::array::{Array, RecordBatch};
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format;
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use std::fs::File;
use std::io::Seek;
use std::path::Path;
use std::sync::Arc;

/// Rows per `INSERT` statement.
const CHUNK: usize = 500;

/// The statements that import the CSV file `path` into `table`; the
/// `CREATE TABLE` comes first when `create` is set.
///
/// # Errors
/// When the file cannot be read or is not valid CSV.
pub fn csv_statements(path: &Path, table: &str, create: bool) -> Result<Vec<String>, String> {
    let err = |e: &dyn std::fmt::Display| format!("cannot import {}: {e}", path.display());
    let mut file = File::open(path).map_err(|e| err(&e))?;
    let format = Format::default().with_header(true);
    let (schema, _) = format.infer_schema(&mut file, Some(1000)).map_err(|e| err(&e))?;
    file.rewind().map_err(|e| err(&e))?;
    let schema = Arc::new(schema);
    let mut out = Vec::new();
    if create {
        let cols: Vec<String> = schema
            .fields()
            .iter()
            .map(|f| format!("{} {}", ident(f.name()), sql_type(f.data_type())))
            .collect();
        out.push(format!("CREATE TABLE {} ({})", ident(table), cols.join(", ")));
    }
    let reader = ReaderBuilder::new(Arc::clone(&schema))
        .with_header(true)
        .with_batch_size(CHUNK)
        .build(file)
        .map_err(|e| err(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| err(&e))?;
        if batch.num_rows() > 0 {
            out.push(insert(table, &batch).map_err(|e| err(&e))?);
        }
    }
    Ok(out)
}

fn sql_type(t: &DataType) -> &'static str {
    match t {
        DataType::Int64 | DataType::Int32 => "INTEGER",
        DataType::Float64 | DataType::Float32 => "DOUBLE",
        DataType::Boolean => "BOOLEAN",
        DataType::Date32 | DataType::Date64 => "DATE",
        DataType::Timestamp(_, _) => "TIMESTAMP",
        _ => "TEXT",
    }
}

/// A double-quoted identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn insert(table: &str, batch: &RecordBatch) -> Result<String, arrow::error::ArrowError> {
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
            values.push(if c.is_null(r) {
                "NULL".to_string()
            } else if c.data_type().is_numeric() || c.data_type() == &DataType::Boolean {
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
        let stmts = csv_statements(&path, "people", true).unwrap();
        assert_eq!(
            stmts,
            vec![
                "CREATE TABLE \"people\" (\"id\" INTEGER, \"name\" TEXT, \"score\" DOUBLE)",
                "INSERT INTO \"people\" VALUES (1, 'ann', 1.5), (2, 'o''brien', NULL)",
            ]
        );
        assert_eq!(csv_statements(&path, "people", false).unwrap().len(), 1);
        assert!(csv_statements(&dir.path().join("missing.csv"), "t", true).is_err());
    }
}
