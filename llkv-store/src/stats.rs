//! Per-chunk statistics: row count, null count, minimum and maximum.
//!
//! Statistics are always exact for the chunk they describe, because chunks are
//! immutable: an update writes a new chunk with fresh statistics. Minimum and
//! maximum are absent for all-null chunks and for long strings (a maximum that
//! would have to be truncated), which pruning treats as "could match".

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use arrow::array::{
    Array, ArrayData, ArrayRef, BinaryArray, BooleanArray, LargeBinaryArray, LargeStringArray,
    StringArray, make_array,
};
use arrow::buffer::Buffer;
use arrow::compute::SortOptions;
use arrow::datatypes::DataType;
use std::cmp::Ordering;
use std::sync::Arc;

/// Longest string or binary value kept as a minimum or maximum.
const MAX_STAT_BYTES: usize = 64;

/// Statistics of one column chunk.
#[derive(Debug, Clone)]
pub struct ChunkStats {
    /// Rows in the chunk.
    pub row_count: u64,
    /// NULLs in the chunk.
    pub null_count: u64,
    /// Smallest non-null value, as a one-element array of the column's type.
    pub min: Option<ArrayRef>,
    /// Largest non-null value, as a one-element array of the column's type.
    pub max: Option<ArrayRef>,
}

impl ChunkStats {
    /// Computes the statistics of `array`.
    pub fn compute(array: &dyn Array) -> Self {
        let (min, max) = min_max_indices(array)
            .map(|(lo, hi)| (stat_value(array, lo, false), stat_value(array, hi, true)))
            .unwrap_or((None, None));
        Self { row_count: array.len() as u64, null_count: array.null_count() as u64, min, max }
    }

    /// Statistics covering both `self` and `other` (same column type): the
    /// smaller minimum and the larger maximum. Row and null counts are left to
    /// the caller.
    pub fn widened(&self, other: &ChunkStats) -> ChunkStats {
        let pick =
            |a: &Option<ArrayRef>, b: &Option<ArrayRef>, want: Ordering, none_if_missing: bool| {
                match (a, b) {
                    (Some(x), Some(y)) => {
                        let cmp = arrow::array::make_comparator(
                            x.as_ref(),
                            y.as_ref(),
                            SortOptions::default(),
                        );
                        match cmp {
                            Ok(c) if c(0, 0) == want => Some(Arc::clone(x)),
                            Ok(_) => Some(Arc::clone(y)),
                            Err(_) => None,
                        }
                    }
                    // A side with no bound: unknown (or all NULL, then the other side decides).
                    (Some(x), None) | (None, Some(x)) if !none_if_missing => Some(Arc::clone(x)),
                    _ => None,
                }
            };
        let self_all_null = self.null_count == self.row_count;
        let other_all_null = other.null_count == other.row_count;
        let (min, max) = match (self_all_null, other_all_null) {
            (true, _) => (other.min.clone(), other.max.clone()),
            (_, true) => (self.min.clone(), self.max.clone()),
            _ => (
                pick(&self.min, &other.min, Ordering::Less, true),
                pick(&self.max, &other.max, Ordering::Greater, true),
            ),
        };
        ChunkStats { row_count: self.row_count, null_count: self.null_count, min, max }
    }

    pub(crate) fn encode(&self, e: &mut Encoder) -> Result<()> {
        e.u64(self.row_count);
        e.u64(self.null_count);
        for v in [&self.min, &self.max] {
            match v {
                Some(a) => {
                    e.u8(1);
                    e.bytes(&value_bytes(a.as_ref(), 0)?);
                }
                None => e.u8(0),
            }
        }
        Ok(())
    }

    pub(crate) fn decode(d: &mut Decoder<'_>, dt: &DataType) -> Result<Self> {
        let row_count = d.u64()?;
        let null_count = d.u64()?;
        let mut vals = [None, None];
        for v in &mut vals {
            if d.u8()? == 1 {
                *v = Some(value_from_bytes(dt, d.bytes()?)?);
            }
        }
        let [min, max] = vals;
        Ok(Self { row_count, null_count, min, max })
    }
}

/// Indices of the smallest and largest non-null values (the first of equal
/// ones), in the order of Arrow's comparator (floats by total order, text
/// and binary bytewise): typed loops for the common types, the comparator
/// for the rest.
fn min_max_indices(array: &dyn Array) -> Option<(usize, usize)> {
    use arrow::array::AsArray;
    use arrow::datatypes as t;
    let nulls = array.logical_nulls();
    let nulls = nulls.as_ref();
    macro_rules! prim {
        ($ty:ty) => {
            return native_min_max(array.as_primitive::<$ty>().values(), nulls)
        };
    }
    match array.data_type() {
        DataType::Int8 => prim!(t::Int8Type),
        DataType::Int16 => prim!(t::Int16Type),
        DataType::Int32 => prim!(t::Int32Type),
        DataType::Int64 => prim!(t::Int64Type),
        DataType::UInt8 => prim!(t::UInt8Type),
        DataType::UInt16 => prim!(t::UInt16Type),
        DataType::UInt32 => prim!(t::UInt32Type),
        DataType::UInt64 => prim!(t::UInt64Type),
        DataType::Float32 => prim!(t::Float32Type),
        DataType::Float64 => prim!(t::Float64Type),
        DataType::Date32 => prim!(t::Date32Type),
        DataType::Date64 => prim!(t::Date64Type),
        DataType::Decimal128(..) => prim!(t::Decimal128Type),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            return bytes_min_max(a.len(), |i| a.value(i).as_bytes(), nulls);
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            return bytes_min_max(a.len(), |i| a.value(i), nulls);
        }
        _ => {}
    }
    comparator_min_max(array)
}

