//! Little-endian byte encoding of the store's metadata records.
//!
//! Every on-disk integer is little-endian and of a fixed width (never `usize`).
//! Records are framed by [`seal`] / [`open_sealed`]: a magic tag, a length and an
//! xxh3 checksum, so that a damaged record is reported rather than misread.

use crate::error::{Error, Result};

/// Appends fixed-width little-endian values to a byte vector.
#[derive(Default)]
pub(crate) struct Encoder {
    pub(crate) buf: Vec<u8>,
}

impl Encoder {
    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.u64(v.len() as u64);
        self.buf.extend_from_slice(v);
    }
    pub(crate) fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
}

/// Reads what [`Encoder`] wrote, failing with [`Error::Corrupt`] on short input.
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Self { buf, pos: 0, what }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::Corrupt(format!("{} record is truncated", self.what))),
        }
    }
    pub(crate) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    /// Whether the record has no more bytes (an optional trailing field is absent).
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        let mut a = [0u8; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.len_prefix()?;
        self.take(n)
    }
    pub(crate) fn str(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec())
            .map_err(|_| Error::Corrupt(format!("{} record holds invalid UTF-8", self.what)))
    }
    /// A length or count, checked against what is left so corrupt input cannot
    /// make us allocate unbounded memory.
    pub(crate) fn len_prefix(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(Error::Corrupt(format!("{} record has an impossible length", self.what)));
        }
        Ok(n as usize)
    }
    /// A count of items each at least `min_size` bytes long.
    pub(crate) fn count(&mut self, min_size: usize) -> Result<usize> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(min_size.max(1) as u64) > left {
            return Err(Error::Corrupt(format!("{} record has an impossible count", self.what)));
        }
        Ok(n as usize)
    }
}

/// Tag of the optional trailing field of a catalog, manifest or segment
/// record that gives the file locations of the records or chunks it names.
pub(crate) const LOCATIONS_TAG: u8 = 2;

/// Writes the locations field for `keys` (tag, count, then per key the
/// payload's offset and length, `(0, 0)` when unknown); nothing when no
/// location is known (in-memory stores, files written before the field).
pub(crate) fn encode_locations(
    e: &mut Encoder,
    keys: &[u64],
    locate: &dyn Fn(u64) -> Option<crate::pager::Location>,
) {
    let locs: Vec<Option<crate::pager::Location>> = keys.iter().map(|&k| locate(k)).collect();
    if locs.iter().all(Option::is_none) {
        return;
    }
    e.u8(LOCATIONS_TAG);
    e.u64(keys.len() as u64);
    for loc in locs {
        let loc = loc.unwrap_or(crate::pager::Location { start: 0, len: 0 });
        e.u64(loc.start);
        e.u64(loc.len);
    }
}

/// Reads a locations field (its tag already read) for `keys`: the known ones.
pub(crate) fn decode_locations(
    d: &mut Decoder,
    keys: &[u64],
) -> Result<Vec<(u64, crate::pager::Location)>> {
    let n = d.count(16)?;
    if n != keys.len() {
        return Err(Error::Corrupt(format!("{} record has a wrong number of locations", d.what)));
    }
    let mut out = Vec::with_capacity(n);
    for &k in keys {
        let start = d.u64()?;
        let len = d.u64()?;
        if len > 0 {
            out.push((k, crate::pager::Location { start, len }));
        }
    }
    Ok(out)
}

/// The xxh3 checksum used for every llkv record.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Size of the frame in front of a sealed record: magic (4) + version (4) + length (8) + checksum (8).
const SEAL_HEADER: usize = 24;

/// Frames `body` with a magic tag, its length and checksum.
pub(crate) fn seal(magic: [u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SEAL_HEADER + body.len());
    out.extend_from_slice(&magic);
    out.extend_from_slice(&crate::FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Checks the frame written by [`seal`] and returns the body.
pub(crate) fn open_sealed<'a>(magic: [u8; 4], bytes: &'a [u8], what: &str) -> Result<&'a [u8]> {
    if bytes.len() < SEAL_HEADER || bytes[0..4] != magic {
        return Err(Error::Corrupt(format!("{what} record has a bad header")));
    }
    let mut d = Decoder::new(&bytes[4..SEAL_HEADER], "record frame");
    let version = d.u32()?;
    if version != crate::FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version, expected: crate::FORMAT_VERSION });
    }
    let len = d.u64()?;
    let sum = d.u64()?;
    let body = &bytes[SEAL_HEADER..];
    if body.len() as u64 != len {
        return Err(Error::Corrupt(format!("{what} record has the wrong length")));
    }
    if checksum(body) != sum {
        return Err(Error::Corrupt(format!("{what} record fails its checksum")));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_record_round_trips_and_detects_a_flipped_byte() {
        let sealed = seal(*b"TEST", b"hello world");
        assert_eq!(open_sealed(*b"TEST", &sealed, "test").unwrap(), b"hello world");
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(open_sealed(*b"TEST", &bad, "test"), Err(Error::Corrupt(_))));
        assert!(open_sealed(*b"NOPE", &sealed, "test").is_err());
        assert!(open_sealed(*b"TEST", &sealed[..10], "test").is_err());
    }

    #[test]
    fn decoder_rejects_impossible_lengths() {
        let mut e = Encoder::default();
        e.u64(u64::MAX);
        let mut d = Decoder::new(&e.buf, "x");
        assert!(d.bytes().is_err());
    }
}
