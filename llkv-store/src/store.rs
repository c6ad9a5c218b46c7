//! The store: opening and recovery, versions, and the write transaction with
//! its commit protocol.
//!
//! ```text
//!  key 0  header      "LLKVDB\0\x01" + format version   (written once, at offset 0)
//!  key 1  commit      seq, catalog key, next key, user sequence   (sealed, written last)
//!           └─ catalog      table id → manifest key, database properties
//!                └─ manifest     table definition, segment count, live rows, list key
//!                     └─ segment list  per segment: key, row range, location, summary
//!                     └─ segment      chunk keys + statistics, deletion bitmap
//!                          └─ chunk        one column's Arrow buffers
//! ```
//!
//! Every record except the header and the commit record is written once under
//! a fresh key and never changed. A commit writes all its new records, syncs,
//! then writes the commit record and syncs again: until the commit record is
//! durable, the previous commit is what a reopen sees.

use crate::catalog::{TableId, TableMeta, decode_props, encode_props};
use crate::codec::{
    Decoder, Encoder, LOCATIONS_TAG, decode_locations, encode_locations, open_sealed, seal,
};
use crate::error::{Error, Result};
use crate::pager::file::FileState;
use crate::pager::{FilePager, Location, MemoryPager, Pager, Placement, read_one};
use crate::table::{GenerationPin, TableData};
use parking_lot::{Mutex, MutexGuard, RwLock};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// Key of the header record.
pub(crate) const HEADER_KEY: u64 = 0;
/// Key of the commit record.
pub(crate) const COMMIT_KEY: u64 = 1;
/// First key handed out for other records.
pub(crate) const FIRST_FREE_KEY: u64 = 16;
const CATALOG_MAGIC: [u8; 4] = *b"LKCT";
pub(crate) const COMMIT_MAGIC: [u8; 4] = *b"LKCM";
/// Bytes of pending blobs a write transaction buffers before writing them out early.
pub(crate) const FLUSH_BYTES: usize = 64 << 20;

/// When a commit is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync on every commit: a commit survives power loss.
    #[default]
    Immediate,
    /// Leave writes in the OS page cache: a commit survives a process crash,
    /// not a power loss.
    Buffered,
}

/// How a store is configured.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Rows per column chunk (the segment size).
    pub chunk_rows: usize,
    /// When commits are synced.
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self { chunk_rows: 64 * 1024, durability: Durability::Immediate }
    }
}

/// One committed state of the database: immutable, shared by readers.
#[derive(Debug, Clone, Default)]
pub struct Version {
    /// Commit sequence number (0 for an empty database).
    pub seq: u64,
    /// A counter owned by the layer above (the MVCC commit timestamp).
    pub user_seq: u64,
    tables: BTreeMap<TableId, Arc<TableData>>,
    names: BTreeMap<String, TableId>,
    properties: BTreeMap<String, String>,
    pub(crate) next_key: u64,
    next_table_id: u64,
}

impl Version {
    /// The catalog record of this version (tables' manifest keys must be
    /// set); `locate` gives the manifests' file locations, when known.
    pub(crate) fn encode_catalog(&self, locate: &dyn Fn(u64) -> Option<Location>) -> Vec<u8> {
        let mut e = Encoder::default();
        e.u64(self.next_table_id);
        encode_props(&self.properties, &mut e);
        e.u64(self.tables.len() as u64);
        for (id, t) in &self.tables {
            e.u64(*id);
            e.u64(t.manifest_key);
        }
        let keys: Vec<u64> = self.tables.values().map(|t| t.manifest_key).collect();
        encode_locations(&mut e, &keys, locate);
        seal(CATALOG_MAGIC, &e.buf)
    }

    /// The commit record naming `catalog_key` as this version's catalog.
    pub(crate) fn encode_commit(&self, catalog_key: u64) -> Vec<u8> {
        let mut rec = Encoder::default();
        rec.u64(self.seq);
        rec.u64(catalog_key);
        rec.u64(self.next_key);
        rec.u64(self.user_seq);
        let commit = seal(COMMIT_MAGIC, &rec.buf);
        debug_assert_eq!(commit.len() as u64, crate::pager::recovery::COMMIT_RECORD_LEN);
        commit
    }

    /// The tables by id, for rebuilding a version (vacuum).
    pub(crate) fn tables_mut(&mut self) -> &mut BTreeMap<TableId, Arc<TableData>> {
        &mut self.tables
    }

