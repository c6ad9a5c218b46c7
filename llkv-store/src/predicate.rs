//! Simple column predicates that scans evaluate and use to skip chunks.
//!
//! The store knows no SQL: query layers translate what they can of a WHERE
//! clause into a conjunction of [`Predicate`]s and keep the rest. Each
//! predicate has SQL semantics: a comparison with NULL is never true.

use crate::error::{Error, Result};
use crate::stats::ChunkStats;
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Datum, PrimitiveArray, Scalar, downcast_primitive_array,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::{boolean, cmp};
use arrow::datatypes::{ArrowNativeTypeOp, ArrowPrimitiveType, DataType};

/// `low <= v AND v <= high` over a primitive array in one pass (two
/// comparison kernels and an AND read the values twice and write three
/// bitmaps). `None` when the array is not primitive or a bound is NULL or of
/// another type: the caller uses the general kernels. Floats compare in
/// Arrow's total order, as its comparison kernels do.
fn between_fused(array: &dyn Array, low: &ArrayRef, high: &ArrayRef) -> Option<BooleanArray> {
    fn fused<T: ArrowPrimitiveType>(
        a: &PrimitiveArray<T>,
        low: &ArrayRef,
        high: &ArrayRef,
    ) -> Option<BooleanArray> {
        let (low, high) = (low.as_primitive_opt::<T>()?, high.as_primitive_opt::<T>()?);
        let same_type = low.data_type() == a.data_type() && high.data_type() == a.data_type();
        if !same_type || low.len() != 1 || high.len() != 1 || low.is_null(0) || high.is_null(0) {
            return None;
        }
        let hits = between_bits(a.values(), low.value(0), high.value(0));
        Some(BooleanArray::new(hits, a.nulls().cloned()))
    }
    downcast_primitive_array!(
        array => fused(array, low, high),
        _ => None
    )
}

/// Bit `i` set when `lo <= values[i] <= hi`. Each 64 values are compared
/// into bytes first (a loop the compiler vectorizes) and the bytes packed
/// into bits eight at a time by a multiplication.
fn between_bits<N: ArrowNativeTypeOp>(values: &[N], lo: N, hi: N) -> BooleanBuffer {
    /// Gathers the low bits of eight 0/1 bytes into the top byte.
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let hit = |v: N| u8::from(v.is_ge(lo) & v.is_le(hi));
    let mut words: Vec<u64> = Vec::with_capacity(values.len().div_ceil(64));
    let chunks = values.chunks_exact(64);
    let rest = chunks.remainder();
    for chunk in chunks {
        let mut bytes = [0u8; 64];
        for (b, &v) in bytes.iter_mut().zip(chunk) {
            *b = hit(v);
        }
        let mut word = 0u64;
        for (k, eight) in bytes.chunks_exact(8).enumerate() {
            let mut x = [0u8; 8];
            x.copy_from_slice(eight);
            word |= (u64::from_le_bytes(x).wrapping_mul(GATHER) >> 56) << (8 * k);
        }
        words.push(word);
    }
    if !rest.is_empty() {
        words.push(rest.iter().enumerate().fold(0u64, |w, (i, &v)| w | (u64::from(hit(v)) << i)));
    }
    BooleanBuffer::new(arrow::buffer::Buffer::from_vec(words), 0, values.len())
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
}

/// One condition on one column; values are one-element arrays.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// `column <op> value`
    Compare {
        /// Column index in the table.
        column: usize,
        /// The operator.
        op: CmpOp,
        /// The value, a one-element array.
        value: ArrayRef,
    },
    /// `column BETWEEN low AND high`
    Between {
        /// Column index in the table.
        column: usize,
        /// Lower bound (inclusive).
        low: ArrayRef,
        /// Upper bound (inclusive).
        high: ArrayRef,
    },
    /// `column IN (values…)`
    InList {
        /// Column index in the table.
        column: usize,
        /// The list; NULLs in it never match.
        values: ArrayRef,
    },
    /// `column IS NULL`
    IsNull {
        /// Column index in the table.
        column: usize,
    },
    /// `column IS NOT NULL`
    IsNotNull {
        /// Column index in the table.
        column: usize,
    },
    /// At least one of `alternatives`, each a predicate on `column` (an OR
    /// of conditions on one column, such as ranges).
    AnyOf {
        /// Column index in the table.
        column: usize,
        /// The conditions; a row matches when one of them holds.
        alternatives: Vec<Predicate>,
    },
}

