//! llkv's own read-only memory map of a database file.
//!
//! The one `unsafe` block of the store. It exists so that neither reads nor
//! writes after an open wait for simd-r-drive's `DataStore::open`, which
//! reads the whole file: chunks are served zero-copy from this map instead,
//! located by offsets that llkv records, and after llkv appends to the file
//! the file is mapped anew (see `docs/design.md` §3). The open benchmark
//! (`open/reopen_and_read_one_row` in `llkv-store/benches/store.rs`)
//! justifies it.

use memmap2::Mmap;
use std::fs::File;
use std::sync::Arc;

/// Maps the first `len` bytes of `file` read-only. `len` must be non-zero
/// and at most the file's length.
///
/// # Errors
/// The I/O error of `mmap(2)`.
pub(crate) fn map_file(file: &File, len: u64) -> std::io::Result<Arc<Mmap>> {
    let len = usize::try_from(len).map_err(|_| std::io::Error::other("file too large to map"))?;
    // SAFETY: a mapped file must not be truncated or changed below the
    // mapped length while the map lives. The caller holds the database's
    // exclusive (or shared read-only) lock on `<file>.lock`, so no other llkv
    // handle writes the file; llkv and simd-r-drive only append past the
    // committed end, and recovery trims a torn tail *before* this map is
    // made. simd-r-drive's own open could truncate, but only after llkv has
    // verified the entry chain it would otherwise cut (see `file.rs`). A
    // vacuum renames a new file over the name; this map keeps the old inode.
    // This is the same contract simd-r-drive's own maps rely on.
    #[expect(unsafe_code, reason = "memory-mapping a file is unsafe in Rust; see SAFETY")]
    let map = unsafe { memmap2::MmapOptions::new().len(len).map(file)? };
    Ok(Arc::new(map))
}
