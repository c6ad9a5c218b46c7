//! `CREATE TYPE name AS <type>` (DuckDB's type aliases) and `DROP TYPE`.
//!
//! An alias is the database property `type.<name>` holding the SQL text of
//! the type it stands for; column definitions (CREATE TABLE, ALTER TABLE ADD
//! COLUMN) resolve it to that type. sqlparser does not parse the alias form,
//! so the statement is recognised on its text. Other forms of CREATE TYPE
//! (ENUM, composite, RANGE) are refused with an error naming them.

use crate::{SqlError, SqlResult, types::arrow_type};
use arrow::datatypes::DataType;
use llkv_mvcc::Transaction;
use sqlparser::ast;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// Database property prefix of type aliases.
const TYPE_PREFIX: &str = "type.";

/// A `CREATE TYPE name AS <type>` statement: `(name, type text)`, or `None`
/// for any other text.
pub fn parse_create_type(sql: &str) -> Option<(String, String)> {
    let text = sql.trim().trim_end_matches(';').trim();
    let mut words = text.splitn(5, char::is_whitespace).filter(|w| !w.is_empty());
    let kw = |w: Option<&str>, k: &str| w.is_some_and(|w| w.eq_ignore_ascii_case(k));
    if !kw(words.next(), "CREATE") || !kw(words.next(), "TYPE") {
        return None;
    }
    let name = words.next()?;
    if !kw(words.next(), "AS") {
        return None;
    }
    let ty = words.next()?.trim();
    let head = ty.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
    if ty.starts_with('(')
        || head.eq_ignore_ascii_case("ENUM")
        || head.eq_ignore_ascii_case("RANGE")
    {
        return None;
    }
    let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => quoted.to_string(),
        None => name.to_ascii_lowercase(),
    };
    Some((name, ty.to_string()))
}

fn parse_type(text: &str) -> SqlResult<ast::DataType> {
    Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .and_then(|mut p| p.parse_data_type())
        .map_err(|e| SqlError::parse(format!("type {text}: {e}")))
}

/// Records the alias `name` for the type `ty`.
///
/// # Errors
/// An existing alias or built-in type name, a type llkv cannot store.
pub fn create(txn: &Transaction, name: &str, ty: &str) -> SqlResult<()> {
    let key = format!("{TYPE_PREFIX}{name}");
    if txn.property(&key).is_some() {
        return Err(SqlError::plan(format!("type {name} already exists")));
    }
    if !matches!(parse_type(name), Ok(ast::DataType::Custom(..))) {
        return Err(SqlError::plan(format!("type {name} is a built-in type")));
    }
    // The target must be a type llkv stores (checked now, not at first use).
    column_type(txn, &parse_type(ty)?)?;
    txn.set_property(&key, Some(ty.to_string()))?;
    Ok(())
}

/// `DROP TYPE [IF EXISTS] name`.
///
/// # Errors
/// An unknown alias without IF EXISTS.
pub fn drop(txn: &Transaction, name: &str, if_exists: bool) -> SqlResult<()> {
    let key = format!("{TYPE_PREFIX}{name}");
    if txn.property(&key).is_none() {
        if if_exists {
            return Ok(());
        }
        return Err(SqlError::plan(format!("type {name} does not exist")));
    }
    txn.set_property(&key, None)?;
    Ok(())
}

/// Replaces a column type that names an alias made by CREATE TYPE with the
/// type it stands for (for a planner that maps SQL types itself, such as
/// DataFusion's); any other type is left as it is.
///
/// # Errors
/// An alias whose stored type no longer parses.
pub fn resolve_alias(txn: &Transaction, t: &mut ast::DataType) -> SqlResult<()> {
    if let Some(text) = alias_text(txn, t) {
        *t = parse_type(&text)?;
    }
    Ok(())
}

/// The stored type text when `t` names an alias.
fn alias_text(txn: &Transaction, t: &ast::DataType) -> Option<String> {
    let ast::DataType::Custom(name, args) = t else { return None };
    if !args.is_empty() {
        return None;
    }
    let last = name.0.last().and_then(|p| p.as_ident())?;
    txn.property(&format!("{TYPE_PREFIX}{}", crate::names::ident_name(last)))
}

/// The Arrow type of a column declared with SQL type `t`, resolving aliases
/// made by CREATE TYPE (one level: an alias names a built-in type).
///
/// # Errors
/// A type llkv does not support.
pub fn column_type(txn: &Transaction, t: &ast::DataType) -> SqlResult<DataType> {
    match alias_text(txn, t) {
        Some(text) => arrow_type(&parse_type(&text)?),
        None => arrow_type(t),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_create_type;

    #[test]
    fn the_alias_form_is_recognised_and_others_are_not() {
        assert_eq!(
            parse_create_type("create type My_T as integer;"),
            Some(("my_t".into(), "integer".into()))
        );
        assert_eq!(
            parse_create_type("CREATE TYPE t AS VARCHAR(10)"),
            Some(("t".into(), "VARCHAR(10)".into()))
        );
        assert_eq!(parse_create_type("CREATE TYPE t AS ENUM ('a')"), None);
        assert_eq!(parse_create_type("CREATE TYPE t AS (a INT)"), None);
        assert_eq!(parse_create_type("CREATE TABLE t AS SELECT 1"), None);
    }
}
