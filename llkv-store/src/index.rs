//! Secondary indexes: ordered maps from key values to row ids.
//!
//! An index covers one table and an ordered list of its columns. Each row
//! whose key columns are all non-NULL maps to its row id under a key encoded
//! with Arrow's row format, whose byte order is the columns' value order
//! (integers numerically, floats numerically with `-0.0` folded into `0.0`,
//! strings and binaries bytewise). Rows whose leading key column is NULL are
//! left out (no comparison with NULL is ever true); a NULL in a later column
//! is encoded as such, so prefix lookups find the row while full-key
//! equality never matches it (NULLs never collide under UNIQUE).
//!
//! Indexes live in memory only and are built on first use, so opening a
//! database costs nothing per index. An index covers row ids `0..covered`:
//! a lookup with a newer table first adds the rows appended since (row ids
//! only grow), so commits never pay for indexes. The index holds every row
//! version ever appended; callers filter the candidates by visibility, and
//! rows that no longer exist are skipped by [`crate::Store::scan_rows`].
//! A committed in-place [`crate::WriteTxn::update`] of an indexed column or a
//! dropped table discards the index (the next lookup rebuilds it).
//!
//! ```text
//!  base:  sorted run  [key bytes …][end offsets][row ids]    (rebuilt when the delta grows)
//!  delta: BTreeSet<(key, row id)>                            (rows appended since)
//! ```

use crate::catalog::TableId;
use crate::error::{Error, Result};
use crate::scan::{chunk_keys, decode_columns};
use crate::store::Store;
use crate::table::TableData;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type};
use arrow::row::{RowConverter, Rows, SortField};
use parking_lot::Mutex;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::Arc;

/// Delta entries below this count never trigger a rebuild of the sorted run.
const MIN_DELTA: usize = 4096;

/// One end of a [`KeyRange`]: values of the index's leading columns (one
/// one-element array per column) and whether the end itself is included.
#[derive(Debug, Clone)]
pub struct KeyBound {
    /// One value per leading column, each a one-element array.
    pub values: Vec<ArrayRef>,
    /// Whether keys equal to `values` (on those columns) are in the range.
    pub inclusive: bool,
}

/// Keys whose leading columns lie between two bounds (a missing bound is open).
/// Bounds may name fewer columns than the index has: they then bound the
/// prefix of the key.
#[derive(Debug, Clone, Default)]
pub struct KeyRange {
    /// Lower bound.
    pub low: Option<KeyBound>,
    /// Upper bound.
    pub high: Option<KeyBound>,
}

impl KeyRange {
    /// Exactly the keys whose leading columns equal `values`.
    pub fn eq(values: Vec<ArrayRef>) -> Self {
        Self {
            low: Some(KeyBound { values: values.clone(), inclusive: true }),
            high: Some(KeyBound { values, inclusive: true }),
        }
    }
}

/// An index's identity: its table and key columns.
type IndexKey = (TableId, Vec<usize>);

/// Encoded bounds of a key range.
type EncodedRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The indexes of one store, by table and column list.
#[derive(Default)]
pub(crate) struct IndexCache {
    map: Mutex<HashMap<IndexKey, Arc<Mutex<KeyIndex>>>>,
}

impl IndexCache {
    fn get(&self, table: TableId, columns: &[usize], types: Vec<DataType>) -> Arc<Mutex<KeyIndex>> {
        let mut map = self.map.lock();
        Arc::clone(
            map.entry((table, columns.to_vec()))
                .or_insert_with(|| Arc::new(Mutex::new(KeyIndex::new(columns.to_vec(), types)))),
        )
    }

    /// Discards the indexes of `table` that contain `column` (all of them for `None`).
    pub(crate) fn invalidate(&self, table: TableId, column: Option<usize>) {
        self.map
            .lock()
            .retain(|(t, cols), _| *t != table || column.is_some_and(|c| !cols.contains(&c)));
    }

    /// Number of indexes currently built (for tests).
    fn len(&self) -> usize {
        self.map.lock().len()
    }
}

