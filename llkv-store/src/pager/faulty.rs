//! A pager that fails or tears writes on purpose, for crash-consistency tests.

use super::{Pager, Rewrite};
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
    /// Fail a vacuum's install before the new file replaces the old one.
    pub fail_install: bool,
    /// "Crash" right after a vacuum's install replaced the file: the store
    /// never hears that it succeeded.
    pub crash_after_install: bool,
}

/// Wraps another pager and injects the faults of a [`FaultPlan`].
///
/// After the planned fault every later write fails too, like a process that
/// died: the test then "reopens" by building a new store over [`FaultyPager::inner`].
pub struct FaultyPager {
    inner: Arc<dyn Pager>,
    plan: FaultPlan,
    /// Shared with the pagers of rewrites started through this one.
    writes: Arc<Mutex<u64>>,
    dead: Arc<Mutex<bool>>,
}

impl FaultyPager {
    /// Wraps `inner` with the given plan.
    pub fn new(inner: Arc<dyn Pager>, plan: FaultPlan) -> Self {
        Self { inner, plan, writes: Arc::default(), dead: Arc::default() }
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

    fn read_metadata(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>> {
        self.inner.read_metadata(keys)
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

    fn tail(&self) -> Option<u64> {
        self.inner.tail()
    }

    fn locate(&self, key: u64) -> Option<super::Location> {
        self.inner.locate(key)
    }

    fn learn(&self, locations: &[(u64, super::Location)]) {
        self.inner.learn(locations);
    }

    fn prepare_write(&self) {
        self.inner.prepare_write();
    }

    /// The rewrite's writes count and fail with this pager's.
    fn start_rewrite(&self) -> Result<Box<dyn Rewrite>> {
        if *self.dead.lock() {
            return Err(injected());
        }
        let inner = self.inner.start_rewrite()?;
        let pager = Arc::new(FaultyPager {
            inner: inner.pager(),
            plan: self.plan,
            writes: Arc::clone(&self.writes),
            dead: Arc::clone(&self.dead),
        });
        Ok(Box::new(FaultyRewrite { inner, pager }))
    }
}

/// A rewrite whose writes and install go through the fault plan.
struct FaultyRewrite {
    inner: Box<dyn Rewrite>,
    pager: Arc<FaultyPager>,
}

impl Rewrite for FaultyRewrite {
    fn pager(&self) -> Arc<dyn Pager> {
        Arc::clone(&self.pager) as Arc<dyn Pager>
    }

    fn install(self: Box<Self>) -> Result<()> {
        let plan = self.pager.plan;
        if plan.fail_install || *self.pager.dead.lock() {
            *self.pager.dead.lock() = true;
            return Err(injected());
        }
        self.inner.install()?;
        if plan.crash_after_install {
            *self.pager.dead.lock() = true;
            return Err(injected());
        }
        Ok(())
    }

    /// After a fault the process is taken as dead: it cleans nothing up.
    fn abandon(self: Box<Self>) {
        if !*self.pager.dead.lock() {
            self.inner.abandon();
        }
    }
}
