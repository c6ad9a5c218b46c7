//! SQL type names to Arrow types, the way SQLite-style SQL expects them.
//!
//! `INTEGER`/`INT`/`BIGINT`… → Int64, `REAL`/`FLOAT`/`DOUBLE` → Float64,
//! `TEXT`/`VARCHAR`/`CHAR`… → Utf8, `BOOLEAN` → Boolean, `DECIMAL(p,s)` →
//! Decimal128, `DATE` → Date32, `TIMESTAMP` → Timestamp(µs), `BLOB`/`BYTEA` →
//! Binary. Both routes use this one mapping so a table created through one
//! reads the same through the other.

use crate::error::{SqlError, SqlResult};
use arrow::datatypes::{DataType, TimeUnit};
use sqlparser::ast::{DataType as SqlType, ExactNumberInfo};

/// The Arrow type llkv stores a column of SQL type `t` as.
///
/// # Errors
/// A planning error for types llkv does not support.
pub fn arrow_type(t: &SqlType) -> SqlResult<DataType> {
    use SqlType as S;
    Ok(match t {
        S::TinyInt(_)
        | S::SmallInt(_)
        | S::Int(_)
        | S::Integer(_)
        | S::BigInt(_)
        | S::MediumInt(_) => DataType::Int64,
        S::Int2(_) | S::Int4(_) | S::Int8(_) | S::Int16 | S::Int32 | S::Int64 | S::Int128 => {
            DataType::Int64
        }
        S::TinyIntUnsigned(_)
        | S::SmallIntUnsigned(_)
        | S::IntUnsigned(_)
        | S::IntegerUnsigned(_)
        | S::BigIntUnsigned(_)
        | S::MediumIntUnsigned(_) => DataType::Int64,
        S::UInt8 | S::UInt16 | S::UInt32 | S::UInt64 => DataType::UInt64,
        S::Real
        | S::Float(_)
        | S::Double(_)
        | S::DoublePrecision
        | S::Float4
        | S::Float8
        | S::Float32
        | S::Float64 => DataType::Float64,
        S::Decimal(info) | S::Numeric(info) | S::Dec(info) => match info {
            ExactNumberInfo::PrecisionAndScale(p, s) if *p <= 38 => {
                DataType::Decimal128(*p as u8, *s as i8)
            }
            ExactNumberInfo::Precision(p) if *p <= 38 => DataType::Decimal128(*p as u8, 0),
            ExactNumberInfo::None => DataType::Decimal128(38, 10),
            _ => return Err(SqlError::plan(format!("unsupported decimal type {t}"))),
        },
        S::Text
        | S::String(_)
        | S::Varchar(_)
        | S::Char(_)
        | S::Character(_)
        | S::CharVarying(_)
        | S::CharacterVarying(_)
        | S::Nvarchar(_)
        | S::Clob(_)
        | S::TinyText
        | S::MediumText
        | S::LongText => DataType::Utf8,
        S::Boolean | S::Bool => DataType::Boolean,
        S::Date => DataType::Date32,
        S::Timestamp(_, _) | S::Datetime(_) => DataType::Timestamp(TimeUnit::Microsecond, None),
        S::Blob(_) | S::Bytea | S::Binary(_) | S::Varbinary(_) | S::Bytes(_) => DataType::Binary,
        S::Custom(name, _) => custom(&name.to_string())
            .ok_or_else(|| SqlError::plan(format!("unsupported column type {t}")))?,
        S::Unspecified => DataType::Utf8,
        _ => return Err(SqlError::plan(format!("unsupported column type {t}"))),
    })
}

/// SQLite's affinity rules for type names the parser does not know.
fn custom(name: &str) -> Option<DataType> {
    let n = name.to_ascii_uppercase();
    if n.contains("INT") {
        Some(DataType::Int64)
    } else if n.contains("CHAR") || n.contains("CLOB") || n.contains("TEXT") || n == "STRING" {
        Some(DataType::Utf8)
    } else if n.contains("REAL") || n.contains("FLOA") || n.contains("DOUB") {
        Some(DataType::Float64)
    } else if n.contains("BLOB") {
        Some(DataType::Binary)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;

    fn col_type(sql_type: &str) -> SqlResult<DataType> {
        let sql = format!("CREATE TABLE t (x {sql_type})");
        let stmt = Parser::parse_sql(&GenericDialect {}, &sql)
            .map_err(|e| SqlError::parse(e.to_string()))?;
        match &stmt[0] {
            sqlparser::ast::Statement::CreateTable(c) => arrow_type(&c.columns[0].data_type),
            _ => unreachable!(),
        }
    }

    #[test]
    fn sqlite_style_names_map_as_documented() {
        assert_eq!(col_type("INTEGER").unwrap(), DataType::Int64);
        assert_eq!(col_type("INT").unwrap(), DataType::Int64);
        assert_eq!(col_type("REAL").unwrap(), DataType::Float64);
        assert_eq!(col_type("FLOAT").unwrap(), DataType::Float64);
        assert_eq!(col_type("DOUBLE").unwrap(), DataType::Float64);
        assert_eq!(col_type("TEXT").unwrap(), DataType::Utf8);
        assert_eq!(col_type("VARCHAR(10)").unwrap(), DataType::Utf8);
        assert_eq!(col_type("DECIMAL(15,2)").unwrap(), DataType::Decimal128(15, 2));
        assert_eq!(col_type("DATE").unwrap(), DataType::Date32);
        assert_eq!(col_type("BOOLEAN").unwrap(), DataType::Boolean);
    }
}
