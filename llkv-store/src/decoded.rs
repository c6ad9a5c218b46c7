//! A segment's decoded variable-width chunks, kept for later scans, and
//! their string-view forms.
//!
//! Decoding a string chunk validates every offset and the UTF-8 of every
//! value, which per scan cost as much as a query's own work on short
//! strings; the decoded array is a zero-copy view of the file's bytes, so
//! keeping it costs no copy. A reader that wants `Utf8View` arrays (the
//! DataFusion route: DataFusion hashes and compares views fastest) gets
//! them built once from the kept array: 16 bytes per row of heap memory,
//! the string bytes themselves still in the file. View arrays count
//! against a process-wide budget ([`STRING_VIEW_CACHE_BYTES`]); past it
//! they are built per scan instead.

use arrow::array::{Array, ArrayRef, StringArray, StringViewArray};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Heap bytes the kept string-view arrays of all segments may hold.
pub const STRING_VIEW_CACHE_BYTES: usize = 1 << 30;

/// Heap bytes the kept string-view arrays hold now.
static VIEW_BYTES: AtomicUsize = AtomicUsize::new(0);

/// A segment's kept decoded chunks by column index (debug-printed as counts).
#[derive(Default)]
pub(crate) struct DecodedChunks(Mutex<Kept>);

#[derive(Default)]
struct Kept {
    plain: HashMap<usize, ArrayRef>,
    views: HashMap<usize, ArrayRef>,
    view_bytes: usize,
}

impl std::fmt::Debug for DecodedChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = self.0.lock();
        write!(f, "{} decoded chunks, {} string views", k.plain.len(), k.views.len())
    }
}

impl Drop for DecodedChunks {
    fn drop(&mut self) {
        VIEW_BYTES.fetch_sub(self.0.get_mut().view_bytes, Ordering::AcqRel);
    }
}

impl DecodedChunks {
    /// Column `c`'s kept decoded chunk.
    pub(crate) fn get(&self, c: usize) -> Option<ArrayRef> {
        self.0.lock().plain.get(&c).cloned()
    }

    /// Keeps column `c`'s decoded chunk.
    pub(crate) fn keep(&self, c: usize, array: &ArrayRef) {
        self.0.lock().plain.insert(c, Arc::clone(array));
    }

    /// `array` (column `c`'s values) with `Utf8` turned into `Utf8View`
    /// (other types as they are): built once and kept, within the budget,
    /// when `array` is the kept decoded chunk, else built for this call.
    pub(crate) fn string_view(&self, c: usize, array: &ArrayRef) -> ArrayRef {
        let Some(strings) = array.as_any().downcast_ref::<StringArray>() else {
            return Arc::clone(array);
        };
        let kept = {
            let k = self.0.lock();
            if let Some(v) = k.views.get(&c) {
                return Arc::clone(v);
            }
            k.plain.get(&c).is_some_and(|p| Arc::ptr_eq(p, array))
        };
        let view: ArrayRef = Arc::new(StringViewArray::from(strings));
        if !kept {
            return view;
        }
        // The views and the validity bitmap; the string bytes stay in the file.
        let bytes = view.len() * 16 + view.len().div_ceil(8);
        let before = VIEW_BYTES.fetch_add(bytes, Ordering::AcqRel);
        if before + bytes > STRING_VIEW_CACHE_BYTES {
            VIEW_BYTES.fetch_sub(bytes, Ordering::AcqRel);
            return view;
        }
        let mut k = self.0.lock();
        if let Some(v) = k.views.get(&c) {
            VIEW_BYTES.fetch_sub(bytes, Ordering::AcqRel);
            return Arc::clone(v);
        }
        k.view_bytes += bytes;
        k.views.insert(c, Arc::clone(&view));
        view
    }
}