impl Predicate {
    /// The column the predicate reads.
    pub fn column(&self) -> usize {
        match self {
            Predicate::Compare { column, .. }
            | Predicate::Between { column, .. }
            | Predicate::InList { column, .. }
            | Predicate::IsNull { column }
            | Predicate::IsNotNull { column }
            | Predicate::AnyOf { column, .. } => *column,
        }
    }

    /// Casts the predicate's values to the column type `dt`.
    ///
    /// # Errors
    /// [`Error::Invalid`] when a value cannot be cast.
    pub fn cast_to(self, dt: &DataType) -> Result<Self> {
        let c = |a: ArrayRef| -> Result<ArrayRef> {
            if a.data_type() == dt {
                return Ok(a);
            }
            arrow::compute::cast(&a, dt)
                .map_err(|e| Error::Invalid(format!("predicate value: {e}")))
        };
        Ok(match self {
            Predicate::Compare { column, op, value } => {
                Predicate::Compare { column, op, value: c(value)? }
            }
            Predicate::Between { column, low, high } => {
                Predicate::Between { column, low: c(low)?, high: c(high)? }
            }
            Predicate::InList { column, values } => {
                Predicate::InList { column, values: c(values)? }
            }
            Predicate::AnyOf { column, alternatives } => Predicate::AnyOf {
                column,
                alternatives: alternatives
                    .into_iter()
                    .map(|p| p.cast_to(dt))
                    .collect::<Result<_>>()?,
            },
            p => p,
        })
    }

    /// Evaluates the predicate over `array` (the column's values); NULL results mean false.
    ///
    /// # Errors
    /// Arrow errors when the value's type does not match the column's.
    pub fn evaluate(&self, array: &dyn Array) -> Result<BooleanArray> {
        Ok(match self {
            Predicate::Compare { op, value, .. } => compare(array, *op, &Scalar::new(value))?,
            Predicate::Between { low, high, .. } => match between_fused(array, low, high) {
                Some(hits) => hits,
                None => boolean::and(
                    &cmp::gt_eq(&array, &Scalar::new(low))?,
                    &cmp::lt_eq(&array, &Scalar::new(high))?,
                )?,
            },
            Predicate::InList { values, .. } => {
                let mut acc = BooleanArray::from(vec![false; array.len()]);
                for i in 0..values.len() {
                    if values.is_null(i) {
                        continue;
                    }
                    let hit = cmp::eq(&array, &Scalar::new(values.slice(i, 1)))?;
                    acc = boolean::or_kleene(&acc, &hit)?;
                }
                acc
            }
            Predicate::IsNull { .. } => arrow::compute::is_null(array)?,
            Predicate::IsNotNull { .. } => arrow::compute::is_not_null(array)?,
            Predicate::AnyOf { alternatives, .. } => {
                // A NULL from one alternative means false: only a true one keeps the row.
                let mut acc: Option<BooleanArray> = None;
                for p in alternatives {
                    let hit = p.evaluate(array)?;
                    acc = Some(match acc {
                        Some(prev) => boolean::or_kleene(&prev, &hit)?,
                        None => hit,
                    });
                }
                acc.unwrap_or_else(|| BooleanArray::from(vec![false; array.len()]))
            }
        })
    }

