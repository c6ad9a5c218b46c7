//! A transaction: a snapshot to read from and private changes to commit.
//!
//! Writes are deferred: inserted rows, deleted row ids and DDL stay in the
//! transaction until COMMIT, which validates and applies them to the store in
//! one atomic store commit stamped with a new commit timestamp. Nothing of an
//! uncommitted transaction ever reaches the file. Write-write conflicts are
//! found when they happen: deleting (or updating) a row first takes its row
//! lock, and fails if another active transaction holds it or if a commit after
//! this snapshot already deleted the row (first updater wins).

use crate::database::{Database, TxnId};
use crate::error::{Error, Result};
use crate::scan::{LocalRows, PreparedScan};
use crate::versioning::{self, DELETED_COLUMN};
use arrow::array::{Array, ArrayRef, RecordBatch, UInt64Array};
use arrow::datatypes::SchemaRef;
use llkv_store::{ScanRequest, TableData, TableId, TableMeta, Version, VersionFilter};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Row ids at or above this are rows inserted by the running transaction.
pub const LOCAL_ROW_BASE: u64 = 1 << 62;

/// A table as one transaction sees it.
#[derive(Debug, Clone)]
pub struct TableHandle {
    /// The table's name.
    pub name: String,
    /// The user-visible definition (no hidden columns).
    pub meta: Arc<TableMeta>,
    pub(crate) target: Target,
    /// Arrow schemas of `meta`, built on first use and shared by the handles
    /// of one table in one transaction (a statement per row would otherwise
    /// build them again and again).
    pub(crate) schemas: Arc<HandleSchemas>,
}

/// The schemas of a [`TableHandle`]'s user columns.
#[derive(Debug, Default)]
pub(crate) struct HandleSchemas {
    plain: std::sync::OnceLock<SchemaRef>,
    with_row_ids: std::sync::OnceLock<SchemaRef>,
}

impl TableHandle {
    fn new(name: &str, meta: Arc<TableMeta>, target: Target) -> Self {
        Self { name: name.to_string(), meta, target, schemas: Arc::default() }
    }

    /// The Arrow schema of the user columns (as [`TableMeta::schema`]),
    /// built once per transaction and table.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(self.schemas.plain.get_or_init(|| self.meta.schema()))
    }

    /// The schema of a scan of every user column, with or without row ids
    /// (as [`ScanRequest::output_schema`]).
    pub(crate) fn scan_schema(&self, with_row_ids: bool) -> SchemaRef {
        if !with_row_ids {
            return self.schema();
        }
        Arc::clone(self.schemas.with_row_ids.get_or_init(|| {
            let req = ScanRequest { with_row_ids: true, ..Default::default() };
            req.output_schema(&self.meta)
        }))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// A committed table.
    Stored(TableId),
    /// A table created by this transaction (index into `State::created`).
    Local(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Active,
    Failed(String),
    Ended,
}

/// Changes to one table.
#[derive(Default)]
pub(crate) struct TableChanges {
    pub(crate) inserted: LocalRows,
    /// Committed rows this transaction deleted.
    /// Shared with the scans that exclude these rows; copied only when it grows.
    pub(crate) deleted: Arc<BTreeSet<u64>>,
    /// Keys of `inserted`, per unique key column set (see `constraints.rs`).
    pub(crate) local_keys: std::collections::HashMap<Vec<usize>, crate::constraints::LocalKeys>,
}

struct CreatedTable {
    meta: Arc<TableMeta>,
    dropped: bool,
}

struct State {
    status: Status,
    created: Vec<CreatedTable>,
    dropped: BTreeSet<TableId>,
    changes: BTreeMap<Target, TableChanges>,
    locks: Vec<(TableId, u64)>,
    /// Table names this transaction created (lower-cased), locked until it ends.
    name_locks: Vec<String>,
    /// Foreign keys to check again at COMMIT (see `foreign_keys.rs`).
    deferred_fks: Vec<crate::foreign_keys::DeferredCheck>,
    properties: BTreeMap<String, Option<String>>,
    /// Handles of committed tables looked up so far: their definitions are
    /// those of the transaction's store version, which never changes.
    stored_handles: std::collections::HashMap<TableId, TableHandle>,
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Target {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let key = |t: &Target| match t {
            Target::Stored(id) => (0, *id),
            Target::Local(i) => (1, *i as u64),
        };
        key(self).cmp(&key(other))
    }
}

/// A snapshot-isolation transaction. Shared across threads as `Arc<Transaction>`;
/// dropping the last handle without committing rolls it back.
pub struct Transaction {
    db: Database,
    id: TxnId,
    snapshot: u64,
    /// The store version this transaction reads its catalog and rows from.
    version: Arc<Version>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("id", &self.id)
            .field("snapshot", &self.snapshot)
            .finish()
    }
}

