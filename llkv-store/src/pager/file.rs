//! The persistent pager: one simd-r-drive file, memory-mapped.
//!
//! simd-r-drive identifies entries only by a 64-bit hash and uses an identity
//! hasher for its index, so store keys pass through the bijective splitmix64
//! finalizer ([`mix`]): distinct keys stay distinct, and the index spreads well.
//!
//! simd-r-drive's own recovery truncates whatever it takes for a torn tail, so a
//! file is checked for llkv's header *before* simd-r-drive opens it: a foreign
//! file is rejected and left untouched. One process at a time: an exclusive
//! lock on `<file>.lock` is held for the life of the pager.
//!
//! Vacuum writes the database afresh into `<file>.vacuum` (see
//! [`FilePager::start_rewrite`]) and renames it over the file; an open first
//! removes a `<file>.vacuum` left behind by a crash.

use super::{Pager, Rewrite};
use crate::error::{Error, Result};
use arrow::buffer::Buffer;
use parking_lot::{Mutex, RwLock};
use simd_r_drive::DataStore;
use simd_r_drive::traits::{DataStoreReader, DataStoreWriter};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

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
///
/// simd-r-drive's `DataStore::open` reads the whole file (in 64 MiB windows)
/// to rebuild its key index, so it takes time proportional to the file size.
/// An existing file is therefore opened by simd-r-drive on a background
/// thread; until that finishes, [`Pager::read_metadata`] is served from the
/// entry index that llkv's own recovery builds while it checks the entry
/// chain (20 bytes read per entry, never the payloads). Chunk reads, writes and
/// syncs wait for the background open. See `docs/design.md` §3.
pub struct FilePager {
    path: PathBuf,
    /// A plain handle on the file: fsync, size, and positional reads.
    file: File,
    /// simd-r-drive's handle; `None` while it is being opened in the background.
    store: RwLock<Option<DataStore>>,
    opening: Mutex<Option<JoinHandle<std::io::Result<DataStore>>>>,
    /// Payload ranges by key hash, from recovery; dropped once `store` is ready.
    early: RwLock<Option<super::recovery::EntryIndex>>,
    /// File length before and after recovery trimmed a torn tail.
    trimmed: Option<(u64, u64)>,
    /// Shared with the pagers of later rewrites of the same database.
    _lock: Arc<File>,
    /// Opened by [`FilePager::open_read_only`]: writes are refused.
    read_only: bool,
}

impl Drop for FilePager {
    fn drop(&mut self) {
        // The background open must end before the lock is released: it could
        // otherwise trim a tail another handle is writing.
        if let Some(h) = self.opening.get_mut().take() {
            let _ = h.join();
        }
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
        remove_stale_rewrite(path)?;
        let state = check_header(path)?;
        let lock = Arc::new(lock);
        if state == FileState::New {
            return Ok((Self::open_now(path, path, lock)?, state));
        }
        let recovered = super::recovery::recover_file(path)?;
        let file = OpenOptions::new().read(true).open(path)?;
        let bg_path = path.to_path_buf();
        let opening = std::thread::Builder::new()
            .name("llkv-open".into())
            .spawn(move || DataStore::open(&bg_path))?;
        let trimmed =
            (recovered.trimmed > 0).then_some((recovered.len, recovered.len - recovered.trimmed));
        let pager = Self {
            path: path.to_path_buf(),
            file,
            store: RwLock::new(None),
            opening: Mutex::new(Some(opening)),
            early: RwLock::new(Some(recovered.entries)),
            trimmed,
            _lock: lock,
            read_only: false,
        };
        Ok((pager, state))
    }

    /// A pager whose simd-r-drive handle is opened right away (new files).
    fn open_now(file_path: &Path, db_path: &Path, lock: Arc<File>) -> Result<Self> {
        let store = DataStore::open(file_path)?;
        let file = OpenOptions::new().read(true).open(file_path)?;
        Ok(Self {
            path: db_path.to_path_buf(),
            file,
            store: RwLock::new(Some(store)),
            opening: Mutex::new(None),
            early: RwLock::new(None),
            trimmed: None,
            _lock: lock,
            read_only: false,
        })
    }

    /// Waits for the background open, then runs `f` on simd-r-drive's handle.
    fn with_store<R>(&self, f: impl FnOnce(&DataStore) -> Result<R>) -> Result<R> {
        if let Some(s) = self.store.read().as_ref() {
            return f(s);
        }
        {
            let mut opening = self.opening.lock();
            if self.store.read().is_none() {
                let Some(h) = opening.take() else {
                    return Err(Error::Io(std::io::Error::other(
                        "the database file failed to open earlier",
                    )));
                };
                let store = h
                    .join()
                    .map_err(|_| Error::Io(std::io::Error::other("opening the file panicked")))??;
                *self.store.write() = Some(store);
                *self.early.write() = None;
            }
        }
        match self.store.read().as_ref() {
            Some(s) => f(s),
            None => Err(Error::Io(std::io::Error::other("the database file is not open"))),
        }
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
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
        let mut pager = Self::open_now(path, path, Arc::new(lock))?;
        pager.read_only = true;
        Ok(pager)
    }