    /// Whether a chunk with these statistics may hold a matching row.
    /// `false` is a proof that none matches; `true` promises nothing.
    pub fn may_match(&self, s: &ChunkStats) -> bool {
        let all_null = s.null_count == s.row_count;
        match self {
            Predicate::IsNull { .. } => s.null_count > 0,
            Predicate::IsNotNull { .. } => !all_null,
            Predicate::AnyOf { alternatives, .. } => alternatives.iter().any(|p| p.may_match(s)),
            _ if all_null => false,
            Predicate::Compare { op, value, .. } => match op {
                CmpOp::Eq => !(lt(value, &s.min) || gt(value, &s.max)),
                CmpOp::NotEq => !(eq(value, &s.min) && eq(value, &s.max)),
                CmpOp::Lt => gt(value, &s.min) || s.min.is_none(),
                CmpOp::LtEq => !lt(value, &s.min),
                CmpOp::Gt => lt(value, &s.max) || s.max.is_none(),
                CmpOp::GtEq => !gt(value, &s.max),
            },
            Predicate::Between { low, high, .. } => !(gt(low, &s.max) || lt(high, &s.min)),
            Predicate::InList { values, .. } => (0..values.len()).any(|i| {
                let v = values.slice(i, 1);
                values.is_valid(i) && !(lt(&v, &s.min) || gt(&v, &s.max))
            }),
        }
    }
}

/// Below this share of kept rows, a predicate is evaluated on the kept rows
/// only (gathered, evaluated, scattered back) instead of on all of them.
pub(crate) const SPARSE_MASK_SHARE: f64 = 0.25;

/// The conjunction of the row masks `masks` (deleted rows, versions,
/// exclusions) narrowed by every predicate, each evaluated over its column
/// as `column` gives it; the result has no NULLs (a NULL keeps no row), and
/// `None` means every row (no mask and no predicate).
///
/// The predicates are applied one after another, the cheapest first
/// ([`cost_rank`]); once few rows are left, the next
/// predicate looks at only those rows, as DataFusion's filter does with a
/// selective first conjunct.
///
/// # Errors
/// As for [`Predicate::evaluate`], and arrow errors gathering the rows.
pub(crate) fn apply_all<'a>(
    predicates: &[Predicate],
    column: impl Fn(usize) -> &'a dyn Array,
    masks: Vec<BooleanArray>,
) -> Result<Option<BooleanArray>> {
    let mut mask: Option<BooleanArray> = None;
    for m in masks {
        mask = Some(match mask {
            Some(prev) => boolean::and(&prev, &m)?,
            None => m,
        });
    }
    let mut mask = mask.map(without_nulls);
    let mut order: Vec<&Predicate> = predicates.iter().collect();
    order.sort_by_key(|p| cost_rank(p));
    for p in order {
        let array = column(p.column());
        mask = Some(match mask {
            None => without_nulls(p.evaluate(array)?),
            Some(m) => {
                let kept = m.true_count();
                if kept == 0 {
                    return Ok(Some(m));
                }
                if (kept as f64) < SPARSE_MASK_SHARE * m.len() as f64 {
                    // Only the kept rows: gather, evaluate, scatter back.
                    let hits = p.evaluate(arrow::compute::filter(array, &m)?.as_ref())?;
                    let mut out = arrow::array::BooleanBufferBuilder::new(m.len());
                    out.append_n(m.len(), false);
                    for (k, i) in m.values().set_indices().enumerate() {
                        if hits.is_valid(k) && hits.value(k) {
                            out.set_bit(i, true);
                        }
                    }
                    BooleanArray::new(out.finish(), None)
                } else {
                    without_nulls(boolean::and(&m, &p.evaluate(array)?)?)
                }
            }
        });
    }
    Ok(mask)
}