impl Transaction {
    pub(crate) fn new(db: Database) -> Self {
        let id = db.inner.next_txn.fetch_add(1, Ordering::Relaxed);
        // Register before reading the snapshot so vacuum never passes it by.
        let mut active = db.inner.active.lock();
        let snapshot = db.last_committed();
        // Commits publish their store version before their timestamp, so this
        // version holds every commit up to `snapshot` (and perhaps a newer one,
        // which the visibility rule hides).
        let version = db.store().current();
        active.insert(id, snapshot);
        drop(active);
        Self {
            db,
            id,
            snapshot,
            version,
            state: Mutex::new(State {
                status: Status::Active,
                created: Vec::new(),
                dropped: BTreeSet::new(),
                changes: BTreeMap::new(),
                locks: Vec::new(),
                name_locks: Vec::new(),
                deferred_fks: Vec::new(),
                properties: BTreeMap::new(),
                stored_handles: std::collections::HashMap::new(),
            }),
        }
    }

    /// The snapshot timestamp: commits up to it are visible.
    pub fn snapshot(&self) -> u64 {
        self.snapshot
    }

    /// The database this transaction belongs to.
    pub fn database(&self) -> &Database {
        &self.db
    }

    fn check_active(state: &State) -> Result<()> {
        match &state.status {
            Status::Active => Ok(()),
            Status::Failed(cause) => Err(Error::Aborted(cause.clone())),
            Status::Ended => Err(Error::Ended),
        }
    }

    /// Checks that the transaction can run a statement.
    ///
    /// # Errors
    /// [`Error::Aborted`] after a failed statement, [`Error::Ended`] after commit or rollback.
    pub fn check_usable(&self) -> Result<()> {
        Self::check_active(&self.state.lock())
    }

    /// Marks the transaction failed: it refuses everything but rollback.
    pub fn fail(&self, cause: impl Into<String>) {
        let mut st = self.state.lock();
        if st.status == Status::Active {
            st.status = Status::Failed(cause.into());
        }
    }

    /// Whether an earlier error aborted the transaction.
    pub fn is_failed(&self) -> bool {
        matches!(self.state.lock().status, Status::Failed(_))
    }

    /// Whether the transaction changed anything.
    pub fn has_changes(&self) -> bool {
        let st = self.state.lock();
        !st.created.is_empty()
            || !st.dropped.is_empty()
            || !st.changes.is_empty()
            || !st.properties.is_empty()
    }

    /// The committed table behind `table` as of this transaction's snapshot
    /// (`None` for a table this transaction created).
    pub(crate) fn stored_table(&self, table: &TableHandle) -> Option<Arc<TableData>> {
        match table.target {
            Target::Stored(id) => self.version.table(id).cloned(),
            Target::Local(_) => None,
        }
    }

    /// Notes foreign-key keys for COMMIT to check again.
    pub(crate) fn defer_foreign_key_check(&self, check: crate::foreign_keys::DeferredCheck) {
        self.state.lock().deferred_fks.push(check);
    }

