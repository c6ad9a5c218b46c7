//! `group_concat(DISTINCT x)` as SQLite computes it: each distinct value
//! once, in the order of its first appearance, joined with `,`.
//!
//! DataFusion's `string_agg(DISTINCT …)` collects the values in a hash set
//! and lists them in hash order, so the rewrite in
//! [`crate::sqlite_aggregates`] sends the DISTINCT form here instead. Within
//! one partition the order is the scan order; partial states are merged in
//! the order DataFusion merges them, each keeping its own order.

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{Accumulator, AggregateUDF, Volatility, create_udaf};
use std::collections::HashSet;
use std::sync::Arc;

/// The name the rewrite calls.
pub(crate) const NAME: &str = "llkv_group_concat_distinct";

/// The aggregate, for registration in a session.
pub(crate) fn udaf() -> AggregateUDF {
    create_udaf(
        NAME,
        vec![DataType::Utf8],
        Arc::new(DataType::Utf8),
        Volatility::Immutable,
        Arc::new(|_| Ok(Box::new(OrderedDistinct::default()))),
        Arc::new(vec![DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)))]),
    )
}

/// Distinct values in first-appearance order.
#[derive(Debug, Default)]
struct OrderedDistinct {
    seen: HashSet<String>,
    values: Vec<String>,
    bytes: usize,
}

impl OrderedDistinct {
    fn add(&mut self, v: &str) {
        if !self.seen.contains(v) {
            self.bytes += 2 * v.len();
            self.seen.insert(v.to_owned());
            self.values.push(v.to_owned());
        }
    }

    fn add_strings(&mut self, array: &ArrayRef) -> Result<()> {
        let strings = cast(array, &DataType::Utf8)?;
        for v in strings.as_string::<i32>().iter().flatten() {
            self.add(v);
        }
        Ok(())
    }
}

impl Accumulator for OrderedDistinct {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        match values.first() {
            Some(a) => self.add_strings(a),
            None => Ok(()),
        }
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Utf8((!self.values.is_empty()).then(|| self.values.join(","))))
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.bytes + self.values.capacity() * 48
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let items: Vec<ScalarValue> =
            self.values.iter().map(|v| ScalarValue::Utf8(Some(v.clone()))).collect();
        Ok(vec![ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Utf8))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states.first() else { return Ok(()) };
        let lists = lists.as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                self.add_strings(&lists.value(i))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;

    #[test]
    fn keeps_first_appearance_order_across_batches_and_merges() -> Result<()> {
        let mut a = OrderedDistinct::default();
        a.update_batch(&[Arc::new(StringArray::from(vec![
            Some("b"),
            None,
            Some("a"),
            Some("b"),
        ]))])?;
        let mut b = OrderedDistinct::default();
        b.update_batch(&[Arc::new(StringArray::from(vec!["c", "a"]))])?;
        let state = b.state()?;
        let arrays = state.iter().map(|s| s.to_array()).collect::<Result<Vec<_>>>()?;
        a.merge_batch(&arrays)?;
        assert_eq!(a.evaluate()?, ScalarValue::Utf8(Some("b,a,c".into())));
        assert_eq!(OrderedDistinct::default().evaluate()?, ScalarValue::Utf8(None));
        Ok(())
    }
}
