//! The narrow I/O interface under the store, and its backends.
//!
//! A [`Pager`] maps store-allocated `u64` keys to immutable byte blobs. Every
//! blob is handed back as an Arrow [`Buffer`] whose first byte is 64-byte
//! aligned, so column buffers inside it can be wrapped without copying.

mod faulty;
pub(crate) mod file;
mod map;
mod memory;
pub(crate) mod recovery;

pub use faulty::{FaultPlan, FaultyPager};
pub use file::FilePager;
pub use memory::MemoryPager;

use crate::error::{Error, Result};
use arrow::buffer::Buffer;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a blob's payload lies in a file backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Offset of the payload's first byte.
    pub start: u64,
    /// Payload length in bytes.
    pub len: u64,
}

/// A key-value backend for immutable blobs.
///
/// Writes of one [`Pager::write`] call are not atomic across a crash: the store
/// makes a commit visible by one small record written (and synced) last.
pub trait Pager: Send + Sync {
    /// Reads the blobs stored under `keys`, `None` for a key never written or deleted.
    fn read(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>>;
    /// Reads metadata records (the header, commit, catalog, manifests,
    /// segments) while a store opens. A backend may serve these before it is
    /// fully open, as copies; the default is [`Pager::read`].
    fn read_metadata(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>> {
        self.read(keys)
    }
    /// Writes a batch of blobs. Every blob must be non-empty.
    fn write(&self, entries: &[(u64, &[u8])]) -> Result<()>;
    /// Deletes blobs; deleting a missing key is not an error.
    fn delete(&self, keys: &[u64]) -> Result<()>;
    /// Makes everything written so far durable (an fsync for files).
    fn sync(&self) -> Result<()>;
    /// Bytes used by the backend (the file size for files).
    fn size_bytes(&self) -> Result<u64>;
    /// Whether data survives the process.
    fn is_persistent(&self) -> bool;
    /// Whether the pager refuses writes (a read-only open).
    fn is_read_only(&self) -> bool {
        false
    }

    /// Where the next write's first entry starts, for a backend whose layout
    /// is predictable (files, see [`file::layout`]); `None` otherwise.
    fn tail(&self) -> Option<u64> {
        None
    }

    /// The location of `key`'s blob, when the backend knows it (it wrote the
    /// blob, or [`Pager::learn`] was told).
    fn locate(&self, _key: u64) -> Option<Location> {
        None
    }

    /// Records blob locations read from the store's own records, so that
    /// reading those keys needs no index of the whole file.
    fn learn(&self, _locations: &[(u64, Location)]) {}

    /// A hint that writes follow soon: a backend may start getting ready.
    fn prepare_write(&self) {}

    /// Starts a rewrite (vacuum): an empty pager of the same kind that can
    /// replace this one's contents atomically through [`Rewrite::install`].
    ///
    /// # Errors
    /// I/O errors creating the new backend; [`Error::Invalid`] for a pager
    /// that cannot be rewritten.
    fn start_rewrite(&self) -> Result<Box<dyn Rewrite>> {
        Err(Error::Invalid("this pager does not support vacuum".into()))
    }
}

/// A rewrite in progress: records go into [`Rewrite::pager`]; nothing of the
/// database changes until [`Rewrite::install`] succeeds.
pub trait Rewrite: Send {
    /// The new, initially empty backend. Blobs written to it stay invisible
    /// to a reopen until the rewrite is installed.
    fn pager(&self) -> Arc<dyn Pager>;
    /// Makes the new backend the database, atomically with respect to a
    /// crash (for files: fsync, rename over the old file, fsync the
    /// directory). Readers of the old backend keep working.
    ///
    /// # Errors
    /// I/O errors; before the switch the old database is untouched.
    fn install(self: Box<Self>) -> Result<()>;
    /// Gives up: removes whatever the rewrite created (a crash leaves it
    /// behind instead, and the next open removes it).
    fn abandon(self: Box<Self>);
}

/// Reads one metadata record, mapping "absent" to `None`.
pub(crate) fn read_one(pager: &dyn Pager, key: u64) -> Result<Option<Buffer>> {
    Ok(pager.read_metadata(&[key])?.pop().flatten())
}

/// Predicts where queued blobs land when they are written, in queue order, to
/// a backend with a predictable layout, so records can name the locations of
/// blobs written in the same batch.
#[derive(Debug, Default)]
pub(crate) struct Placement {
    /// Where the next queued blob's entry starts; `None`: not predictable.
    next: Option<u64>,
    placed: HashMap<u64, Location>,
}

impl Placement {
    /// Placement of blobs queued from now on for `pager`.
    pub(crate) fn new(pager: &dyn Pager) -> Self {
        Self { next: pager.tail(), placed: HashMap::new() }
    }

    /// Queues a blob of `len` bytes under `key`.
    pub(crate) fn place(&mut self, key: u64, len: usize) {
        if let Some(tail) = self.next {
            let (loc, next) = file::layout(tail, len as u64);
            self.placed.insert(key, loc);
            self.next = Some(next);
        }
    }

    /// The location of `key`: queued here, or known to the backend.
    pub(crate) fn get(&self, pager: &dyn Pager, key: u64) -> Option<Location> {
        self.placed.get(&key).copied().or_else(|| pager.locate(key))
    }

    /// Checks, after everything placed was written, that it landed where
    /// predicted; the records naming these locations must not be committed
    /// otherwise.
    ///
    /// # Errors
    /// [`Error::Io`] when the backend's tail is not the predicted one.
    pub(crate) fn check(&self, pager: &dyn Pager) -> Result<()> {
        match self.next {
            Some(want) if pager.tail() != Some(want) => {
                Err(Error::Io(std::io::Error::other(format!(
                    "blobs did not land where predicted (tail {:?}, expected {want})",
                    pager.tail()
                ))))
            }
            _ => Ok(()),
        }
    }
}
