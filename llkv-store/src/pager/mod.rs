//! The narrow I/O interface under the store, and its backends.
//!
//! A [`Pager`] maps store-allocated `u64` keys to immutable byte blobs. Every
//! blob is handed back as an Arrow [`Buffer`] whose first byte is 64-byte
//! aligned, so column buffers inside it can be wrapped without copying.

mod faulty;
pub(crate) mod file;
mod memory;
pub(crate) mod recovery;

pub use faulty::{FaultPlan, FaultyPager};
pub use file::FilePager;
pub use memory::MemoryPager;

use crate::error::{Error, Result};
use arrow::buffer::Buffer;
use std::sync::Arc;

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
