//! The persistent pager: one simd-r-drive file, memory-mapped.
//!
//! simd-r-drive identifies entries only by a 64-bit hash and uses an identity
//! hasher for its index, so store keys pass through the bijective splitmix64
//! finalizer ([`mix`]): distinct keys stay distinct, and the index spreads well.
//!
//! simd-r-drive's own recovery truncates whatever it takes for a torn tail, so a
//! file is checked for llkv's header *before* simd-r-drive opens it: a foreign
//! file is rejected and left untouched. One process at a time: an exclusive
//! lock on `<file>.lock` is held for the life of the pager. Read-only pagers
//! ([`FilePager::open_read_only`]) take a shared lock instead, so several
//! readers may open the file at once, but never beside a writer.

use super::Pager;
use crate::error::{Error, Result};
use arrow::buffer::Buffer;
use parking_lot::RwLock;
use simd_r_drive::DataStore;
use simd_r_drive::traits::{DataStoreReader, DataStoreWriter};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The first bytes of every llkv file: the payload of key [`crate::HEADER_KEY`],
/// which is the first entry written and so lies at offset 0.
pub(crate) const FILE_MAGIC: &[u8; 8] = b"LLKVDB\0\x01";

/// splitmix64's finalizer: a bijection on u64.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A [`Pager`] over a simd-r-drive file.
pub struct FilePager {
    path: PathBuf,
    inner: RwLock<Handles>,
    /// File length before and after simd-r-drive's recovery trimmed a torn tail.
    trimmed: Option<(u64, u64)>,
    /// Opened by [`FilePager::open_read_only`]: writes are refused.
    read_only: bool,
    _lock: File,
}

/// The simd-r-drive handle and a plain handle on the same file used for fsync.
struct Handles {
    store: DataStore,
    sync: File,
}

impl Handles {
    fn open(path: &Path, existing: bool) -> Result<Self> {
        let store = if existing { DataStore::open_existing(path)? } else { DataStore::open(path)? };
        let sync = OpenOptions::new().read(true).open(path)?;
        Ok(Self { store, sync })
    }
}

/// What [`FilePager::open`] found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// The file did not exist or was empty; it is a new database.
    New,
    /// The file holds an llkv database.
    Existing,
}

impl FilePager {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`Error::Locked`] when another handle holds the database,
    /// [`Error::NotADatabase`] when the file is not an llkv file (it is not modified),
    /// [`Error::Io`] for I/O failures, including a missing parent directory.
    pub fn open(path: &Path) -> Result<(Self, FileState)> {
        let lock_path = lock_path(path);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked { path: path.to_path_buf() });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::Io(e)),
        }
        let state = check_header(path)?;
        let before = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if state == FileState::Existing {
            super::recovery::recover_file(path)?;
        }
        let handles = Handles::open(path, false)?;
        let after = handles.store.file_size()?;
        let trimmed = (after < before).then_some((before, after));
        let inner = RwLock::new(handles);
        Ok((
            Self { path: path.to_path_buf(), inner, trimmed, read_only: false, _lock: lock },
            state,
        ))
    }

    /// Opens an existing database file for reading only, under a shared lock:
    /// other read-only opens may share the file, a writer may not. The file is
    /// never modified, so one whose tail was torn by a crash is refused until a
    /// read-write open has recovered it. Writes through this pager fail with
    /// [`Error::ReadOnly`].
    ///
    /// # Errors
    /// [`Error::Locked`] when a writer holds the database,
    /// [`Error::NotFound`] when there is no database at `path`,
    /// [`Error::ReadOnly`] when the file needs recovery, and as for [`FilePager::open`].
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(lock_path(path))?;
        match lock.try_lock_shared() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked { path: path.to_path_buf() });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(Error::Io(e)),
        }
        if check_header(path)? == FileState::New {
            return Err(Error::NotFound(format!("database {}", path.display())));
        }
        if super::recovery::has_torn_tail(path)? {
            return Err(Error::ReadOnly(format!(
                "{} has an incomplete tail from an interrupted write; open it read-write once \
                 to recover it",
                path.display()
            )));
        }
        let handles = Handles::open(path, true)?;
        Ok(Self {
            path: path.to_path_buf(),
            inner: RwLock::new(handles),
            trimmed: None,
            read_only: true,
            _lock: lock,
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `(length before, length after)` when opening trimmed a torn or
    /// truncated tail from the file.
    pub fn trimmed(&self) -> Option<(u64, u64)> {
        self.trimmed
    }
}

/// `<file>.lock`, the sidecar file that carries the exclusive lock.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

fn check_header(path: &Path) -> Result<FileState> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::New),
        Err(e) => return Err(e.into()),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(FileState::New);
    }
    let mut head = [0u8; 8];
    let mut read = 0;
    while read < head.len() {
        let n = file.read(&mut head[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    if read < head.len() && FILE_MAGIC.starts_with(&head[..read]) {
        return Err(Error::Corrupt(format!(
            "{} is only {len} bytes long: a truncated llkv database",
            path.display()
        )));
    }
    if &head != FILE_MAGIC {
        return Err(Error::NotADatabase { path: path.to_path_buf() });
    }
    Ok(FileState::Existing)
}

impl Pager for FilePager {
    fn read(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>> {
        let hashes: Vec<u64> = keys.iter().map(|&k| mix(k)).collect();
        let handles = self.inner.read().store.batch_read_hashed_keys(&hashes, None)?;
        Ok(handles.into_iter().map(|h| h.map(|h| h.into_arrow_buffer())).collect())
    }

    fn write(&self, entries: &[(u64, &[u8])]) -> Result<()> {
        self.check_writable()?;
        if entries.is_empty() {
            return Ok(());
        }
        let batch: Vec<(u64, &[u8])> = entries.iter().map(|(k, b)| (mix(*k), *b)).collect();
        self.inner.read().store.batch_write_with_key_hashes(batch, false)?;
        Ok(())
    }

    fn delete(&self, keys: &[u64]) -> Result<()> {
        self.check_writable()?;
        if keys.is_empty() {
            return Ok(());
        }
        let hashes: Vec<u64> = keys.iter().map(|&k| mix(k)).collect();
        self.inner.read().store.batch_delete_key_hashes(&hashes)?;
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.inner.read().sync.sync_data()?;
        Ok(())
    }

    fn size_bytes(&self) -> Result<u64> {
        Ok(self.inner.read().store.file_size()?)
    }

    fn is_persistent(&self) -> bool {
        true
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }
}

impl FilePager {
    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly("writes are refused".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_a_bijection_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for k in 0..100_000u64 {
            assert!(seen.insert(mix(k)));
        }
    }
}
