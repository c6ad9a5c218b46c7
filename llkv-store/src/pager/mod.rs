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

use crate::error::Result;
use arrow::buffer::Buffer;

/// A key-value backend for immutable blobs.
///
/// Writes of one [`Pager::write`] call are not atomic across a crash: the store
/// makes a commit visible by one small record written (and synced) last.
pub trait Pager: Send + Sync {
    /// Reads the blobs stored under `keys`, `None` for a key never written or deleted.
    fn read(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>>;
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
}

/// Reads one key, mapping "absent" to `None`.
pub(crate) fn read_one(pager: &dyn Pager, key: u64) -> Result<Option<Buffer>> {
    Ok(pager.read(&[key])?.pop().flatten())
}
