//! Opening the database a shell works on, and describing its tables.

use arrow::datatypes::DataType;
use llkv_mvcc::Database;
use llkv_store::TableMeta;
use std::path::Path;

/// Opens the database at `path`, or an in-memory one for `None` or `:memory:`.
///
/// # Errors
/// A one-line message: a locked database, a file that is not an llkv
/// database, a missing directory, or another I/O failure.
pub fn open(path: Option<&Path>) -> Result<Database, String> {
    match path {
        None => Ok(Database::in_memory()),
        Some(p) if p.as_os_str() == ":memory:" => Ok(Database::in_memory()),
        Some(p) => {
            if let Some(parent) = p.parent()
                && !parent.as_os_str().is_empty()
                && !parent.is_dir()
            {
                return Err(format!(
                    "cannot open {}: directory {} does not exist",
                    p.display(),
                    parent.display()
                ));
            }
            if p.is_dir() {
                return Err(format!("cannot open {}: it is a directory", p.display()));
            }
            Database::open(p).map_err(|e| format!("cannot open {}: {e}", p.display()))
        }
    }
}

/// Opens the existing database file at `path` read-only: writes fail, and
/// other read-only shells may open the file at the same time.
///
/// # Errors
/// A one-line message: no file given, a missing file, a database held by a
/// writer, or as for [`open`].
pub fn open_read_only(path: Option<&Path>) -> Result<Database, String> {
    match path {
        Some(p) if p.as_os_str() != ":memory:" => {
            if !p.is_file() {
                return Err(format!(
                    "cannot open {} read-only: no such database file",
                    p.display()
                ));
            }
            Database::open_read_only(p).map_err(|e| format!("cannot open {}: {e}", p.display()))
        }
        _ => Err("--readonly needs a database file (an in-memory database is always empty)".into()),
    }
}

/// The first statement of `sql` that would change the database, as its
/// leading keywords (`INSERT INTO`, `DROP TABLE`), or `None` when every
/// statement only reads (queries, EXPLAIN, SHOW, transaction control, SET,
/// PRAGMA) or `sql` does not parse (the route then reports the syntax error).
/// A read-only shell refuses such statements before running them; the store
/// refuses their commit in any case.
pub fn first_write(sql: &str) -> Option<String> {
    use sqlparser::ast::Statement as S;
    let stmts =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect {}, sql).ok()?;
    stmts.iter().find_map(|s| match s {
        S::Query(_)
        | S::Explain { .. }
        | S::ExplainTable { .. }
        | S::ShowTables { .. }
        | S::ShowColumns { .. }
        | S::ShowVariable { .. }
        | S::ShowVariables { .. }
        | S::ShowCreate { .. }
        | S::ShowFunctions { .. }
        | S::ShowSchemas { .. }
        | S::ShowDatabases { .. }
        | S::ShowViews { .. }
        | S::StartTransaction { .. }
        | S::Commit { .. }
        | S::Rollback { .. }
        | S::Set(_)
        | S::Pragma { .. } => None,
        other => {
            let text = other.to_string();
            Some(text.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        }
    })
}

/// Names of the tables the database holds, sorted.
///
/// # Errors
/// When the catalog cannot be read.
pub fn table_names(db: &Database) -> Result<Vec<String>, String> {
    let txn = db.begin();
    let names = txn.table_names().map_err(|e| e.to_string());
    txn.rollback();
    names
}

/// The definition of `name`, if it exists.
///
/// # Errors
/// When the catalog cannot be read.
pub fn table_meta(db: &Database, name: &str) -> Result<Option<TableMeta>, String> {
    let txn = db.begin();
    let table = txn.table(name).map_err(|e| e.to_string());
    txn.rollback();
    Ok(table?.map(|t| (*t.meta).clone()))
}

/// A `CREATE TABLE` statement equivalent to `meta`.
pub fn create_statement(meta: &TableMeta) -> String {
    let mut parts: Vec<String> = meta
        .columns
        .iter()
        .map(|c| {
            let null = if c.nullable { "" } else { " NOT NULL" };
            format!("{} {}{null}", c.name, sql_type(&c.data_type))
        })
        .collect();
    let names = |ix: &[usize]| {
        ix.iter()
            .filter_map(|&i| meta.columns.get(i).map(|c| c.name.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !meta.primary_key.is_empty() {
        parts.push(format!("PRIMARY KEY ({})", names(&meta.primary_key)));
    }
    for u in &meta.unique {
        parts.push(format!("UNIQUE ({})", names(u)));
    }
    format!("CREATE TABLE {} ({});", meta.name, parts.join(", "))
}

fn sql_type(t: &DataType) -> String {
    match t {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "INTEGER".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            "BIGINT UNSIGNED".into()
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "TEXT".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p},{s})"),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(_, _) => "TIMESTAMP".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BLOB".into(),
        other => other.to_string(),
    }
}
