//! Group keys of INTEGER, REAL and TEXT columns, interned batch-wise into
//! group indices: the keys' hashes are computed a column at a time, and an
//! open-addressing table of `(hash tag, group index)` slots finds the group
//! of each row; the groups' keys are kept as typed columns (no per-group
//! allocation), which are also what two tables are merged by.
//!
//! REAL keys must come normalized (`-0.0` as `0.0`, see
//! [`super::vexpr::normalized`]), so that equal keys have equal bits.

use super::vexpr::{Fail, VResult, VType};
use crate::value::{Row, Value};
use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use std::cmp::Ordering;

/// The hash of a NULL key part.
const NULL_HASH: u64 = 0x2d35_8dcc_aa6c_78a5;

/// Mixes a 64-bit word into a well-spread hash (SplitMix64's finalizer:
/// every input bit reaches the low bits, which pick the slot).
#[inline]
fn mix(x: u64) -> u64 {
    let z = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Combines the hash of a further key part into `h`.
#[inline]
fn combine(h: u64, part: u64) -> u64 {
    mix(h.rotate_left(23) ^ part)
}

fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    mix(h)
}

/// One key column of the groups.
#[derive(Debug, Clone)]
enum KeyCol {
    /// INTEGER, or DATE as days (`date`; shown as its text).
    Int {
        vals: Vec<i64>,
        valid: Vec<bool>,
        date: bool,
    },
    Real {
        vals: Vec<f64>,
        valid: Vec<bool>,
    },
    Text {
        ends: Vec<usize>,
        bytes: Vec<u8>,
        valid: Vec<bool>,
    },
}

impl KeyCol {
    fn new(t: VType) -> VResult<KeyCol> {
        Ok(match t {
            VType::Int => KeyCol::Int { vals: Vec::new(), valid: Vec::new(), date: false },
            VType::Date => KeyCol::Int { vals: Vec::new(), valid: Vec::new(), date: true },
            VType::Real => KeyCol::Real { vals: Vec::new(), valid: Vec::new() },
            VType::Text => KeyCol::Text { ends: Vec::new(), bytes: Vec::new(), valid: Vec::new() },
            _ => return Err(Fail::Unsupported),
        })
    }

    fn text<'a>(ends: &[usize], bytes: &'a [u8], g: usize) -> &'a [u8] {
        let start = if g == 0 { 0 } else { ends[g - 1] };
        &bytes[start..ends[g]]
    }

    #[cfg(test)]
    fn hash(&self, g: usize) -> u64 {
        match self {
            KeyCol::Int { vals, valid, .. } if valid[g] => mix(vals[g] as u64),
            KeyCol::Real { vals, valid } if valid[g] => mix(vals[g].to_bits()),
            KeyCol::Text { ends, bytes, valid } if valid[g] => {
                hash_bytes(KeyCol::text(ends, bytes, g))
            }
            _ => NULL_HASH,
        }
    }

    fn value(&self, g: usize) -> Value {
        match self {
            KeyCol::Int { vals, valid, date: false } if valid[g] => Value::Int(vals[g]),
            KeyCol::Int { vals, valid, date: true } if valid[g] => {
                Value::Text(crate::dates::format_date(crate::dates::civil_from_days(vals[g])))
            }
            KeyCol::Real { vals, valid } if valid[g] => Value::Real(vals[g]),
            KeyCol::Text { ends, bytes, valid } if valid[g] => {
                Value::Text(String::from_utf8_lossy(KeyCol::text(ends, bytes, g)).into_owned())
            }
            _ => Value::Null,
        }
    }

    /// Orders groups `a` and `b` as [`Value::total_cmp`] orders their keys.
    fn cmp(&self, a: usize, b: usize) -> Ordering {
        let (va, vb) = match self {
            KeyCol::Int { valid, .. } | KeyCol::Real { valid, .. } | KeyCol::Text { valid, .. } => {
                (valid[a], valid[b])
            }
        };
        if !va || !vb {
            return va.cmp(&vb);
        }
        match self {
            KeyCol::Int { vals, .. } => vals[a].cmp(&vals[b]),
            KeyCol::Real { vals, .. } => vals[a].partial_cmp(&vals[b]).unwrap_or(Ordering::Equal),
            KeyCol::Text { ends, bytes, .. } => {
                KeyCol::text(ends, bytes, a).cmp(KeyCol::text(ends, bytes, b))
            }
        }
    }

    /// Appends group `g` of `other` (a column of the same class).
    fn push_from(&mut self, other: &KeyCol, g: usize) {
        match (self, other) {
            (KeyCol::Int { vals, valid, .. }, KeyCol::Int { vals: v2, valid: ok2, .. }) => {
                vals.push(v2[g]);
                valid.push(ok2[g]);
            }
            (KeyCol::Real { vals, valid }, KeyCol::Real { vals: v2, valid: ok2 }) => {
                vals.push(v2[g]);
                valid.push(ok2[g]);
            }
            (
                KeyCol::Text { ends, bytes, valid },
                KeyCol::Text { ends: e2, bytes: b2, valid: ok2 },
            ) => {
                bytes.extend_from_slice(KeyCol::text(e2, b2, g));
                ends.push(bytes.len());
                valid.push(ok2[g]);
            }
            _ => {}
        }
    }

    fn eq_group(&self, g: usize, other: &KeyCol, h: usize) -> bool {
        match (self, other) {
            (KeyCol::Int { vals, valid, .. }, KeyCol::Int { vals: v2, valid: ok2, .. }) => {
                valid[g] == ok2[h] && vals[g] == v2[h]
            }
            (KeyCol::Real { vals, valid }, KeyCol::Real { vals: v2, valid: ok2 }) => {
                valid[g] == ok2[h] && vals[g].to_bits() == v2[h].to_bits()
            }
            (
                KeyCol::Text { ends, bytes, valid },
                KeyCol::Text { ends: e2, bytes: b2, valid: ok2 },
            ) => valid[g] == ok2[h] && KeyCol::text(ends, bytes, g) == KeyCol::text(e2, b2, h),
            _ => false,
        }
    }
}