/// [`min_max_indices`] through Arrow's dynamic comparator (any type).
fn comparator_min_max(array: &dyn Array) -> Option<(usize, usize)> {
    let cmp = arrow::array::make_comparator(array, array, SortOptions::default()).ok()?;
    let mut valid = (0..array.len()).filter(|&i| array.is_valid(i));
    let first = valid.next()?;
    let (mut lo, mut hi) = (first, first);
    for i in valid {
        if cmp(i, lo) == Ordering::Less {
            lo = i;
        }
        if cmp(i, hi) == Ordering::Greater {
            hi = i;
        }
    }
    Some((lo, hi))
}

/// Indices of the smallest and largest valid values of `values`.
fn native_min_max<T: arrow::datatypes::ArrowNativeTypeOp>(
    values: &[T],
    nulls: Option<&arrow::buffer::NullBuffer>,
) -> Option<(usize, usize)> {
    let mut valid = (0..values.len()).filter(|&i| nulls.is_none_or(|n| n.is_valid(i)));
    let first = valid.next()?;
    let (mut lo, mut hi) = (first, first);
    let (mut vlo, mut vhi) = (values[first], values[first]);
    for i in valid {
        let v = values[i];
        if v.is_lt(vlo) {
            (lo, vlo) = (i, v);
        }
        if v.is_gt(vhi) {
            (hi, vhi) = (i, v);
        }
    }
    Some((lo, hi))
}

/// Indices of the smallest and largest valid values, compared bytewise.
fn bytes_min_max<'a>(
    len: usize,
    value: impl Fn(usize) -> &'a [u8],
    nulls: Option<&arrow::buffer::NullBuffer>,
) -> Option<(usize, usize)> {
    let mut valid = (0..len).filter(|&i| nulls.is_none_or(|n| n.is_valid(i)));
    let first = valid.next()?;
    let (mut lo, mut hi) = (first, first);
    let (mut vlo, mut vhi) = (value(first), value(first));
    for i in valid {
        let v = value(i);
        if v < vlo {
            (lo, vlo) = (i, v);
        }
        if v > vhi {
            (hi, vhi) = (i, v);
        }
    }
    Some((lo, hi))
}

/// The value at `i` as a one-element array fit to be kept as a statistic:
/// long strings are cut for a minimum (a prefix is still a lower bound) and
/// dropped for a maximum.
fn stat_value(array: &dyn Array, i: usize, is_max: bool) -> Option<ArrayRef> {
    let v = array.slice(i, 1);
    let len = value_bytes(v.as_ref(), 0).ok()?.len();
    if len <= MAX_STAT_BYTES || !is_var_width(array.data_type()) {
        // An independent copy: a slice would pin the whole chunk (and its map).
        return value_from_bytes(array.data_type(), &value_bytes(v.as_ref(), 0).ok()?).ok();
    }
    if is_max {
        return None;
    }
    let bytes = value_bytes(v.as_ref(), 0).ok()?;
    let mut cut = MAX_STAT_BYTES;
    if matches!(array.data_type(), DataType::Utf8 | DataType::LargeUtf8) {
        let s = std::str::from_utf8(&bytes).ok()?;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
    }
    value_from_bytes(array.data_type(), &bytes[..cut]).ok()
}

/// Whether a kept minimum or maximum is the column's true value rather than
/// a cut prefix (a cut string is at most [`MAX_STAT_BYTES`] long and at most
/// three bytes shorter, to end on a character boundary).
pub(crate) fn is_uncut(v: &dyn Array) -> bool {
    !is_var_width(v.data_type()) || value_bytes(v, 0).is_ok_and(|b| b.len() + 3 < MAX_STAT_BYTES)
}

fn is_var_width(dt: &DataType) -> bool {
    matches!(dt, DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary)
}

/// The bytes of value `i` of a storable array.
pub(crate) fn value_bytes(array: &dyn Array, i: usize) -> Result<Vec<u8>> {
    let dt = array.data_type();
    Ok(match dt {
        DataType::Boolean => {
            let a = array.as_any().downcast_ref::<BooleanArray>().ok_or_else(bad_stat)?;
            vec![u8::from(a.value(i))]
        }
        DataType::Utf8 => downcast::<StringArray>(array)?.value(i).as_bytes().to_vec(),
        DataType::LargeUtf8 => downcast::<LargeStringArray>(array)?.value(i).as_bytes().to_vec(),
        DataType::Binary => downcast::<BinaryArray>(array)?.value(i).to_vec(),
        DataType::LargeBinary => downcast::<LargeBinaryArray>(array)?.value(i).to_vec(),
        _ => {
            let width = dt.primitive_width().ok_or_else(bad_stat)?;
            let data = array.to_data();
            let start = (data.offset() + i) * width;
            data.buffers()[0].as_slice()[start..start + width].to_vec()
        }
    })
}

