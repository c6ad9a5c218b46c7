//! Row write locks held by active transactions: the first writer of a row
//! owns it until it ends, and any other writer fails at once. Table names
//! work the same way: a transaction that creates a table owns its name until
//! it ends (even if it drops the table again), so a concurrent CREATE of the
//! same name fails at once instead of at COMMIT (as DuckDB's catalog does).

use crate::database::TxnId;
use llkv_store::TableId;
use parking_lot::Mutex;
use std::collections::HashMap;

/// Which active transaction is writing each row.
#[derive(Default)]
pub(crate) struct RowLocks {
    owners: Mutex<HashMap<(TableId, u64), TxnId>>,
    names: Mutex<HashMap<String, TxnId>>,
}

impl RowLocks {
    /// Takes the locks of `rows` for `txn`; on a row owned by another transaction
    /// takes none and returns false.
    pub(crate) fn try_lock(&self, txn: TxnId, table: TableId, rows: &[u64]) -> bool {
        let mut owners = self.owners.lock();
        if rows.iter().any(|r| owners.get(&(table, *r)).is_some_and(|o| *o != txn)) {
            return false;
        }
        for r in rows {
            owners.insert((table, *r), txn);
        }
        true
    }

    /// Releases the given locks of `txn`.
    pub(crate) fn release(&self, txn: TxnId, locks: impl IntoIterator<Item = (TableId, u64)>) {
        let mut owners = self.owners.lock();
        for k in locks {
            if owners.get(&k) == Some(&txn) {
                owners.remove(&k);
            }
        }
    }

    /// Takes the lock of table name `name` (lower-cased) for `txn`; false when
    /// another transaction owns it.
    pub(crate) fn try_lock_name(&self, txn: TxnId, name: &str) -> bool {
        let mut names = self.names.lock();
        match names.get(name) {
            Some(o) if *o != txn => false,
            _ => {
                names.insert(name.to_string(), txn);
                true
            }
        }
    }

    /// Releases the given name locks of `txn`.
    pub(crate) fn release_names(&self, txn: TxnId, locks: impl IntoIterator<Item = String>) {
        let mut names = self.names.lock();
        for k in locks {
            if names.get(&k) == Some(&txn) {
                names.remove(&k);
            }
        }
    }
}
