//! One column chunk: an Arrow array serialized so it can be read back zero-copy.
//!
//! ```text
//! offset  size  field
//! 0       4     magic "LKCK"
//! 4       4     format version
//! 8       8     row count
//! 16      8     null count
//! 24      8     xxh3 checksum of the whole blob with this field zeroed
//! 32      4     number of data buffers (0..=2)
//! 36      4     flags (bit 0: a validity bitmap is present;
//!               bit 1: the values are narrowed, see below)
//! 40      16    narrowed: the base value (i128), else zero
//! 56      1     narrowed: bytes per code (1, 2, 4 or 8), else zero
//! 57      7     reserved (zero)
//! 64      16*k  (offset, length) of the validity bitmap, then of each data buffer
//! ...           the buffers, each starting at a multiple of 64
//! ```
//!
//! Blobs start 64-byte aligned in memory (simd-r-drive aligns payloads, and the
//! memory pager allocates aligned), so every buffer inside is 64-byte aligned
//! too and is wrapped in place: no per-value decoding, no copy.
//!
//! The one exception is `Decimal128`: its data buffer holds each value's
//! distance from the chunk's smallest value in 1–8 bytes (see
//! [`crate::narrow`]), and reads widen them into a new buffer.

use crate::error::{Error, Result};
use crate::narrow::Narrowing;
use arrow::array::{Array, ArrayData, ArrayRef, AsArray, make_array};
use arrow::buffer::{BooleanBuffer, Buffer, NullBuffer};
use arrow::datatypes::DataType;

const MAGIC: &[u8; 4] = b"LKCK";
const HEADER: usize = 64;
const ALIGN: usize = 64;
const CHECKSUM_AT: usize = 24;
const FLAG_VALIDITY: u32 = 1;
const FLAG_NARROWED: u32 = 2;
const BASE_AT: usize = 40;
const WIDTH_AT: usize = 56;

fn align_up(n: usize) -> usize {
    n.div_ceil(ALIGN) * ALIGN
}

/// Whether the store can keep columns of this type.
pub fn is_storable(dt: &DataType) -> bool {
    use DataType::*;
    matches!(
        dt,
        Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Utf8
            | LargeUtf8
            | Binary
            | LargeBinary
            | Date32
            | Date64
            | Time32(_)
            | Time64(_)
            | Timestamp(_, _)
            | Duration(_)
            | Interval(_)
            | Decimal128(_, _)
            | Decimal256(_, _)
            | FixedSizeBinary(_)
    )
}

/// Whether arrays of `dt` have variable-width values (an offsets buffer
/// that decoding checks value by value).
pub(crate) fn is_variable_width(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary)
}

/// The type a column of `dt` is stored as: view types are kept as their plain
/// counterparts (`Utf8View` → `Utf8`, `BinaryView` → `Binary`).
pub fn storage_type(dt: &DataType) -> DataType {
    match dt {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    }
}