fn downcast<T: 'static>(array: &dyn Array) -> Result<&T> {
    array.as_any().downcast_ref::<T>().ok_or_else(bad_stat)
}

fn bad_stat() -> Error {
    Error::Corrupt("statistic does not match its column type".into())
}

/// Rebuilds a one-element array of type `dt` from [`value_bytes`].
pub(crate) fn value_from_bytes(dt: &DataType, bytes: &[u8]) -> Result<ArrayRef> {
    let utf8 = || std::str::from_utf8(bytes).map_err(|_| bad_stat());
    Ok(match dt {
        DataType::Boolean => {
            Arc::new(BooleanArray::from(vec![*bytes.first().ok_or_else(bad_stat)? != 0]))
        }
        DataType::Utf8 => Arc::new(StringArray::from(vec![utf8()?])),
        DataType::LargeUtf8 => Arc::new(LargeStringArray::from(vec![utf8()?])),
        DataType::Binary => Arc::new(BinaryArray::from_vec(vec![bytes])),
        DataType::LargeBinary => Arc::new(LargeBinaryArray::from_vec(vec![bytes])),
        _ => {
            let width = dt.primitive_width().ok_or_else(bad_stat)?;
            if bytes.len() != width {
                return Err(bad_stat());
            }
            let data = ArrayData::builder(dt.clone())
                .len(1)
                .add_buffer(Buffer::from(bytes.to_vec()))
                .build()
                .map_err(|_| bad_stat())?;
            make_array(data)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array};

    #[test]
    fn typed_min_max_agrees_with_the_comparator() {
        let mut x: u64 = 7;
        let mut next = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            x >> 33
        };
        for _ in 0..20 {
            let n = 1 + (next() % 300) as usize;
            let mut ints = Vec::new();
            let mut floats = Vec::new();
            let mut texts = Vec::new();
            for _ in 0..n {
                let r = next();
                let null = r % 9 == 0;
                ints.push((!null).then_some((r % 41) as i64 - 20));
                floats.push((!null).then_some(match r % 7 {
                    0 => -0.0,
                    1 => 0.0,
                    2 => f64::NAN,
                    3 => f64::NEG_INFINITY,
                    _ => (r % 100) as f64 / 8.0 - 6.0,
                }));
                texts.push((!null).then(|| format!("v{}", r % 23)));
            }
            let arrays: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from(ints.clone())),
                Arc::new(arrow::array::Int32Array::from(
                    ints.iter().map(|v| v.map(|v| v as i32)).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(floats)),
                Arc::new(StringArray::from(texts.clone())),
                Arc::new(BinaryArray::from(
                    texts.iter().map(|t| t.as_deref().map(str::as_bytes)).collect::<Vec<_>>(),
                )),
                Arc::new(
                    arrow::array::Decimal128Array::from(
                        ints.iter().map(|v| v.map(i128::from)).collect::<Vec<_>>(),
                    )
                    .with_precision_and_scale(15, 2)
                    .unwrap(),
                ),
            ];
            for a in &arrays {
                for sliced in [Arc::clone(a), a.slice(n / 3, n - n / 3)] {
                    assert_eq!(
                        min_max_indices(sliced.as_ref()),
                        comparator_min_max(sliced.as_ref()),
                        "{}",
                        a.data_type()
                    );
                }
            }
        }
    }

    #[test]
    fn stats_are_exact_and_survive_encoding() {
        let a = Int64Array::from(vec![Some(5), None, Some(-2), Some(9)]);
        let s = ChunkStats::compute(&a);
        assert_eq!((s.row_count, s.null_count), (4, 1));
        let mut e = Encoder::default();
        s.encode(&mut e).unwrap();
        let back = ChunkStats::decode(&mut Decoder::new(&e.buf, "t"), &DataType::Int64).unwrap();
        assert_eq!(back.min.unwrap().as_ref(), &Int64Array::from(vec![-2]) as &dyn Array);
        assert_eq!(back.max.unwrap().as_ref(), &Int64Array::from(vec![9]) as &dyn Array);
    }

    #[test]
    fn all_null_chunks_have_no_bounds_and_long_strings_no_max() {
        let s = ChunkStats::compute(&Float64Array::from(vec![None, None]));
        assert!(s.min.is_none() && s.max.is_none());
        let long = "z".repeat(100);
        let s = ChunkStats::compute(&StringArray::from(vec!["a", long.as_str()]));
        assert!(s.max.is_none());
        assert!(s.min.is_some());
    }
}