    /// The table with this id.
    pub fn table(&self, id: TableId) -> Option<&Arc<TableData>> {
        self.tables.get(&id)
    }

    /// The table with this name.
    pub fn table_by_name(&self, name: &str) -> Option<&Arc<TableData>> {
        self.names.get(name).and_then(|id| self.tables.get(id))
    }

    /// All tables, by name.
    pub fn tables(&self) -> impl Iterator<Item = &Arc<TableData>> {
        self.names.values().filter_map(|id| self.tables.get(id))
    }

    /// Database-level properties of the layers above.
    pub fn properties(&self) -> &BTreeMap<String, String> {
        &self.properties
    }
}

/// A backend replaced by a vacuum, and the token of the tables that read it.
type Retired = (Weak<()>, Arc<dyn Pager>);

pub(crate) struct Inner {
    /// The backend of the database as it is now; a vacuum replaces it.
    pager: RwLock<Arc<dyn Pager>>,
    /// The token that tables read from or written to `pager` hold.
    generation: RwLock<GenerationPin>,
    /// Backends replaced by vacuums, kept while a table of their generation
    /// lives (its token has strong references): their readers keep working.
    /// The store owns them, so dropping the store closes every file.
    retired: Mutex<Vec<Retired>>,
    pub(crate) current: RwLock<Arc<Version>>,
    pub(crate) writer: Mutex<()>,
    verified: RwLock<HashSet<u64>>,
    pub(crate) options: StoreOptions,
    pub(crate) poisoned: AtomicBool,
    notes: Mutex<Vec<String>>,
    /// Secondary indexes, built on first use (see `index.rs`).
    pub(crate) indexes: crate::index::IndexCache,
    /// Bytes held by the segments' settled-rows caches (see `settled.rs`).
    pub(crate) settled_bytes: Arc<std::sync::atomic::AtomicUsize>,
}

/// The column store. Cheap to clone; all clones share one database.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("seq", &self.current().seq).finish()
    }
}

