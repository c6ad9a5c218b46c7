//! FOREIGN KEY constraints, enforced here so that every route gets them.
//!
//! A table's foreign keys live in its catalog entry, in the table property
//! [`FOREIGN_KEYS_PROPERTY`] (see [`ForeignKey::encode_all`]). The rules (as in
//! DuckDB, `NO ACTION`):
//! - a row inserted into (or updated in) the referencing table must have a key
//!   with a NULL, or a key that a row of the referenced table had before the
//!   statement;
//! - a statement must not remove (DELETE, UPDATE of the key, TRUNCATE) a
//!   referenced key that a row of a referencing table still holds;
//! - a referenced table cannot be dropped while another table references it.

use crate::constraints::encode_keys;
use crate::error::{Error, Result};
use crate::transaction::{TableHandle, Transaction};
use arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow::datatypes::DataType;
use llkv_store::{ScanRequest, TableMeta};
use std::collections::HashSet;
use std::sync::Arc;

/// The table property holding a table's foreign keys.
pub const FOREIGN_KEYS_PROPERTY: &str = "foreign_keys";

/// One FOREIGN KEY of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referencing columns (names in this table).
    pub columns: Vec<String>,
    /// The referenced table.
    pub parent: String,
    /// The referenced columns (names in the parent table); empty in a
    /// definition means the parent's primary key.
    pub parent_columns: Vec<String>,
}

fn escape(s: &str) -> String {
    s.replace('%', "%25").replace(',', "%2C").replace('|', "%7C").replace(';', "%3B")
}

fn unescape(s: &str) -> String {
    s.replace("%3B", ";").replace("%7C", "|").replace("%2C", ",").replace("%25", "%")
}

