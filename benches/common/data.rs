//! The data the query benchmarks share: a fact table `t` and a dimension
//! table `d`, the same on every engine a benchmark compares.

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use llkv::store::{ColumnMeta, TableMeta};
use std::sync::Arc;

/// `t(k, g, [h,] x)`: `k` unique, `g` 1000 groups, `h` 100k groups (only
/// `with_h`), `x` a REAL.
pub fn fact_schema(with_h: bool) -> SchemaRef {
    let mut fields =
        vec![Field::new("k", DataType::Int64, false), Field::new("g", DataType::Int64, false)];
    if with_h {
        fields.push(Field::new("h", DataType::Int64, false));
    }
    fields.push(Field::new("x", DataType::Float64, false));
    Arc::new(Schema::new(fields))
}

/// `d(g, name)`: 1000 groups named by 50 names.
pub fn dim_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
    ]))
}

/// The fact table's `n` rows in batches of 64K rows.
pub fn fact(n: usize, with_h: bool) -> Vec<RecordBatch> {
    (0..n)
        .step_by(65_536)
        .map(|start| {
            let end = (start + 65_536).min(n) as i64;
            let k = Int64Array::from_iter_values(start as i64..end);
            let g = Int64Array::from_iter_values((start as i64..end).map(|v| (v * 7919) % 1000));
            // Multiples of 0.5: sums are exact whatever the order of additions.
            let x =
                Float64Array::from_iter_values((start as i64..end).map(|v| (v % 997) as f64 * 0.5));
            let mut cols: Vec<ArrayRef> = vec![Arc::new(k), Arc::new(g)];
            if with_h {
                cols.push(Arc::new(Int64Array::from_iter_values(
                    (start as i64..end).map(|v| (v * 104_729) % 100_000),
                )));
            }
            cols.push(Arc::new(x));
            RecordBatch::try_new(fact_schema(with_h), cols).unwrap()
        })
        .collect()
}

/// The dimension table.
pub fn dim() -> RecordBatch {
    let g = Int64Array::from_iter_values(0..1000);
    let name = StringArray::from_iter_values((0..1000).map(|i| format!("group{}", i % 50)));
    RecordBatch::try_new(dim_schema(), vec![Arc::new(g), Arc::new(name)]).unwrap()
}

/// An llkv table definition with `schema`'s columns.
pub fn meta(name: &str, schema: &SchemaRef) -> TableMeta {
    TableMeta::new(
        name,
        schema
            .fields()
            .iter()
            .map(|f| ColumnMeta::new(f.name(), f.data_type().clone(), f.is_nullable()))
            .collect(),
    )
}
