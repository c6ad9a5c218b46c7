//! Frame-of-reference narrowing of `Decimal128` chunk values.
//!
//! A DECIMAL value is 16 bytes in Arrow, yet the values of a chunk usually
//! span a small range: TPC-H's prices fit 24 bits, its discounts 4. A
//! chunk keeps each value as its distance from the chunk's smallest value,
//! in the narrowest of 1, 2, 4 or 8 bytes that holds the widest distance,
//! and reads widen them back. A full scan then reads a quarter of the bytes
//! or less from memory, which is what limits it: summing `i128`s straight
//! from the file is bound by the loads.

use arrow::buffer::{BooleanBuffer, Buffer};

/// How a chunk's values are narrowed: `value = base + code`, each code an
/// unsigned little-endian integer of `width` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Narrowing {
    /// The chunk's smallest non-null value.
    pub(crate) base: i128,
    /// Bytes per code: 1, 2, 4 or 8.
    pub(crate) width: u8,
}

impl Narrowing {
    /// Whether `width` is one this module writes.
    pub(crate) fn is_valid_width(width: u8) -> bool {
        matches!(width, 1 | 2 | 4 | 8)
    }

    /// The narrowing of `values` (`valid(i)`: row `i` is not NULL), or `None`
    /// when their range does not fit 8 bytes.
    pub(crate) fn choose(values: &[i128], valid: impl Fn(usize) -> bool) -> Option<Self> {
        let mut bounds: Option<(i128, i128)> = None;
        for (i, &v) in values.iter().enumerate() {
            if valid(i) {
                bounds = Some(bounds.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
            }
        }
        let Some((lo, hi)) = bounds else { return Some(Self { base: 0, width: 1 }) };
        // `hi >= lo`, so the wrapping difference is the exact unsigned range.
        let range = hi.wrapping_sub(lo) as u128;
        let width = match range {
            r if r <= u128::from(u8::MAX) => 1,
            r if r <= u128::from(u16::MAX) => 2,
            r if r <= u128::from(u32::MAX) => 4,
            r if r <= u128::from(u64::MAX) => 8,
            _ => return None,
        };
        Some(Self { base: lo, width })
    }

    /// The codes of `values` (NULL rows get code 0), little-endian.
    pub(crate) fn encode(&self, values: &[i128], valid: impl Fn(usize) -> bool) -> Vec<u8> {
        let w = usize::from(self.width);
        let mut out = Vec::with_capacity(values.len() * w);
        for (i, &v) in values.iter().enumerate() {
            let code = if valid(i) { v.wrapping_sub(self.base) as u64 } else { 0 };
            out.extend_from_slice(&code.to_le_bytes()[..w]);
        }
        out
    }

    /// The Arrow type of the codes: an unsigned integer of `width` bytes.
    pub(crate) fn code_type(&self) -> arrow::datatypes::DataType {
        use arrow::datatypes::DataType;
        match self.width {
            1 => DataType::UInt8,
            2 => DataType::UInt16,
            4 => DataType::UInt32,
            _ => DataType::UInt64,
        }
    }

    /// `codes`, aligned for the code type (copied when not, which chunk
    /// buffers always are).
    pub(crate) fn aligned_codes(&self, codes: &Buffer) -> Buffer {
        match self.width {
            1 => codes.clone(),
            2 => aligned::<u16>(codes.clone()),
            4 => aligned::<u32>(codes.clone()),
            _ => aligned::<u64>(codes.clone()),
        }
    }

    /// Values `first..first + len` widened from `codes`, which must hold at
    /// least `(first + len) * width` bytes.
    pub(crate) fn widen(&self, codes: &Buffer, first: usize, len: usize) -> Buffer {
        let w = usize::from(self.width);
        let bytes = codes.slice_with_length(first * w, len * w);
        // Each value as its (low, high) 64-bit halves: the compiler writes
        // such a pair with one 16-byte store, where it writes an `i128` with
        // two 8-byte stores (the stores limit this loop). Little-endian, as
        // every buffer of the file is.
        let mut out: Vec<[u64; 2]> = Vec::with_capacity(len);
        match self.width {
            1 => self.widen_codes(bytes.as_slice(), &mut out),
            2 => self.widen_codes(aligned::<u16>(bytes).typed_data::<u16>(), &mut out),
            4 => self.widen_codes(aligned::<u32>(bytes).typed_data::<u32>(), &mut out),
            _ => self.widen_codes(aligned::<u64>(bytes).typed_data::<u64>(), &mut out),
        }
        aligned::<i128>(Buffer::from_vec(out.into_flattened()))
    }

    /// The sum of the values of rows `0..rows` that `keep` marks (all of
    /// them when `None`), read from `codes` without widening them, and how
    /// many they are; `None` when the sum does not fit an `i128`. `codes`
    /// must hold at least `rows * width` bytes and `keep` `rows` bits.
    pub(crate) fn sum(
        &self,
        codes: &Buffer,
        rows: usize,
        keep: Option<&BooleanBuffer>,
    ) -> Option<(i128, u64)> {
        let w = usize::from(self.width);
        let bytes = codes.slice_with_length(0, rows * w);
        let codes_sum = match self.width {
            1 => code_sum(bytes.as_slice(), keep),
            2 => code_sum(aligned::<u16>(bytes).typed_data::<u16>(), keep),
            4 => code_sum(aligned::<u32>(bytes).typed_data::<u32>(), keep),
            _ => code_sum(aligned::<u64>(bytes).typed_data::<u64>(), keep),
        };
        let count = keep.map_or(rows, BooleanBuffer::count_set_bits) as u64;
        let codes_sum = i128::try_from(codes_sum).ok()?;
        self.base.checked_mul(i128::from(count))?.checked_add(codes_sum).map(|s| (s, count))
    }

    fn widen_codes<C: Copy + Into<u64>>(&self, codes: &[C], out: &mut Vec<[u64; 2]>) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            #[expect(unsafe_code, reason = "calling a function compiled for AVX2; see SAFETY")]
            // SAFETY: the CPU has AVX2 (checked just above), the one
            // requirement of calling a `#[target_feature(enable = "avx2")]`
            // function; it is otherwise safe code.
            unsafe {
                widen_avx2(self, codes, out);
            }
            return;
        }
        widen_into(self, codes, out);
    }
}