/// Serializes `array` into a chunk blob.
///
/// # Errors
/// [`Error::Invalid`] for a type the store does not keep.
pub fn encode(array: &dyn Array) -> Result<Vec<u8>> {
    if !is_storable(array.data_type()) {
        return Err(Error::Invalid(format!("cannot store a column of type {}", array.data_type())));
    }
    // Sliced input is normalized to offset 0 so that buffers start at their
    // first byte and hold only the slice's values (a slice of a string array
    // shares its parent's whole value buffer).
    let mut owned = array.to_data();
    if !is_tight(&owned) {
        owned = unsliced(array);
    }
    let data = &owned;
    let validity: Option<Buffer> =
        data.nulls().filter(|n| n.null_count() > 0).map(|n| n.inner().sliced());
    let narrowed = narrowed_values(data);
    let buffers: Vec<&Buffer> = match &narrowed {
        Some((_, codes)) => vec![codes],
        None => data.buffers().iter().collect(),
    };
    let parts: Vec<&[u8]> =
        validity.iter().map(|b| b.as_slice()).chain(buffers.iter().map(|b| b.as_slice())).collect();
    let desc_len = 16 * parts.len();
    let mut offset = align_up(HEADER + desc_len);
    let mut layout = Vec::with_capacity(parts.len());
    for p in &parts {
        layout.push((offset, p.len()));
        offset = align_up(offset + p.len().max(1));
    }
    let mut out = vec![0u8; offset];
    out[0..4].copy_from_slice(MAGIC);
    out[4..8].copy_from_slice(&crate::FORMAT_VERSION.to_le_bytes());
    out[8..16].copy_from_slice(&(data.len() as u64).to_le_bytes());
    out[16..24].copy_from_slice(&(data.null_count() as u64).to_le_bytes());
    out[32..36].copy_from_slice(&(buffers.len() as u32).to_le_bytes());
    let mut flags = if validity.is_some() { FLAG_VALIDITY } else { 0 };
    if let Some((n, _)) = &narrowed {
        flags |= FLAG_NARROWED;
        out[BASE_AT..BASE_AT + 16].copy_from_slice(&n.base.to_le_bytes());
        out[WIDTH_AT] = n.width;
    }
    out[36..40].copy_from_slice(&flags.to_le_bytes());
    for (i, ((off, len), p)) in layout.iter().zip(&parts).enumerate() {
        let d = HEADER + 16 * i;
        out[d..d + 8].copy_from_slice(&(*off as u64).to_le_bytes());
        out[d + 8..d + 16].copy_from_slice(&(*len as u64).to_le_bytes());
        out[*off..*off + len].copy_from_slice(p);
    }
    let sum = blob_checksum(&out);
    out[CHECKSUM_AT..CHECKSUM_AT + 8].copy_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// A `Decimal128` array's narrowing and codes (`None`: another type, or a
/// range too wide to narrow). `data` starts at offset 0.
fn narrowed_values(data: &ArrayData) -> Option<(Narrowing, Buffer)> {
    if !matches!(data.data_type(), DataType::Decimal128(_, _)) {
        return None;
    }
    let values = &data.buffer::<i128>(0)[..data.len()];
    let valid = |i: usize| data.nulls().is_none_or(|n| n.is_valid(i));
    let n = Narrowing::choose(values, valid)?;
    Some((n, Buffer::from_vec(n.encode(values, valid))))
}

/// Whether `data` starts at offset 0 and its buffers hold nothing beyond its
/// own values. Fixed-width slices are (their buffers are sliced); a slice of
/// a variable-width array keeps its parent's whole value buffer, and its
/// offsets need not start at 0.
fn is_tight(data: &ArrayData) -> bool {
    fn offsets_tight<O: arrow::datatypes::ArrowNativeType>(data: &ArrayData) -> bool {
        let offsets = data.buffer::<O>(0);
        let values = data.buffers().get(1).map_or(0, Buffer::len);
        match (offsets.first(), offsets.get(data.len())) {
            (Some(first), Some(last)) => first.as_usize() == 0 && last.as_usize() == values,
            _ => values == 0,
        }
    }
    if data.offset() != 0 {
        return false;
    }
    match data.data_type() {
        DataType::Utf8 | DataType::Binary => offsets_tight::<i32>(data),
        DataType::LargeUtf8 | DataType::LargeBinary => offsets_tight::<i64>(data),
        _ => true,
    }
}

/// A copy of `array` whose data starts at offset 0.
fn unsliced(array: &dyn Array) -> ArrayData {
    let data = array.to_data();
    let mut copy = arrow::array::MutableArrayData::new(vec![&data], false, data.len());
    copy.try_extend(0, 0, data.len()).expect("copying an array into a buffer sized for it");
    copy.freeze()
}

fn blob_checksum(blob: &[u8]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&blob[..CHECKSUM_AT]);
    h.update(&[0u8; 8]);
    h.update(&blob[CHECKSUM_AT + 8..]);
    h.digest()
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

/// Checks a chunk blob's header and checksum.
///
/// # Errors
/// [`Error::Corrupt`] naming what is wrong.
pub fn verify(blob: &[u8]) -> Result<()> {
    if blob.len() < HEADER || &blob[0..4] != MAGIC {
        return Err(Error::Corrupt("column chunk has a bad header".into()));
    }
    if read_u32(blob, 4) != crate::FORMAT_VERSION {
        return Err(Error::UnsupportedVersion {
            found: read_u32(blob, 4),
            expected: crate::FORMAT_VERSION,
        });
    }
    if blob_checksum(blob) != read_u64(blob, CHECKSUM_AT) {
        return Err(Error::Corrupt("column chunk fails its checksum".into()));
    }
    Ok(())
}

/// Wraps a chunk blob as an Arrow array of type `dt` without copying its buffers.
///
/// The checksum is not checked here: call [`verify`] once per blob first.
///
/// # Errors
/// [`Error::Corrupt`] when the blob does not describe a valid array of `dt`.
pub fn decode(blob: &Buffer, dt: &DataType) -> Result<ArrayRef> {
    let (rows, nulls, mut buffers) = decode_parts(blob)?;
    if let Some(n) = narrowing(blob, dt)? {
        buffers = vec![widened(&n, &buffers, 0, rows)?];
    }
    let data = ArrayData::builder(storage_type(dt))
        .len(rows)
        .nulls(nulls)
        .buffers(buffers)
        .build()
        .map_err(|e| Error::Corrupt(format!("column chunk does not match its type {dt}: {e}")))?;
    Ok(make_array(data))
}

/// The rows of a chunk that `filter` keeps, as an array of type `dt`. A
/// narrowed chunk's codes are filtered first and only the kept ones
/// widened: a selective scan does not widen the whole chunk.
///
/// # Errors
/// As [`decode`]; [`Error::Corrupt`] when the filter is longer than the chunk.
pub(crate) fn decode_filtered(
    blob: &Buffer,
    dt: &DataType,
    filter: &arrow::compute::FilterPredicate,
) -> Result<ArrayRef> {
    let Some(n) = narrowing(blob, dt)? else {
        return Ok(filter.filter(decode(blob, dt)?.as_ref())?);
    };
    let (rows, nulls, buffers) = decode_parts(blob)?;
    let codes = n.aligned_codes(checked_codes(&n, &buffers, rows)?);
    let data = ArrayData::builder(n.code_type())
        .len(rows)
        .nulls(nulls)
        .buffers(vec![codes])
        .build()
        .map_err(|e| Error::Corrupt(format!("narrowed column chunk: {e}")))?;
    let kept = filter.filter(make_array(data).as_ref())?.to_data();
    let values = n.widen(&kept.buffers()[0], kept.offset(), kept.len());
    let data = ArrayData::builder(storage_type(dt))
        .len(kept.len())
        .nulls(kept.nulls().cloned())
        .buffers(vec![values])
        .build()
        .map_err(|e| Error::Corrupt(format!("column chunk does not match its type {dt}: {e}")))?;
    Ok(make_array(data))
}

/// The sum and count of the non-NULL values among the rows of a DECIMAL
/// chunk that `keep` marks (all when `None`), read from its narrowed codes
/// without widening them (a chunk stored wide is summed as it is); `None`
/// when the sum does not fit an `i128`.
///
/// # Errors
/// As [`decode`]; [`Error::Invalid`] when `dt` is not DECIMAL or `keep` is
/// not one bit per row.
pub(crate) fn decimal_sum(
    blob: &Buffer,
    dt: &DataType,
    keep: Option<&BooleanBuffer>,
) -> Result<Option<(i128, u64)>> {
    if !matches!(dt, DataType::Decimal128(_, _)) {
        return Err(Error::Invalid(format!("a sum of a {dt} chunk")));
    }
    let (rows, nulls, buffers) = decode_parts(blob)?;
    if keep.is_some_and(|k| k.len() != rows) {
        return Err(Error::Invalid("a row mask of another length than the chunk".into()));
    }
    let valid = match (keep, nulls) {
        (Some(k), Some(n)) => Some(k & n.inner()),
        (Some(k), None) => Some(k.clone()),
        (None, Some(n)) => Some(n.into_inner()),
        (None, None) => None,
    };
    if let Some(n) = narrowing(blob, dt)? {
        return Ok(n.sum(checked_codes(&n, &buffers, rows)?, rows, valid.as_ref()));
    }
    let array = decode(blob, dt)?;
    let values = array.as_primitive::<arrow::datatypes::Decimal128Type>().values();
    let mut sum = 0i128;
    let mut add = |v: i128| sum.checked_add(v).map(|s| sum = s);
    let fits = match &valid {
        None => values.iter().all(|&v| add(v).is_some()),
        Some(k) => k.set_indices().all(|i| add(values[i]).is_some()),
    };
    let count = valid.as_ref().map_or(rows, BooleanBuffer::count_set_bits) as u64;
    Ok(fits.then_some((sum, count)))
}

/// Rows `first..first + len` of a chunk of a fixed-width type `dt` as an
/// Arrow array, without copying: only those rows' validity bits are counted
/// and only their extent is checked against the buffers (decoding a whole
/// 64K-row chunk to read one row counts and checks all of them).
/// Variable-width types are not for this (their values would not be checked).
///
/// # Errors
/// [`Error::Corrupt`] when the blob does not describe an array of `dt` or
/// holds fewer rows than `first + len`.
pub(crate) fn decode_range(
    blob: &Buffer,
    dt: &DataType,
    first: usize,
    len: usize,
) -> Result<ArrayRef> {
    let dt = storage_type(dt);
    if is_variable_width(&dt) {
        return Err(Error::Invalid(format!("a range of a {dt} chunk is decoded whole")));
    }
    let (rows, bits, mut buffers) = decode_raw(blob)?;
    if first.checked_add(len).is_none_or(|end| end > rows) {
        return Err(corrupt("row count for the rows read"));
    }
    let nulls = bits.map(|b| NullBuffer::new(arrow::buffer::BooleanBuffer::new(b, first, len)));
    let mut offset = first;
    if let Some(n) = narrowing(blob, &dt)? {
        buffers = vec![widened(&n, &buffers, first, len)?];
        offset = 0;
    }
    let data = ArrayData::builder(dt.clone())
        .len(len)
        .offset(offset)
        .nulls(nulls)
        .buffers(buffers)
        .build()
        .map_err(|e| Error::Corrupt(format!("column chunk does not match its type {dt}: {e}")))?;
    Ok(make_array(data))
}

/// How a chunk of type `dt` narrows its values (`None`: stored as they are).
///
/// # Errors
/// [`Error::Corrupt`] for a narrowed chunk of another type than
/// `Decimal128` or with an unknown code width.
fn narrowing(blob: &Buffer, dt: &DataType) -> Result<Option<Narrowing>> {
    let b = blob.as_slice();
    if b.len() < HEADER || read_u32(b, 36) & FLAG_NARROWED == 0 {
        return Ok(None);
    }
    let width = b[WIDTH_AT];
    if !matches!(dt, DataType::Decimal128(_, _)) || !Narrowing::is_valid_width(width) {
        return Err(corrupt("narrowing"));
    }
    let mut base = [0u8; 16];
    base.copy_from_slice(&b[BASE_AT..BASE_AT + 16]);
    Ok(Some(Narrowing { base: i128::from_le_bytes(base), width }))
}

/// Values `first..first + len` of a narrowed chunk's codes, widened.
fn widened(n: &Narrowing, buffers: &[Buffer], first: usize, len: usize) -> Result<Buffer> {
    let rows = first.checked_add(len).ok_or_else(|| corrupt("rows"))?;
    Ok(n.widen(checked_codes(n, buffers, rows)?, first, len))
}

/// A narrowed chunk's codes buffer, checked to hold `rows` codes.
fn checked_codes<'a>(n: &Narrowing, buffers: &'a [Buffer], rows: usize) -> Result<&'a Buffer> {
    let need = rows.checked_mul(usize::from(n.width));
    match buffers {
        [codes] if need.is_some_and(|need| codes.len() >= need) => Ok(codes),
        _ => Err(corrupt("narrowed values buffer")),
    }
}