impl Store {
    /// Opens or creates the database file at `path`.
    ///
    /// # Errors
    /// [`Error::Locked`], [`Error::NotADatabase`], [`Error::Corrupt`],
    /// [`Error::UnsupportedVersion`] or [`Error::Io`].
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let (pager, state) = FilePager::open(path.as_ref())?;
        let note = pager.trimmed().map(|(before, after)| {
            format!(
                "recovery trimmed an incomplete tail from {}: {before} -> {after} bytes; \
                 the database is at its last complete commit",
                path.as_ref().display()
            )
        });
        let store = Self::with_pager_state(Arc::new(pager), options, state == FileState::New)?;
        store.inner.notes.lock().extend(note);
        Ok(store)
    }

    /// Opens the existing database file at `path` for reading only (see
    /// [`FilePager::open_read_only`]): queries work, [`Store::begin_write`]
    /// fails with [`Error::ReadOnly`], and the file is never modified.
    ///
    /// # Errors
    /// As for [`FilePager::open_read_only`], and [`Error::Corrupt`].
    pub fn open_read_only(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let pager = FilePager::open_read_only(path.as_ref())?;
        Self::with_pager_state(Arc::new(pager), options, false)
    }

    /// Whether the store refuses writes ([`Store::open_read_only`]).
    pub fn is_read_only(&self) -> bool {
        self.inner.pager.read().is_read_only()
    }

    /// A fresh in-memory database.
    pub fn in_memory() -> Self {
        let options = StoreOptions { durability: Durability::Buffered, ..StoreOptions::default() };
        match Self::with_pager(Arc::new(MemoryPager::new()), options) {
            Ok(s) => s,
            // An empty memory pager holds no record that could fail to decode.
            Err(e) => unreachable!("opening an empty memory store failed: {e}"),
        }
    }

    /// Opens a store over any pager; an empty pager becomes a new database.
    ///
    /// # Errors
    /// As for [`Store::open`].
    pub fn with_pager(pager: Arc<dyn Pager>, options: StoreOptions) -> Result<Self> {
        let is_new = read_one(pager.as_ref(), HEADER_KEY)?.is_none();
        Self::with_pager_state(pager, options, is_new)
    }

    fn with_pager_state(
        pager: Arc<dyn Pager>,
        options: StoreOptions,
        is_new: bool,
    ) -> Result<Self> {
        if options.chunk_rows == 0 {
            return Err(Error::Invalid("chunk_rows must be at least 1".into()));
        }
        let generation = GenerationPin::default();
        let version = if is_new {
            let mut header = crate::pager::file::FILE_MAGIC.to_vec();
            header.extend_from_slice(&crate::FORMAT_VERSION.to_le_bytes());
            debug_assert_eq!(header.len() as u64, crate::pager::recovery::HEADER_LEN);
            pager.write(&[(HEADER_KEY, &header)])?;
            pager.sync()?;
            Version { next_key: FIRST_FREE_KEY, next_table_id: 1, ..Version::default() }
        } else {
            recover(&pager, &generation)?
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pager: RwLock::new(pager),
                generation: RwLock::new(generation),
                retired: Mutex::new(Vec::new()),
                current: RwLock::new(Arc::new(version)),
                writer: Mutex::new(()),
                verified: RwLock::new(HashSet::new()),
                options,
                poisoned: AtomicBool::new(false),
                notes: Mutex::new(Vec::new()),
                indexes: crate::index::IndexCache::default(),
                settled_bytes: Arc::default(),
            }),
        })
    }

    /// Bytes of visible-row copies held by the segments' settled-rows
    /// caches (at most [`crate::SETTLED_CACHE_BYTES`]).
    pub fn settled_cache_bytes(&self) -> usize {
        self.inner.settled_bytes.load(Ordering::Acquire)
    }

    /// What recovery did at open (for example trimming a torn tail), for the user.
    pub fn recovery_notes(&self) -> Vec<String> {
        self.inner.notes.lock().clone()
    }

    /// The latest committed version.
    pub fn current(&self) -> Arc<Version> {
        Arc::clone(&self.inner.current.read())
    }

    /// The store's options.
    pub fn options(&self) -> StoreOptions {
        self.inner.options
    }

    /// Whether the data lives in a file.
    pub fn is_persistent(&self) -> bool {
        self.pager().is_persistent()
    }

    /// Bytes used by the backend.
    ///
    /// # Errors
    /// I/O errors of the backend.
    pub fn size_bytes(&self) -> Result<u64> {
        self.pager().size_bytes()
    }

    /// Starts the (single) write transaction, waiting for the current one to end.
    ///
    /// # Errors
    /// [`Error::PreviousIo`] after an earlier write failed.
    pub fn begin_write(&self) -> Result<WriteTxn<'_>> {
        if self.is_read_only() {
            return Err(Error::ReadOnly("writes are refused".into()));
        }
        let guard = self.inner.writer.lock();
        if self.inner.poisoned.load(Ordering::Acquire) {
            return Err(Error::PreviousIo);
        }
        self.release_retired();
        let work = (*self.current()).clone();
        let pager = self.pager();
        pager.prepare_write();
        Ok(WriteTxn {
            store: self,
            _guard: guard,
            work,
            pending: Vec::new(),
            pending_index: HashMap::new(),
            pending_bytes: 0,
            placement: Placement::new(pager.as_ref()),
            rewritten: Vec::new(),
        })
    }

    /// The current backend.
    pub(crate) fn pager(&self) -> Arc<dyn Pager> {
        Arc::clone(&self.inner.pager.read())
    }

    /// The token for tables of the current backend.
    pub(crate) fn generation(&self) -> GenerationPin {
        self.inner.generation.read().clone()
    }

    /// Makes `pager` (whose tables hold `generation`) the current backend;
    /// the old one stays readable while tables of its generation live.
    pub(crate) fn switch_pager(&self, pager: Arc<dyn Pager>, generation: GenerationPin) {
        let old_pager = std::mem::replace(&mut *self.inner.pager.write(), pager);
        let old_gen = std::mem::replace(&mut *self.inner.generation.write(), generation);
        let mut retired = self.inner.retired.lock();
        retired.push((Arc::downgrade(&old_gen.0), old_pager));
        drop(old_gen);
        retired.retain(|(w, _)| w.strong_count() > 0);
    }

    /// Closes replaced backends that no table uses any more.
    pub(crate) fn release_retired(&self) {
        let mut retired = self.inner.retired.lock();
        if !retired.is_empty() {
            retired.retain(|(w, _)| w.strong_count() > 0);
        }
    }

    /// Reads blobs from the current backend, then, for keys it lacks, from
    /// backends retired by a vacuum that older tables still pin. A key names
    /// the same bytes in every backend that holds it (vacuum copies records
    /// under their keys or writes them under fresh ones).
    fn read_blobs(&self, keys: &[u64]) -> Result<Vec<Option<arrow::buffer::Buffer>>> {
        let mut blobs = self.pager().read(keys)?;
        if blobs.iter().all(Option::is_some) {
            return Ok(blobs);
        }
        let retired: Vec<Arc<dyn Pager>> = self
            .inner
            .retired
            .lock()
            .iter()
            .rev()
            .filter(|(w, _)| w.strong_count() > 0)
            .map(|(_, p)| Arc::clone(p))
            .collect();
        for old in retired {
            let missing: Vec<usize> = (0..keys.len()).filter(|&i| blobs[i].is_none()).collect();
            if missing.is_empty() {
                break;
            }
            let found = old.read(&missing.iter().map(|&i| keys[i]).collect::<Vec<_>>())?;
            for (i, b) in missing.into_iter().zip(found) {
                blobs[i] = b;
            }
        }
        Ok(blobs)
    }

    /// Reads chunk blobs, verifying each one's checksum the first time it is read.
    pub(crate) fn read_chunks(&self, keys: &[u64]) -> Result<Vec<arrow::buffer::Buffer>> {
        let blobs = self.read_blobs(keys)?;
        let mut out = Vec::with_capacity(keys.len());
        for (key, blob) in keys.iter().zip(blobs) {
            let blob = blob.ok_or_else(|| {
                Error::Corrupt(format!("column chunk {key} is missing from the file"))
            })?;
            if !self.inner.verified.read().contains(key) {
                crate::chunk::verify(blob.as_slice())
                    .map_err(|e| Error::Corrupt(format!("chunk {key}: {e}")))?;
                self.inner.verified.write().insert(*key);
            }
            out.push(blob);
        }
        Ok(out)
    }
}

