//! Schemas (namespaces of tables and views), as in DuckDB and PostgreSQL.
//!
//! The default schema is [`DEFAULT_SCHEMA`] (`main`); it always exists and
//! its tables keep their bare names. A table `t` of another schema `s` is
//! stored under the name `s.t` (see [`qualified_name`]); schema `s` itself is
//! the database property `schema.s`, so schemas persist and are
//! transactional like every other catalog change. Views and indexes of a
//! schema follow the same naming (`view.s.v`).

use crate::error::{Error, Result};
use crate::index::{INDEX_PREFIX, parse_index_def};
use crate::transaction::Transaction;

/// The schema every database has, where unqualified names live.
pub const DEFAULT_SCHEMA: &str = "main";

/// Database property prefix of the schemas made by `CREATE SCHEMA`.
pub const SCHEMA_PREFIX: &str = "schema.";

/// Database property prefix of views (both routes store views under it).
const VIEW_PREFIX: &str = "view.";

/// The catalog name of table (or view) `name` in `schema`: `name` itself in
/// the default schema, `schema.name` elsewhere.
pub fn qualified_name(schema: &str, name: &str) -> String {
    if schema == DEFAULT_SCHEMA { name.to_string() } else { format!("{schema}.{name}") }
}

/// Splits a catalog name made by [`qualified_name`] into schema and name.
pub fn split_qualified(name: &str) -> (&str, &str) {
    name.split_once('.').unwrap_or((DEFAULT_SCHEMA, name))
}

impl Transaction {
    /// Whether schema `name` exists (the default schema always does).
    pub fn schema_exists(&self, name: &str) -> bool {
        name == DEFAULT_SCHEMA || self.property(&format!("{SCHEMA_PREFIX}{name}")).is_some()
    }

    /// The schemas this transaction sees, the default schema first.
    pub fn schema_names(&self) -> Vec<String> {
        let mut out = vec![DEFAULT_SCHEMA.to_string()];
        out.extend(
            self.properties_with_prefix(SCHEMA_PREFIX)
                .into_keys()
                .map(|k| k[SCHEMA_PREFIX.len()..].to_string()),
        );
        out
    }

    /// Checks that the schema a catalog name (see [`qualified_name`]) lives in exists.
    ///
    /// # Errors
    /// [`Error::NoSuchSchema`].
    pub fn check_schema_of(&self, name: &str) -> Result<()> {
        let (schema, _) = split_qualified(name);
        if self.schema_exists(schema) { Ok(()) } else { Err(Error::NoSuchSchema(schema.into())) }
    }

    /// `CREATE SCHEMA name`.
    ///
    /// # Errors
    /// [`Error::SchemaExists`]; [`Error::Store`] for a name with a dot.
    pub fn create_schema(&self, name: &str) -> Result<()> {
        if self.schema_exists(name) {
            return Err(Error::SchemaExists(name.to_string()));
        }
        if name.is_empty() || name.contains('.') {
            return Err(Error::Store(llkv_store::Error::Invalid(format!(
                "invalid schema name {name:?}"
            ))));
        }
        self.set_property(&format!("{SCHEMA_PREFIX}{name}"), Some(String::new()))
    }

    /// The catalog names of the tables in schema `name`, sorted.
    ///
    /// # Errors
    /// [`Error::Aborted`] / [`Error::Ended`].
    pub fn tables_in_schema(&self, name: &str) -> Result<Vec<String>> {
        Ok(self.table_names()?.into_iter().filter(|t| split_qualified(t).0 == name).collect())
    }

    /// `DROP SCHEMA name [CASCADE]`: without `cascade` the schema must hold no
    /// table or view; with it, its tables, views and their indexes go too.
    /// Returns the catalog names of the dropped tables.
    ///
    /// # Errors
    /// [`Error::NoSuchSchema`]; [`Error::SchemaNotEmpty`]; the errors of
    /// [`Transaction::drop_table`] (a table of another schema references one
    /// of its tables).
    pub fn drop_schema(&self, name: &str, cascade: bool) -> Result<Vec<String>> {
        if name == DEFAULT_SCHEMA {
            return Err(Error::TransactionState(format!("cannot drop schema {name}")));
        }
        if !self.schema_exists(name) {
            return Err(Error::NoSuchSchema(name.to_string()));
        }
        let tables = self.tables_in_schema(name)?;
        let view_prefix = format!("{VIEW_PREFIX}{name}.");
        let views: Vec<String> = self.properties_with_prefix(&view_prefix).into_keys().collect();
        if !cascade && (!tables.is_empty() || !views.is_empty()) {
            return Err(Error::SchemaNotEmpty(name.to_string()));
        }
        // Tables referenced by other tables of the schema go after them.
        let mut left = tables.clone();
        while !left.is_empty() {
            let mut next = Vec::new();
            let mut last_err = None;
            for t in &left {
                if let Err(e) = self.drop_table(t) {
                    last_err = Some(e);
                    next.push(t.clone());
                }
            }
            if next.len() == left.len()
                && let Some(e) = last_err
            {
                return Err(e);
            }
            left = next;
        }
        for v in views {
            self.set_property(&v, None)?;
        }
        for (k, v) in self.properties_with_prefix(INDEX_PREFIX) {
            if parse_index_def(&v).is_some_and(|(_, t, _)| split_qualified(&t).0 == name) {
                self.set_property(&k, None)?;
            }
        }
        self.set_property(&format!("{SCHEMA_PREFIX}{name}"), None)?;
        Ok(tables)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;
    use arrow::datatypes::DataType;
    use llkv_store::{ColumnMeta, TableMeta};

    fn table(name: &str) -> TableMeta {
        TableMeta::new(name, vec![ColumnMeta::new("a", DataType::Int64, true)])
    }

    #[test]
    fn schemas_are_created_persisted_and_dropped_with_their_tables() -> Result<()> {
        let db = Database::in_memory();
        let txn = db.begin();
        assert!(txn.schema_exists("main"));
        assert!(matches!(txn.create_table(table("s.t")), Err(Error::NoSuchSchema(_))));
        txn.create_schema("s")?;
        assert!(matches!(txn.create_schema("s"), Err(Error::SchemaExists(_))));
        txn.create_table(table("s.t"))?;
        txn.create_table(table("t"))?;
        txn.commit()?;
        let txn = db.begin();
        assert_eq!(txn.schema_names(), vec!["main".to_string(), "s".to_string()]);
        assert_eq!(txn.tables_in_schema("s")?, vec!["s.t".to_string()]);
        assert!(matches!(txn.drop_schema("s", false), Err(Error::SchemaNotEmpty(_))));
        assert_eq!(txn.drop_schema("s", true)?, vec!["s.t".to_string()]);
        txn.commit()?;
        let txn = db.begin();
        assert!(!txn.schema_exists("s"));
        assert!(txn.table("s.t")?.is_none());
        assert!(txn.table("t")?.is_some());
        Ok(())
    }

    #[test]
    fn qualified_names_round_trip() {
        assert_eq!(qualified_name("main", "t"), "t");
        assert_eq!(qualified_name("s", "t"), "s.t");
        assert_eq!(split_qualified("s.t"), ("s", "t"));
        assert_eq!(split_qualified("t"), ("main", "t"));
    }
}