/// `predicates` as a chunk with these statistics needs them: an OR keeps
/// only the alternatives [`Predicate::may_match`] the chunk, and one left
/// stands alone. The same rows match; a range tested together with rare
/// outliers (the native route's dates, see `llkv-native`) then costs one
/// kernel where the outliers cannot occur.
pub(crate) fn for_chunk<'a>(
    predicates: &'a [Predicate],
    stats: impl Fn(usize) -> &'a ChunkStats,
) -> std::borrow::Cow<'a, [Predicate]> {
    if !predicates.iter().any(|p| matches!(p, Predicate::AnyOf { .. })) {
        return std::borrow::Cow::Borrowed(predicates);
    }
    let narrowed = predicates.iter().map(|p| match p {
        Predicate::AnyOf { column, alternatives } => {
            let s = stats(*column);
            let mut left: Vec<Predicate> =
                alternatives.iter().filter(|a| a.may_match(s)).cloned().collect();
            match left.len() {
                1 => left.remove(0),
                _ => Predicate::AnyOf { column: *column, alternatives: left },
            }
        }
        other => other.clone(),
    });
    std::borrow::Cow::Owned(narrowed.collect())
}

/// A mask with its NULLs as false.
pub(crate) fn without_nulls(m: BooleanArray) -> BooleanArray {
    match m.nulls() {
        Some(n) if n.null_count() > 0 => BooleanArray::new(m.values() & n.inner(), None),
        _ => m,
    }
}

/// A rough per-row cost of evaluating `p`, the order [`apply_all`] applies
/// predicates in (cheapest first): a comparison of fixed-width values
/// counts 1, of strings or bytes 3; a BETWEEN is two comparisons, an IN
/// list one per value, an OR the sum of its parts.
fn cost_rank(p: &Predicate) -> usize {
    let one = |v: &ArrayRef| match v.data_type() {
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => 3,
        _ => 1,
    };
    match p {
        Predicate::IsNull { .. } | Predicate::IsNotNull { .. } => 1,
        Predicate::Compare { value, .. } => one(value),
        Predicate::Between { low, .. } => 2 * one(low),
        Predicate::InList { values, .. } => values.len() * one(values),
        Predicate::AnyOf { alternatives, .. } => alternatives.iter().map(cost_rank).sum(),
    }
}

fn compare(array: &dyn Array, op: CmpOp, v: &dyn Datum) -> Result<BooleanArray> {
    if let (CmpOp::Eq | CmpOp::NotEq, Some(hits)) = (op, text_equal(array, v)) {
        return Ok(match op {
            CmpOp::Eq => hits,
            _ => boolean::not(&hits)?,
        });
    }
    let a = &array;
    Ok(match op {
        CmpOp::Eq => cmp::eq(a, v)?,
        CmpOp::NotEq => cmp::neq(a, v)?,
        CmpOp::Lt => cmp::lt(a, v)?,
        CmpOp::LtEq => cmp::lt_eq(a, v)?,
        CmpOp::Gt => cmp::gt(a, v)?,
        CmpOp::GtEq => cmp::gt_eq(a, v)?,
    })
}

/// `array = v` for a `Utf8` column and a `Utf8` scalar (NULL rows stay
/// NULL), `None` for other types. Arrow's kernel calls `memcmp` for every
/// row; here only rows of the literal's length are compared, and a short
/// literal (a flag such as TPC-H's `l_returnflag = 'R'`) byte by byte
/// inline.
fn text_equal(array: &dyn Array, v: &dyn Datum) -> Option<BooleanArray> {
    let strings = array.as_string_opt::<i32>()?;
    let (lit, is_scalar) = v.get();
    let lit = lit.as_string_opt::<i32>()?;
    if !is_scalar || lit.len() != 1 || lit.is_null(0) {
        return None;
    }
    let lit = lit.value(0).as_bytes();
    let offsets = strings.value_offsets();
    let data = strings.value_data();
    let n = lit.len();
    let rows = strings.len();
    // Values all of the literal's length (flags, codes) lie back to back:
    // compared as fixed-width values, without reading the offsets again.
    let width = i32::try_from(n).ok()?;
    let uniform = offsets.windows(2).fold(true, |all, w| all & (w[1] - w[0] == width));
    let start = offsets[0] as usize;
    if uniform && let Some(values) = data.get(start..start + rows * n) {
        let bits = match n {
            0 => BooleanBuffer::new_set(rows),
            1 => BooleanBuffer::collect_bool(rows, |i| values[i] == lit[0]),
            _ => BooleanBuffer::collect_bool(rows, |i| values[i * n..(i + 1) * n] == *lit),
        };
        return Some(BooleanArray::new(bits, strings.nulls().cloned()));
    }
    let short = n <= 8;
    let bits = BooleanBuffer::collect_bool(rows, |i| {
        let (start, end) = (offsets[i] as usize, offsets[i + 1] as usize);
        end - start == n
            && match short {
                true => (0..n).all(|j| data[start + j] == lit[j]),
                false => &data[start..end] == lit,
            }
    });
    Some(BooleanArray::new(bits, strings.nulls().cloned()))
}

