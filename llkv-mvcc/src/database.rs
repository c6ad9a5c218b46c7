//! The database: a store plus the state shared by all transactions.

use crate::error::Result;
use crate::locks::RowLocks;
use crate::transaction::Transaction;
use crate::vacuum::{AutoVacuum, stored_rows};
use llkv_store::{Store, StoreOptions};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Identifies a transaction while it runs (not persisted).
pub type TxnId = u64;

pub(crate) struct DbInner {
    pub(crate) store: Store,
    /// Serializes commits: validation, the store write and publishing.
    pub(crate) commit_lock: Mutex<()>,
    /// Timestamp of the newest commit visible to new snapshots.
    pub(crate) last_committed: AtomicU64,
    pub(crate) next_txn: AtomicU64,
    /// Active transactions and their snapshot timestamps.
    pub(crate) active: Mutex<BTreeMap<TxnId, u64>>,
    pub(crate) row_locks: RowLocks,
    /// One vacuum at a time (see `vacuum.rs`).
    pub(crate) vacuum_lock: Mutex<()>,
    /// Row versions deleted by commits since the last vacuum.
    pub(crate) dead_since_vacuum: AtomicU64,
    /// Rows inserted by commits since the last vacuum.
    pub(crate) inserted_since_vacuum: AtomicU64,
    /// Rows stored right after the last vacuum (or at open).
    pub(crate) rows_at_vacuum: AtomicU64,
    pub(crate) auto_vacuum: Mutex<Option<AutoVacuum>>,
    pub(crate) auto_vacuum_error: Mutex<Option<String>>,
}

/// A transactional llkv database. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct Database {
    pub(crate) inner: Arc<DbInner>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("last_committed", &self.last_committed()).finish()
    }
}

impl Database {
    /// Opens or creates a database file.
    ///
    /// # Errors
    /// The store's open errors (locked, not a database, corrupt, I/O).
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens or creates a database file with the given store options.
    ///
    /// # Errors
    /// As for [`Database::open`].
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        Ok(Self::from_store(Store::open(path, options)?))
    }

    /// Opens an existing database file for reading only: queries run, and a
    /// transaction that changes anything fails at commit with
    /// `llkv_store::Error::ReadOnly`. Several read-only opens may share a file
    /// (a shared lock); none can coexist with a read-write open.
    ///
    /// # Errors
    /// As for `llkv_store::Store::open_read_only`.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::from_store(Store::open_read_only(path, StoreOptions::default())?))
    }

    /// Whether the database refuses writes ([`Database::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.inner.store.is_read_only()
    }

    /// A new in-memory database.
    pub fn in_memory() -> Self {
        Self::from_store(Store::in_memory())
    }

    /// Wraps an open store.
    pub fn from_store(store: Store) -> Self {
        let last = store.current().user_seq;
        let rows = stored_rows(&store.current());
        Self {
            inner: Arc::new(DbInner {
                store,
                commit_lock: Mutex::new(()),
                last_committed: AtomicU64::new(last),
                next_txn: AtomicU64::new(1),
                active: Mutex::new(BTreeMap::new()),
                row_locks: RowLocks::default(),
                vacuum_lock: Mutex::new(()),
                dead_since_vacuum: AtomicU64::new(0),
                inserted_since_vacuum: AtomicU64::new(0),
                rows_at_vacuum: AtomicU64::new(rows),
                auto_vacuum: Mutex::new(Some(AutoVacuum::default())),
                auto_vacuum_error: Mutex::new(None),
            }),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Timestamp of the newest committed transaction.
    pub fn last_committed(&self) -> u64 {
        self.inner.last_committed.load(Ordering::Acquire)
    }

    /// Starts a transaction with a snapshot of everything committed so far.
    pub fn begin(&self) -> Arc<Transaction> {
        Arc::new(Transaction::new(self.clone()))
    }

    /// Snapshot timestamp of the oldest active transaction, if any.
    pub fn oldest_active_snapshot(&self) -> Option<u64> {
        self.inner.active.lock().values().min().copied()
    }
}