/// [`widen_into`] compiled for AVX2, where the compiler vectorizes it (4
/// values per instruction); for baseline x86-64 it does not.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn widen_avx2<C: Copy + Into<u64>>(n: &Narrowing, codes: &[C], out: &mut Vec<[u64; 2]>) {
    widen_into(n, codes, out);
}

/// Appends `codes` widened, as (low, high) halves.
#[inline(always)]
fn widen_into<C: Copy + Into<u64>>(n: &Narrowing, codes: &[C], out: &mut Vec<[u64; 2]>) {
    // With the base and the top of the range inside `i64`, the sum is an
    // `i64` addition; otherwise a 128-bit one.
    let top = i64::try_from(n.base)
        .ok()
        .and_then(|b| b.checked_add(i64::try_from(max_code(n.width)).ok()?));
    match (i64::try_from(n.base), top) {
        // No negative value: the high half is zero.
        (Ok(base), Some(_)) if base >= 0 => {
            let base = base as u64;
            out.extend(codes.iter().map(|&c| [base + c.into(), 0]));
        }
        (Ok(base), Some(_)) => out.extend(codes.iter().map(|&c| {
            let v = base.wrapping_add(c.into() as i64);
            [v as u64, (v >> 63) as u64]
        })),
        _ => out.extend(codes.iter().map(|&c| {
            let v = n.base.wrapping_add(i128::from(c.into()));
            [v as u64, (v >> 64) as u64]
        })),
    }
}

/// The sum of the `codes` that `keep` marks (all when `None`).
///
/// Codes add up in a `u64` over blocks of [`SUM_BLOCK`] (codes of up to 4
/// bytes cannot overflow it there), which the compiler vectorizes; a kept
/// code is selected by masking rather than by a branch. 8-byte codes add up
/// in a `u128`.
fn code_sum<C: Copy + Into<u64>>(codes: &[C], keep: Option<&BooleanBuffer>) -> u128 {
    if std::mem::size_of::<C>() == 8 {
        return match keep {
            None => codes.iter().map(|&c| u128::from(c.into())).sum(),
            Some(k) => k.set_indices().map(|i| u128::from(codes[i].into())).sum(),
        };
    }
    let Some(keep) = keep else {
        return codes
            .chunks(SUM_BLOCK)
            .map(|b| u128::from(b.iter().fold(0u64, |s, &c| s + c.into())))
            .sum();
    };
    let bits = keep.bit_chunks();
    let mut total = 0u128;
    let mut words = bits.iter();
    for block in codes.chunks(SUM_BLOCK) {
        let mut s = 0u64;
        for group in block.chunks(64) {
            let word = match group.len() {
                64 => words.next().unwrap_or(0),
                _ => bits.remainder_bits(),
            };
            for (j, &c) in group.iter().enumerate() {
                // All ones when bit j is set, else zero.
                let select = 0u64.wrapping_sub((word >> j) & 1);
                s += c.into() & select;
            }
        }
        total += u128::from(s);
    }
    total
}

/// Codes summed in one `u64` (see [`code_sum`]): 2^16 codes of at most
/// 2^32 - 1 stay below 2^48.
const SUM_BLOCK: usize = 1 << 16;

/// `bytes`, aligned for `T` (chunk buffers are, see [`crate::chunk`];
/// others are copied), a whole number of `T`s long.
fn aligned<T>(bytes: Buffer) -> Buffer {
    if bytes.as_ptr().align_offset(std::mem::align_of::<T>()) == 0 {
        return bytes;
    }
    let mut copy = arrow::buffer::MutableBuffer::new(bytes.len());
    copy.extend_from_slice(bytes.as_slice());
    copy.into()
}