    fn check_writable(&self) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly("writes are refused".into()));
        }
        Ok(())
    }

    /// `(length before, length after)` when opening trimmed a torn or
    /// truncated tail from the file.
    pub fn trimmed(&self) -> Option<(u64, u64)> {
        self.trimmed
    }
}

/// `<file>.vacuum`, where a vacuum writes the new database before renaming it.
pub fn rewrite_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".vacuum");
    PathBuf::from(name)
}

/// Removes a rewrite file left behind by a crash during vacuum. It never
/// holds the database: the database is the file it was not yet renamed to.
fn remove_stale_rewrite(path: &Path) -> Result<()> {
    match std::fs::remove_file(rewrite_path(path)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Makes a rename in `path`'s directory durable.
fn sync_parent_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// A vacuum in progress on a file: a new simd-r-drive file beside the database.
struct FileRewrite {
    pager: Arc<FilePager>,
    temp: PathBuf,
    dest: PathBuf,
}

impl Rewrite for FileRewrite {
    fn pager(&self) -> Arc<dyn Pager> {
        Arc::clone(&self.pager) as Arc<dyn Pager>
    }

    fn install(self: Box<Self>) -> Result<()> {
        // The new file must be durable before its name replaces the old one.
        self.pager.file.sync_all()?;
        std::fs::rename(&self.temp, &self.dest)?;
        sync_parent_dir(&self.dest)
    }

    fn abandon(self: Box<Self>) {
        // Best effort: an open removes a leftover too.
        let _ = std::fs::remove_file(&self.temp);
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
        let handles = self.with_store(|s| Ok(s.batch_read_hashed_keys(&hashes, None)?))?;
        Ok(handles.into_iter().map(|h| h.map(|h| h.into_arrow_buffer())).collect())
    }

    /// Before the background open finishes: a positional read of each
    /// payload (a copy, 64-byte aligned) located by recovery's entry index.
    fn read_metadata(&self, keys: &[u64]) -> Result<Vec<Option<Buffer>>> {
        let early = self.early.read();
        let Some(index) = early.as_ref() else {
            drop(early);
            return self.read(keys);
        };
        keys.iter()
            .map(|&k| match index.get(&mix(k)).copied().flatten() {
                None => Ok(None),
                Some((start, end)) => {
                    let len = usize::try_from(end - start)
                        .map_err(|_| Error::Corrupt("an entry is too large".into()))?;
                    let mut buf = arrow::buffer::MutableBuffer::from_len_zeroed(len);
                    self.file.read_exact_at(buf.as_slice_mut(), start)?;
                    Ok(Some(buf.into()))
                }
            })
            .collect()
    }

    fn write(&self, entries: &[(u64, &[u8])]) -> Result<()> {
        self.check_writable()?;
        if entries.is_empty() {
            return Ok(());
        }
        let batch: Vec<(u64, &[u8])> = entries.iter().map(|(k, b)| (mix(*k), *b)).collect();
        self.with_store(|s| Ok(s.batch_write_with_key_hashes(batch, false)?))?;
        Ok(())
    }

    fn delete(&self, keys: &[u64]) -> Result<()> {
        self.check_writable()?;
        if keys.is_empty() {
            return Ok(());
        }
        let hashes: Vec<u64> = keys.iter().map(|&k| mix(k)).collect();
        self.with_store(|s| Ok(s.batch_delete_key_hashes(&hashes)?))?;
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        self.file.sync_data()?;
        Ok(())
    }

    fn size_bytes(&self) -> Result<u64> {
        // Through the open handle, not the path: a vacuum renames files.
        Ok(self.file.metadata()?.len())
    }

    fn is_persistent(&self) -> bool {
        true
    }

    fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Creates `<file>.vacuum` (replacing a leftover) as the new database file.
    fn start_rewrite(&self) -> Result<Box<dyn Rewrite>> {
        self.check_writable()?;
        let temp = rewrite_path(&self.path);
        remove_stale_rewrite(&self.path)?;
        let pager = Arc::new(FilePager::open_now(&temp, &self.path, Arc::clone(&self._lock))?);
        Ok(Box::new(FileRewrite { pager, temp, dest: self.path.clone() }))
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
