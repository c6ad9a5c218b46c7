//! Simple column predicates that scans evaluate and use to skip chunks.
//!
//! The store knows no SQL: query layers translate what they can of a WHERE
//! clause into a conjunction of [`Predicate`]s and keep the rest. Each
//! predicate has SQL semantics: a comparison with NULL is never true.

use crate::error::{Error, Result};
use crate::stats::ChunkStats;
use arrow::array::{Array, ArrayRef, BooleanArray, Datum, Scalar};
use arrow::compute::kernels::{boolean, cmp};
use arrow::datatypes::DataType;

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
}

impl Predicate {
    /// The column the predicate reads.
    pub fn column(&self) -> usize {
        match self {
            Predicate::Compare { column, .. }
            | Predicate::Between { column, .. }
            | Predicate::InList { column, .. }
            | Predicate::IsNull { column }
            | Predicate::IsNotNull { column } => *column,
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
            Predicate::Between { low, high, .. } => boolean::and(
                &cmp::gt_eq(&array, &Scalar::new(low))?,
                &cmp::lt_eq(&array, &Scalar::new(high))?,
            )?,
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
        })
    }

    /// Whether a chunk with these statistics may hold a matching row.
    /// `false` is a proof that none matches; `true` promises nothing.
    pub fn may_match(&self, s: &ChunkStats) -> bool {
        let all_null = s.null_count == s.row_count;
        match self {
            Predicate::IsNull { .. } => s.null_count > 0,
            Predicate::IsNotNull { .. } => !all_null,
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

fn compare(array: &dyn Array, op: CmpOp, v: &dyn Datum) -> Result<BooleanArray> {
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
    }
}