    /// The committed rows of `table` this transaction deleted.
    pub(crate) fn deleted_rows(&self, table: &TableHandle) -> Arc<BTreeSet<u64>> {
        self.state
            .lock()
            .changes
            .get(&table.target)
            .map(|c| Arc::clone(&c.deleted))
            .unwrap_or_default()
    }

    /// Whether a live row this transaction inserted into `table` has one of
    /// `keys` (encoded) on `cols`.
    /// Whether this transaction has live inserted rows in `table`.
    pub(crate) fn has_local_rows(&self, table: &TableHandle) -> bool {
        self.state.lock().changes.get(&table.target).is_some_and(|ch| !ch.inserted.is_empty())
    }

    pub(crate) fn local_key_hit(
        &self,
        table: &TableHandle,
        cols: &[usize],
        keys: &[Option<Vec<u8>>],
    ) -> Result<bool> {
        let mut st = self.state.lock();
        match st.changes.get_mut(&table.target) {
            Some(ch) => ch.local_key_hit(cols, keys),
            None => Ok(false),
        }
    }

    /// Looks a table up by name.
    ///
    /// # Errors
    /// [`Error::Aborted`] / [`Error::Ended`] when the transaction cannot be used.
    pub fn table(&self, name: &str) -> Result<Option<TableHandle>> {
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        Ok(self.find_table(&mut st, name))
    }

    fn find_table(&self, st: &mut State, name: &str) -> Option<TableHandle> {
        if let Some(i) = st.created.iter().position(|t| !t.dropped && t.meta.name == name) {
            return Some(TableHandle::new(name, Arc::clone(&st.created[i].meta), Target::Local(i)));
        }
        let t = self.version.table_by_name(name)?;
        if st.dropped.contains(&t.id) {
            return None;
        }
        let h = st.stored_handles.entry(t.id).or_insert_with(|| {
            TableHandle::new(name, Arc::new(versioning::user_meta(t)), Target::Stored(t.id))
        });
        let mut h = h.clone();
        if h.name != name {
            h.name = name.to_string();
        }
        Some(h)
    }

    /// Names of all tables this transaction sees, sorted.
    ///
    /// # Errors
    /// [`Error::Aborted`] / [`Error::Ended`].
    pub fn table_names(&self) -> Result<Vec<String>> {
        let st = self.state.lock();
        Self::check_active(&st)?;
        let mut names: BTreeSet<String> = self
            .version
            .tables()
            .filter(|t| !st.dropped.contains(&t.id))
            .map(|t| t.meta.name.clone())
            .collect();
        names.extend(st.created.iter().filter(|t| !t.dropped).map(|t| t.meta.name.clone()));
        Ok(names.into_iter().collect())
    }

    /// Names of the tables this transaction sees whose definition has the
    /// table property `key` (no table definition is copied).
    ///
    /// # Errors
    /// [`Error::Aborted`] / [`Error::Ended`].
    pub(crate) fn tables_with_property(&self, key: &str) -> Result<Vec<String>> {
        let st = self.state.lock();
        Self::check_active(&st)?;
        let mut names: BTreeSet<String> = self
            .version
            .tables()
            .filter(|t| !st.dropped.contains(&t.id) && t.meta.properties.contains_key(key))
            .map(|t| t.meta.name.clone())
            .collect();
        names.extend(
            st.created
                .iter()
                .filter(|t| !t.dropped && t.meta.properties.contains_key(key))
                .map(|t| t.meta.name.clone()),
        );
        Ok(names.into_iter().collect())
    }

    /// A database-level property as this transaction sees it.
    pub fn property(&self, key: &str) -> Option<String> {
        let st = self.state.lock();
        if let Some(v) = st.properties.get(key) {
            return v.clone();
        }
        self.version.properties().get(key).cloned()
    }

