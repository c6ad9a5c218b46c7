//! Translating DataFusion filter expressions into llkv store predicates.
//!
//! Only `column <op> literal` (either side), `BETWEEN`, `IN (literals)` and
//! `IS [NOT] NULL` on a plain column translate, and only when every literal
//! has exactly the column's type: the store then evaluates them with the same
//! Arrow comparison kernels DataFusion's own filter uses, and a row whose
//! predicate is NULL is dropped, as WHERE drops it. Such filters are pushed
//! `Exact` (DataFusion removes its own filter and may pass a LIMIT down);
//! the one exception is `IN` on a float column, whose NaN and signed-zero
//! matching could differ from DataFusion's set-based `IN` (pushed `Inexact`).

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::logical_expr::{
    Between, BinaryExpr, Expr, Operator, TableProviderFilterPushDown, expr::InList,
};
use datafusion::scalar::ScalarValue;
use llkv_store::{CmpOp, Predicate};
use std::sync::Arc;

/// The store predicate equivalent to `expr` on a table with `schema`, if any.
pub(crate) fn to_predicate(expr: &Expr, schema: &Schema) -> Option<Predicate> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { op: Operator::Or, .. }) => any_of(expr, schema),
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, right }) => {
            bounds(to_predicate(left, schema)?, to_predicate(right, schema)?)
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let op = cmp_op(*op)?;
            if let (Some(column), Expr::Literal(v, _)) = (column_of(left, schema), right.as_ref()) {
                let value = literal(v, schema.field(column).data_type())?;
                return Some(Predicate::Compare { column, op, value });
            }
            if let (Expr::Literal(v, _), Some(column)) = (left.as_ref(), column_of(right, schema)) {
                let value = literal(v, schema.field(column).data_type())?;
                return Some(Predicate::Compare { column, op: flip(op), value });
            }
            None
        }
        Expr::Between(Between { expr, negated: false, low, high }) => {
            let column = column_of(expr, schema)?;
            let dt = schema.field(column).data_type();
            match (low.as_ref(), high.as_ref()) {
                (Expr::Literal(lo, _), Expr::Literal(hi, _)) => Some(Predicate::Between {
                    column,
                    low: literal(lo, dt)?,
                    high: literal(hi, dt)?,
                }),
                _ => None,
            }
        }
        Expr::InList(InList { expr, list, negated: false }) => {
            let column = column_of(expr, schema)?;
            let dt = schema.field(column).data_type();
            let values: Option<Vec<ScalarValue>> = list
                .iter()
                .map(|e| match e {
                    Expr::Literal(v, _) if same_type(&v.data_type(), dt) => v.cast_to(dt).ok(),
                    _ => None,
                })
                .collect();
            let values = values?;
            if values.is_empty() {
                return None;
            }
            let values = ScalarValue::iter_to_array(values).ok()?;
            Some(Predicate::InList { column, values })
        }
        Expr::IsNull(e) => Some(Predicate::IsNull { column: column_of(e, schema)? }),
        Expr::IsNotNull(e) => Some(Predicate::IsNotNull { column: column_of(e, schema)? }),
        _ => None,
    }
}

/// An OR of conditions on one column (DataFusion writes a short `IN` list
/// as an OR of equalities, and takes ranges out of ORs across tables, as in
/// TPC-H Q19): an IN list when they are all equalities (which an index can
/// answer), else [`Predicate::AnyOf`].
fn any_of(expr: &Expr, schema: &Schema) -> Option<Predicate> {
    fn flatten<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        match e {
            Expr::BinaryExpr(BinaryExpr { left, op: Operator::Or, right }) => {
                flatten(left, out);
                flatten(right, out);
            }
            other => out.push(other),
        }
    }
    let mut parts = Vec::new();
    flatten(expr, &mut parts);
    let alternatives: Vec<Predicate> =
        parts.iter().map(|e| to_predicate(e, schema)).collect::<Option<_>>()?;
    let column = alternatives.first()?.column();
    if alternatives.iter().any(|p| p.column() != column) {
        return None;
    }
    let equal_to: Option<Vec<&dyn Array>> = alternatives
        .iter()
        .map(|p| match p {
            Predicate::Compare { op: CmpOp::Eq, value, .. } => Some(value.as_ref()),
            _ => None,
        })
        .collect();
    if let Some(values) = equal_to {
        let values = arrow::compute::concat(&values).ok()?;
        return Some(Predicate::InList { column, values });
    }
    Some(Predicate::AnyOf { column, alternatives })
}

