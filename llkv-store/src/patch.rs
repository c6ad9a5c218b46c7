//! Small in-place changes to an immutable column chunk.
//!
//! Rewriting a 64K-row chunk to change one value costs hundreds of
//! microseconds and half a megabyte of I/O. Instead, the changed values of a
//! chunk are kept as a [`ChunkPatch`] inside the segment record (sorted row
//! offsets and an Arrow array of their new values) and laid over the chunk
//! when it is read. Once a patch covers more than [`fold_threshold`] rows it is
//! folded into a freshly written chunk.

use crate::error::{Error, Result};
use arrow::array::{Array, ArrayRef, MutableArrayData, make_array};

/// New values for some rows of one chunk.
#[derive(Debug, Clone)]
pub struct ChunkPatch {
    /// Row offsets in the segment, strictly increasing.
    pub offsets: Vec<u32>,
    /// The new values, one per offset, of the column's type.
    pub values: ArrayRef,
}

/// Patches larger than this many rows (for a segment of `rows` rows) are
/// folded into a new chunk.
pub(crate) fn fold_threshold(rows: u64) -> usize {
    (rows / 32).max(16) as usize
}

impl ChunkPatch {
    /// Lays the patch over `base` (the chunk's values).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when an offset lies outside `base`.
    pub fn apply(&self, base: &ArrayRef) -> Result<ArrayRef> {
        let n = base.len();
        if self.offsets.last().is_some_and(|&o| o as usize >= n)
            || self.values.len() != self.offsets.len()
        {
            return Err(Error::Corrupt("a chunk patch does not fit its chunk".into()));
        }
        let (b, p) = (base.to_data(), self.values.to_data());
        let mut out = MutableArrayData::new(vec![&b, &p], false, n);
        let mut at = 0usize;
        for (i, &off) in self.offsets.iter().enumerate() {
            let off = off as usize;
            if off > at {
                out.try_extend(0, at, off)?;
            }
            out.try_extend(1, i, i + 1)?;
            at = off + 1;
        }
        if at < n {
            out.try_extend(0, at, n)?;
        }
        Ok(make_array(out.freeze()))
    }

    /// This patch with `updates` (offset, index into `values`) laid over it;
    /// later entries win.
    pub(crate) fn merged(
        old: Option<&ChunkPatch>,
        updates: &[(usize, usize)],
        values: &ArrayRef,
    ) -> Result<ChunkPatch> {
        // The updates by offset (a stable sort: the last one of an offset wins).
        let mut new = updates
            .iter()
            .map(|&(off, idx)| {
                u32::try_from(off)
                    .map(|o| (o, idx))
                    .map_err(|_| Error::Invalid("row offset too large".into()))
            })
            .collect::<Result<Vec<(u32, usize)>>>()?;
        new.sort_by_key(|&(o, _)| o);
        let mut last: Vec<(u32, usize)> = Vec::with_capacity(new.len());
        for (o, idx) in new {
            match last.last_mut() {
                Some(prev) if prev.0 == o => prev.1 = idx,
                _ => last.push((o, idx)),
            }
        }
        // Merge with the old patch's sorted offsets (a commit adds a few
        // entries to a patch of up to `fold_threshold` entries: no map is built).
        // Picks: (source, index); source 0 = old patch values, 1 = new values.
        let old_offsets: &[u32] = old.map_or(&[], |o| o.offsets.as_slice());
        let mut offsets = Vec::with_capacity(old_offsets.len() + last.len());
        let mut order: Vec<(usize, usize)> = Vec::with_capacity(offsets.capacity());
        let (mut i, mut j) = (0, 0);
        while i < old_offsets.len() || j < last.len() {
            let take_new = match (old_offsets.get(i), last.get(j)) {
                (Some(&a), Some(&(b, _))) => {
                    if a == b {
                        i += 1; // replaced by the update
                    }
                    b <= a
                }
                (None, Some(_)) => true,
                _ => false,
            };
            if take_new {
                offsets.push(last[j].0);
                order.push((1, last[j].1));
                j += 1;
            } else {
                offsets.push(old_offsets[i]);
                order.push((0, i));
                i += 1;
            }
        }
        let empty = arrow::array::new_empty_array(values.data_type());
        let old_values = old.map_or(&empty, |o| &o.values);
        let merged = arrow::compute::interleave(&[old_values.as_ref(), values.as_ref()], &order)?;
        Ok(ChunkPatch { offsets, values: merged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use std::sync::Arc;

    #[test]
    fn a_patch_replaces_exactly_its_rows() {
        let base: ArrayRef =
            Arc::new(Int64Array::from(vec![Some(0), Some(1), None, Some(3), Some(4)]));
        let vals: ArrayRef = Arc::new(Int64Array::from(vec![Some(10), None]));
        let p = ChunkPatch::merged(None, &[(4, 0), (0, 1)], &vals).unwrap();
        assert_eq!(p.offsets, vec![0, 4]);
        let out = p.apply(&base).unwrap();
        let want = Int64Array::from(vec![None, Some(1), None, Some(3), Some(10)]);
        assert_eq!(out.as_ref(), &want as &dyn Array);
        let more: ArrayRef = Arc::new(Int64Array::from(vec![7]));
        let p2 = ChunkPatch::merged(Some(&p), &[(0, 0)], &more).unwrap();
        let out = p2.apply(&base).unwrap();
        let want = Int64Array::from(vec![Some(7), Some(1), None, Some(3), Some(10)]);
        assert_eq!(out.as_ref(), &want as &dyn Array);
        // Several rounds against a model: later updates of an offset win.
        let mut model: Vec<Option<i64>> = (0..200).map(Some).collect();
        let base200: ArrayRef = Arc::new(Int64Array::from(model.clone()));
        let mut patch: Option<ChunkPatch> = None;
        for round in 0..40i64 {
            let ups: Vec<(usize, usize)> =
                (0..7).map(|k| (((round * 37 + k * 53) % 200) as usize, k as usize)).collect();
            let vals: ArrayRef = Arc::new(Int64Array::from_iter(
                (0..7).map(|k| (k != 3).then_some(1000 * round + k)),
            ));
            for &(off, idx) in &ups {
                model[off] = (idx != 3).then_some(1000 * round + idx as i64);
            }
            let p = ChunkPatch::merged(patch.as_ref(), &ups, &vals).unwrap();
            assert!(p.offsets.windows(2).all(|w| w[0] < w[1]), "round {round}");
            let out = p.apply(&base200).unwrap();
            assert_eq!(
                out.as_ref(),
                &Int64Array::from(model.clone()) as &dyn Array,
                "round {round}"
            );
            patch = Some(p);
        }
        let dup = ChunkPatch::merged(None, &[(5, 0), (5, 1)], &vals).unwrap();
        assert_eq!(dup.offsets, vec![5]);
        assert_eq!(dup.values.as_ref(), &Int64Array::from(vec![None]) as &dyn Array);
        let bad = ChunkPatch { offsets: vec![9], values: Arc::clone(&more) };
        assert!(bad.apply(&base).is_err());
    }
}