    /// All database-level properties whose key starts with `prefix`.
    pub fn properties_with_prefix(&self, prefix: &str) -> BTreeMap<String, String> {
        let st = self.state.lock();
        let mut out: BTreeMap<String, String> = self
            .version
            .properties()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in st.properties.iter().filter(|(k, _)| k.starts_with(prefix)) {
            match v {
                Some(v) => out.insert(k.clone(), v.clone()),
                None => out.remove(k),
            };
        }
        out
    }

    /// Refuses a change on a database opened read-only, before anything is buffered.
    fn check_writable(&self) -> Result<()> {
        if self.db.is_read_only() {
            return Err(Error::Store(llkv_store::Error::ReadOnly("writes are refused".into())));
        }
        Ok(())
    }

    /// Sets (or removes, with `None`) a database-level property at commit.
    ///
    /// # Errors
    /// [`Error::Aborted`] / [`Error::Ended`].
    pub fn set_property(&self, key: &str, value: Option<String>) -> Result<()> {
        self.check_writable()?;
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        st.properties.insert(key.to_string(), value);
        Ok(())
    }

    /// Creates a table (visible to others once committed).
    ///
    /// # Errors
    /// [`Error::TableExists`] when the name is taken, store errors for a bad definition.
    pub fn create_table(&self, meta: TableMeta) -> Result<TableHandle> {
        self.check_writable()?;
        let mut meta = meta;
        crate::foreign_keys::prepare(self, &mut meta)?;
        self.check_schema_of(&meta.name)?;
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        if self.find_table(&mut st, &meta.name).is_some() {
            return Err(Error::TableExists(meta.name));
        }
        let key = meta.name.to_lowercase();
        if !self.db.inner.row_locks.try_lock_name(self.id, &key) {
            let e = Error::Serialization { table: meta.name.clone() };
            self.abort_locked(&mut st, &e);
            return Err(e);
        }
        st.name_locks.push(key);
        for c in &mut meta.columns {
            c.data_type = llkv_store::chunk::storage_type(&c.data_type);
        }
        versioning::store_meta(&meta).validate()?;
        let meta = Arc::new(meta);
        st.created.push(CreatedTable { meta: Arc::clone(&meta), dropped: false });
        Ok(TableHandle::new(&meta.name.clone(), meta, Target::Local(st.created.len() - 1)))
    }

    /// Drops a table.
    ///
    /// # Errors
    /// [`Error::NoSuchTable`].
    pub fn drop_table(&self, name: &str) -> Result<()> {
        self.check_writable()?;
        crate::foreign_keys::check_drop(self, name)?;
        self.drop_entry(name)
    }

    fn drop_entry(&self, name: &str) -> Result<()> {
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        let h =
            self.find_table(&mut st, name).ok_or_else(|| Error::NoSuchTable(name.to_string()))?;
        match h.target {
            Target::Local(i) => st.created[i].dropped = true,
            Target::Stored(id) => {
                st.dropped.insert(id);
            }
        }
        st.changes.remove(&h.target);
        Ok(())
    }

    /// Replaces table `name` by a new (empty) table defined by `meta`, which
    /// may have another name: what `ALTER TABLE` does after reading the rows.
    /// Foreign keys that reference `name` are not checked here: the caller
    /// keeps the referenced columns.
    ///
    /// # Errors
    /// [`Error::NoSuchTable`], and the errors of [`Transaction::create_table`].
    pub fn replace_table(&self, name: &str, meta: TableMeta) -> Result<TableHandle> {
        self.drop_entry(name)?;
        self.create_table(meta)
    }