/// Reads the commit record and everything it reaches (metadata only).
fn recover(pager: &Arc<dyn Pager>, generation: &GenerationPin) -> Result<Version> {
    let shared = pager;
    let pager = shared.as_ref();
    let header = read_one(pager, HEADER_KEY)?
        .ok_or_else(|| Error::Corrupt("the header record is missing".into()))?;
    let h = header.as_slice();
    if h.len() < 12 || &h[..8] != crate::pager::file::FILE_MAGIC {
        return Err(Error::Corrupt("the header record is damaged".into()));
    }
    let found = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
    if found != crate::FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found, expected: crate::FORMAT_VERSION });
    }
    let Some(commit) = read_one(pager, COMMIT_KEY)? else {
        // Created, but nothing was ever committed.
        return Ok(Version { next_key: FIRST_FREE_KEY, next_table_id: 1, ..Version::default() });
    };
    let body = open_sealed(COMMIT_MAGIC, commit.as_slice(), "commit")?;
    let mut d = Decoder::new(body, "commit");
    let seq = d.u64()?;
    let catalog_key = d.u64()?;
    let next_key = d.u64()?;
    let user_seq = d.u64()?;
    let mut v = Version { seq, user_seq, next_key, ..Version::default() };

    let catalog = read_one(pager, catalog_key)?
        .ok_or_else(|| Error::Corrupt("the catalog record is missing".into()))?;
    let body = open_sealed(CATALOG_MAGIC, catalog.as_slice(), "catalog")?;
    let mut d = Decoder::new(body, "catalog");
    v.next_table_id = d.u64()?;
    v.properties = decode_props(&mut d)?;
    let n = d.count(16)?;
    let mut manifest_keys = Vec::with_capacity(n);
    for _ in 0..n {
        d.u64()?;
        manifest_keys.push(d.u64()?);
    }
    if !d.at_end() && d.u8()? == LOCATIONS_TAG {
        pager.learn(&decode_locations(&mut d, &manifest_keys)?);
    }
    let manifests = pager.read_metadata(&manifest_keys)?;
    for (mkey, blob) in manifest_keys.iter().zip(manifests) {
        let blob =
            blob.ok_or_else(|| Error::Corrupt(format!("table manifest {mkey} is missing")))?;
        let table = TableData::decode_manifest(*mkey, blob.as_slice(), generation.clone(), shared)?;
        v.names.insert(table.meta.name.clone(), table.id);
        v.tables.insert(table.id, Arc::new(table));
    }
    Ok(v)
}

