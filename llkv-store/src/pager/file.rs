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

use super::recovery::EntryIndex;
use super::{Location, Pager, Rewrite};
use crate::error::{Error, Result};
use arrow::buffer::Buffer;
use memmap2::Mmap;
use parking_lot::{Mutex, RwLock};
use simd_r_drive::traits::{DataStoreReader, DataStoreWriter};
use simd_r_drive::{DataStore, EntryHandle, EntryMetadata};
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The first bytes of every llkv file: the payload of key [`crate::HEADER_KEY`],
/// which is the first entry written and so lies at offset 0.
pub(crate) const FILE_MAGIC: &[u8; 8] = b"LLKVDB\0\x01";

/// splitmix64's finalizer: a bijection on u64.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Size of simd-r-drive's per-entry metadata: key hash, previous tail, checksum.
pub(crate) const ENTRY_METADATA: u64 = 20;
/// Payload alignment in a simd-r-drive file.
const PAYLOAD_ALIGN: u64 = 64;

/// Where a (non-empty, non-tombstone) payload of `len` bytes written at
/// `tail` lands in a simd-r-drive file, and the tail after its entry: the
/// payload is padded to 64 bytes and followed by 20 bytes of metadata. This
/// is simd-r-drive's layout (`batch_write_with_key_hashes`); every write
/// checks the tail it predicts against the one simd-r-drive returns.
pub(crate) fn layout(tail: u64, len: u64) -> (super::Location, u64) {
    let start = tail + (PAYLOAD_ALIGN - tail % PAYLOAD_ALIGN) % PAYLOAD_ALIGN;
    (super::Location { start, len }, start + len + ENTRY_METADATA)
}

/// A [`Pager`] over a simd-r-drive file.
///
/// simd-r-drive's `DataStore::open` reads the whole file (in 64 MiB windows)
/// to rebuild its key index, so it takes time proportional to the file size.
/// An existing file is therefore not handed to simd-r-drive at open: reads
/// are served zero-copy from llkv's own read-only map of the file, at
/// locations that llkv's records carry (learned through [`Pager::learn`]) or,
/// for a key without one, from an index built by one walk of the entry chain.
/// Writes to such a file are appended by llkv itself ([`FilePager::append`]),
/// entry by entry in simd-r-drive's format (the same bytes
/// `batch_write_with_key_hashes` would write), and the map is renewed to
/// cover them: simd-r-drive never has to index the whole file. Only a
/// [`Pager::delete`] (which the store never calls) opens simd-r-drive on
/// an existing file, after a walk has verified the chain it would
/// otherwise cut; from then on it does the reads and writes. New files and
/// vacuum rewrites are written through simd-r-drive from the start.
/// See `docs/design.md` §3.
pub struct FilePager {
    path: PathBuf,
    /// A plain handle on the file: fsync, size, and the chain walk.
    file: File,
    /// simd-r-drive's handle: opened at once for new files and rewrites,
    /// for an existing file only by [`Pager::delete`].
    store: RwLock<Option<DataStore>>,
    /// The file up to the committed end, mapped read-only, renewed after
    /// each [`FilePager::append`]; `None` for pagers whose simd-r-drive
    /// handle is opened right away (new files, rewrites).
    map: RwLock<Option<Arc<Mmap>>>,
    /// A write handle for [`FilePager::append`], opened by the first write.
    appender: Mutex<Option<File>>,
    /// Payload locations by key hash: from recovery, from records, from writes.
    known: RwLock<HashMap<u64, Location>>,
    /// Every key's newest entry up to the committed end, from a chain walk,
    /// built the first time a key has no known location.
    chain: Mutex<Option<Arc<EntryIndex>>>,
    /// Where the next entry will start.
    tail: AtomicU64,
    /// File length before and after recovery trimmed a torn tail.
    trimmed: Option<(u64, u64)>,
    /// Shared with the pagers of later rewrites of the same database.
    _lock: Arc<File>,
    /// Opened by [`FilePager::open_read_only`]: writes are refused.
    read_only: bool,
}

/// What [`FilePager::open`] found on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    /// The file did not exist or was empty; it is a new database.
    New,
    /// The file holds an llkv database.
    Existing,
}

