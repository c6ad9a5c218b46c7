//! llkv's own recovery of a database file, run before anything else reads it.
//!
//! simd-r-drive's recovery walks back from the end of the file looking for a
//! plausible entry chain and truncates whatever lies after it. It checks no
//! payload checksum, so a torn tail (often zero-filled) can pass for a chain
//! and hide committed data, and a damaged entry in the middle makes it cut
//! committed data away. llkv therefore recovers first, knowing its own format:
//!
//! 1. The last thing every commit writes is the commit record, whose payload
//!    has a fixed length ([`COMMIT_RECORD_LEN`]) and starts 64-byte aligned, so
//!    its entry ends at an offset ≡ `COMMIT_RECORD_LEN + 20` (mod 64). On a
//!    cleanly closed file the last entry is that record: O(1). After a crash
//!    the file is scanned backwards, 64 bytes at a time, over the torn tail
//!    only, for the newest intact commit record (sealed with a checksum).
//! 2. Everything after the commit record (the writes of a commit that never
//!    completed) is trimmed. Opening reads nothing else of the chain: records
//!    are found by the locations the records that name them carry.
//! 3. The chain of entries from the commit back to offset 0 is checked (one
//!    20-byte read per entry) before simd-r-drive ever opens the file (the
//!    first write), and whenever a key has no known location: a broken chain
//!    is reported, never "repaired", so simd-r-drive never cuts it.

use super::file::mix;
use crate::codec::open_sealed;
use crate::error::{Error, Result};
use crate::pager::Location;
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Size of simd-r-drive's per-entry metadata: key hash (8), previous tail (8), checksum (4).
const METADATA: u64 = 20;
/// Payload alignment in the file.
const ALIGN: u64 = 64;
/// Length of a sealed commit record: frame (24) + seq, catalog key, next key, user seq (32).
pub(crate) const COMMIT_RECORD_LEN: u64 = 24 + 32;
/// Length of the header payload: magic (8) + format version (4).
pub(crate) const HEADER_LEN: u64 = 12;

fn prepad(offset: u64) -> u64 {
    (ALIGN - offset % ALIGN) % ALIGN
}

struct Meta {
    key_hash: u64,
    prev: u64,
}

fn read_meta(file: &File, end: u64) -> Result<Meta> {
    let mut b = [0u8; METADATA as usize];
    file.read_exact_at(&mut b, end - METADATA)?;
    let word = |i: usize| {
        u64::from_le_bytes([
            b[i],
            b[i + 1],
            b[i + 2],
            b[i + 3],
            b[i + 4],
            b[i + 5],
            b[i + 6],
            b[i + 7],
        ])
    };
    Ok(Meta { key_hash: word(0), prev: word(8) })
}

/// Whether an intact commit record entry ends exactly at `end`.
///
/// # Errors
/// [`Error::Corrupt`] for an entry that is complete (its metadata names the
/// commit key and fits the record's shape) but whose record fails its
/// checksum: a write torn by a crash never completes its metadata, so this
/// is damage, not a crash.
fn commit_entry_ends_at(file: &File, end: u64, commit_hash: u64) -> Result<bool> {
    let payload_start = end - METADATA - COMMIT_RECORD_LEN;
    let meta = read_meta(file, end)?;
    if meta.key_hash != commit_hash
        || meta.prev > payload_start
        || meta.prev + prepad(meta.prev) != payload_start
    {
        return Ok(false);
    }
    let mut payload = vec![0u8; COMMIT_RECORD_LEN as usize];
    file.read_exact_at(&mut payload, payload_start)?;
    match open_sealed(crate::store::COMMIT_MAGIC, &payload, "commit") {
        Ok(_) => Ok(true),
        Err(e) => Err(Error::Corrupt(format!(
            "the commit record at offset {payload_start} is damaged ({e})"
        ))),
    }
}

/// The end of the newest intact commit record, or of the header entry when
/// nothing was ever committed.
fn committed_end(file: &File, len: u64) -> Result<u64> {
    let commit_hash = mix(crate::store::COMMIT_KEY);
    let entry = COMMIT_RECORD_LEN + METADATA;
    if len >= entry {
        // The largest candidate end ≤ len with end ≡ entry (mod 64).
        let mut end = len - (len - entry) % ALIGN;
        loop {
            if commit_entry_ends_at(file, end, commit_hash)? {
                return Ok(end);
            }
            if end < entry + ALIGN {
                break;
            }
            end -= ALIGN;
        }
    }
    let header_end = HEADER_LEN + METADATA;
    if len < header_end || read_meta(file, header_end)?.key_hash != mix(crate::store::HEADER_KEY) {
        return Err(Error::Corrupt("the header entry is damaged or incomplete".into()));
    }
    Ok(header_end)
}