/// The one write transaction of a store: changes are private until [`WriteTxn::commit`],
/// and dropping it discards them.
pub struct WriteTxn<'a> {
    pub(crate) store: &'a Store,
    _guard: MutexGuard<'a, ()>,
    pub(crate) work: Version,
    pending: Vec<(u64, Vec<u8>)>,
    /// Key → position in `pending`, so the transaction can read what it wrote.
    pending_index: HashMap<u64, usize>,
    pending_bytes: usize,
    /// Where the queued blobs land in the file, so records can name them.
    placement: Placement,
    /// Columns changed in place (`None`: the table was dropped); their
    /// indexes are discarded once the commit is published.
    pub(crate) rewritten: Vec<(TableId, Option<usize>)>,
}

impl WriteTxn<'_> {
    /// The working version: the last commit plus this transaction's changes.
    pub fn version(&self) -> &Version {
        &self.work
    }

    pub(crate) fn alloc_key(&mut self) -> u64 {
        let k = self.work.next_key;
        self.work.next_key += 1;
        k
    }

    /// Queues a blob under a fresh key and returns the key.
    pub(crate) fn put_blob(&mut self, bytes: Vec<u8>) -> Result<u64> {
        let key = self.alloc_key();
        self.queue(key, bytes);
        if self.pending_bytes >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(key)
    }

    /// Queues a blob under `key`.
    fn queue(&mut self, key: u64, bytes: Vec<u8>) {
        self.pending_bytes += bytes.len();
        self.placement.place(key, bytes.len());
        self.pending_index.insert(key, self.pending.len());
        self.pending.push((key, bytes));
    }

    /// The file location of a blob (queued in this transaction or written before).
    fn locate(&self, key: u64) -> Option<Location> {
        self.placement.get(self.store.pager().as_ref(), key)
    }

    /// Writes queued blobs early. They stay unreachable until the commit record.
    fn flush(&mut self) -> Result<()> {
        let entries: Vec<(u64, &[u8])> =
            self.pending.iter().map(|(k, b)| (*k, b.as_slice())).collect();
        let pager = self.store.pager();
        let r = pager.write(&entries).and_then(|()| self.placement.check(pager.as_ref()));
        self.pending.clear();
        self.pending_index.clear();
        self.pending_bytes = 0;
        self.guard_io(r)
    }

    fn guard_io<T>(&self, r: Result<T>) -> Result<T> {
        if r.is_err() {
            self.store.inner.poisoned.store(true, Ordering::Release);
        }
        r
    }

    /// Reads chunk blobs, from this transaction's queue when they are still there.
    pub(crate) fn read_chunks(&self, keys: &[u64]) -> Result<Vec<arrow::buffer::Buffer>> {
        if keys.iter().all(|k| !self.pending_index.contains_key(k)) {
            return self.store.read_chunks(keys);
        }
        keys.iter()
            .map(|k| match self.pending_index.get(k) {
                Some(&i) => {
                    let bytes = &self.pending[i].1;
                    let mut buf = arrow::buffer::MutableBuffer::new(bytes.len());
                    buf.extend_from_slice(bytes);
                    Ok(buf.into())
                }
                None => Ok(self.store.read_chunks(&[*k])?.remove(0)),
            })
            .collect()
    }

    pub(crate) fn table_mut(&mut self, id: TableId) -> Result<&mut TableData> {
        let t =
            self.work.tables.get_mut(&id).ok_or_else(|| Error::NotFound(format!("table {id}")))?;
        let t = Arc::make_mut(t);
        t.manifest_key = 0;
        Ok(t)
    }

    /// Creates a table and returns its id.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] for a taken name, [`Error::Invalid`] for a bad definition.
    pub fn create_table(&mut self, meta: TableMeta) -> Result<TableId> {
        let mut meta = meta;
        for c in &mut meta.columns {
            c.data_type = crate::chunk::storage_type(&c.data_type);
        }
        meta.validate()?;
        if self.work.names.contains_key(&meta.name) {
            return Err(Error::AlreadyExists(format!("table {}", meta.name)));
        }
        let id = self.work.next_table_id;
        self.work.next_table_id += 1;
        self.work.names.insert(meta.name.clone(), id);
        let table = TableData::new(id, Arc::new(meta), self.store.generation());
        self.work.tables.insert(id, Arc::new(table));
        Ok(id)
    }

    /// Drops a table and all its rows.
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such table.
    pub fn drop_table(&mut self, id: TableId) -> Result<()> {
        let t =
            self.work.tables.remove(&id).ok_or_else(|| Error::NotFound(format!("table {id}")))?;
        self.work.names.remove(&t.meta.name);
        self.rewritten.push((id, None));
        Ok(())
    }

    /// Replaces a table's definition (same columns and types; names, constraints
    /// and properties may change).
    ///
    /// # Errors
    /// [`Error::Invalid`] when the columns' types change, [`Error::AlreadyExists`]
    /// when the new name is taken.
    pub fn alter_table(&mut self, id: TableId, meta: TableMeta) -> Result<()> {
        meta.validate()?;
        let old = self.work.table(id).ok_or_else(|| Error::NotFound(format!("table {id}")))?;
        let same_types = old.meta.columns.len() == meta.columns.len()
            && old.meta.columns.iter().zip(&meta.columns).all(|(a, b)| a.data_type == b.data_type);
        if !same_types {
            return Err(Error::Invalid("alter_table cannot change column types".into()));
        }
        let old_name = old.meta.name.clone();
        if old_name != meta.name {
            if self.work.names.contains_key(&meta.name) {
                return Err(Error::AlreadyExists(format!("table {}", meta.name)));
            }
            self.work.names.remove(&old_name);
            self.work.names.insert(meta.name.clone(), id);
        }
        self.table_mut(id)?.meta = Arc::new(meta);
        Ok(())
    }

    /// Sets (or with `None` removes) a database-level property.
    pub fn set_property(&mut self, key: &str, value: Option<String>) {
        match value {
            Some(v) => self.work.properties.insert(key.to_string(), v),
            None => self.work.properties.remove(key),
        };
    }

    /// Sets the counter kept for the layer above.
    pub fn set_user_seq(&mut self, seq: u64) {
        self.work.user_seq = seq;
    }

    /// Makes every change of this transaction durable and visible, atomically.
    ///
    /// # Errors
    /// I/O errors; after one, the store refuses writes until reopened and the
    /// last successful commit is what a reopen sees.
    pub fn commit(mut self) -> Result<Arc<Version>> {
        let dirty: Vec<TableId> = self
            .work
            .tables
            .iter()
            .filter(|(_, t)| t.manifest_key == 0)
            .map(|(id, _)| *id)
            .collect();
        for id in dirty {
            let mut table = (*self.work.tables[&id]).clone();
            if table.list_key == 0 {
                for seg in table.segments_mut()? {
                    if seg.key == 0 {
                        let bytes = seg.encode(&|k| self.locate(k))?;
                        let key = self.put_blob(bytes)?;
                        Arc::make_mut(seg).key = key;
                    }
                }
                let list = table.encode_segment_list(&|k| self.locate(k))?;
                let list_key = self.alloc_key();
                self.queue(list_key, list);
                table.list_key = list_key;
                table.list_location = self.locate(list_key);
            }
            table.manifest_key = self.alloc_key();
            let manifest = table.encode_manifest(&|k| self.locate(k));
            self.queue(table.manifest_key, manifest);
            self.work.tables.insert(id, Arc::new(table));
        }
        let catalog_key = self.alloc_key();
        let catalog = self.work.encode_catalog(&|k| self.locate(k));
        self.queue(catalog_key, catalog);
        self.work.seq += 1;
        let commit = self.work.encode_commit(catalog_key);

        let durable = self.store.inner.options.durability == Durability::Immediate;
        self.flush()?;
        let pager = &self.store.pager();
        if durable {
            let r = pager.sync();
            self.guard_io(r)?;
        }
        let r = pager.write(&[(COMMIT_KEY, &commit)]);
        self.guard_io(r)?;
        if durable {
            let r = pager.sync();
            self.guard_io(r)?;
        }
        let version = Arc::new(std::mem::take(&mut self.work));
        *self.store.inner.current.write() = Arc::clone(&version);
        for (table, column) in std::mem::take(&mut self.rewritten) {
            self.store.inner.indexes.invalidate(table, column);
        }
        Ok(version)
    }
}