/// The largest code of `width` bytes.
fn max_code(width: u8) -> u64 {
    match width {
        1 => u64::from(u8::MAX),
        2 => u64::from(u16::MAX),
        4 => u64::from(u32::MAX),
        _ => u64::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[i128], valid: impl Fn(usize) -> bool + Copy) -> Option<u8> {
        let n = Narrowing::choose(values, valid)?;
        let codes = Buffer::from_vec(n.encode(values, valid));
        assert_eq!(codes.len(), values.len() * usize::from(n.width));
        for (first, len) in [(0, values.len()), (values.len() / 2, values.len() - values.len() / 2)]
        {
            let wide = n.widen(&codes, first, len);
            let wide: &[i128] = wide.typed_data();
            for (i, v) in wide.iter().enumerate() {
                if valid(first + i) {
                    assert_eq!(*v, values[first + i], "row {}", first + i);
                }
            }
        }
        Some(n.width)
    }

    #[test]
    fn values_round_trip_at_every_width_and_at_the_extremes() {
        let all = |_| true;
        assert_eq!(round_trip(&[5, 7, 5, 261], all), Some(2));
        assert_eq!(round_trip(&[-3, -3, 0, 252], all), Some(1));
        assert_eq!(round_trip(&[90_100, 10_494_950, 5_000_000], all), Some(4));
        assert_eq!(round_trip(&[i64::MIN.into(), i64::MAX.into()], all), Some(8));
        assert_eq!(round_trip(&[i128::from(i64::MAX) + 10, i128::from(u64::MAX)], all), Some(8));
        assert_eq!(round_trip(&[-(10i128.pow(37)), -(10i128.pow(37)) + 9], all), Some(1));
        assert_eq!(round_trip(&[0, i128::from(u64::MAX) + 1], all), None);
        assert_eq!(round_trip(&[i128::MIN, i128::MAX], all), None);
        assert_eq!(round_trip(&[], all), Some(1));
    }

    #[test]
    fn codes_off_their_alignment_widen_the_same() {
        let values: Vec<i128> = (0..100).map(|i| 1_000_000 + i * 70_001).collect();
        let n = Narrowing::choose(&values, |_| true).unwrap();
        assert_eq!(n.width, 4);
        let mut shifted = vec![0u8];
        shifted.extend(n.encode(&values, |_| true));
        let codes = Buffer::from_vec(shifted).slice(1);
        assert_ne!(codes.as_ptr().align_offset(4), 0);
        assert_eq!(n.widen(&codes, 3, 90).typed_data::<i128>(), &values[3..93]);
    }

    #[test]
    fn null_rows_do_not_widen_the_range() {
        let values = [1_000, i128::MAX, 1_010, i128::MIN];
        assert_eq!(round_trip(&values, |i| i % 2 == 0), Some(1));
        assert_eq!(round_trip(&values, |_| false), Some(1));
    }

    #[test]
    fn sums_read_from_codes_equal_sums_of_the_values() {
        let sets: [Vec<i128>; 5] = [
            (0..300).map(|i| i % 7 - 3).collect(),
            (0..200).map(|i| 10_000 + i * 301).collect(),
            (0..1000).map(|i| -5_000_000 + i * 70_001).collect(),
            (0..130).map(|i| i128::from(i64::MIN) + i * 1_000_000_007).collect(),
            vec![42],
        ];
        for values in sets {
            let n = Narrowing::choose(&values, |_| true).unwrap();
            let codes = Buffer::from_vec(n.encode(&values, |_| true));
            let rows = values.len();
            assert_eq!(n.sum(&codes, rows, None), Some((values.iter().sum(), rows as u64)));
            // Every third row, and none.
            let keep = BooleanBuffer::from_iter((0..rows).map(|i| i % 3 == 0));
            let expect: i128 = values.iter().step_by(3).sum();
            let count = rows.div_ceil(3) as u64;
            assert_eq!(n.sum(&codes, rows, Some(&keep)), Some((expect, count)), "{}", n.width);
            let none = BooleanBuffer::new_unset(rows);
            assert_eq!(n.sum(&codes, rows, Some(&none)), Some((0, 0)));
            // A keep mask sliced off its byte boundary.
            let wide = BooleanBuffer::from_iter((0..rows + 5).map(|i| i % 2 == 1));
            let shifted = wide.slice(5, rows);
            let expect: i128 = values.iter().skip(0).step_by(2).sum();
            assert_eq!(n.sum(&codes, rows, Some(&shifted)).map(|s| s.0), Some(expect));
        }
    }

    #[test]
    fn a_sum_beyond_i128_is_none() {
        let values = [i128::MAX - 10, i128::MAX - 5];
        let n = Narrowing::choose(&values, |_| true).unwrap();
        let codes = Buffer::from_vec(n.encode(&values, |_| true));
        assert_eq!(n.sum(&codes, 2, None), None);
        assert_eq!(n.sum(&codes, 1, None), Some((values[0], 1)));
    }
}