    /// Plans a scan of `table` as this transaction sees it: the store's rows
    /// visible at the snapshot minus the rows deleted here, plus the rows
    /// inserted here. Projection and predicates index the user columns.
    ///
    /// # Errors
    /// [`Error::Aborted`] / [`Error::Ended`], and the store's errors for bad indexes.
    pub fn prepare_scan(&self, table: &TableHandle, req: &ScanRequest) -> Result<PreparedScan> {
        let index_plan = match (&table.target, req.predicates.is_empty()) {
            (Target::Stored(_), false) => {
                crate::index::choose(&self.indexes(table), &req.predicates)
            }
            _ => None,
        };
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        let user_cols = table.meta.columns.len();
        let projection: Vec<usize> =
            req.projection.clone().unwrap_or_else(|| (0..user_cols).collect());
        if let Some(bad) = projection
            .iter()
            .chain(req.predicates.iter().map(|p| p.column()).collect::<Vec<_>>().iter())
            .find(|&&c| c >= user_cols)
        {
            return Err(llkv_store::Error::Invalid(format!(
                "table {} has no column {bad}",
                table.name
            ))
            .into());
        }
        let changes = st.changes.get(&table.target);
        let stored = match table.target {
            Target::Stored(id) => {
                let t = self.version.table(id).cloned();
                Some(t.ok_or_else(|| Error::NoSuchTable(table.name.clone()))?)
            }
            Target::Local(_) => None,
        };
        let store_req = stored.as_ref().map(|t: &Arc<TableData>| ScanRequest {
            projection: Some(projection.clone()),
            predicates: req.predicates.clone(),
            with_row_ids: req.with_row_ids,
            version: Some(VersionFilter {
                created: versioning::user_columns(t),
                deleted: versioning::user_columns(t) + 1,
                snapshot: self.snapshot,
            }),
            exclude: changes.map(|c| Arc::clone(&c.deleted)),
        });
        let local = match st.changes.get_mut(&table.target) {
            Some(c) => {
                c.inserted.scan(&table.meta, &projection, &req.predicates, req.with_row_ids)?
            }
            None => Vec::new(),
        };
        let mut out_req = req.clone();
        out_req.projection = Some(projection);
        // Scans of every column (point reads by key, UPDATE and DELETE) use
        // the handle's schema instead of building one.
        let every = out_req
            .projection
            .as_ref()
            .is_some_and(|p| p.len() == user_cols && p.iter().enumerate().all(|(i, &c)| i == c));
        let schema = if every {
            table.scan_schema(req.with_row_ids)
        } else {
            out_req.output_schema(&table.meta)
        };
        let mut scan =
            PreparedScan::new(self.db.store().clone(), stored, store_req, local, schema)?;
        if let (Some(plan), Some(t)) = (index_plan, scan.table_data())
            && let Some(rows) = crate::index::candidates(self.db.store(), t, &plan)?
        {
            scan.restrict(plan.index.name, rows);
        }
        Ok(scan)
    }

    /// Scans a table and collects the batches (see [`Transaction::prepare_scan`]).
    ///
    /// # Errors
    /// As for [`Transaction::prepare_scan`], plus the store's read errors.
    pub fn scan(&self, table: &TableHandle, req: &ScanRequest) -> Result<Vec<RecordBatch>> {
        self.prepare_scan(table, req)?.collect()
    }

    /// Inserts rows (user columns, by position); returns how many.
    ///
    /// # Errors
    /// [`Error::Constraint`] for a NULL in a NOT NULL column or a duplicate key,
    /// store errors for uncastable values.
    pub fn insert(&self, table: &TableHandle, batch: &RecordBatch) -> Result<u64> {
        self.check_writable()?;
        let batch = crate::constraints::conform_to(&table.meta, table.schema(), batch)?;
        if batch.num_rows() == 0 {
            return Ok(0);
        }
        crate::constraints::check_unique(self, table, &batch)?;
        crate::foreign_keys::check_change(self, table, &[], Some(&batch))?;
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        st.changes.entry(table.target).or_default().inserted.push(batch.clone())?;
        Ok(batch.num_rows() as u64)
    }

