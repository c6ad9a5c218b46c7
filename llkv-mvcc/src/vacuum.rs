//! Reclaiming row versions that no snapshot can see, and the space they use.
//!
//! A row version whose `deleted_by` is at most the *horizon* — the oldest
//! snapshot of an active transaction, or the last commit when none is active —
//! is invisible to every running transaction and to every later one (their
//! snapshots are at least the horizon). [`Database::vacuum`] deletes such
//! versions in the store (its deletion bitmap, one small commit that changes
//! no MVCC timestamp) and then vacuums the store, which drops what only those
//! versions and superseded chunks used. Readers are never blocked: a
//! transaction reads the store version it began with, which the store keeps
//! readable.
//!
//! **Automatic vacuum** (policy, checked after every commit in O(1)): when the
//! row versions deleted (DELETE, UPDATE) since the last vacuum reach both
//! [`AutoVacuum::min_dead_rows`] and [`AutoVacuum::dead_fraction`] of the
//! rows stored, the committing thread runs [`Database::vacuum`] after its
//! commit is published and its locks released. Failures of an automatic
//! vacuum never fail the commit; they are kept for [`Database::last_auto_vacuum_error`].

use crate::database::Database;
use crate::error::Result;
use crate::versioning::DELETED_COLUMN;
use arrow::array::{Array, UInt64Array};
use llkv_store::{CmpOp, Predicate, ScanRequest, TableId, VacuumStats, Version};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// When the database vacuums by itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoVacuum {
    /// Never fewer dead row versions than this.
    pub min_dead_rows: u64,
    /// Dead row versions as a fraction of the rows stored at the last vacuum
    /// plus those inserted since.
    pub dead_fraction: f64,
}

impl Default for AutoVacuum {
    fn default() -> Self {
        Self { min_dead_rows: 100_000, dead_fraction: 0.5 }
    }
}

/// What a [`Database::vacuum`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VacuumReport {
    /// The horizon: versions deleted at or before this timestamp were reclaimed.
    pub horizon: u64,
    /// Dead row versions deleted from the store by this vacuum.
    pub versions_removed: u64,
    /// What the store's vacuum did.
    pub store: VacuumStats,
}

/// Rows stored in a version (deleted ones excluded).
pub(crate) fn stored_rows(v: &Version) -> u64 {
    v.tables().map(|t| t.live_rows()).sum()
}

impl Database {
    /// The newest timestamp such that no active or future snapshot can see a
    /// row version deleted at or before it.
    pub fn vacuum_horizon(&self) -> u64 {
        let active = self.inner.active.lock();
        let last = self.last_committed();
        active.values().min().copied().unwrap_or(last).min(last)
    }

    /// Reclaims row versions no snapshot can see, then vacuums the store.
    /// Readers are not blocked; writers wait while the store is rewritten.
    ///
    /// # Errors
    /// Store errors (I/O). The database stays consistent: either step may be
    /// repeated.
    pub fn vacuum(&self) -> Result<VacuumReport> {
        let _one = self.inner.vacuum_lock.lock();
        let horizon = self.vacuum_horizon();
        let store = self.store();
        let version = store.current();
        let mut dead: Vec<(TableId, Vec<u64>)> = Vec::new();
        for t in version.tables() {
            let Some(del) = t.meta.column_index(DELETED_COLUMN) else { continue };
            let req = ScanRequest {
                projection: Some(vec![]),
                predicates: vec![Predicate::Compare {
                    column: del,
                    op: CmpOp::LtEq,
                    value: Arc::new(UInt64Array::from(vec![horizon])),
                }],
                with_row_ids: true,
                ..Default::default()
            };
            let mut ids = Vec::new();
            for b in store.scan(t, &req)? {
                let col = b.column(b.num_columns() - 1);
                if let Some(a) = col.as_any().downcast_ref::<UInt64Array>() {
                    ids.extend(a.values().iter().copied());
                }
            }
            if !ids.is_empty() {
                dead.push((t.id, ids));
            }
        }
        let mut removed = 0;
        if !dead.is_empty() {
            let _commit = self.inner.commit_lock.lock();
            let mut w = store.begin_write()?;
            for (id, ids) in &dead {
                // A table dropped meanwhile took its rows along (ids are never reused).
                if w.version().table(*id).is_some() {
                    w.delete(*id, ids)?;
                    removed += ids.len() as u64;
                }
            }
            w.commit()?;
        }
        let stats = store.vacuum()?;
        self.inner.dead_since_vacuum.store(0, Ordering::Release);
        self.inner.inserted_since_vacuum.store(0, Ordering::Release);
        self.inner.rows_at_vacuum.store(stored_rows(&store.current()), Ordering::Release);
        Ok(VacuumReport { horizon, versions_removed: removed, store: stats })
    }

    /// Sets (or with `None` turns off) automatic vacuum.
    pub fn set_auto_vacuum(&self, policy: Option<AutoVacuum>) {
        *self.inner.auto_vacuum.lock() = policy;
    }

    /// The automatic vacuum policy in force.
    pub fn auto_vacuum(&self) -> Option<AutoVacuum> {
        *self.inner.auto_vacuum.lock()
    }

    /// The error of the last automatic vacuum that failed, if any.
    pub fn last_auto_vacuum_error(&self) -> Option<String> {
        self.inner.auto_vacuum_error.lock().clone()
    }

    /// Called after a commit that deleted `dead` and inserted `inserted` row
    /// versions: counts them and vacuums when the policy says so.
    pub(crate) fn after_commit(&self, dead: u64, inserted: u64) {
        let inner = &self.inner;
        let dead = inner.dead_since_vacuum.fetch_add(dead, Ordering::AcqRel) + dead;
        let inserted = inner.inserted_since_vacuum.fetch_add(inserted, Ordering::AcqRel) + inserted;
        let Some(policy) = self.auto_vacuum() else { return };
        let stored = inner.rows_at_vacuum.load(Ordering::Acquire) + inserted;
        if dead < policy.min_dead_rows || (dead as f64) < policy.dead_fraction * stored as f64 {
            return;
        }
        if inner.vacuum_lock.is_locked() {
            return;
        }
        match self.vacuum() {
            Ok(_) => *inner.auto_vacuum_error.lock() = None,
            Err(e) => *inner.auto_vacuum_error.lock() = Some(e.to_string()),
        }
    }
}