impl ForeignKey {
    /// The property text of a list of foreign keys (`cols|parent|cols;…`).
    pub fn encode_all(fks: &[ForeignKey]) -> String {
        let names = |v: &[String]| v.iter().map(|n| escape(n)).collect::<Vec<_>>().join(",");
        fks.iter()
            .map(|f| {
                format!("{}|{}|{}", names(&f.columns), escape(&f.parent), names(&f.parent_columns))
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The foreign keys of a table definition.
    ///
    /// # Errors
    /// [`Error::Store`] (corrupt) for property text that does not parse.
    pub fn of(meta: &TableMeta) -> Result<Vec<ForeignKey>> {
        let Some(text) = meta.properties.get(FOREIGN_KEYS_PROPERTY) else { return Ok(Vec::new()) };
        let names = |s: &str| -> Vec<String> {
            if s.is_empty() { Vec::new() } else { s.split(',').map(unescape).collect() }
        };
        text.split(';')
            .filter(|s| !s.is_empty())
            .map(|fk| {
                let parts: Vec<&str> = fk.split('|').collect();
                match parts.as_slice() {
                    [c, p, pc] => Ok(ForeignKey {
                        columns: names(c),
                        parent: unescape(p),
                        parent_columns: names(pc),
                    }),
                    _ => Err(Error::Store(llkv_store::Error::Corrupt(format!(
                        "bad foreign key definition on table {}: {fk}",
                        meta.name
                    )))),
                }
            })
            .collect()
    }
}

fn column(meta: &TableMeta, name: &str) -> Result<usize> {
    meta.columns
        .iter()
        .position(|c| c.name == name)
        .or_else(|| meta.columns.iter().position(|c| c.name.eq_ignore_ascii_case(name)))
        .ok_or_else(|| {
            Error::Constraint(format!("table {} does not have a column named {name}", meta.name))
        })
}

/// Checks and completes the foreign keys of a table about to be created:
/// the referenced table exists (or is the table itself), the column lists
/// match in length, and the referenced columns are its primary key or a
/// UNIQUE key. Column names are replaced by the tables' exact names.
///
/// # Errors
/// [`Error::Constraint`] / [`Error::NoSuchTable`] describing the problem.
pub(crate) fn prepare(txn: &Transaction, meta: &mut TableMeta) -> Result<()> {
    let mut fks = ForeignKey::of(meta)?;
    if fks.is_empty() {
        return Ok(());
    }
    for fk in &mut fks {
        let parent_meta: Arc<TableMeta> = if fk.parent == meta.name {
            Arc::new(meta.clone())
        } else {
            txn.table(&fk.parent)?.ok_or_else(|| Error::NoSuchTable(fk.parent.clone()))?.meta
        };
        let cols = fk.columns.iter().map(|c| column(meta, c)).collect::<Result<Vec<_>>>()?;
        let pcols: Vec<usize> = if fk.parent_columns.is_empty() {
            if parent_meta.primary_key.is_empty() {
                return Err(Error::Constraint(format!(
                    "table {} has no primary key for a FOREIGN KEY to reference",
                    parent_meta.name
                )));
            }
            parent_meta.primary_key.clone()
        } else {
            fk.parent_columns.iter().map(|c| column(&parent_meta, c)).collect::<Result<_>>()?
        };
        if cols.len() != pcols.len() {
            return Err(Error::Constraint(format!(
                "the FOREIGN KEY on {} names {} columns but references {}",
                meta.name,
                cols.len(),
                pcols.len()
            )));
        }
        let as_set = |v: &[usize]| v.iter().copied().collect::<HashSet<usize>>();
        let target = as_set(&pcols);
        let is_key = (!parent_meta.primary_key.is_empty()
            && as_set(&parent_meta.primary_key) == target)
            || parent_meta.unique.iter().any(|u| as_set(u) == target);
        if !is_key {
            return Err(Error::Constraint(format!(
                "the columns a FOREIGN KEY references in {} must be its PRIMARY KEY or UNIQUE",
                parent_meta.name
            )));
        }
        fk.columns = cols.iter().map(|&i| meta.columns[i].name.clone()).collect();
        fk.parent = parent_meta.name.clone();
        fk.parent_columns = pcols.iter().map(|&i| parent_meta.columns[i].name.clone()).collect();
    }
    meta.properties.insert(FOREIGN_KEYS_PROPERTY.into(), ForeignKey::encode_all(&fks));
    Ok(())
}

/// The tables (other than `except`) whose foreign keys reference `parent`.
pub(crate) fn referencing(
    txn: &Transaction,
    parent: &str,
) -> Result<Vec<(TableHandle, ForeignKey)>> {
    let mut out = Vec::new();
    // Only tables with foreign keys are opened (a statement on a schema
    // without any pays one pass over the catalog, no copies).
    for name in txn.tables_with_property(FOREIGN_KEYS_PROPERTY)? {
        let Some(h) = txn.table(&name)? else { continue };
        for fk in ForeignKey::of(&h.meta)? {
            if fk.parent == parent {
                out.push((h.clone(), fk));
            }
        }
    }
    Ok(out)
}

fn violation(child: &str, fk: &ForeignKey, what: &str) -> Error {
    Error::Constraint(format!(
        "Violates foreign key constraint: {what} ({}.{} references {}({}))",
        child,
        fk.columns.join(", "),
        fk.parent,
        fk.parent_columns.join(", ")
    ))
}

/// Key columns of `batch` (at `cols`), cast to the `types` of the referenced columns.
fn key_columns(batch: &RecordBatch, cols: &[usize], types: &[DataType]) -> Result<Vec<ArrayRef>> {
    cols.iter()
        .zip(types)
        .map(|(&c, t)| {
            let a = batch.column(c);
            Ok(if a.data_type() == t { Arc::clone(a) } else { arrow::compute::cast(a, t)? })
        })
        .collect()
}

fn types_of(meta: &TableMeta, cols: &[usize]) -> Vec<DataType> {
    cols.iter().map(|&c| meta.columns[c].data_type.clone()).collect()
}

/// The keys (at `cols`) of `table`'s rows as this transaction sees them,
/// leaving out the rows in `skip`.
fn table_keys(
    txn: &Transaction,
    table: &TableHandle,
    cols: &[usize],
    skip: &HashSet<u64>,
) -> Result<HashSet<Vec<u8>>> {
    let req =
        ScanRequest { projection: Some(cols.to_vec()), with_row_ids: true, ..Default::default() };
    let batches = txn.scan(table, &req)?;
    let mut set = HashSet::new();
    for b in &batches {
        let ids = b.column(b.num_columns() - 1);
        let ids = ids.as_any().downcast_ref::<UInt64Array>();
        let keys = encode_keys(&b.columns()[..cols.len()])?;
        for (i, k) in keys.into_iter().enumerate() {
            let removed = ids.is_some_and(|a| skip.contains(&a.value(i)));
            if let (Some(k), false) = (k, removed) {
                set.insert(k);
            }
        }
    }
    Ok(set)
}

/// Keys (at `cols`) of the committed rows of `table` that this transaction deleted.
fn own_deleted_keys(
    txn: &Transaction,
    table: &TableHandle,
    cols: &[usize],
) -> Result<HashSet<Vec<u8>>> {
    let deleted = txn.deleted_rows(table);
    let Some(stored) = txn.stored_table(table) else { return Ok(HashSet::new()) };
    if deleted.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<u64> = deleted.iter().copied().collect();
    let batch = txn.database().store().read_rows(&stored, &ids, cols)?;
    Ok(encode_keys(batch.columns())?.into_iter().flatten().collect())
}

/// Child keys accepted during a transaction because they referenced parent
/// rows the same transaction had deleted; COMMIT checks them again.
#[derive(Debug, Clone)]
pub(crate) struct DeferredCheck {
    /// The referencing table.
    pub(crate) child: String,
    /// Its foreign key.
    pub(crate) fk: ForeignKey,
    /// The keys (encoded in the parent's column types).
    pub(crate) keys: Vec<Vec<u8>>,
}

/// At COMMIT: every deferred key that a row of the child still holds must
/// exist in the parent.
///
/// # Errors
/// [`Error::Constraint`] naming the foreign key.
pub(crate) fn check_deferred(txn: &Transaction, checks: &[DeferredCheck]) -> Result<()> {
    for c in checks {
        let (Some(child), Some(parent)) = (txn.table(&c.child)?, txn.table(&c.fk.parent)?) else {
            continue;
        };
        let pcols = positions(&parent.meta, &c.fk.parent_columns)?;
        let present = table_keys(txn, &parent, &pcols, &HashSet::new())?;
        let absent: HashSet<&Vec<u8>> = c.keys.iter().filter(|k| !present.contains(*k)).collect();
        if absent.is_empty() {
            continue;
        }
        let ccols = positions(&child.meta, &c.fk.columns)?;
        let types = types_of(&parent.meta, &pcols);
        let req = ScanRequest { projection: Some(ccols.clone()), ..Default::default() };
        for b in txn.scan(&child, &req)? {
            let idx: Vec<usize> = (0..ccols.len()).collect();
            let keys = encode_keys(&key_columns(&b, &idx, &types)?)?;
            if keys.iter().flatten().any(|k| absent.contains(k)) {
                return Err(violation(&child.name, &c.fk, "the referenced key does not exist"));
            }
        }
    }
    Ok(())
}

fn positions(meta: &TableMeta, names: &[String]) -> Result<Vec<usize>> {
    names.iter().map(|n| column(meta, n)).collect()
}

/// Checks a change to `table`: `removed` row ids go, `added` rows come.
/// Runs before the change is recorded.
///
/// # Errors
/// [`Error::Constraint`] naming the foreign key.
pub(crate) fn check_change(
    txn: &Transaction,
    table: &TableHandle,
    removed: &[u64],
    added: Option<&RecordBatch>,
) -> Result<()> {
    let removed_set: HashSet<u64> = removed.iter().copied().collect();
    // This table as the referencing side: new keys must exist in the parent.
    if let Some(batch) = added.filter(|b| b.num_rows() > 0) {
        for fk in ForeignKey::of(&table.meta)? {
            let parent = if fk.parent == table.name {
                table.clone()
            } else {
                txn.table(&fk.parent)?.ok_or_else(|| Error::NoSuchTable(fk.parent.clone()))?
            };
            let pcols = positions(&parent.meta, &fk.parent_columns)?;
            let skip = if fk.parent == table.name { removed_set.clone() } else { HashSet::new() };
            let keys = table_keys(txn, &parent, &pcols, &skip)?;
            let cols = positions(&table.meta, &fk.columns)?;
            let new_keys =
                encode_keys(&key_columns(batch, &cols, &types_of(&parent.meta, &pcols))?)?;
            let missing: Vec<Vec<u8>> =
                new_keys.into_iter().flatten().filter(|k| !keys.contains(k)).collect();
            if missing.is_empty() {
                continue;
            }
            // As in DuckDB, a key this transaction itself deleted from the
            // parent still counts while it runs; unlike DuckDB, COMMIT checks
            // it again (see `check_deferred`), so no dangling key is committed.
            let own = own_deleted_keys(txn, &parent, &pcols)?;
            if missing.iter().all(|k| own.contains(k)) {
                txn.defer_foreign_key_check(DeferredCheck {
                    child: table.name.clone(),
                    fk: fk.clone(),
                    keys: missing,
                });
            } else {
                return Err(violation(&table.name, &fk, "the referenced key does not exist"));
            }
        }
    }
    if removed.is_empty() {
        return Ok(());
    }
    // This table as the referenced side: removed keys must not be in use.
    for (child, fk) in referencing(txn, &table.name)? {
        let pcols = positions(&table.meta, &fk.parent_columns)?;
        let types = types_of(&table.meta, &pcols);
        let mut kept = table_keys(txn, table, &pcols, &removed_set)?;
        if let Some(b) = added {
            kept.extend(encode_keys(&key_columns(b, &pcols, &types)?)?.into_iter().flatten());
        }
        // The keys that go away.
        let all = table_keys(txn, table, &pcols, &HashSet::new())?;
        let gone: HashSet<Vec<u8>> = all.difference(&kept).cloned().collect();
        if gone.is_empty() {
            continue;
        }
        let ccols = positions(&child.meta, &fk.columns)?;
        let req = ScanRequest { projection: Some(ccols.clone()), ..Default::default() };
        for b in txn.scan(&child, &req)? {
            let idx: Vec<usize> = (0..ccols.len()).collect();
            let keys = encode_keys(&key_columns(&b, &idx, &types)?)?;
            if keys.into_iter().flatten().any(|k| gone.contains(&k)) {
                return Err(violation(&child.name, &fk, "a row still references the key"));
            }
        }
    }
    Ok(())
}

/// Refuses to drop a table that another table references.
///
/// # Errors
/// [`Error::Constraint`] naming the referencing table.
pub(crate) fn check_drop(txn: &Transaction, name: &str) -> Result<()> {
    if let Some((child, _)) = referencing(txn, name)?.into_iter().find(|(c, _)| c.name != name) {
        return Err(Error::Constraint(format!(
            "Could not drop the table because this table is main key table of the table \"{}\"",
            child.name
        )));
    }
    Ok(())
}
