//! A pager that fails or tears writes on purpose, for crash-consistency tests.

use super::Pager;
use crate::error::{Error, Result};
use arrow::buffer::Buffer;
use parking_lot::Mutex;
use std::sync::Arc;

/// When and how [`FaultyPager`] misbehaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaultPlan {
    /// Fail the write call with this index (0-based, counting every `write`).
    pub fail_write: Option<u64>,
    /// When failing, first store only this many entries of the batch (a torn write).
    pub keep_entries: usize,
    /// Fail every `sync` call.
    pub fail_sync: bool,
}

/// Wraps another pager and injects the faults of a [`FaultPlan`].
///
/// After the planned fault every later write fails too, like a process that
/// died: the test then "reopens" by building a new store over [`FaultyPager::inner`].
pub struct FaultyPager {
    inner: Arc<dyn Pager>,
    plan: FaultPlan,
    writes: Mutex<u64>,
    dead: Mutex<bool>,
}

impl FaultyPager {
    /// Wraps `inner` with the given plan.
    pub fn new(inner: Arc<dyn Pager>, plan: FaultPlan) -> Self {
        Self { inner, plan, writes: Mutex::new(0), dead: Mutex::new(false) }
    }

    /// The wrapped pager, holding whatever reached it.
    pub fn inner(&self) -> Arc<dyn Pager> {
        Arc::clone(&self.inner)
    }

    /// How many write calls were made so far.
    pub fn write_count(&self) -> u64 {
        *self.writes.lock()
    }
}

fn injected() -> Error {
    Error::Io(std::io::Error::other("injected fault"))
}

impl Pager for FaultyPager {
    fn read(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>> {
        self.inner.read(keys)
    }

    fn write(&self, entries: &[(u64, &[u8])]) -> Result<()> {
        if *self.dead.lock() {
            return Err(injected());
        }
        let mut n = self.writes.lock();
        let index = *n;
        *n += 1;
        if self.plan.fail_write == Some(index) {
            *self.dead.lock() = true;
            let keep = self.plan.keep_entries.min(entries.len());
            self.inner.write(&entries[..keep])?;
            return Err(injected());
        }
        self.inner.write(entries)
    }

    fn delete(&self, keys: &[u64]) -> Result<()> {
        if *self.dead.lock() {
            return Err(injected());
        }
        self.inner.delete(keys)
    }

    fn sync(&self) -> Result<()> {
        if self.plan.fail_sync || *self.dead.lock() {
            return Err(injected());
        }
        self.inner.sync()
    }

    fn size_bytes(&self) -> Result<u64> {
        self.inner.size_bytes()
    }

    fn is_persistent(&self) -> bool {
        self.inner.is_persistent()
    }
}