/// An index over some columns of one table.
struct KeyIndex {
    columns: Vec<usize>,
    types: Vec<DataType>,
    /// Row ids below this are indexed.
    covered: u64,
    /// The sorted run: key `i` is `data[ends[i-1]..ends[i]]`, its row `ids[i]`.
    data: Vec<u8>,
    ends: Vec<usize>,
    ids: Vec<u64>,
    /// The first 8 bytes (big-endian, zero-padded) of every [`FENCE`]-th key
    /// of the run: a search narrows to [`FENCE`] keys in this small array
    /// before it reads the run's keys, which are scattered over megabytes.
    fences: Vec<u64>,
    delta: BTreeSet<(Box<[u8]>, u64)>,
}

/// Keys of the sorted run per fence.
const FENCE: usize = 32;

/// The first 8 bytes of `k` as a big-endian number (zero-padded): when two
/// keys' prefixes differ, they compare as the keys do.
fn prefix(k: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = k.len().min(8);
    b[..n].copy_from_slice(&k[..n]);
    u64::from_be_bytes(b)
}

impl KeyIndex {
    fn new(columns: Vec<usize>, types: Vec<DataType>) -> Self {
        Self {
            columns,
            types,
            covered: 0,
            data: Vec::new(),
            ends: Vec::new(),
            ids: Vec::new(),
            fences: Vec::new(),
            delta: BTreeSet::new(),
        }
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// The first position of the run whose key is not below `k` (with
    /// `or_equal`: not at or below `k`).
    fn lower(&self, k: &[u8], or_equal: bool) -> usize {
        let n = self.ids.len();
        let q = prefix(k);
        let before = |i: usize| {
            let c = self.key(i).cmp(k);
            c.is_lt() || (or_equal && c.is_eq())
        };
        let fence = partition(self.fences.len(), |f| match self.fences[f].cmp(&q) {
            std::cmp::Ordering::Equal => before(f * FENCE),
            o => o.is_lt(),
        });
        // Every fence before `fence` is below `k`, the one at `fence` is not.
        let lo = if fence == 0 { 0 } else { (fence - 1) * FENCE + 1 };
        let hi = (fence * FENCE).min(n);
        lo + partition(hi.saturating_sub(lo), |j| before(lo + j))
    }

    /// As [`KeyIndex::lower`], for a bound known not to be below position
    /// `from`'s predecessors: searches forward from `from` (an equality's
    /// end is usually a key or two past its start).
    fn lower_from(&self, from: usize, k: &[u8], or_equal: bool) -> usize {
        let before = |i: usize| {
            let c = self.key(i).cmp(k);
            c.is_lt() || (or_equal && c.is_eq())
        };
        gallop(from, self.ids.len(), before)
    }

    /// Rebuilds [`KeyIndex::fences`] from the run.
    fn build_fences(&mut self) {
        self.fences = (0..self.ids.len()).step_by(FENCE).map(|i| prefix(self.key(i))).collect();
    }

    fn converter(&self, n: usize) -> Result<RowConverter> {
        let fields = self.types[..n].iter().map(|t| SortField::new(t.clone())).collect();
        Ok(RowConverter::new(fields)?)
    }

    /// Adds the rows of `table` from `covered` on.
    fn catch_up(&mut self, store: &Store, table: &TableData) -> Result<()> {
        if table.next_row_id <= self.covered {
            return Ok(());
        }
        let from = self.covered;
        let all = table.segments()?;
        let first_seg = all.partition_point(|s| s.first_row_id + s.span() <= from);
        let segs = &all[first_seg..];
        let conv = self.converter(self.columns.len())?;
        let parts: Vec<(Rows, Vec<u64>)> = segs
            .par_iter()
            .map(|seg| -> Result<(Rows, Vec<u64>)> {
                let body = seg.body()?;
                let blobs = store.read_chunks(&chunk_keys(body, &self.columns))?;
                let cols = decode_columns(body, &blobs, &table.meta, &self.columns)?;
                // Row ids of the stored rows (not contiguous after a vacuum).
                let seg_ids = seg.row_ids()?;
                let seg_ids = seg_ids.values();
                let skip = seg_ids.partition_point(|&r| r < from);
                let len = seg_ids.len() - skip;
                let cols: Vec<ArrayRef> =
                    cols.iter().map(|c| normalize(&c.slice(skip, len))).collect();
                // Rows whose leading column is NULL are left out; NULLs in
                // later columns stay, so prefix lookups still find the row.
                let valid: Vec<usize> = (0..len).filter(|&i| cols[0].is_valid(i)).collect();
                let cols = if valid.len() == len {
                    cols
                } else {
                    let idx = arrow::array::UInt32Array::from_iter_values(
                        valid.iter().map(|&i| i as u32),
                    );
                    cols.iter()
                        .map(|c| arrow::compute::take(c.as_ref(), &idx, None))
                        .collect::<Result<_, _>>()?
                };
                let ids = valid.iter().map(|&i| seg_ids[skip + i]).collect();
                Ok((conv.convert_columns(&cols)?, ids))
            })
            .collect::<Result<_>>()?;
        let added: usize = parts.iter().map(|(_, ids)| ids.len()).sum();
        self.covered = table.next_row_id;
        if self.delta.len() + added < MIN_DELTA.max(self.ids.len() / 4) {
            for (rows, ids) in &parts {
                for (i, &id) in ids.iter().enumerate() {
                    self.delta.insert((rows.row(i).as_ref().into(), id));
                }
            }
            return Ok(());
        }
        // Rebuild the sorted run: sort the new entries, then merge the three
        // sorted sequences (run, delta, new) in one pass.
        let mut new: Vec<(&[u8], u64)> = Vec::with_capacity(added);
        for (rows, ids) in &parts {
            new.extend(ids.iter().enumerate().map(|(i, &id)| (rows.row(i).data(), id)));
        }
        new.par_sort_unstable();
        let delta: Vec<(&[u8], u64)> = self.delta.iter().map(|(k, id)| (k.as_ref(), *id)).collect();
        let run: Vec<(&[u8], u64)> =
            (0..self.ids.len()).map(|i| (self.key(i), self.ids[i])).collect();
        let entries = merge(&merge(&run, &delta), &new);
        drop((run, delta, new));
        let mut data = Vec::with_capacity(entries.iter().map(|(k, _)| k.len()).sum());
        let mut ends = Vec::with_capacity(entries.len());
        let mut ids = Vec::with_capacity(entries.len());
        for (k, id) in &entries {
            data.extend_from_slice(k);
            ends.push(data.len());
            ids.push(*id);
        }
        drop(entries);
        self.data = data;
        self.ends = ends;
        self.ids = ids;
        self.build_fences();
        self.delta.clear();
        Ok(())
    }

    /// Row ids of each key (encoded with all index columns), appended to `out`.
    fn probe(&self, keys: &Rows, skip: &[bool], out: &mut Vec<u64>) {
        let n = self.ids.len();
        for (i, k) in keys.iter().enumerate() {
            if skip[i] {
                continue;
            }
            let k = k.as_ref();
            let start = self.lower(k, false);
            let mut j = start;
            while j < n && self.key(j) == k {
                out.push(self.ids[j]);
                j += 1;
            }
            if !self.delta.is_empty() {
                let lo: Box<[u8]> = k.into();
                let hi = lo.clone();
                out.extend(self.delta.range((lo, 0)..=(hi, u64::MAX)).map(|(_, id)| *id));
            }
        }
    }

    /// The encoded bounds of `range`; `None` when it holds no key.
    fn encode(&self, range: &KeyRange) -> Result<Option<EncodedRange>> {
        let enc = |b: &KeyBound| -> Result<Option<Vec<u8>>> {
            let n = b.values.len();
            if n == 0 || n > self.columns.len() {
                return Err(Error::Invalid(format!(
                    "an index key bound has {n} values, the index {} columns",
                    self.columns.len()
                )));
            }
            if b.values.iter().any(|v| v.len() != 1) {
                return Err(Error::Invalid("index key bound values must have one row".into()));
            }
            // A comparison with NULL is never true.
            if b.values.iter().any(|v| v.is_null(0)) {
                return Ok(None);
            }
            let cols = b
                .values
                .iter()
                .zip(&self.types)
                .map(|(v, t)| {
                    let v = if v.data_type() == t {
                        Arc::clone(v)
                    } else {
                        arrow::compute::cast(v, t)?
                    };
                    Ok(normalize(&v))
                })
                .collect::<Result<Vec<ArrayRef>>>()?;
            let rows = self.converter(n)?.convert_columns(&cols)?;
            Ok(Some(rows.row(0).as_ref().to_vec()))
        };
        // An equality's bounds hold the same values: encode them once.
        let same = match (&range.low, &range.high) {
            (Some(l), Some(h)) => {
                l.values.len() == h.values.len()
                    && l.values.iter().zip(&h.values).all(|(a, b)| Arc::ptr_eq(a, b))
            }
            _ => false,
        };
        let low_key = range.low.as_ref().map(&enc).transpose()?;
        let low = match (&range.low, low_key.clone()) {
            (None, _) | (_, None) => Bound::Unbounded,
            (Some(b), Some(k)) => match k {
                None => return Ok(None),
                Some(k) if b.inclusive => Bound::Included(k),
                // Past every key with this prefix.
                Some(k) => match successor(k) {
                    Some(s) => Bound::Included(s),
                    None => return Ok(None),
                },
            },
        };
        let high_key = match (&range.high, same) {
            (Some(_), true) => low_key,
            (Some(b), false) => Some(enc(b)?),
            (None, _) => None,
        };
        let high = match (&range.high, high_key) {
            (None, _) | (_, None) => Bound::Unbounded,
            (Some(b), Some(k)) => match k {
                None => return Ok(None),
                Some(k) if b.inclusive => match successor(k) {
                    Some(s) => Bound::Excluded(s),
                    None => Bound::Unbounded,
                },
                Some(k) => Bound::Excluded(k),
            },
        };
        Ok(Some((low, high)))
    }

    /// Row ids of the keys in `range`, appended to `out`.
    fn lookup(&self, range: &KeyRange, out: &mut Vec<u64>) -> Result<()> {
        let Some((low, high)) = self.encode(range)? else { return Ok(()) };
        let n = self.ids.len();
        let start = match &low {
            Bound::Unbounded => 0,
            Bound::Included(k) => self.lower(k, false),
            Bound::Excluded(k) => self.lower(k, true),
        };
        // Keys before `start` are below the low bound, so below the high one
        // too, unless the range is empty, which an end at `start` says as well.
        let end = match &high {
            Bound::Unbounded => n,
            Bound::Included(k) => self.lower_from(start, k, true),
            Bound::Excluded(k) => self.lower_from(start, k, false),
        };
        if start < end {
            out.extend_from_slice(&self.ids[start..end]);
        }
        if !self.delta.is_empty() {
            let lo: Bound<(Box<[u8]>, u64)> = match low {
                Bound::Unbounded => Bound::Unbounded,
                Bound::Included(k) => Bound::Included((k.into(), 0)),
                Bound::Excluded(k) => Bound::Excluded((k.into(), u64::MAX)),
            };
            let hi: Bound<(Box<[u8]>, u64)> = match high {
                Bound::Unbounded => Bound::Unbounded,
                Bound::Included(k) => Bound::Included((k.into(), u64::MAX)),
                Bound::Excluded(k) => Bound::Excluded((k.into(), 0)),
            };
            if range_is_valid(&lo, &hi) {
                out.extend(self.delta.range((lo, hi)).map(|(_, id)| *id));
            }
        }
        Ok(())
    }
}

/// Merges two sorted sequences into one.
fn merge<'a>(a: &[(&'a [u8], u64)], b: &[(&'a [u8], u64)]) -> Vec<(&'a [u8], u64)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// `BTreeSet::range` panics on a start after the end; such a range is empty.
fn range_is_valid(lo: &Bound<(Box<[u8]>, u64)>, hi: &Bound<(Box<[u8]>, u64)>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b)) => a < b,
        _ => true,
    }
}

