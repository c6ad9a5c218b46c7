//! Between Arrow arrays and rows of [`Value`]s: table scans come in as Arrow,
//! results go out as Arrow, inserts are built as Arrow in the table's types.

use crate::value::{Row, Value, parse_exact_numeric, real_to_int};
use arrow::array::{
    Array, ArrayRef, BinaryBuilder, BooleanBuilder, Float64Builder, Int64Builder, RecordBatch,
    RecordBatchOptions, StringBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use llkv_sql::{SqlError, SqlResult};
use std::sync::Arc;

/// The values of an array, one per row.
///
/// # Errors
/// An execution error for a type the native route cannot read.
pub fn array_values(a: &dyn Array) -> SqlResult<Vec<Value>> {
    use arrow::array::AsArray;
    use arrow::datatypes as T;
    let n = a.len();
    let mut out = Vec::with_capacity(n);
    macro_rules! prim {
        ($t:ty, $f:expr) => {{
            let arr = a.as_primitive::<$t>();
            for i in 0..n {
                out.push(if arr.is_null(i) { Value::Null } else { $f(arr.value(i)) });
            }
        }};
    }
    match a.data_type() {
        DataType::Null => out.resize(n, Value::Null),
        DataType::Int64 => prim!(T::Int64Type, Value::Int),
        DataType::Int32 => prim!(T::Int32Type, |v: i32| Value::Int(v.into())),
        DataType::Int16 => prim!(T::Int16Type, |v: i16| Value::Int(v.into())),
        DataType::Int8 => prim!(T::Int8Type, |v: i8| Value::Int(v.into())),
        DataType::UInt64 => prim!(T::UInt64Type, |v: u64| i64::try_from(v)
            .map_or(Value::Real(v as f64), Value::Int)),
        DataType::UInt32 => prim!(T::UInt32Type, |v: u32| Value::Int(v.into())),
        DataType::UInt16 => prim!(T::UInt16Type, |v: u16| Value::Int(v.into())),
        DataType::UInt8 => prim!(T::UInt8Type, |v: u8| Value::Int(v.into())),
        DataType::Float64 => prim!(T::Float64Type, Value::Real),
        DataType::Float32 => prim!(T::Float32Type, |v: f32| Value::Real(v.into())),
        DataType::Boolean => {
            let arr = a.as_boolean();
            for i in 0..n {
                out.push(if arr.is_null(i) { Value::Null } else { Value::from_bool(arr.value(i)) });
            }
        }
        DataType::Utf8 => {
            let arr = a.as_string::<i32>();
            for i in 0..n {
                out.push(if arr.is_null(i) {
                    Value::Null
                } else {
                    Value::Text(arr.value(i).into())
                });
            }
        }
        DataType::LargeUtf8 => {
            let arr = a.as_string::<i64>();
            for i in 0..n {
                out.push(if arr.is_null(i) {
                    Value::Null
                } else {
                    Value::Text(arr.value(i).into())
                });
            }
        }
        DataType::Utf8View => {
            let arr = a.as_string_view();
            for i in 0..n {
                out.push(if arr.is_null(i) {
                    Value::Null
                } else {
                    Value::Text(arr.value(i).into())
                });
            }
        }
        DataType::Binary => {
            let arr = a.as_binary::<i32>();
            for i in 0..n {
                out.push(if arr.is_null(i) {
                    Value::Null
                } else {
                    Value::Blob(arr.value(i).to_vec())
                });
            }
        }
        DataType::Decimal128(_, scale) if (0..=22).contains(scale) => {
            let arr = a.as_primitive::<T::Decimal128Type>();
            for i in 0..n {
                out.push(match (arr.is_null(i), decimal_value(arr.value(i), *scale)) {
                    (true, _) => Value::Null,
                    (false, Some(v)) => v,
                    // Beyond 2^53: through the text form, as other types.
                    (false, None) => text_values(&a.slice(i, 1))?.pop().unwrap_or(Value::Null),
                });
            }
        }
        _ => return text_values(a),
    }
    Ok(out)
}

/// Dates, decimals, timestamps: the values of `a` read through their text form.
fn text_values(a: &dyn Array) -> SqlResult<Vec<Value>> {
    let other = a.data_type();
    let s = arrow::compute::cast(a, &DataType::Utf8)
        .map_err(|_| SqlError::execution(format!("cannot read a column of type {other}")))?;
    array_values(&s).map(|v| {
        v.into_iter()
            .map(|x| match (other, x) {
                (DataType::Decimal128(..) | DataType::Decimal256(..), Value::Text(t)) => {
                    parse_exact_numeric(&t).unwrap_or(Value::Text(t))
                }
                (_, x) => x,
            })
            .collect()
    })
}

/// A DECIMAL value of scale `0..=22` as its text form reads
/// ([`parse_exact_numeric`]), when `|v| < 2^53`: an integer for scale 0,
/// else a REAL. `v` and `10^scale` are then exact doubles, so their quotient
/// is the correctly rounded value, as parsing the text gives. `None` for
/// larger values.
fn decimal_value(v: i128, scale: i8) -> Option<Value> {
    const EXACT: i128 = 1 << 53;
    if v.unsigned_abs() >= EXACT.unsigned_abs() {
        return None;
    }
    let scale = usize::try_from(scale).ok()?;
    if scale == 0 {
        return i64::try_from(v).ok().map(Value::Int);
    }
    let pow10 = std::iter::successors(Some(1f64), |p| Some(p * 10.0)).nth(scale)?;
    Some(Value::Real(v as f64 / pow10))
}

/// The rows of a batch (all its columns).
///
/// # Errors
/// As for [`array_values`].
pub fn batch_rows(batch: &RecordBatch) -> SqlResult<Vec<Row>> {
    let cols =
        batch.columns().iter().map(|c| array_values(c.as_ref())).collect::<SqlResult<Vec<_>>>()?;
    let mut rows: Vec<Row> =
        (0..batch.num_rows()).map(|_| Vec::with_capacity(cols.len())).collect();
    for col in cols {
        for (r, v) in rows.iter_mut().zip(col) {
            r.push(v);
        }
    }
    Ok(rows)
}

/// The Arrow type a result column gets from its values: Int64 if all are
/// integers, Float64 if all are numbers, Utf8 if any is text, Binary for blobs.
fn infer_type(values: &mut dyn Iterator<Item = &Value>) -> DataType {
    let (mut int, mut real, mut text, mut blob) = (false, false, false, false);
    for v in values {
        match v {
            Value::Null => {}
            Value::Int(_) => int = true,
            Value::Real(_) => real = true,
            Value::Text(_) => text = true,
            Value::Blob(_) => blob = true,
        }
    }
    if text || (blob && (int || real)) {
        DataType::Utf8
    } else if blob {
        DataType::Binary
    } else if real {
        DataType::Float64
    } else if int {
        DataType::Int64
    } else {
        DataType::Utf8
    }
}

/// Builds an array of `t` from values, converting each with the type's affinity.
///
/// # Errors
/// A constraint-kind error when a value cannot be stored in `t`.
pub fn build_array(
    t: &DataType,
    values: &mut dyn Iterator<Item = &Value>,
    col: &str,
) -> SqlResult<ArrayRef> {
    let bad = |v: &Value| {
        SqlError::new(
            llkv_sql::ErrorKind::Constraint,
            format!("cannot store {v:?} in column {col} of type {t}"),
        )
    };
    Ok(match t {
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Int(i) => b.append_value(*i),
                    Value::Real(r) => b.append_value(real_to_int(*r)),
                    // INTEGER affinity: text that reads as a number is stored as one.
                    Value::Text(s) => match parse_exact_numeric(s) {
                        Some(Value::Int(i)) => b.append_value(i),
                        Some(Value::Real(r)) => b.append_value(real_to_int(r)),
                        _ => return Err(bad(v)),
                    },
                    Value::Blob(_) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::new();
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Int(i) => b.append_value(*i as f64),
                    Value::Real(r) => b.append_value(*r),
                    Value::Text(s) => match parse_exact_numeric(s).and_then(|x| x.as_f64()) {
                        Some(f) => b.append_value(f),
                        None => return Err(bad(v)),
                    },
                    Value::Blob(_) => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for v in values {
                match v.truth() {
                    Some(x) if !matches!(v, Value::Text(_)) => b.append_value(x),
                    _ if v.is_null() => b.append_null(),
                    _ => return Err(bad(v)),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Binary => {
            let mut b = BinaryBuilder::new();
            for v in values {
                match v {
                    Value::Null => b.append_null(),
                    Value::Blob(x) => b.append_value(x),
                    other => b.append_value(other.to_text().unwrap_or_default().as_bytes()),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for v in values {
                match v.to_text() {
                    Some(s) => b.append_value(s),
                    None => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Decimal128(precision, scale) if *scale >= 0 => {
            // As arrow's (safe) cast from text: a value that does not parse
            // or does not fit the precision becomes NULL.
            use arrow::compute::kernels::cast::parse_string_to_decimal_native;
            use arrow::datatypes::{Decimal128Type, DecimalType};
            let parse = |t: String| {
                parse_string_to_decimal_native::<Decimal128Type>(&t, *scale as usize)
                    .ok()
                    .filter(|v| Decimal128Type::is_valid_decimal_precision(*v, *precision))
            };
            let decimals: arrow::array::Decimal128Array =
                values.map(|v| v.to_text().and_then(parse)).collect();
            Arc::new(decimals.with_precision_and_scale(*precision, *scale)?)
        }
        other => {
            // Through text, with arrow's cast (dates, decimals, timestamps).
            let texts: Vec<Option<String>> = values.map(|v| v.to_text()).collect();
            let arr: ArrayRef = Arc::new(arrow::array::StringArray::from(texts));
            arrow::compute::cast(&arr, other)
                .map_err(|e| SqlError::execution(format!("column {col}: {e}")))?
        }
    })
}

/// A result batch from rows, each column typed by its values.
///
/// # Errors
/// Arrow errors building the batch.
pub fn rows_to_batch(names: &[String], rows: &[Row]) -> SqlResult<(SchemaRef, RecordBatch)> {
    let mut fields = Vec::with_capacity(names.len());
    let mut cols = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let t = infer_type(&mut rows.iter().filter_map(|r| r.get(i)));
        let arr =
            build_array(&t, &mut rows.iter().map(|r| r.get(i).unwrap_or(&Value::Null)), name)?;
        fields.push(Field::new(name, t, true));
        cols.push(arr);
    }
    let schema = Arc::new(Schema::new(fields));
    let opts = RecordBatchOptions::new().with_row_count(Some(rows.len()));
    let batch = RecordBatch::try_new_with_options(Arc::clone(&schema), cols, &opts)?;
    Ok((schema, batch))
}

/// The table's schema with every column nullable: batches are built before
/// the store checks NOT NULL (so a violation is a constraint error).
pub fn nullable_schema(meta: &llkv_store::TableMeta) -> SchemaRef {
    Arc::new(Schema::new(
        meta.columns
            .iter()
            .map(|c| Field::new(&c.name, c.data_type.clone(), true))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Decimal128Array;

    /// The values of a decimal array read through arrow's text form, as
    /// every type without a direct conversion is read.
    fn through_text(a: &Decimal128Array) -> Vec<Value> {
        let s = arrow::compute::cast(a, &DataType::Utf8).expect("decimal to text");
        let s = s.as_any().downcast_ref::<arrow::array::StringArray>().expect("text");
        s.iter()
            .map(|t| t.map_or(Value::Null, |t| parse_exact_numeric(t).expect("a number")))
            .collect()
    }

    #[test]
    fn decimals_built_directly_equal_arrows_cast_from_text() {
        let values = [
            Value::Int(12),
            Value::Int(-7),
            Value::Real(0.145),
            Value::Real(-2.675),
            Value::Real(1e-9),
            Value::Real(123_456_789.987_654),
            Value::Real(1e30),
            Value::Real(f64::NAN),
            Value::Text("42.125".into()),
            Value::Text(" 3.5 ".into()),
            Value::Text("abc".into()),
            Value::Text("1.2.3".into()),
            Value::Null,
        ];
        for (p, s) in [(15u8, 2i8), (38, 0), (10, 4), (38, 10), (5, 5)] {
            let dt = DataType::Decimal128(p, s);
            let direct = build_array(&dt, &mut values.iter(), "c").expect("direct build");
            let texts: Vec<Option<String>> = values.iter().map(Value::to_text).collect();
            let texts: ArrayRef = Arc::new(arrow::array::StringArray::from(texts));
            let cast = arrow::compute::cast(&texts, &dt).expect("cast from text");
            assert_eq!(direct.as_ref(), cast.as_ref(), "{dt}");
        }
    }

    #[test]
    fn decimals_read_directly_equal_their_text_form() {
        let raw = [
            Some(0i128),
            Some(1),
            Some(-1),
            Some(123_456),
            Some(-987_654_321),
            Some(10_i128.pow(15) + 7),
            Some((1 << 53) - 1),
            Some(-(1 << 53) + 1),
            Some(1 << 53),
            Some(10_i128.pow(30) + 3),
            None,
        ];
        for s in [0i8, 1, 2, 6, 9, 22] {
            let a = Decimal128Array::from(raw.to_vec()).with_precision_and_scale(38, s);
            let a = a.expect("a valid decimal type");
            let direct = array_values(&a).expect("direct read");
            assert_eq!(direct, through_text(&a), "scale {s}");
        }
    }
}