    /// Deletes rows by id (ids as returned by a scan with row ids).
    ///
    /// # Errors
    /// [`Error::Serialization`] when another transaction changed one of the rows
    /// after this snapshot or is changing it now; the transaction is then
    /// rolled back.
    pub fn delete(&self, table: &TableHandle, row_ids: &[u64]) -> Result<u64> {
        self.check_writable()?;
        if !row_ids.is_empty() {
            crate::foreign_keys::check_change(self, table, row_ids, None)?;
        }
        self.delete_rows(table, row_ids)
    }

    fn delete_rows(&self, table: &TableHandle, row_ids: &[u64]) -> Result<u64> {
        let mut st = self.state.lock();
        Self::check_active(&st)?;
        let (local, stored): (Vec<u64>, Vec<u64>) =
            row_ids.iter().partition(|&&r| r >= LOCAL_ROW_BASE);
        if let (Target::Stored(id), false) = (table.target, stored.is_empty()) {
            if let Err(e) = self.lock_rows(&mut st, table, id, &stored) {
                self.abort_locked(&mut st, &e);
                return Err(e);
            }
            let ch = st.changes.entry(table.target).or_default();
            Arc::make_mut(&mut ch.deleted).extend(stored.iter().copied());
        }
        if !local.is_empty() {
            let ch = st.changes.entry(table.target).or_default();
            ch.inserted.delete(local.iter().map(|r| r - LOCAL_ROW_BASE));
        }
        Ok(row_ids.len() as u64)
    }

    fn lock_rows(
        &self,
        st: &mut State,
        table: &TableHandle,
        id: TableId,
        rows: &[u64],
    ) -> Result<()> {
        let conflict = || Error::Serialization { table: table.name.clone() };
        if !self.db.inner.row_locks.try_lock(self.id, id, rows) {
            return Err(conflict());
        }
        st.locks.extend(rows.iter().map(|r| (id, *r)));
        // Under the lock, a row deleted by a commit after our snapshot is a conflict.
        let v = self.db.store().current();
        // A table dropped by a later commit: COMMIT reports that conflict.
        let Some(t) = v.table(id) else { return Ok(()) };
        // No commit changed the table since the snapshot (this transaction's
        // store version holds no later commit, and the table's data is the
        // same): the rows it sees are deleted by nobody.
        let unchanged = self.version.user_seq <= self.snapshot
            && self.version.table(id).is_some_and(|mine| Arc::ptr_eq(mine, t));
        if unchanged {
            return Ok(());
        }
        let del_col = t
            .meta
            .column_index(DELETED_COLUMN)
            .ok_or_else(|| Error::NoSuchTable(table.name.clone()))?;
        let fresh: Vec<u64> = {
            let mut r = rows.to_vec();
            r.sort_unstable();
            r.dedup();
            r
        };
        let batch = self.db.store().read_rows(t, &fresh, &[del_col]).map_err(|e| match e {
            llkv_store::Error::NotFound(_) => conflict(),
            e => e.into(),
        })?;
        let deleted = batch.column(0);
        if deleted.null_count() != deleted.len() {
            return Err(conflict());
        }
        Ok(())
    }

    /// Replaces rows: deletes `row_ids` and inserts `new_rows` in their place.
    ///
    /// # Errors
    /// As for [`Transaction::delete`] and [`Transaction::insert`].
    pub fn update(
        &self,
        table: &TableHandle,
        row_ids: &[u64],
        new_rows: &RecordBatch,
    ) -> Result<u64> {
        self.update_rows(table, row_ids, new_rows, true)
    }

    /// As [`Transaction::update`], for new rows that differ from the rows
    /// they replace (row `i` of `new_rows` replaces `row_ids[i]`, distinct
    /// ids of rows this transaction sees) at most in the columns `changed`.
    /// When no column of the primary key, a UNIQUE constraint or a unique
    /// index is among them, each new row has the key of the row it replaces,
    /// so the keys stay unique and their checks are skipped.
    ///
    /// # Errors
    /// As for [`Transaction::update`].
    pub fn update_columns(
        &self,
        table: &TableHandle,
        row_ids: &[u64],
        new_rows: &RecordBatch,
        changed: &[usize],
    ) -> Result<u64> {
        let keys_kept = row_ids.len() == new_rows.num_rows()
            && crate::index::unique_sets(&self.indexes(table))
                .iter()
                .all(|(_, cols)| cols.iter().all(|c| !changed.contains(c)));
        self.update_rows(table, row_ids, new_rows, !keys_kept)
    }