/// The first `i` in `from..n` for which `before(i)` is false (`before` is
/// monotone and true before `from`), probing `from`, `from + 1`, `from + 3`,
/// … before a binary search: cheap when the answer is near `from`.
fn gallop(from: usize, n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut step) = (from, 1usize);
    loop {
        let probe = lo.saturating_add(step - 1);
        if probe >= n {
            return lo + partition(n.saturating_sub(lo), |j| before(lo + j));
        }
        if !before(probe) {
            return lo + partition(probe - lo, |j| before(lo + j));
        }
        lo = probe + 1;
        step = step.saturating_mul(2);
    }
}

/// The first `i` in `0..n` for which `before(i)` is false (`before` is monotone).
fn partition(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The smallest byte string greater than every string starting with `k`.
fn successor(mut k: Vec<u8>) -> Option<Vec<u8>> {
    while let Some(last) = k.pop() {
        if last < u8::MAX {
            k.push(last + 1);
            return Some(k);
        }
    }
    None
}

/// Folds `-0.0` into `0.0` so that equal floats encode equally.
fn normalize(a: &ArrayRef) -> ArrayRef {
    match a.data_type() {
        DataType::Float64 => Arc::new(
            a.as_primitive::<Float64Type>()
                .unary::<_, Float64Type>(|x| if x == 0.0 { 0.0 } else { x }),
        ),
        DataType::Float32 => Arc::new(
            a.as_primitive::<Float32Type>()
                .unary::<_, Float32Type>(|x| if x == 0.0 { 0.0 } else { x }),
        ),
        _ => Arc::clone(a),
    }
}

impl Store {
    /// Row ids of `table` whose key on `columns` falls in any of `ranges`,
    /// sorted and without duplicates. Builds the index over `columns` on first
    /// use and brings it up to `table` (rows appended since the last lookup).
    ///
    /// The result covers every row version of `table` in the range and may
    /// also name row ids that `table` does not hold (rows of a newer version,
    /// or since deleted): callers filter them, for example with
    /// [`Store::scan_rows`].
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad column or bound; read errors of the store.
    pub fn index_lookup(
        &self,
        table: &TableData,
        columns: &[usize],
        ranges: &[KeyRange],
    ) -> Result<Vec<u64>> {
        if columns.is_empty() {
            return Err(Error::Invalid("an index needs at least one column".into()));
        }
        let types = self.column_types(table, columns)?;
        let index = self.inner.indexes.get(table.id, columns, types);
        let mut index = index.lock();
        index.catch_up(self, table)?;
        let mut out = Vec::new();
        for r in ranges {
            index.lookup(r, &mut out)?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Row ids of `table` whose key on `columns` equals one of the rows of
    /// `keys` (one array per column, cast to the column types; rows with a
    /// NULL are skipped), sorted and without duplicates. As for
    /// [`Store::index_lookup`], the result may name rows `table` does not hold.
    ///
    /// # Errors
    /// As for [`Store::index_lookup`], and for keys that cannot be cast.
    pub fn index_probe(
        &self,
        table: &TableData,
        columns: &[usize],
        keys: &[ArrayRef],
    ) -> Result<Vec<u64>> {
        if columns.is_empty() || keys.len() != columns.len() {
            return Err(Error::Invalid("an index probe needs one key array per column".into()));
        }
        let types = self.column_types(table, columns)?;
        let cols = keys
            .iter()
            .zip(&types)
            .map(|(k, t)| {
                let k =
                    if k.data_type() == t { Arc::clone(k) } else { arrow::compute::cast(k, t)? };
                Ok(normalize(&k))
            })
            .collect::<Result<Vec<ArrayRef>>>()?;
        let n = cols.first().map_or(0, |c| c.len());
        let skip: Vec<bool> = (0..n).map(|i| cols.iter().any(|c| c.is_null(i))).collect();
        let index = self.inner.indexes.get(table.id, columns, types);
        let mut index = index.lock();
        index.catch_up(self, table)?;
        let encoded = index.converter(columns.len())?.convert_columns(&cols)?;
        let mut out = Vec::new();
        index.probe(&encoded, &skip, &mut out);
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn column_types(&self, table: &TableData, columns: &[usize]) -> Result<Vec<DataType>> {
        columns
            .iter()
            .map(|&c| {
                table.meta.columns.get(c).map(|m| m.data_type.clone()).ok_or_else(|| {
                    Error::Invalid(format!("table {} has no column {c}", table.meta.name))
                })
            })
            .collect()
    }

    /// Number of indexes held in memory.
    pub fn built_indexes(&self) -> usize {
        self.inner.indexes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ColumnMeta, TableMeta};
    use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray};

    fn one_i(x: i64) -> ArrayRef {
        Arc::new(Int64Array::from(vec![x]))
    }

    fn setup(chunk_rows: usize) -> (Store, TableId) {
        let store = Store::with_pager(
            Arc::new(crate::pager::MemoryPager::new()),
            crate::StoreOptions { chunk_rows, durability: crate::Durability::Buffered },
        )
        .unwrap();
        let mut w = store.begin_write().unwrap();
        let id = w
            .create_table(TableMeta::new(
                "t",
                vec![
                    ColumnMeta::new("a", DataType::Int64, true),
                    ColumnMeta::new("b", DataType::Utf8, true),
                    ColumnMeta::new("f", DataType::Float64, true),
                ],
            ))
            .unwrap();
        w.commit().unwrap();
        (store, id)
    }

    fn append(store: &Store, id: TableId, a: Vec<Option<i64>>, b: Vec<Option<&str>>) {
        let mut w = store.begin_write().unwrap();
        let schema = w.version().table(id).unwrap().meta.schema();
        let f: Vec<Option<f64>> = a.iter().map(|x| x.map(|x| x as f64 * -0.0)).collect();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(a)),
                Arc::new(StringArray::from(b)),
                Arc::new(Float64Array::from(f)),
            ],
        )
        .unwrap();
        w.append(id, &batch).unwrap();
        w.commit().unwrap();
    }

    /// The model: row ids whose `a` satisfies `keep`.
    fn model(vals: &[Option<i64>], keep: impl Fn(i64) -> bool) -> Vec<u64> {
        vals.iter()
            .enumerate()
            .filter(|(_, v)| v.is_some_and(&keep))
            .map(|(i, _)| i as u64)
            .collect()
    }

    #[test]
    fn lookups_match_a_scan_model_across_appends_and_rebuilds() {
        let (store, id) = setup(100);
        let mut all = Vec::new();
        for round in 0..30i64 {
            let a: Vec<Option<i64>> = (0..(round * 37 % 500 + 1))
                .map(|i| if i % 11 == 0 { None } else { Some((i * 7 + round) % 97 - 40) })
                .collect();
            let b: Vec<Option<&str>> = a.iter().map(|_| Some("x")).collect();
            all.extend(a.iter().copied());
            append(&store, id, a, b);
            let v = store.current();
            let t = v.table(id).unwrap();
            for x in [-41, -40, 0, 3, 56, 57] {
                let got = store.index_lookup(t, &[0], &[KeyRange::eq(vec![one_i(x)])]).unwrap();
                assert_eq!(got, model(&all, |v| v == x), "= {x} round {round}");
            }
            let r = KeyRange {
                low: Some(KeyBound { values: vec![one_i(-3)], inclusive: false }),
                high: Some(KeyBound { values: vec![one_i(20)], inclusive: true }),
            };
            assert_eq!(
                store.index_lookup(t, &[0], &[r]).unwrap(),
                model(&all, |v| v > -3 && v <= 20)
            );
            let r = KeyRange {
                low: None,
                high: Some(KeyBound { values: vec![one_i(0)], inclusive: false }),
            };
            assert_eq!(store.index_lookup(t, &[0], &[r]).unwrap(), model(&all, |v| v < 0));
            let empty = KeyRange {
                low: Some(KeyBound { values: vec![one_i(10)], inclusive: true }),
                high: Some(KeyBound { values: vec![one_i(5)], inclusive: true }),
            };
            assert!(store.index_lookup(t, &[0], &[empty]).unwrap().is_empty());
        }
    }

    #[test]
    fn string_keys_sharing_long_prefixes_or_none_are_found_through_the_fences() {
        // Keys that agree on their first 8 bytes (the fences cannot tell them
        // apart), short keys, and repeats, over a run of several thousand.
        let (store, id) = setup(1000);
        let key = |i: i64| match i % 3 {
            0 => format!("a common prefix {:05}", i % 2100),
            1 => format!("{}", i % 700),
            _ => "z".repeat((i % 13) as usize),
        };
        let texts: Vec<String> = (0..9000).map(key).collect();
        for part in texts.chunks(3000) {
            let a: Vec<Option<i64>> = part.iter().map(|_| Some(0)).collect();
            let b: Vec<Option<&str>> = part.iter().map(|t| Some(t.as_str())).collect();
            append(&store, id, a, b);
        }
        let v = store.current();
        let t = v.table(id).unwrap();
        let s = |x: &str| -> ArrayRef { Arc::new(StringArray::from(vec![x])) };
        let model = |keep: &dyn Fn(&str) -> bool| -> Vec<u64> {
            (0..texts.len() as u64).filter(|&i| keep(&texts[i as usize])).collect()
        };
        // Every key, so every position next to a fence starts some range.
        let mut rows_of: HashMap<&str, Vec<u64>> = HashMap::new();
        for (i, x) in texts.iter().enumerate() {
            rows_of.entry(x.as_str()).or_default().push(i as u64);
        }
        for (k, rows) in &rows_of {
            let got = store.index_lookup(t, &[1], &[KeyRange::eq(vec![s(k)])]).unwrap();
            assert_eq!(&got, rows, "= {k:?}");
        }
        let probes = [
            "a common prefix 00017",
            "a common prefix 02099",
            "a common prefix",
            "",
            "1",
            "10",
            "699",
            "7",
            "zzzz",
            "zzzzzzzzzzzz",
            "zzzzzzzzzzzzz",
            "0",
            "a",
            "{",
        ];
        for p in probes {
            let got = store.index_lookup(t, &[1], &[KeyRange::eq(vec![s(p)])]).unwrap();
            assert_eq!(got, model(&|x| x == p), "= {p:?}");
            let r = KeyRange {
                low: Some(KeyBound { values: vec![s(p)], inclusive: false }),
                high: Some(KeyBound { values: vec![s("zzzzz")], inclusive: false }),
            };
            let got = store.index_lookup(t, &[1], &[r]).unwrap();
            assert_eq!(got, model(&|x| x > p && x < "zzzzz"), "> {p:?} and < zzzzz");
            let r = KeyRange {
                low: None,
                high: Some(KeyBound { values: vec![s(p)], inclusive: true }),
            };
            assert_eq!(store.index_lookup(t, &[1], &[r]).unwrap(), model(&|x| x <= p), "<= {p:?}");
            assert_eq!(
                store.index_probe(t, &[1], &[s(p)]).unwrap(),
                model(&|x| x == p),
                "probe {p:?}"
            );
        }
    }

    #[test]
    fn composite_keys_support_prefix_and_full_lookups_and_floats_fold_negative_zero() {
        let (store, id) = setup(64);
        append(
            &store,
            id,
            vec![Some(1), Some(1), Some(2), Some(1), None, Some(1)],
            vec![Some("b"), Some("a"), Some("a"), Some("bb"), Some("a"), None],
        );
        let v = store.current();
        let t = v.table(id).unwrap();
        let s = |x: &str| -> ArrayRef { Arc::new(StringArray::from(vec![x])) };
        let full = store.index_lookup(t, &[0, 1], &[KeyRange::eq(vec![one_i(1), s("b")])]);
        assert_eq!(full.unwrap(), vec![0]);
        let prefix = store.index_lookup(t, &[0, 1], &[KeyRange::eq(vec![one_i(1)])]).unwrap();
        assert_eq!(prefix, vec![0, 1, 3, 5]);
        let with_null: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(StringArray::from(vec![None::<&str>])),
        ];
        assert!(store.index_probe(t, &[0, 1], &with_null).unwrap().is_empty());
        let keys: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(1), None, Some(2), Some(1)])),
            Arc::new(StringArray::from(vec!["bb", "a", "a", "zz"])),
        ];
        assert_eq!(store.index_probe(t, &[0, 1], &keys).unwrap(), vec![2, 3]);
        let null: ArrayRef = Arc::new(Int64Array::from(vec![None::<i64>]));
        assert!(store.index_lookup(t, &[0], &[KeyRange::eq(vec![null])]).unwrap().is_empty());
        // Column f holds -0.0 wherever a is not NULL (and 0.0 nowhere): 0.0 finds them.
        let zero: ArrayRef = Arc::new(Float64Array::from(vec![0.0]));
        let got = store.index_lookup(t, &[2], &[KeyRange::eq(vec![zero])]).unwrap();
        assert_eq!(got, vec![0, 1, 2, 3, 5]);
    }

    #[test]
    fn committed_updates_of_an_indexed_column_and_drops_discard_the_index() {
        let (store, id) = setup(64);
        append(&store, id, vec![Some(1), Some(2)], vec![Some("x"), Some("y")]);
        let t = Arc::clone(store.current().table(id).unwrap());
        assert_eq!(store.index_lookup(&t, &[0], &[KeyRange::eq(vec![one_i(2)])]).unwrap(), vec![1]);
        let mut w = store.begin_write().unwrap();
        w.update(id, 0, &[1], &one_i(5)).unwrap();
        w.commit().unwrap();
        let t = Arc::clone(store.current().table(id).unwrap());
        assert!(store.index_lookup(&t, &[0], &[KeyRange::eq(vec![one_i(2)])]).unwrap().is_empty());
        assert_eq!(store.index_lookup(&t, &[0], &[KeyRange::eq(vec![one_i(5)])]).unwrap(), vec![1]);
        assert_eq!(store.built_indexes(), 1);
        let mut w = store.begin_write().unwrap();
        w.drop_table(id).unwrap();
        w.commit().unwrap();
        assert_eq!(store.built_indexes(), 0);
    }
}