/// `c >= low AND c <= high` (either way round) as BETWEEN; `None` for other
/// conjunctions.
fn bounds(a: Predicate, b: Predicate) -> Option<Predicate> {
    let (lower, upper) = match (&a, &b) {
        (
            Predicate::Compare { op: CmpOp::GtEq, .. },
            Predicate::Compare { op: CmpOp::LtEq, .. },
        ) => (a, b),
        (
            Predicate::Compare { op: CmpOp::LtEq, .. },
            Predicate::Compare { op: CmpOp::GtEq, .. },
        ) => (b, a),
        _ => return None,
    };
    match (lower, upper) {
        (
            Predicate::Compare { column, value: low, .. },
            Predicate::Compare { column: c, value: high, .. },
        ) if column == c => Some(Predicate::Between { column, low, high }),
        _ => None,
    }
}

/// `c < v` as `c <= v - 1` and `c > v` as `c >= v + 1` on an integer or
/// DATE column (the same rows), so that a half-open range pairs into a
/// BETWEEN; other predicates as they are.
fn inclusive(p: Predicate) -> Predicate {
    use datafusion::arrow::datatypes::{Date32Type, Int32Type, Int64Type};
    let Predicate::Compare { column, op, value } = &p else { return p };
    let (up, op) = match op {
        CmpOp::Lt => (false, CmpOp::LtEq),
        CmpOp::Gt => (true, CmpOp::GtEq),
        _ => return p,
    };
    if value.len() != 1 || value.is_null(0) {
        return p;
    }
    let moved = match value.data_type() {
        DataType::Int64 => step::<Int64Type>(value, up),
        DataType::Int32 => step::<Int32Type>(value, up),
        DataType::Date32 => step::<Date32Type>(value, up),
        _ => None,
    };
    match moved {
        Some(value) => Predicate::Compare { column: *column, op, value },
        None => p,
    }
}

/// A one-value integer array's value plus (`up`) or minus one, of the same
/// type; `None` past the type's range.
fn step<T: datafusion::arrow::datatypes::ArrowPrimitiveType>(
    value: &ArrayRef,
    up: bool,
) -> Option<ArrayRef> {
    use datafusion::arrow::array::{AsArray, PrimitiveArray};
    use datafusion::arrow::datatypes::ArrowNativeTypeOp;
    let v = value.as_primitive_opt::<T>()?.value(0);
    let one = T::Native::ONE;
    let moved = if up { v.add_checked(one) } else { v.sub_checked(one) }.ok()?;
    Some(Arc::new(
        PrimitiveArray::<T>::from_value(moved, 1).with_data_type(value.data_type().clone()),
    ))
}

/// How `expr` can be pushed into a scan of a table with `schema`.
pub(crate) fn pushdown(expr: &Expr, schema: &Schema) -> TableProviderFilterPushDown {
    match to_predicate(expr, schema) {
        None => TableProviderFilterPushDown::Unsupported,
        Some(p) if is_exact(&p, schema) => TableProviderFilterPushDown::Exact,
        Some(_) => TableProviderFilterPushDown::Inexact,
    }
}

/// Whether the store applies `p` exactly as DataFusion's filter would.
fn is_exact(p: &Predicate, schema: &Schema) -> bool {
    match p {
        Predicate::InList { column, .. } => !schema.field(*column).data_type().is_floating(),
        Predicate::AnyOf { alternatives, .. } => alternatives.iter().all(|p| is_exact(p, schema)),
        _ => true,
    }
}

/// Translates every filter that can be; returns the predicates and a display
/// form of each translated filter.
pub(crate) fn to_predicates(filters: &[Expr], schema: &Schema) -> (Vec<Predicate>, Vec<String>) {
    let mut out = Vec::new();
    let mut shown = Vec::new();
    for f in filters {
        if let Some(p) = to_predicate(f, schema) {
            shown.push(match is_exact(&p, schema) {
                true => f.to_string(),
                false => format!("{f} (inexact)"),
            });
            out.push(p);
        }
    }
    (pair_bounds(out), shown)
}