    fn update_rows(
        &self,
        table: &TableHandle,
        row_ids: &[u64],
        new_rows: &RecordBatch,
        check_keys: bool,
    ) -> Result<u64> {
        let batch = crate::constraints::conform_to(&table.meta, table.schema(), new_rows)?;
        crate::foreign_keys::check_change(self, table, row_ids, Some(&batch))?;
        self.delete_rows(table, row_ids)?;
        if check_keys && let Err(e) = crate::constraints::check_unique(self, table, &batch) {
            self.fail(e.to_string());
            return Err(e);
        }
        let mut st = self.state.lock();
        st.changes.entry(table.target).or_default().inserted.push(batch)?;
        Ok(row_ids.len() as u64)
    }

    /// Deletes every row of a table visible to this transaction; returns how many.
    ///
    /// # Errors
    /// As for [`Transaction::delete`].
    pub fn truncate(&self, table: &TableHandle) -> Result<u64> {
        let req =
            ScanRequest { projection: Some(vec![]), with_row_ids: true, ..Default::default() };
        let mut ids = Vec::new();
        for b in self.scan(table, &req)? {
            let col = b.column(b.num_columns() - 1);
            if let Some(a) = col.as_any().downcast_ref::<UInt64Array>() {
                ids.extend(a.values().iter().copied());
            }
        }
        self.delete(table, &ids)
    }

    fn abort_locked(&self, st: &mut State, cause: &Error) {
        self.release(st);
        st.status = Status::Failed(cause.to_string());
    }

    fn release(&self, st: &mut State) {
        let locks = std::mem::take(&mut st.locks);
        self.db.inner.row_locks.release(self.id, locks);
        let names = std::mem::take(&mut st.name_locks);
        self.db.inner.row_locks.release_names(self.id, names);
        self.db.inner.active.lock().remove(&self.id);
        st.changes.clear();
        st.deferred_fks.clear();
        st.created.clear();
        st.dropped.clear();
        st.properties.clear();
        st.stored_handles.clear();
    }

    /// Discards every change.
    pub fn rollback(&self) {
        let mut st = self.state.lock();
        if st.status != Status::Ended {
            self.release(&mut st);
            st.status = Status::Ended;
        }
    }

    /// Commits: validates, then applies every change atomically and durably.
    /// Returns the commit timestamp (the snapshot's for a read-only transaction).
    ///
    /// # Errors
    /// [`Error::Aborted`] for a failed transaction (which is then rolled back),
    /// [`Error::Serialization`] / [`Error::Constraint`] when validation fails,
    /// store errors when the write fails. On any error nothing is applied.
    pub fn commit(&self) -> Result<u64> {
        let deferred = std::mem::take(&mut self.state.lock().deferred_fks);
        if !deferred.is_empty()
            && let Err(e) = crate::foreign_keys::check_deferred(self, &deferred)
        {
            self.rollback();
            return Err(e);
        }
        let mut st = self.state.lock();
        if let Err(e) = Self::check_active(&st) {
            self.release(&mut st);
            st.status = Status::Ended;
            return Err(e);
        }
        let (dead, inserted) = change_counts(&st);
        let result = self.apply(&st);
        self.release(&mut st);
        st.status = Status::Ended;
        drop(st);
        if result.is_ok() {
            self.db.after_commit(dead, inserted);
        }
        result
    }

