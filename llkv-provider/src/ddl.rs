//! Table definitions between DataFusion and llkv's catalog.
//!
//! `CREATE TABLE` reaches llkv as a `MemTable` that DataFusion registers in
//! the schema provider; its schema, constraints and column defaults become an
//! llkv [`TableMeta`]. A column default is kept as SQL literal text in the
//! column property [`DEFAULT_PROPERTY`] so that both routes can read it.

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::{Constraint, Constraints, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::scalar::ScalarValue;
use llkv_store::{ColumnMeta, TableMeta};
use std::collections::HashMap;

pub use llkv_sql::table_info::DEFAULT_PROPERTY;

/// The llkv definition of a table DataFusion asks to create.
pub(crate) fn meta_from_provider(name: &str, provider: &dyn TableProvider) -> Result<TableMeta> {
    let schema: SchemaRef = provider.schema();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let mut c = ColumnMeta::new(f.name().clone(), f.data_type().clone(), f.is_nullable());
        if let Some(default) = provider.get_column_default(f.name()) {
            let value = constant(default)?;
            c.properties.insert(DEFAULT_PROPERTY.to_string(), sql_literal(&value)?);
        }
        columns.push(c);
    }
    let mut meta = TableMeta::new(name, columns);
    if let Some(constraints) = provider.constraints() {
        for c in constraints.iter() {
            match c {
                Constraint::PrimaryKey(cols) => {
                    for &i in cols {
                        if let Some(col) = meta.columns.get_mut(i) {
                            col.nullable = false;
                        }
                    }
                    meta.primary_key = cols.clone();
                }
                Constraint::Unique(cols) => meta.unique.push(cols.clone()),
            }
        }
    }
    Ok(meta)
}

/// The DataFusion constraints of an llkv table.
pub(crate) fn constraints_of(meta: &TableMeta) -> Constraints {
    let mut out = Vec::new();
    if !meta.primary_key.is_empty() {
        out.push(Constraint::PrimaryKey(meta.primary_key.clone()));
    }
    out.extend(meta.unique.iter().map(|u| Constraint::Unique(u.clone())));
    Constraints::new_unverified(out)
}

/// The column defaults of an llkv table as DataFusion expressions; defaults
/// that do not parse are left out (the column then defaults to NULL).
pub(crate) fn defaults_of(meta: &TableMeta) -> HashMap<String, Expr> {
    meta.columns
        .iter()
        .filter_map(|c| {
            let text = c.properties.get(DEFAULT_PROPERTY)?;
            let v = parse_literal(text)?.cast_to(&c.data_type).ok()?;
            Some((c.name.clone(), Expr::Literal(v, None)))
        })
        .collect()
}

/// The constant value of a DEFAULT expression.
fn constant(e: &Expr) -> Result<ScalarValue> {
    match e {
        Expr::Literal(v, _) => Ok(v.clone()),
        Expr::Negative(inner) => match constant(inner)? {
            ScalarValue::Int64(v) => Ok(ScalarValue::Int64(v.map(|x| x.wrapping_neg()))),
            ScalarValue::Float64(v) => Ok(ScalarValue::Float64(v.map(|x| -x))),
            other => ScalarValue::Int64(Some(0))
                .sub(&other)
                .or_else(|_| plan_err!("llkv supports only constant DEFAULT values, not {e}")),
        },
        Expr::Cast(c) => Ok(constant(&c.expr)?.cast_to(&c.field.data_type().clone())?),
        Expr::TryCast(c) => Ok(constant(&c.expr)?.cast_to(&c.field.data_type().clone())?),
        _ => plan_err!("llkv supports only constant DEFAULT values, not {e}"),
    }
}

/// A value as SQL literal text that [`parse_literal`] reads back.
fn sql_literal(v: &ScalarValue) -> Result<String> {
    if v.is_null() {
        return Ok("NULL".into());
    }
    Ok(match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        ScalarValue::Boolean(Some(b)) => if *b { "TRUE" } else { "FALSE" }.into(),
        v if v.data_type().is_numeric() => v.to_string(),
        other => {
            let s = other.cast_to(&DataType::Utf8)?;
            return sql_literal(&s);
        }
    })
}

/// Reads literal text written by [`sql_literal`] (or typed by hand).
fn parse_literal(text: &str) -> Option<ScalarValue> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("NULL") {
        return Some(ScalarValue::Null);
    }
    if t.eq_ignore_ascii_case("TRUE") || t.eq_ignore_ascii_case("FALSE") {
        return Some(ScalarValue::Boolean(Some(t.eq_ignore_ascii_case("TRUE"))));
    }
    if let Some(inner) = t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(ScalarValue::Utf8(Some(inner.replace("''", "'"))));
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(ScalarValue::Int64(Some(i)));
    }
    t.parse::<f64>().ok().map(|f| ScalarValue::Float64(Some(f)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_defaults_round_trip_through_text() {
        for v in [
            ScalarValue::Int64(Some(-3)),
            ScalarValue::Float64(Some(2.5)),
            ScalarValue::Utf8(Some("it's".into())),
            ScalarValue::Boolean(Some(true)),
        ] {
            let text = sql_literal(&v).unwrap_or_default();
            assert_eq!(parse_literal(&text), Some(v));
        }
        assert_eq!(parse_literal("NULL"), Some(ScalarValue::Null));
    }
}