/// `a <op> bound` for one-element arrays; false when the bound is unknown or
/// anything is NULL or the types do not compare.
fn scalar_cmp(a: &ArrayRef, bound: &Option<ArrayRef>, op: CmpOp) -> bool {
    let Some(b) = bound else { return false };
    match compare(a.as_ref(), op, &Scalar::new(b)) {
        Ok(r) => r.is_valid(0) && r.value(0),
        Err(_) => false,
    }
}

fn lt(a: &ArrayRef, b: &Option<ArrayRef>) -> bool {
    scalar_cmp(a, b, CmpOp::Lt)
}

fn gt(a: &ArrayRef, b: &Option<ArrayRef>) -> bool {
    scalar_cmp(a, b, CmpOp::Gt)
}

fn eq(a: &ArrayRef, b: &Option<ArrayRef>) -> bool {
    scalar_cmp(a, b, CmpOp::Eq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use std::sync::Arc;

    fn v(x: i64) -> ArrayRef {
        Arc::new(Int64Array::from(vec![x]))
    }

    /// Applying predicates in turn (on the kept rows only once they are
    /// few) keeps exactly the rows where the mask and every predicate hold.
    #[test]
    fn predicates_applied_in_turn_equal_their_conjunction() {
        use arrow::array::StringArray;
        let n = 2000usize;
        let ints: ArrayRef = Arc::new(Int64Array::from_iter(
            (0..n).map(|i| (i % 13 != 0).then_some((i * 7919 % 1000) as i64)),
        ));
        let texts: ArrayRef = Arc::new(StringArray::from_iter(
            (0..n).map(|i| (i % 11 != 0).then(|| format!("v{}", i % 7))),
        ));
        let columns = [ints, texts];
        let s = |x: &str| -> ArrayRef { Arc::new(StringArray::from(vec![x])) };
        let preds = [
            Predicate::AnyOf {
                column: 0,
                alternatives: vec![
                    Predicate::Between { column: 0, low: v(100), high: v(400) },
                    Predicate::Compare { column: 0, op: CmpOp::Gt, value: v(900) },
                ],
            },
            Predicate::InList { column: 1, values: Arc::new(StringArray::from(vec!["v1", "v3"])) },
            Predicate::Compare { column: 1, op: CmpOp::NotEq, value: s("v3") },
            Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(7) },
        ];
        for take in [1usize, 2, 3, 4] {
            for every in [1usize, 2, 9] {
                let mask = (every > 1)
                    .then(|| BooleanArray::from_iter((0..n).map(|i| Some(i % every == 0))));
                let ps = &preds[..take];
                let masks = mask.iter().cloned().collect();
                let got = apply_all(ps, |c| columns[c].as_ref(), masks).unwrap();
                let want: Vec<bool> = (0..n)
                    .map(|i| {
                        mask.as_ref().is_none_or(|m| m.value(i))
                            && ps.iter().all(|p| {
                                let r = p.evaluate(columns[p.column()].as_ref()).unwrap();
                                r.is_valid(i) && r.value(i)
                            })
                    })
                    .collect();
                let got: Vec<bool> = match got {
                    Some(m) => (0..n).map(|i| m.is_valid(i) && m.value(i)).collect(),
                    None => vec![true; n],
                };
                assert_eq!(got, want, "{take} predicates, every {every}th row");
            }
        }
    }

    /// The one-pass BETWEEN keeps exactly the rows the two comparison
    /// kernels and their AND keep, NULLs and NaNs included.
    #[test]
    fn the_fused_between_equals_two_comparisons_and_an_and() {
        use arrow::array::{Date32Array, Decimal128Array, Float64Array};
        let general = |a: &dyn Array, low: &ArrayRef, high: &ArrayRef| {
            boolean::and(
                &cmp::gt_eq(&a, &Scalar::new(low)).unwrap(),
                &cmp::lt_eq(&a, &Scalar::new(high)).unwrap(),
            )
            .unwrap()
        };
        let ints: ArrayRef = Arc::new(Int64Array::from_iter(
            (0..300).map(|i| (i % 7 != 0).then_some(i * 37 % 101 - 50)),
        ));
        let dates: ArrayRef = Arc::new(Date32Array::from_iter_values((0..300).map(|i| 9000 + i)));
        let floats: ArrayRef = Arc::new(Float64Array::from_iter((0..300).map(|i| match i % 9 {
            0 => None,
            1 => Some(f64::NAN),
            2 => Some(-0.0),
            _ => Some(f64::from(i) / 7.0 - 20.0),
        })));
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from_iter((0..300).map(|i| (i % 5 != 0).then_some(i * 1_000)))
                .with_precision_and_scale(15, 2)
                .unwrap(),
        );
        let cases: Vec<(ArrayRef, ArrayRef, ArrayRef)> = vec![
            (Arc::clone(&ints), v(-10), v(10)),
            (Arc::clone(&ints), v(10), v(-10)),
            (Arc::clone(&ints), v(i64::MIN), v(i64::MAX)),
            (
                Arc::clone(&dates),
                Arc::new(Date32Array::from(vec![9100])),
                Arc::new(Date32Array::from(vec![9124])),
            ),
            (
                Arc::clone(&floats),
                Arc::new(Float64Array::from(vec![0.0])),
                Arc::new(Float64Array::from(vec![f64::NAN])),
            ),
            (
                Arc::clone(&floats),
                Arc::new(Float64Array::from(vec![-0.0])),
                Arc::new(Float64Array::from(vec![5.0])),
            ),
            (
                Arc::clone(&decimals),
                Arc::new(
                    Decimal128Array::from(vec![50_000]).with_precision_and_scale(15, 2).unwrap(),
                ),
                Arc::new(
                    Decimal128Array::from(vec![150_000]).with_precision_and_scale(15, 2).unwrap(),
                ),
            ),
        ];
        for (a, low, high) in cases {
            let fused = between_fused(a.as_ref(), &low, &high).expect("a primitive column");
            let want = general(a.as_ref(), &low, &high);
            let kept = |b: &BooleanArray| {
                (0..b.len()).map(|i| b.is_valid(i) && b.value(i)).collect::<Vec<_>>()
            };
            assert_eq!(kept(&fused), kept(&want), "{} {low:?}..{high:?}", a.data_type());
            let p = Predicate::Between { column: 0, low, high };
            assert_eq!(kept(&p.evaluate(a.as_ref()).unwrap()), kept(&want));
        }
        let null_bound: ArrayRef = Arc::new(Int64Array::from(vec![None]));
        assert!(between_fused(ints.as_ref(), &null_bound, &v(3)).is_none());
        assert!(between_fused(dates.as_ref(), &v(1), &v(3)).is_none(), "bounds of another type");
    }

    #[test]
    fn pruning_never_rejects_a_chunk_that_has_a_match() {
        let data = Int64Array::from(vec![Some(10), None, Some(20), Some(15)]);
        let s = ChunkStats::compute(&data);
        for x in 0..30 {
            for op in [CmpOp::Eq, CmpOp::NotEq, CmpOp::Lt, CmpOp::LtEq, CmpOp::Gt, CmpOp::GtEq] {
                let p = Predicate::Compare { column: 0, op, value: v(x) };
                let hits = p.evaluate(&data).unwrap().true_count();
                assert!(hits == 0 || p.may_match(&s), "{op:?} {x}");
            }
            let p = Predicate::Between { column: 0, low: v(x), high: v(x + 3) };
            assert!(p.evaluate(&data).unwrap().true_count() == 0 || p.may_match(&s));
        }
        assert!(!Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(25) }.may_match(&s));
        assert!(!Predicate::Compare { column: 0, op: CmpOp::Lt, value: v(10) }.may_match(&s));
        assert!(Predicate::IsNull { column: 0 }.may_match(&s));
        let list = Predicate::InList { column: 0, values: Arc::new(Int64Array::from(vec![1, 30])) };
        assert!(!list.may_match(&s));
        let ranges = |a: i64, b: i64| Predicate::AnyOf {
            column: 0,
            alternatives: vec![
                Predicate::Between { column: 0, low: v(a), high: v(a + 2) },
                Predicate::Compare { column: 0, op: CmpOp::Gt, value: v(b) },
            ],
        };
        for (a, b) in [(0, 30), (9, 30), (0, 19), (16, 25), (21, 18)] {
            let hits = ranges(a, b).evaluate(&data).unwrap();
            let want: Vec<bool> =
                data.iter().map(|x| x.is_some_and(|x| (a..=a + 2).contains(&x) || x > b)).collect();
            let got: Vec<bool> =
                (0..hits.len()).map(|i| hits.is_valid(i) && hits.value(i)).collect();
            assert_eq!(got, want, "{a} {b}");
            assert!(!want.contains(&true) || ranges(a, b).may_match(&s), "{a} {b}");
        }
        assert!(!ranges(0, 30).may_match(&s));
    }

    #[test]
    fn text_equality_matches_arrows_kernel() {
        use arrow::array::StringArray;
        let words = [
            "",
            "R",
            "A",
            "RR",
            "abc",
            "abcdefgh",
            "abcdefgi",
            "abcdefghi",
            "abcdefghijklmnopqrst",
        ];
        let values: Vec<Option<&str>> =
            (0..500).map(|i| (i % 11 != 3).then(|| words[(i * 7) % words.len()])).collect();
        let whole = StringArray::from(values);
        // Values all of one length (flags): the fixed-width path.
        let flags = StringArray::from_iter_values((0..300).map(|i| ["R", "A", "N"][i % 3]));
        let codes = StringArray::from_iter_values((0..300).map(|i| ["abc", "abd", "zzz"][i % 3]));
        let arrays = [
            whole.clone(),
            whole.slice(13, 400),
            flags.clone(),
            flags.slice(7, 200),
            codes.clone(),
            codes.slice(5, 100),
        ];
        for array in arrays {
            for lit in words.iter().chain(&["zz", "abcdefghijklmnopqrsu", "N", "abd", "zzz"]) {
                let scalar = StringArray::from(vec![*lit]);
                for op in [CmpOp::Eq, CmpOp::NotEq] {
                    let ours = compare(&array, op, &Scalar::new(&scalar)).unwrap();
                    let theirs = match op {
                        CmpOp::Eq => cmp::eq(&array, &Scalar::new(&scalar)).unwrap(),
                        _ => cmp::neq(&array, &Scalar::new(&scalar)).unwrap(),
                    };
                    assert_eq!(ours, theirs, "{op:?} {lit:?}");
                }
            }
        }
    }
}