    fn apply(&self, st: &State) -> Result<u64> {
        let nothing = st.created.is_empty()
            && st.dropped.is_empty()
            && st.changes.is_empty()
            && st.properties.is_empty();
        if nothing {
            return Ok(self.snapshot);
        }
        let inner = &self.db.inner;
        let _commit = inner.commit_lock.lock();
        let ts = inner.last_committed.load(Ordering::Acquire) + 1;
        // Tables this transaction changes or drops must not have been dropped
        // (or replaced) by a commit after its snapshot.
        let latest = self.db.store().current();
        let touched = st.changes.keys().filter_map(|t| match t {
            Target::Stored(id) => Some(*id),
            Target::Local(_) => None,
        });
        for id in touched.chain(st.dropped.iter().copied()) {
            if latest.table(id).is_none() {
                let name = self
                    .version
                    .table(id)
                    .map_or_else(|| format!("#{id}"), |t| t.meta.name.clone());
                return Err(Error::Serialization {
                    table: format!("{name} (another transaction has dropped this table)"),
                });
            }
        }
        let mut index_props: BTreeMap<String, String> = latest
            .properties()
            .range(crate::index::INDEX_PREFIX.to_string()..)
            .take_while(|(k, _)| k.starts_with(crate::index::INDEX_PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in
            st.properties.iter().filter(|(k, _)| k.starts_with(crate::index::INDEX_PREFIX))
        {
            match v {
                Some(v) => index_props.insert(k.clone(), v.clone()),
                None => index_props.remove(k),
            };
        }
        for (target, ch) in &st.changes {
            if let Target::Stored(id) = target
                && !ch.inserted.is_empty()
            {
                crate::constraints::validate_at_commit(self, *id, ch, &index_props)?;
            }
        }
        let store = self.db.store();
        let mut w = store.begin_write()?;
        for id in &st.dropped {
            w.drop_table(*id)?;
        }
        let mut local_ids = Vec::with_capacity(st.created.len());
        for t in &st.created {
            if t.dropped {
                local_ids.push(None);
                continue;
            }
            let id = w.create_table(versioning::store_meta(&t.meta)).map_err(|e| match e {
                llkv_store::Error::AlreadyExists(_) => Error::TableExists(t.meta.name.clone()),
                e => e.into(),
            })?;
            local_ids.push(Some(id));
        }
        for (target, ch) in &st.changes {
            let id = match target {
                Target::Stored(id) => *id,
                // A handle of another transaction's new table names no table here.
                Target::Local(i) => match local_ids.get(*i) {
                    Some(Some(id)) => *id,
                    Some(None) => continue,
                    None => return Err(Error::NoSuchTable(format!("local table #{i}"))),
                },
            };
            let version = w.version();
            let table = version.table(id).ok_or_else(|| Error::NoSuchTable(format!("#{id}")))?;
            let schema = table.meta.schema();
            let del_col = table.meta.columns.len() - 1;
            if !ch.deleted.is_empty() {
                let rows: Vec<u64> = ch.deleted.iter().copied().collect();
                let stamps: ArrayRef = Arc::new(UInt64Array::from_value(ts, rows.len()));
                w.update(id, del_col, &rows, &stamps)?;
            }
            for batch in ch.inserted.live_batches()? {
                let cols = versioning::with_versions(&batch, ts);
                let full = RecordBatch::try_new(Arc::clone(&schema), cols)?;
                w.append(id, &full)?;
            }
        }
        for (k, v) in &st.properties {
            w.set_property(k, v.clone());
        }
        w.set_user_seq(ts);
        w.commit()?;
        inner.last_committed.store(ts, Ordering::Release);
        Ok(ts)
    }
}

/// Row versions a transaction's commit deletes and inserts (for auto-vacuum).
fn change_counts(st: &State) -> (u64, u64) {
    st.changes
        .values()
        .fold((0, 0), |(d, i), ch| (d + ch.deleted.len() as u64, i + ch.inserted.row_count()))
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.rollback();
    }
}