/// The predicates with each `c >= low` and a `c <= high` on the same column
/// made one BETWEEN, which the store evaluates in one pass (DataFusion hands
/// `c BETWEEN low AND high` over as the two comparisons).
fn pair_bounds(preds: Vec<Predicate>) -> Vec<Predicate> {
    let mut preds: Vec<Predicate> = preds.into_iter().map(inclusive).collect();
    let mut i = 0;
    while i < preds.len() {
        let partner = (i + 1..preds.len()).find_map(|j| {
            let pair = bounds(preds[i].clone(), preds[j].clone())?;
            Some((j, pair))
        });
        if let Some((j, pair)) = partner {
            preds.remove(j);
            preds[i] = pair;
        }
        i += 1;
    }
    preds
}

fn column_of(e: &Expr, schema: &Schema) -> Option<usize> {
    match e {
        Expr::Column(c) => schema.index_of(&c.name).ok(),
        _ => None,
    }
}

fn cmp_op(op: Operator) -> Option<CmpOp> {
    Some(match op {
        Operator::Eq => CmpOp::Eq,
        Operator::NotEq => CmpOp::NotEq,
        Operator::Lt => CmpOp::Lt,
        Operator::LtEq => CmpOp::LtEq,
        Operator::Gt => CmpOp::Gt,
        Operator::GtEq => CmpOp::GtEq,
        _ => return None,
    })
}

/// `lit <op> col` as `col <flip(op)> lit`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::LtEq => CmpOp::GtEq,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::GtEq => CmpOp::LtEq,
        other => other,
    }
}

/// Whether a literal of type `lit` compares with a column of type `col` with
/// no conversion that could change the result (string encodings only differ
/// in layout).
fn same_type(lit: &DataType, col: &DataType) -> bool {
    let norm = |d: &DataType| match d {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        other => other.clone(),
    };
    norm(lit) == norm(col)
}