/// A chunk's row count, validity and data buffers (zero-copy slices of `blob`),
/// bounds-checked against the blob but not against a type. A narrowed
/// chunk's data buffer holds codes, not values: [`decode`] widens them.
pub(crate) fn decode_parts(blob: &Buffer) -> Result<(usize, Option<NullBuffer>, Vec<Buffer>)> {
    let (rows, bits, buffers) = decode_raw(blob)?;
    let nulls = bits.map(|b| NullBuffer::new(arrow::buffer::BooleanBuffer::new(b, 0, rows)));
    Ok((rows, nulls, buffers))
}

/// A chunk's row count, validity bits (at least one per row) and buffers.
pub(crate) fn decode_raw(blob: &Buffer) -> Result<(usize, Option<Buffer>, Vec<Buffer>)> {
    let b = blob.as_slice();
    if b.len() < HEADER || &b[0..4] != MAGIC {
        return Err(Error::Corrupt("column chunk has a bad header".into()));
    }
    let rows = usize::try_from(read_u64(b, 8)).map_err(|_| corrupt("row count"))?;
    let nbuf = read_u32(b, 32) as usize;
    let has_validity = read_u32(b, 36) & FLAG_VALIDITY != 0;
    let nparts = nbuf + usize::from(has_validity);
    if nparts > 3 || HEADER + 16 * nparts > b.len() {
        return Err(corrupt("buffer table"));
    }
    let mut parts = Vec::with_capacity(nparts);
    for i in 0..nparts {
        let off = read_u64(b, HEADER + 16 * i);
        let len = read_u64(b, HEADER + 16 * i + 8);
        let end = off.checked_add(len).ok_or_else(|| corrupt("buffer bounds"))?;
        if end > b.len() as u64 {
            return Err(corrupt("buffer bounds"));
        }
        parts.push(blob.slice_with_length(off as usize, len as usize));
    }
    let mut parts = parts.into_iter();
    let bits = if has_validity {
        let bits = parts.next().ok_or_else(|| corrupt("validity"))?;
        if bits.len() * 8 < rows {
            return Err(corrupt("validity length"));
        }
        Some(bits)
    } else {
        None
    };
    Ok((rows, bits, parts.collect()))
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("column chunk has an invalid {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::*;
    use std::sync::Arc;

    fn round_trip(a: ArrayRef) {
        let blob = encode(a.as_ref()).unwrap();
        verify(&blob).unwrap();
        let mut buf = arrow::buffer::MutableBuffer::new(blob.len());
        buf.extend_from_slice(&blob);
        let back = decode(&buf.into(), a.data_type()).unwrap();
        assert_eq!(back.as_ref(), a.as_ref());
    }

    #[test]
    fn a_range_of_rows_decodes_as_the_slice_of_the_whole_chunk() {
        let n = 300;
        let arrays: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from_iter((0..n).map(|i| (i % 7 != 0).then_some(i as i64)))),
            Arc::new(UInt64Array::from_iter((0..n).map(|i| (i % 5 == 0).then_some(i as u64)))),
            Arc::new(BooleanArray::from_iter((0..n).map(|i| (i % 3 != 0).then_some(i % 2 == 0)))),
            Arc::new(Float64Array::from_iter_values((0..n).map(|i| i as f64 / 3.0))),
            Arc::new(
                Decimal128Array::from_iter((0..n).map(|i| (i % 4 != 1).then_some(i as i128)))
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
            ),
        ];
        for a in arrays {
            let blob = encode(a.as_ref()).unwrap();
            let blob = Buffer::from(blob);
            for (first, len) in
                [(0, 1), (1, 1), (7, 9), (63, 2), (64, 1), (299, 1), (0, 300), (5, 0)]
            {
                let got = decode_range(&blob, a.data_type(), first, len).unwrap();
                assert_eq!(
                    got.as_ref(),
                    a.slice(first, len).as_ref(),
                    "{} {first}+{len}",
                    a.data_type()
                );
                assert_eq!(got.null_count(), a.slice(first, len).null_count());
            }
            assert!(decode_range(&blob, a.data_type(), 300, 1).is_err());
            assert!(decode_range(&blob, a.data_type(), 250, 51).is_err());
        }
        let s: ArrayRef = Arc::new(StringArray::from(vec!["a", "b"]));
        let blob = Buffer::from(encode(s.as_ref()).unwrap());
        assert!(decode_range(&blob, &DataType::Utf8, 0, 1).is_err());
    }

    #[test]
    fn every_storable_kind_round_trips_with_nulls_and_slices() {
        round_trip(Arc::new(Int64Array::from(vec![Some(1), None, Some(-3)])));
        round_trip(Arc::new(Float64Array::from(vec![1.5, 2.5])));
        round_trip(Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])));
        round_trip(Arc::new(StringArray::from(vec![Some("a"), None, Some(""), Some("xyz")])));
        round_trip(Arc::new(BinaryArray::from_opt_vec(vec![Some(b"ab"), None])));
        round_trip(Arc::new(Date32Array::from(vec![1, 2])));
        round_trip(Arc::new(
            Decimal128Array::from(vec![Some(12345), None]).with_precision_and_scale(10, 2).unwrap(),
        ));
        round_trip(Arc::new(Int32Array::from(Vec::<i32>::new())));
        let sliced = Int64Array::from((0..100).collect::<Vec<i64>>()).slice(7, 50);
        round_trip(Arc::new(sliced));
        let s = StringArray::from(vec![Some("a"), None, Some("bc"), Some("d")]).slice(1, 3);
        round_trip(Arc::new(s));
        let b = BooleanArray::from(vec![Some(true), None, Some(false), Some(true)]).slice(1, 3);
        round_trip(Arc::new(b));
    }

    #[test]
    fn decimal_chunks_are_narrowed_and_read_back_whole() {
        let prices = Decimal128Array::from_iter(
            (0..10_000).map(|i| (i % 9 != 0).then_some(90_100 + i as i128 * 997)),
        )
        .with_precision_and_scale(15, 2)
        .unwrap();
        let blob = encode(&prices).unwrap();
        assert!(blob.len() < 10_000 * 4 + 2_000, "{} bytes for 10,000 prices", blob.len());
        round_trip(Arc::new(prices.clone()));
        round_trip(Arc::new(prices.slice(1_234, 5_000)));
        let extremes = [Some(i128::MIN), None, Some(i128::MAX), Some(0)];
        let wide =
            Decimal128Array::from(extremes.to_vec()).with_precision_and_scale(38, 0).unwrap();
        assert!(encode(&wide).unwrap().len() > 4 * 16, "too wide a range stays 16-byte values");
        round_trip(Arc::new(wide));
        round_trip(Arc::new(
            Decimal128Array::from(vec![None::<i128>, None]).with_precision_and_scale(5, 1).unwrap(),
        ));
        let negative = Decimal128Array::from_iter_values((0..300).map(|i| -(10i128.pow(30)) - i))
            .with_precision_and_scale(38, 3)
            .unwrap();
        round_trip(Arc::new(negative));
    }

    #[test]
    fn a_damaged_narrowing_is_an_error_not_a_panic() {
        let prices = Decimal128Array::from_iter_values((0..100).map(|i| i * 1_000))
            .with_precision_and_scale(15, 2)
            .unwrap();
        let dt = prices.data_type().clone();
        let blob = encode(&prices).unwrap();
        let mut bad_width = blob.clone();
        bad_width[WIDTH_AT] = 3;
        assert!(decode(&Buffer::from(bad_width), &dt).is_err());
        let mut many_rows = blob.clone();
        many_rows[8..16].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        assert!(decode(&Buffer::from(many_rows.clone()), &dt).is_err());
        assert!(decode_range(&Buffer::from(many_rows), &dt, 1 << 60, 5).is_err());
        assert!(decode(&Buffer::from(blob), &DataType::Int64).is_err());
    }

    #[test]
    fn a_slice_of_a_string_array_stores_only_its_own_values() {
        let big: Vec<String> = (0..10_000).map(|i| format!("value number {i:08}")).collect();
        let parent = StringArray::from(big);
        let whole = encode(&parent).unwrap().len();
        for start in [0, 5_000] {
            let slice = parent.slice(start, 100);
            let blob = encode(&slice).unwrap();
            assert!(blob.len() < whole / 50, "slice at {start}: {} bytes of {whole}", blob.len());
            round_trip(Arc::new(slice));
        }
    }

    #[test]
    fn a_flipped_byte_is_detected() {
        let blob = encode(&Int64Array::from(vec![1, 2, 3])).unwrap();
        for i in [0, 9, 30, 70, blob.len() - 1] {
            let mut bad = blob.clone();
            bad[i] ^= 0x40;
            assert!(verify(&bad).is_err(), "flip at {i} not detected");
        }
    }

    #[test]
    fn decode_rejects_garbage_without_panicking() {
        let mut buf = arrow::buffer::MutableBuffer::new(200);
        buf.extend_from_slice(&[0xAB; 200]);
        assert!(decode(&buf.into(), &DataType::Int64).is_err());
        let mut blob = encode(&Int64Array::from(vec![1, 2, 3])).unwrap();
        blob[8] = 0xFF; // row count far beyond the buffer
        let mut buf = arrow::buffer::MutableBuffer::new(blob.len());
        buf.extend_from_slice(&blob);
        assert!(decode(&buf.into(), &DataType::Int64).is_err());
    }
}
