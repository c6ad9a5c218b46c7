//! `REINDEX [name]` (SQLite), which sqlparser does not parse. llkv's indexes
//! are maintained with every change and never need a rebuild, so the
//! statement only checks that its name is a table or an index.

use crate::error::{SqlError, SqlResult};
use llkv_mvcc::{INDEX_PREFIX, Transaction};

/// Recognises a `REINDEX` statement: `None` when `sql` is not one, otherwise
/// its object name (lower-cased; `None` for a bare `REINDEX`), or an error
/// for a form llkv does not know.
pub fn parse(sql: &str) -> Option<SqlResult<Option<String>>> {
    let text = sql.trim().trim_end_matches(';').trim();
    let mut words = text.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("REINDEX") {
        return None;
    }
    Some(match (words.next(), words.next()) {
        (None, _) => Ok(None),
        (Some(n), None) => Ok(Some(n.trim_matches('"').to_ascii_lowercase())),
        _ => Err(SqlError::plan(format!("unsupported statement: {text}"))),
    })
}

/// Runs a parsed `REINDEX` in `txn`: succeeds when `name` is absent or names
/// a table or an index.
///
/// # Errors
/// A name that is neither, as SQLite words it.
pub fn check(txn: &Transaction, name: Option<&str>) -> llkv_mvcc::Result<()> {
    match name {
        Some(n)
            if txn.table(n)?.is_none() && txn.property(&format!("{INDEX_PREFIX}{n}")).is_none() =>
        {
            Err(llkv_mvcc::Error::TransactionState(format!(
                "unable to identify the object to be reindexed: {n}"
            )))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reindex_statements_are_recognised() {
        assert!(parse("SELECT 1").is_none());
        assert!(matches!(parse("reindex;"), Some(Ok(None))));
        assert!(matches!(parse(" REINDEX \"T1i1\" ; "), Some(Ok(Some(n))) if n == "t1i1"));
        assert!(matches!(parse("REINDEX a b"), Some(Err(_))));
    }
}