/// A batch's key column, borrowed.
enum KeyIn<'a> {
    Int(&'a Int64Array),
    Real(&'a Float64Array),
    Text(&'a StringArray),
}

impl KeyIn<'_> {
    /// Folds this column's hashes into `hs` (`first`: `hs` is unset).
    fn hash_into(&self, hs: &mut [u64], first: bool) {
        let nulls = match self {
            KeyIn::Int(a) => a.nulls(),
            KeyIn::Real(a) => a.nulls(),
            KeyIn::Text(a) => a.nulls(),
        }
        .filter(|n| n.null_count() > 0);
        let mut part = |i: usize, x: u64| {
            let x = if nulls.is_some_and(|n| n.is_null(i)) { NULL_HASH } else { x };
            hs[i] = if first { x } else { combine(hs[i], x) };
        };
        match self {
            KeyIn::Int(a) => {
                for (i, &v) in a.values().iter().enumerate() {
                    part(i, mix(v as u64));
                }
            }
            KeyIn::Real(a) => {
                for (i, &v) in a.values().iter().enumerate() {
                    part(i, mix(v.to_bits()));
                }
            }
            KeyIn::Text(a) => {
                let offs = a.value_offsets();
                let data = a.value_data();
                for i in 0..a.len() {
                    let (s, e) = (offs[i] as usize, offs[i + 1] as usize);
                    part(i, hash_bytes(&data[s..e]));
                }
            }
        }
    }

    #[inline]
    fn eq_row(&self, col: &KeyCol, g: usize, i: usize) -> bool {
        match (self, col) {
            (KeyIn::Int(a), KeyCol::Int { vals, valid, .. }) => {
                let ok = a.is_valid(i);
                valid[g] == ok && (!ok || vals[g] == a.value(i))
            }
            (KeyIn::Real(a), KeyCol::Real { vals, valid }) => {
                let ok = a.is_valid(i);
                valid[g] == ok && (!ok || vals[g].to_bits() == a.value(i).to_bits())
            }
            (KeyIn::Text(a), KeyCol::Text { ends, bytes, valid }) => {
                let ok = a.is_valid(i);
                valid[g] == ok && (!ok || KeyCol::text(ends, bytes, g) == a.value(i).as_bytes())
            }
            _ => false,
        }
    }

    fn push_row(&self, col: &mut KeyCol, i: usize) {
        match (self, col) {
            (KeyIn::Int(a), KeyCol::Int { vals, valid, .. }) => {
                let ok = a.is_valid(i);
                vals.push(if ok { a.value(i) } else { 0 });
                valid.push(ok);
            }
            (KeyIn::Real(a), KeyCol::Real { vals, valid }) => {
                let ok = a.is_valid(i);
                vals.push(if ok { a.value(i) } else { 0.0 });
                valid.push(ok);
            }
            (KeyIn::Text(a), KeyCol::Text { ends, bytes, valid }) => {
                let ok = a.is_valid(i);
                if ok {
                    bytes.extend_from_slice(a.value(i).as_bytes());
                }
                ends.push(bytes.len());
                valid.push(ok);
            }
            _ => {}
        }
    }
}

/// Distinct keys, numbered in first-seen order.
#[derive(Debug, Clone)]
pub struct GroupTable {
    cols: Vec<KeyCol>,
    hashes: Vec<u64>,
    /// `0`: empty; else the hash's high 32 bits and the group index + 1.
    slots: Vec<u64>,
}

impl GroupTable {
    /// An empty table for keys of classes `types` (INTEGER, REAL, TEXT, DATE).
    ///
    /// # Errors
    /// `Unsupported` for other classes.
    pub fn new(types: &[VType]) -> VResult<GroupTable> {
        Ok(GroupTable {
            cols: types.iter().map(|&t| KeyCol::new(t)).collect::<VResult<_>>()?,
            hashes: Vec::new(),
            slots: Vec::new(),
        })
    }

    /// Whether keys of these classes can be held.
    pub fn supports(types: &[VType]) -> bool {
        types.iter().all(|t| matches!(t, VType::Int | VType::Real | VType::Text | VType::Date))
    }

    /// The number of groups.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Makes room for `more` groups without growing again.
    fn reserve(&mut self, more: usize) {
        let want = ((self.hashes.len() + more) * 2).next_power_of_two();
        if want > self.slots.len() {
            self.rehash(want);
        }
    }

    fn grow(&mut self) {
        self.rehash((self.slots.len() * 2).max(1024));
    }

    fn rehash(&mut self, cap: usize) {
        let mask = cap - 1;
        let mut slots = vec![0u64; cap];
        for (g, &h) in self.hashes.iter().enumerate() {
            let mut at = (h as usize) & mask;
            while slots[at] != 0 {
                at = (at + 1) & mask;
            }
            slots[at] = (h & 0xffff_ffff_0000_0000) | (g as u64 + 1);
        }
        self.slots = slots;
    }

    /// The group of the key with hash `h`: `eq(g)` tells whether group `g`
    /// has it, `push` appends it as a new group.
    #[inline]
    fn find_or_insert(
        &mut self,
        h: u64,
        eq: impl Fn(&[KeyCol], usize) -> bool,
        push: impl FnOnce(&mut [KeyCol]),
    ) -> u32 {
        if (self.hashes.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let tag = h & 0xffff_ffff_0000_0000;
        let mut at = (h as usize) & mask;
        loop {
            let s = self.slots[at];
            if s == 0 {
                let g = self.hashes.len();
                self.hashes.push(h);
                push(&mut self.cols);
                self.slots[at] = tag | (g as u64 + 1);
                return g as u32;
            }
            if s & 0xffff_ffff_0000_0000 == tag {
                let g = (s & 0xffff_ffff) as usize - 1;
                if eq(&self.cols, g) {
                    return g as u32;
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// The group of each row of `keys` (one array per key column), new keys
    /// added in row order.
    ///
    /// # Errors
    /// `Unsupported` when an array is not of its column's class.
    pub fn intern(&mut self, keys: &[ArrayRef], gids: &mut Vec<u32>) -> VResult<()> {
        let n = keys.first().map_or(0, |a| a.len());
        // DATE keys as their days.
        let days: Vec<Option<ArrayRef>> = keys
            .iter()
            .zip(&self.cols)
            .map(|(a, c)| match c {
                KeyCol::Int { date: true, .. } => {
                    arrow::compute::cast(a, &arrow::datatypes::DataType::Int64).map(Some)
                }
                _ => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let ins: Vec<KeyIn<'_>> = keys
            .iter()
            .zip(&days)
            .map(|(a, d)| d.as_ref().unwrap_or(a))
            .zip(&self.cols)
            .map(|(a, c)| match c {
                KeyCol::Int { .. } => a.as_primitive_opt::<Int64Type>().map(KeyIn::Int),
                KeyCol::Real { .. } => a.as_primitive_opt::<Float64Type>().map(KeyIn::Real),
                KeyCol::Text { .. } => a.as_string_opt::<i32>().map(KeyIn::Text),
            })
            .collect::<Option<_>>()
            .ok_or(Fail::Unsupported)?;
        if ins.len() != self.cols.len() {
            return Err(Fail::Unsupported);
        }
        let mut hs = vec![0u64; n];
        for (k, inp) in ins.iter().enumerate() {
            inp.hash_into(&mut hs, k == 0);
        }
        gids.clear();
        gids.reserve(n);
        if let [KeyIn::Int(a)] = ins.as_slice()
            && a.null_count() == 0
        {
            // One non-null INTEGER key: the common case, compared directly.
            let vals = a.values();
            for (i, &h) in hs.iter().enumerate() {
                let v = vals[i];
                let g = self.find_or_insert(
                    h,
                    |cols, g| match cols.first() {
                        Some(KeyCol::Int { vals, valid, .. }) => valid[g] && vals[g] == v,
                        _ => false,
                    },
                    |cols| {
                        if let Some(KeyCol::Int { vals, valid, .. }) = cols.first_mut() {
                            vals.push(v);
                            valid.push(true);
                        }
                    },
                );
                gids.push(g);
            }
            return Ok(());
        }
        for (i, &h) in hs.iter().enumerate() {
            let g = self.find_or_insert(
                h,
                |cols, g| ins.iter().zip(cols).all(|(inp, c)| inp.eq_row(c, g, i)),
                |cols| {
                    for (inp, c) in ins.iter().zip(cols.iter_mut()) {
                        inp.push_row(c, i);
                    }
                },
            );
            gids.push(g);
        }
        Ok(())
    }

    /// Adds the groups of `other` (same classes): the group in `self` of
    /// each group of `other`.
    pub fn absorb(&mut self, other: &GroupTable) -> Vec<u32> {
        self.reserve(other.len());
        let mut map = Vec::with_capacity(other.len());
        for (h, &hash) in other.hashes.iter().enumerate() {
            let g = self.find_or_insert(
                hash,
                |cols, g| cols.iter().zip(&other.cols).all(|(c, o)| c.eq_group(g, o, h)),
                |cols| {
                    for (c, o) in cols.iter_mut().zip(&other.cols) {
                        c.push_from(o, h);
                    }
                },
            );
            map.push(g);
        }
        map
    }

    /// The groups ordered by key (as [`Value::total_cmp`] orders rows of keys).
    pub fn sorted(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        if let [KeyCol::Int { vals, valid, .. }] = self.cols.as_slice() {
            order.sort_unstable_by_key(|&g| (valid[g as usize], vals[g as usize]));
            return order;
        }
        order.sort_unstable_by(|&a, &b| {
            for c in &self.cols {
                let o = c.cmp(a as usize, b as usize);
                if o.is_ne() {
                    return o;
                }
            }
            Ordering::Equal
        });
        order
    }

    /// Group `g`'s key values.
    pub fn key_row(&self, g: usize, extra: usize) -> Row {
        let mut r = Vec::with_capacity(self.cols.len() + extra);
        r.extend(self.cols.iter().map(|c| c.value(g)));
        r
    }

    /// The hash of group `g` (recomputed, for tests).
    #[cfg(test)]
    fn hash_of(&self, g: usize) -> u64 {
        let mut h = 0;
        for (k, c) in self.cols.iter().enumerate() {
            let x = c.hash(g);
            h = if k == 0 { x } else { combine(h, x) };
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn interning_two_batches_and_merging_finds_equal_keys() {
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(1), Some(3)]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x"), Some("y"), Some("x"), None]));
        let mut t = GroupTable::new(&[VType::Int, VType::Text]).unwrap();
        let mut gids = Vec::new();
        t.intern(&[Arc::clone(&a), Arc::clone(&b)], &mut gids).unwrap();
        assert_eq!(gids, vec![0, 1, 0, 2]);
        for g in 0..t.len() {
            assert_eq!(t.hash_of(g), t.hashes[g]);
        }
        let c: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), Some(1)]));
        let d: ArrayRef = Arc::new(StringArray::from(vec![None, Some("z")]));
        let mut u = GroupTable::new(&[VType::Int, VType::Text]).unwrap();
        u.intern(&[c, d], &mut gids).unwrap();
        let map = t.absorb(&u);
        assert_eq!(map, vec![2, 3]);
        assert_eq!(t.key_row(3, 0), vec![Value::Int(1), Value::Text("z".into())]);
        // NULL first, then by value.
        assert_eq!(t.sorted(), vec![1, 0, 3, 2]);
    }

    #[test]
    fn date_keys_show_as_text_and_sort_by_day() {
        let a: ArrayRef =
            Arc::new(arrow::array::Date32Array::from(vec![Some(9000), None, Some(-5)]));
        let mut t = GroupTable::new(&[VType::Date]).unwrap();
        let mut gids = Vec::new();
        t.intern(&[a], &mut gids).unwrap();
        assert_eq!(t.key_row(0, 0), vec![Value::Text("1994-08-23".into())]);
        assert_eq!(t.key_row(2, 0), vec![Value::Text("1969-12-27".into())]);
        assert_eq!(t.key_row(1, 0), vec![Value::Null]);
        assert_eq!(t.sorted(), vec![1, 2, 0]);
    }

    #[test]
    fn many_integer_keys_survive_growth() {
        let vals: Vec<i64> = (0..10_000).map(|i| (i * 7919) % 5000).collect();
        let a: ArrayRef = Arc::new(Int64Array::from(vals.clone()));
        let mut t = GroupTable::new(&[VType::Int]).unwrap();
        let mut gids = Vec::new();
        t.intern(&[a], &mut gids).unwrap();
        assert_eq!(t.len(), 5000);
        for (i, &g) in gids.iter().enumerate() {
            assert_eq!(t.key_row(g as usize, 0), vec![Value::Int(vals[i])]);
        }
    }
}