/// A literal as a one-element array of the column's type. A NULL literal is
/// not translated: a comparison with NULL is NULL for every row, which
/// DataFusion's own filter (or constant folding) handles.
fn literal(v: &ScalarValue, col: &DataType) -> Option<ArrayRef> {
    if v.is_null() || !same_type(&v.data_type(), col) {
        return None;
    }
    v.cast_to(col).ok()?.to_array().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::Field;
    use datafusion::logical_expr::{col, lit};

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ])
    }

    #[test]
    fn simple_comparisons_translate_and_others_do_not() {
        let s = schema();
        assert!(matches!(
            to_predicate(&col("a").gt(lit(5i64)), &s),
            Some(Predicate::Compare { column: 0, op: CmpOp::Gt, .. })
        ));
        assert!(matches!(
            to_predicate(&lit(5i64).gt(col("a")), &s),
            Some(Predicate::Compare { column: 0, op: CmpOp::Lt, .. })
        ));
        assert!(to_predicate(&col("a").between(lit(1i64), lit(3i64)), &s).is_some());
        assert!(to_predicate(&col("s").in_list(vec![lit("x"), lit("y")], false), &s).is_some());
        assert!(to_predicate(&col("s").is_null(), &s).is_some());
        // A literal of another type would need a lossy cast: not translated.
        assert!(to_predicate(&col("a").gt(lit(1.5f64)), &s).is_none());
        assert!(to_predicate(&col("a").in_list(vec![lit(1i64)], true), &s).is_none());
        // An OR across columns, a conjunction that is not a range.
        assert!(to_predicate(&col("a").gt(lit(1i64)).or(col("s").eq(lit("x"))), &s).is_none());
        assert!(to_predicate(&col("a").gt(lit(1i64)).and(col("a").lt(lit(5i64))), &s).is_none());
        // `a <> NULL` is NULL for every row: left to DataFusion.
        assert!(to_predicate(&col("a").not_eq(lit(ScalarValue::Int64(None))), &s).is_none());
    }

    #[test]
    fn only_float_in_lists_are_inexact() {
        let s = Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("f", DataType::Float64, true),
        ]);
        let exact = TableProviderFilterPushDown::Exact;
        assert_eq!(pushdown(&col("a").eq(lit(1i64)), &s), exact);
        assert_eq!(pushdown(&col("f").lt(lit(1.5f64)), &s), exact);
        assert_eq!(pushdown(&col("a").in_list(vec![lit(1i64), lit(2i64)], false), &s), exact);
        assert_eq!(
            pushdown(&col("f").in_list(vec![lit(1.0f64), lit(2.0f64)], false), &s),
            TableProviderFilterPushDown::Inexact
        );
        assert_eq!(
            pushdown(&col("a").gt(lit(1i64)).or(col("f").lt(lit(0f64))), &s),
            TableProviderFilterPushDown::Unsupported
        );
        assert_eq!(pushdown(&col("a").gt(lit(1i64)).or(col("a").lt(lit(0i64))), &s), exact);
        assert_eq!(
            pushdown(&col("f").eq(lit(1.0f64)).or(col("f").eq(lit(2.0f64))), &s),
            TableProviderFilterPushDown::Inexact
        );
    }

    /// ORs on one column: equalities become an IN list; ranges (a BETWEEN
    /// or `>=` and `<=` together, as DataFusion leaves TPC-H Q19's) and
    /// other comparisons become `AnyOf`.
    #[test]
    fn lower_and_upper_bounds_on_one_column_pair_into_between() {
        let s = schema();
        let filters = [col("a").lt_eq(lit(9i64)), col("s").gt(lit("x")), col("a").gt_eq(lit(3i64))];
        let (preds, shown) = to_predicates(&filters, &s);
        assert_eq!(shown.len(), 3);
        assert_eq!(preds.len(), 2, "{preds:?}");
        use datafusion::arrow::array::AsArray;
        use datafusion::arrow::datatypes::Int64Type;
        assert!(
            matches!(&preds[0], Predicate::Between { column: 0, low, high }
                if low.as_primitive::<Int64Type>().value(0) == 3
                    && high.as_primitive::<Int64Type>().value(0) == 9),
            "{preds:?}"
        );
        assert!(matches!(preds[1], Predicate::Compare { column: 1, op: CmpOp::Gt, .. }));
        let one_sided = [col("a").gt_eq(lit(3i64)), col("a").gt_eq(lit(5i64))];
        assert_eq!(to_predicates(&one_sided, &s).0.len(), 2);
        // A half-open range on integers: the same rows as BETWEEN 4 AND 8.
        let half_open = [col("a").gt(lit(3i64)), col("a").lt(lit(9i64))];
        let (preds, _) = to_predicates(&half_open, &s);
        assert!(
            matches!(&preds[..], [Predicate::Between { column: 0, low, high }]
                if low.as_primitive::<Int64Type>().value(0) == 4
                    && high.as_primitive::<Int64Type>().value(0) == 8),
            "{preds:?}"
        );
        let at_the_edge = [col("a").lt(lit(i64::MIN)), col("a").gt_eq(lit(0i64))];
        assert!(matches!(
            to_predicates(&at_the_edge, &s).0[0],
            Predicate::Compare { op: CmpOp::Lt, .. }
        ));
    }

    #[test]
    fn ors_on_one_column_translate() {
        let s = schema();
        let eqs = col("s").eq(lit("AIR")).or(col("s").eq(lit("AIR REG")).or(col("s").eq(lit("x"))));
        match to_predicate(&eqs, &s) {
            Some(Predicate::InList { column: 1, values }) => assert_eq!(values.len(), 3),
            other => panic!("{other:?}"),
        }
        let range = |lo: i64, hi: i64| col("a").gt_eq(lit(lo)).and(col("a").lt_eq(lit(hi)));
        let ranges = range(1, 11).or(range(10, 20)).or(lit(30i64).lt_eq(col("a")));
        match to_predicate(&ranges, &s) {
            Some(Predicate::AnyOf { column: 0, alternatives }) => {
                assert!(matches!(alternatives[0], Predicate::Between { column: 0, .. }));
                assert!(matches!(alternatives[1], Predicate::Between { column: 0, .. }));
                assert!(matches!(
                    alternatives[2],
                    Predicate::Compare { column: 0, op: CmpOp::GtEq, .. }
                ));
            }
            other => panic!("{other:?}"),
        }
        // A bound the other way round, and one on another column.
        let flipped = col("a").lt_eq(lit(9i64)).and(col("a").gt_eq(lit(2i64)));
        assert!(matches!(to_predicate(&flipped, &s), Some(Predicate::Between { .. })));
        let two_columns = col("a").gt_eq(lit(2i64)).and(col("s").lt_eq(lit("x")));
        assert!(to_predicate(&two_columns, &s).is_none());
    }
}
