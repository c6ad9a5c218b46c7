//! SQL object names as llkv's catalog spells them, shared by both routes.

use crate::{SqlError, SqlResult};
use sqlparser::ast;

/// An identifier's name: lower-case unless quoted.
pub fn ident_name(i: &ast::Ident) -> String {
    if i.quote_style.is_some() { i.value.clone() } else { i.value.to_ascii_lowercase() }
}

/// The catalog name of a table, view or index named `t`, `s.t` or
/// `cat.s.t`: the bare name in the default schema, `s.t` otherwise
/// ([`llkv_mvcc::qualified_name`], which maps the default schema `main`
/// to the bare name).
///
/// # Errors
/// A name of more than three parts or a part that is not an identifier.
pub fn table_name(n: &ast::ObjectName) -> SqlResult<String> {
    let parts: Option<Vec<String>> = n.0.iter().map(|p| p.as_ident().map(ident_name)).collect();
    match parts.as_deref() {
        Some([t]) => Ok(t.clone()),
        Some([s, t] | [_, s, t]) => Ok(llkv_mvcc::qualified_name(s, t)),
        _ => Err(SqlError::plan(format!("unsupported name {n}"))),
    }
}
