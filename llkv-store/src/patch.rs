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
use std::sync::Arc;

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
        // (offset) -> (source, index); source 0 = old patch values, 1 = new values.
        let mut picks: std::collections::BTreeMap<u32, (usize, usize)> = Default::default();
        if let Some(old) = old {
            for (i, &o) in old.offsets.iter().enumerate() {
                picks.insert(o, (0, i));
            }
        }
        for &(off, idx) in updates {
            let off =
                u32::try_from(off).map_err(|_| Error::Invalid("row offset too large".into()))?;
            picks.insert(off, (1, idx));
        }
        let empty = arrow::array::new_empty_array(values.data_type());
        let old_values = old.map_or(&empty, |o| &o.values);
        let order: Vec<(usize, usize)> = picks.values().copied().collect();
        let merged = arrow::compute::interleave(&[old_values.as_ref(), values.as_ref()], &order)?;
        Ok(ChunkPatch { offsets: picks.into_keys().collect(), values: Arc::clone(&merged) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

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
        let bad = ChunkPatch { offsets: vec![9], values: Arc::clone(&more) };
        assert!(bad.apply(&base).is_err());
    }
}