/// Payload ranges by key hash (`None`: the newest entry is a tombstone).
pub(crate) type EntryIndex = HashMap<u64, Option<(u64, u64)>>;

/// Checks that the entries ending at `end` chain back to offset 0, and
/// indexes each key's newest entry on the way.
pub(crate) fn verify_chain(file: &File, end: u64) -> Result<EntryIndex> {
    let mut cursor = end;
    let mut index = EntryIndex::new();
    while cursor != 0 {
        let broken = || {
            Error::Corrupt(format!(
                "the file's entry chain is broken at offset {cursor}; refusing to guess"
            ))
        };
        if cursor < METADATA {
            return Err(broken());
        }
        let meta = read_meta(file, cursor)?;
        let payload_end = cursor - METADATA;
        // A tombstone is a single byte written without padding.
        let tombstone = payload_end.checked_sub(meta.prev) == Some(1);
        if meta.prev >= payload_end {
            return Err(broken());
        }
        let payload_start = if tombstone { meta.prev } else { meta.prev + prepad(meta.prev) };
        if payload_start >= payload_end {
            return Err(broken());
        }
        // Walking backwards, the first entry seen for a key is its newest.
        index.entry(meta.key_hash).or_insert((!tombstone).then_some((payload_start, payload_end)));
        cursor = meta.prev;
    }
    Ok(index)
}

/// Whether the file has bytes past its last complete commit (a torn tail that
/// [`recover_file`] would trim). Reads only.
///
/// # Errors
/// As for [`recover_file`].
pub(crate) fn has_torn_tail(path: &std::path::Path) -> Result<bool> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    let end = committed_end(&file, len)?;
    Ok(end < len)
}

/// What [`recover_file`] did and found.
pub(crate) struct Recovered {
    /// File length before recovery.
    pub(crate) len: u64,
    /// Bytes trimmed from the tail (0 for a cleanly closed file).
    pub(crate) trimmed: u64,
    /// Where the committed entries end (the file length after recovery).
    pub(crate) end: u64,
    /// Entries found on the way, by key hash: the header, the commit record
    /// and the entry written just before it (the commit's catalog).
    pub(crate) known: Vec<(u64, Location)>,
}

/// Recovers the file to its last complete commit.
///
/// # Errors
/// [`Error::Corrupt`] when the header or the chain of committed entries is damaged.
pub(crate) fn recover_file(path: &std::path::Path) -> Result<Recovered> {
    let file = std::fs::OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    let end = committed_end(&file, len)?;
    if end < len {
        file.set_len(end)?;
        file.sync_all()?;
    }
    Ok(Recovered { len, trimmed: len - end, end, known: tail_entries(&file, end)? })
}

/// The key hash, payload location and previous tail of the entry ending at
/// `end`; `None` for a tombstone or an entry that does not fit.
fn entry_ending_at(file: &File, end: u64) -> Result<Option<(u64, Location, u64)>> {
    if end < METADATA + 1 {
        return Ok(None);
    }
    let meta = read_meta(file, end)?;
    let payload_end = end - METADATA;
    if meta.prev >= payload_end {
        return Ok(None);
    }
    let start = meta.prev + prepad(meta.prev);
    if start >= payload_end {
        return Ok(None);
    }
    Ok(Some((meta.key_hash, Location { start, len: payload_end - start }, meta.prev)))
}

/// The last entry of a recovered file (the commit record, or the header) and
/// the entry before it. Reads never trust these blindly: a read checks the
/// key hash stored with the entry, and records are sealed.
pub(crate) fn tail_entries(file: &File, end: u64) -> Result<Vec<(u64, Location)>> {
    let mut out = Vec::with_capacity(2);
    let mut cursor = end;
    while out.len() < 2 && cursor > 0 {
        match entry_ending_at(file, cursor)? {
            Some((hash, loc, prev)) => {
                out.push((hash, loc));
                cursor = prev;
            }
            None => break,
        }
    }
    Ok(out)
}