/// Takes `<file>.lock`, exclusively or shared.
fn take_lock(path: &Path, shared: bool) -> Result<File> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(lock_path(path))?;
    let r = if shared { lock.try_lock_shared() } else { lock.try_lock() };
    match r {
        Ok(()) => Ok(lock),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked { path: path.to_path_buf() }),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(e)),
    }
}

impl FilePager {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`Error::Locked`] when another handle holds the database,
    /// [`Error::NotADatabase`] when the file is not an llkv file (it is not modified),
    /// [`Error::Io`] for I/O failures, including a missing parent directory.
    pub fn open(path: &Path) -> Result<(Self, FileState)> {
        let lock = Arc::new(take_lock(path, false)?);
        remove_stale_rewrite(path)?;
        let state = check_header(path)?;
        if state == FileState::New {
            return Ok((Self::open_now(path, path, lock)?, state));
        }
        let recovered = super::recovery::recover_file(path)?;
        let trimmed =
            (recovered.trimmed > 0).then_some((recovered.len, recovered.len - recovered.trimmed));
        let mut pager = Self::open_mapped(path, lock, recovered.end, &recovered.known)?;
        pager.trimmed = trimmed;
        Ok((pager, state))
    }

    /// A pager over an existing, recovered file of `end` bytes, reading
    /// through its own map; simd-r-drive is not opened yet.
    fn open_mapped(
        path: &Path,
        lock: Arc<File>,
        end: u64,
        found: &[(u64, Location)],
    ) -> Result<Self> {
        let file = OpenOptions::new().read(true).open(path)?;
        let map = super::map::map_file(&file, end)?;
        let mut known: HashMap<u64, Location> = found.iter().copied().collect();
        known.insert(
            mix(crate::store::HEADER_KEY),
            Location { start: 0, len: super::recovery::HEADER_LEN },
        );
        Ok(Self {
            path: path.to_path_buf(),
            file,
            store: RwLock::new(None),
            map: RwLock::new(Some(map)),
            appender: Mutex::new(None),
            known: RwLock::new(known),
            chain: Mutex::new(None),
            tail: AtomicU64::new(end),
            trimmed: None,
            _lock: lock,
            read_only: false,
        })
    }

    /// A pager whose simd-r-drive handle is opened right away (new files).
    fn open_now(file_path: &Path, db_path: &Path, lock: Arc<File>) -> Result<Self> {
        let store = DataStore::open(file_path)?;
        let file = OpenOptions::new().read(true).open(file_path)?;
        let len = file.metadata()?.len();
        Ok(Self {
            path: db_path.to_path_buf(),
            file,
            store: RwLock::new(Some(store)),
            map: RwLock::new(None),
            appender: Mutex::new(None),
            known: RwLock::new(HashMap::new()),
            chain: Mutex::new(None),
            tail: AtomicU64::new(len),
            trimmed: None,
            _lock: lock,
            read_only: false,
        })
    }

    /// The current map, if reads go through llkv's own map.
    fn current_map(&self) -> Option<Arc<Mmap>> {
        self.map.read().clone()
    }

    /// The chain index (built on first use by a walk of the entry chain).
    fn chain_index(&self) -> Result<Arc<EntryIndex>> {
        let mut chain = self.chain.lock();
        if let Some(index) = chain.as_ref() {
            return Ok(Arc::clone(index));
        }
        let end = self.current_map().map_or(0, |m| m.len() as u64);
        let index = Arc::new(super::recovery::verify_chain(&self.file, end)?);
        *chain = Some(Arc::clone(&index));
        Ok(index)
    }

    /// Runs `f` on simd-r-drive's handle, opening it first if needed: only
    /// after a walk has verified the whole entry chain, so simd-r-drive
    /// finds the committed end valid and truncates nothing.
    fn with_store<R>(&self, f: impl FnOnce(&DataStore) -> Result<R>) -> Result<R> {
        if let Some(s) = self.store.read().as_ref() {
            return f(s);
        }
        {
            // Held across the open: no append runs meanwhile.
            let _appender = self.appender.lock();
            if self.store.read().is_none() {
                let want = self.tail.load(Ordering::Acquire);
                super::recovery::verify_chain(&self.file, want)?;
                let store = DataStore::open(&self.path)?;
                let len = self.file.metadata()?.len();
                if len != want {
                    return Err(Error::Corrupt(format!(
                        "{} is {len} bytes after simd-r-drive opened it, {want} expected",
                        self.path.display()
                    )));
                }
                *self.store.write() = Some(store);
            }
        }
        match self.store.read().as_ref() {
            Some(s) => f(s),
            None => Err(Error::Io(std::io::Error::other("the database file is not open"))),
        }
    }

    /// Appends `batch` (key hash, non-empty payload) at the tail, laid out
    /// exactly as simd-r-drive lays out a batch (see [`layout`]): zero
    /// padding to 64 bytes, the payload, then the entry's metadata (key
    /// hash, the previous tail, CRC32 of the payload). Then maps the file
    /// anew up to the new tail. Nothing is synced here ([`Pager::sync`]).
    /// Returns the payloads' locations.
    fn append(&self, batch: &[(u64, &[u8])]) -> Result<Vec<(u64, Location)>> {
        let mut appender = self.appender.lock();
        if appender.is_none() {
            *appender = Some(OpenOptions::new().write(true).open(&self.path)?);
        }
        let Some(file) = appender.as_ref() else {
            return Err(Error::Io(std::io::Error::other("the database file is not open")));
        };
        let start = self.tail.load(Ordering::Acquire);
        let mut tail = start;
        let mut placed = Vec::with_capacity(batch.len());
        let total: usize = batch.iter().map(|(_, b)| b.len() + 64 + ENTRY_METADATA as usize).sum();
        let mut buf = Vec::with_capacity(total);
        for &(hash, payload) in batch {
            if payload.is_empty() || payload == [0u8] {
                return Err(Error::Invalid(
                    "a payload must be non-empty and not a tombstone".into(),
                ));
            }
            let (loc, next) = layout(tail, payload.len() as u64);
            buf.resize(buf.len() + (loc.start - tail) as usize, 0);
            buf.extend_from_slice(payload);
            let meta = EntryMetadata {
                key_hash: hash,
                prev_offset: tail,
                checksum: crc32fast::hash(payload).to_le_bytes(),
            };
            buf.extend_from_slice(&meta.serialize());
            placed.push((hash, loc));
            tail = next;
        }
        {
            use std::os::unix::fs::FileExt;
            file.write_all_at(&buf, start)?;
        }
        let map = super::map::map_file(&self.file, tail)?;
        *self.map.write() = Some(map);
        self.tail.store(tail, Ordering::Release);
        Ok(placed)
    }

    /// The blob at `loc` in the map, if the entry there is `hash`'s.
    fn entry_at(map: &Arc<Mmap>, hash: u64, loc: Location) -> Option<Buffer> {
        let start = usize::try_from(loc.start).ok()?;
        let end = start.checked_add(usize::try_from(loc.len).ok()?)?;
        let meta_bytes = map.get(end..end.checked_add(ENTRY_METADATA as usize)?)?;
        let meta = EntryMetadata::deserialize(meta_bytes);
        let prev = meta.prev_offset;
        let aligned = prev.checked_add((PAYLOAD_ALIGN - prev % PAYLOAD_ALIGN) % PAYLOAD_ALIGN);
        if meta.key_hash != hash || aligned != Some(loc.start) || loc.len == 0 {
            return None;
        }
        Some(EntryHandle::from_arc_mmap(Arc::clone(map), start..end, meta).into_arrow_buffer())
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens an existing database file for reading only, under a shared lock:
    /// other read-only opens may share the file, a writer may not. The file is
    /// never modified, so one whose tail was torn by a crash is refused until a
    /// read-write open has recovered it. Writes through this pager fail with
    /// [`Error::ReadOnly`]; simd-r-drive never opens the file.
    ///
    /// # Errors
    /// [`Error::Locked`] when a writer holds the database,
    /// [`Error::NotFound`] when there is no database at `path`,
    /// [`Error::ReadOnly`] when the file needs recovery, and as for [`FilePager::open`].
    pub fn open_read_only(path: &Path) -> Result<Self> {
        let lock = take_lock(path, true)?;
        if check_header(path)? == FileState::New {
            return Err(Error::NotFound(format!("database {}", path.display())));
        }
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if super::recovery::has_torn_tail(path)? {
            return Err(Error::ReadOnly(format!(
                "{} has an incomplete tail from an interrupted write; open it read-write once \
                 to recover it",
                path.display()
            )));
        }
        let found = super::recovery::tail_entries(&file, len)?;
        let mut pager = Self::open_mapped(path, Arc::new(lock), len, &found)?;
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
        let map = self.current_map();
        let map = match (&map, self.store.read().as_ref()) {
            (Some(map), None) => map,
            (_, Some(s)) => {
                let handles = s.batch_read_hashed_keys(&hashes, None)?;
                return Ok(handles.into_iter().map(|h| h.map(|h| h.into_arrow_buffer())).collect());
            }
            (None, None) => {
                let handles = self.with_store(|s| Ok(s.batch_read_hashed_keys(&hashes, None)?))?;
                return Ok(handles.into_iter().map(|h| h.map(|h| h.into_arrow_buffer())).collect());
            }
        };
        // simd-r-drive is not open, so nothing was written since open and
        // every committed key lies in the map.
        let mut out = Vec::with_capacity(keys.len());
        let mut unknown = Vec::new();
        {
            let known = self.known.read();
            for (i, &h) in hashes.iter().enumerate() {
                let blob = known.get(&h).and_then(|&loc| Self::entry_at(map, h, loc));
                if blob.is_none() {
                    unknown.push(i);
                }
                out.push(blob);
            }
        }
        if !unknown.is_empty() {
            let index = self.chain_index()?;
            for i in unknown {
                if let Some(Some((start, end))) = index.get(&hashes[i]).copied() {
                    let loc = Location { start, len: end - start };
                    out[i] = Self::entry_at(map, hashes[i], loc);
                    if out[i].is_none() {
                        return Err(Error::Corrupt(format!(
                            "entry of key {} at offset {start} is not readable",
                            keys[i]
                        )));
                    }
                }
            }
        }
        Ok(out)
    }

    fn write(&self, entries: &[(u64, &[u8])]) -> Result<()> {
        self.check_writable()?;
        if entries.is_empty() {
            return Ok(());
        }
        let batch: Vec<(u64, &[u8])> = entries.iter().map(|(k, b)| (mix(*k), *b)).collect();
        if self.store.read().is_none() && self.map.read().is_some() {
            let placed = self.append(&batch)?;
            self.known.write().extend(placed);
            return Ok(());
        }
        self.with_store(|s| {
            let mut tail = self.tail.load(Ordering::Acquire);
            let mut placed = Vec::with_capacity(batch.len());
            for (h, b) in &batch {
                let (loc, next) = layout(tail, b.len() as u64);
                placed.push((*h, loc));
                tail = next;
            }
            let written = s.batch_write_with_key_hashes(batch, false)?;
            self.tail.store(written, Ordering::Release);
            if written != tail {
                return Err(Error::Io(std::io::Error::other(format!(
                    "simd-r-drive wrote up to offset {written}, {tail} was expected"
                ))));
            }
            self.known.write().extend(placed);
            Ok(())
        })
    }

    fn delete(&self, keys: &[u64]) -> Result<()> {
        self.check_writable()?;
        if keys.is_empty() {
            return Ok(());
        }
        let hashes: Vec<u64> = keys.iter().map(|&k| mix(k)).collect();
        self.with_store(|s| {
            let written = s.batch_delete_key_hashes(&hashes)?;
            self.tail.store(written, Ordering::Release);
            let mut known = self.known.write();
            for h in &hashes {
                known.remove(h);
            }
            Ok(())
        })
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

    fn tail(&self) -> Option<u64> {
        Some(self.tail.load(Ordering::Acquire))
    }

    fn locate(&self, key: u64) -> Option<Location> {
        self.known.read().get(&mix(key)).copied()
    }

    fn learn(&self, locations: &[(u64, Location)]) {
        let mut known = self.known.write();
        for &(key, loc) in locations {
            known.insert(mix(key), loc);
        }
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
    use crate::{ColumnMeta, ScanRequest, Store, StoreOptions, TableMeta};
    use arrow::array::{AsArray, Int64Array, RecordBatch};
    use arrow::datatypes::{DataType, Int64Type};

    #[test]
    fn mix_is_a_bijection_on_a_sample() {
        let mut seen = std::collections::HashSet::new();
        for k in 0..100_000u64 {
            assert!(seen.insert(mix(k)));
        }
    }

    #[test]
    fn layout_pads_payloads_to_64_bytes() {
        assert_eq!(layout(0, 12), (Location { start: 0, len: 12 }, 32));
        assert_eq!(layout(32, 100), (Location { start: 64, len: 100 }, 184));
        assert_eq!(layout(128, 1), (Location { start: 128, len: 1 }, 149));
    }

    const ROWS: i64 = 5_000;

    /// A database of 5 segments of 1,000 rows, closed; returns its path.
    fn make_db(dir: &Path) -> PathBuf {
        let path = dir.join("db.llkv");
        let opts = StoreOptions { chunk_rows: 1_000, ..StoreOptions::default() };
        let store = Store::open(&path, opts).unwrap();
        let mut w = store.begin_write().unwrap();
        let meta = TableMeta::new("t", vec![ColumnMeta::new("v", DataType::Int64, false)]);
        let id = w.create_table(meta.clone()).unwrap();
        let values = Int64Array::from_iter_values(0..ROWS);
        w.append(id, &RecordBatch::try_new(meta.schema(), vec![Arc::new(values)]).unwrap())
            .unwrap();
        w.commit().unwrap();
        path
    }

    fn reopen(path: &Path) -> (Arc<FilePager>, Store) {
        let (pager, state) = FilePager::open(path).unwrap();
        assert_eq!(state, FileState::Existing);
        let pager = Arc::new(pager);
        let store =
            Store::with_pager(Arc::clone(&pager) as Arc<dyn Pager>, StoreOptions::default())
                .unwrap();
        (pager, store)
    }

    fn sum(store: &Store) -> crate::Result<i64> {
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        let batches = store.scan(t, &ScanRequest::all())?;
        Ok(batches
            .iter()
            .map(|b| b.column(0).as_primitive::<Int64Type>().values().iter().sum::<i64>())
            .sum())
    }

    #[test]
    fn reads_after_reopen_use_recorded_locations_not_a_chain_walk() {
        let dir = tempfile::tempdir().unwrap();
        let path = make_db(dir.path());
        let (pager, store) = reopen(&path);
        assert_eq!(sum(&store).unwrap(), (0..ROWS).sum::<i64>());
        assert!(pager.chain.lock().is_none(), "no chain walk was needed");
        assert!(pager.store.read().is_none(), "simd-r-drive was not opened");
        let v = store.current();
        let seg = &v.table_by_name("t").unwrap().segments().unwrap()[4];
        assert!(pager.locate(seg.body().unwrap().columns[0].key).is_some());
    }

    #[test]
    fn open_decodes_no_segment_record_and_a_row_read_decodes_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = make_db(dir.path());
        let (_pager, store) = reopen(&path);
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        // What the manifest carries is at hand without building the segments.
        assert_eq!(t.live_rows(), ROWS as u64);
        assert!(t.segs.built.get().is_none(), "open built the segment list");
        assert!(!t.segment_list_read(), "open read the segment list record");
        assert_eq!(t.segment_count(), 5);
        // A row read finds its segment in the manifest and decodes only it.
        let row = store.read_rows(t, &[3_500], &[0]).unwrap();
        assert_eq!(row.column(0).as_primitive::<Int64Type>().value(0), 3_500);
        assert!(t.segs.built.get().is_none(), "a row read builds no segment list");
        assert_eq!(t.segment_count(), 5);
        assert_eq!(t.segments().unwrap()[3].span(), 1_000);
        let loaded: Vec<bool> = t.segments().unwrap().iter().map(|s| s.is_loaded()).collect();
        assert_eq!(loaded, [false, false, false, true, false]);
    }

    #[test]
    fn a_wrong_location_falls_back_to_the_chain_walk() {
        let dir = tempfile::tempdir().unwrap();
        let path = make_db(dir.path());
        let (pager, store) = reopen(&path);
        let v = store.current();
        let t = v.table_by_name("t").unwrap();
        let a = t.segments().unwrap()[0].body().unwrap().columns[0].key;
        let b = t.segments().unwrap()[1].body().unwrap().columns[0].key;
        // Point the first chunk at the second chunk's bytes.
        pager.learn(&[(a, pager.locate(b).unwrap())]);
        assert_eq!(sum(&store).unwrap(), (0..ROWS).sum::<i64>());
        assert!(pager.chain.lock().is_some(), "the chain index answered");
    }

    #[test]
    fn writes_after_a_lazy_open_land_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = make_db(dir.path());
        {
            let (pager, store) = reopen(&path);
            let id = store.current().table_by_name("t").unwrap().id;
            let meta = store.current().table(id).unwrap().meta.schema();
            let mut w = store.begin_write().unwrap();
            let extra = Int64Array::from_iter_values([10, 20, 30]);
            w.append(id, &RecordBatch::try_new(meta, vec![Arc::new(extra)]).unwrap()).unwrap();
            w.commit().unwrap();
            assert!(pager.store.read().is_none(), "llkv appended; simd-r-drive did not open");
            assert!(pager.chain.lock().is_none(), "and no chain walk was needed");
            assert_eq!(sum(&store).unwrap(), (0..ROWS).sum::<i64>() + 60);
        }
        let (pager, store) = reopen(&path);
        assert_eq!(sum(&store).unwrap(), (0..ROWS).sum::<i64>() + 60);
        assert!(pager.chain.lock().is_none());
        let keys: Vec<u64> = (0..store.current().next_key).collect();
        let ours = pager.read(&keys).unwrap();
        drop(store);
        drop(pager);
        // What llkv appended is a valid simd-r-drive file: simd-r-drive
        // opens it without cutting anything and reads the same payloads.
        let len = std::fs::metadata(&path).unwrap().len();
        let sr = DataStore::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
        let mut compared = 0;
        for (k, mine) in keys.iter().zip(&ours) {
            let theirs = sr.read_with_key_hash(mix(*k)).unwrap();
            assert_eq!(mine.as_ref().map(|b| b.as_slice()), theirs.as_deref(), "key {k}");
            compared += usize::from(mine.is_some());
        }
        assert!(compared > 10);
    }

    #[test]
    fn a_broken_chain_is_reported_and_the_file_is_not_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = make_db(dir.path());
        let (loc, key) = {
            let (pager, store) = reopen(&path);
            let key = store.current().table_by_name("t").unwrap().segments().unwrap()[1]
                .body()
                .unwrap()
                .columns[0]
                .key;
            (pager.locate(key).unwrap(), key)
        };
        // Damage the `prev` pointer of that chunk's entry.
        let mut bytes = std::fs::read(&path).unwrap();
        let at = (loc.start + loc.len + 8) as usize;
        bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let len = bytes.len() as u64;

        let (pager, store) = reopen(&path);
        let err = pager.read(&[key]).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        // llkv's appends never cut the file; simd-r-drive, which would, is
        // refused the file (a delete is the only thing that opens it).
        let mut w = store.begin_write().unwrap();
        w.set_property("x", Some("1".into()));
        w.commit().unwrap();
        let grown = std::fs::metadata(&path).unwrap().len();
        assert!(grown > len);
        let err = pager.delete(&[key]).unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
        drop(store);
        drop(pager);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), grown, "nothing was trimmed");
    }

    #[test]
    fn a_read_only_open_never_opens_simd_r_drive() {
        let dir = tempfile::tempdir().unwrap();
        let path = make_db(dir.path());
        let pager = Arc::new(FilePager::open_read_only(&path).unwrap());
        let store =
            Store::with_pager(Arc::clone(&pager) as Arc<dyn Pager>, StoreOptions::default())
                .unwrap();
        assert_eq!(sum(&store).unwrap(), (0..ROWS).sum::<i64>());
        assert!(pager.store.read().is_none());
    }
}
