//! Table metadata kept in the catalog: names, columns, types, nullability and
//! the constraint metadata that the query layers enforce.

use crate::codec::{Decoder, Encoder};
use crate::error::{Error, Result};
use arrow::datatypes::{DataType, Field, IntervalUnit, Schema, SchemaRef, TimeUnit};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A table's id: allocated by the store, never reused.
pub type TableId = u64;

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// Storage type (see [`crate::chunk::storage_type`]).
    pub data_type: DataType,
    /// Whether NULLs are allowed.
    pub nullable: bool,
    /// Free-form metadata of the layers above (for example a DEFAULT expression).
    pub properties: BTreeMap<String, String>,
}

impl ColumnMeta {
    /// A column with no properties.
    pub fn new(name: impl Into<String>, data_type: DataType, nullable: bool) -> Self {
        Self {
            name: name.into(),
            data_type: crate::chunk::storage_type(&data_type),
            nullable,
            properties: BTreeMap::new(),
        }
    }
}

/// A table's definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMeta {
    /// Table name, unique in the database.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnMeta>,
    /// Column indexes of the primary key (empty: none).
    pub primary_key: Vec<usize>,
    /// Column index lists of the UNIQUE constraints.
    pub unique: Vec<Vec<usize>>,
    /// Free-form metadata of the layers above.
    pub properties: BTreeMap<String, String>,
}

impl TableMeta {
    /// A table with the given columns and no constraints.
    pub fn new(name: impl Into<String>, columns: Vec<ColumnMeta>) -> Self {
        Self {
            name: name.into(),
            columns,
            primary_key: Vec::new(),
            unique: Vec::new(),
            properties: BTreeMap::new(),
        }
    }

    /// The Arrow schema of all columns.
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(&c.name, c.data_type.clone(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    /// The index of the column named `name` (exact match).
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Checks the definition: a name, distinct column names, storable types,
    /// constraint indexes in range.
    ///
    /// # Errors
    /// [`Error::Invalid`] describing the first problem.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::Invalid("a table needs a name".into()));
        }
        if self.columns.is_empty() {
            return Err(Error::Invalid(format!("table {} needs at least one column", self.name)));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if self.columns[..i].iter().any(|o| o.name == c.name) {
                return Err(Error::Invalid(format!("duplicate column name {}", c.name)));
            }
            if !crate::chunk::is_storable(&c.data_type) {
                return Err(Error::Invalid(format!(
                    "column {} has type {}, which llkv cannot store",
                    c.name, c.data_type
                )));
            }
        }
        let n = self.columns.len();
        let in_range = |ix: &Vec<usize>| ix.iter().all(|&i| i < n);
        if !in_range(&self.primary_key) || !self.unique.iter().all(in_range) {
            return Err(Error::Invalid("constraint names a column that does not exist".into()));
        }
        Ok(())
    }

    pub(crate) fn encode(&self, e: &mut Encoder) {
        e.str(&self.name);
        e.u64(self.columns.len() as u64);
        for c in &self.columns {
            e.str(&c.name);
            encode_type(&c.data_type, e);
            e.u8(u8::from(c.nullable));
            encode_props(&c.properties, e);
        }
        encode_indexes(&self.primary_key, e);
        e.u64(self.unique.len() as u64);
        for u in &self.unique {
            encode_indexes(u, e);
        }
        encode_props(&self.properties, e);
    }

    pub(crate) fn decode(d: &mut Decoder<'_>) -> Result<Self> {
        let name = d.str()?;
        let n = d.count(10)?;
        let mut columns = Vec::with_capacity(n);
        for _ in 0..n {
            let name = d.str()?;
            let data_type = decode_type(d)?;
            let nullable = d.u8()? != 0;
            let properties = decode_props(d)?;
            columns.push(ColumnMeta { name, data_type, nullable, properties });
        }
        let primary_key = decode_indexes(d)?;
        let nu = d.count(8)?;
        let mut unique = Vec::with_capacity(nu);
        for _ in 0..nu {
            unique.push(decode_indexes(d)?);
        }
        let properties = decode_props(d)?;
        Ok(Self { name, columns, primary_key, unique, properties })
    }
}

pub(crate) fn encode_props(p: &BTreeMap<String, String>, e: &mut Encoder) {
    e.u64(p.len() as u64);
    for (k, v) in p {
        e.str(k);
        e.str(v);
    }
}

pub(crate) fn decode_props(d: &mut Decoder<'_>) -> Result<BTreeMap<String, String>> {
    let n = d.count(16)?;
    let mut p = BTreeMap::new();
    for _ in 0..n {
        let k = d.str()?;
        p.insert(k, d.str()?);
    }
    Ok(p)
}

fn encode_indexes(ix: &[usize], e: &mut Encoder) {
    e.u64(ix.len() as u64);
    for &i in ix {
        e.u64(i as u64);
    }
}

fn decode_indexes(d: &mut Decoder<'_>) -> Result<Vec<usize>> {
    let n = d.count(8)?;
    (0..n).map(|_| Ok(d.u64()? as usize)).collect()
}

fn unit_code(u: &TimeUnit) -> u8 {
    match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    }
}

fn unit_from(c: u8) -> Result<TimeUnit> {
    Ok(match c {
        0 => TimeUnit::Second,
        1 => TimeUnit::Millisecond,
        2 => TimeUnit::Microsecond,
        3 => TimeUnit::Nanosecond,
        _ => return Err(Error::Corrupt("unknown time unit in catalog".into())),
    })
}

/// Type tags are part of the file format: append new ones, never renumber.
fn encode_type(dt: &DataType, e: &mut Encoder) {
    use DataType::*;
    match dt {
        Boolean => e.u8(1),
        Int8 => e.u8(2),
        Int16 => e.u8(3),
        Int32 => e.u8(4),
        Int64 => e.u8(5),
        UInt8 => e.u8(6),
        UInt16 => e.u8(7),
        UInt32 => e.u8(8),
        UInt64 => e.u8(9),
        Float16 => e.u8(10),
        Float32 => e.u8(11),
        Float64 => e.u8(12),
        Utf8 => e.u8(13),
        LargeUtf8 => e.u8(14),
        Binary => e.u8(15),
        LargeBinary => e.u8(16),
        Date32 => e.u8(17),
        Date64 => e.u8(18),
        Time32(u) => {
            e.u8(19);
            e.u8(unit_code(u));
        }
        Time64(u) => {
            e.u8(20);
            e.u8(unit_code(u));
        }
        Timestamp(u, tz) => {
            e.u8(21);
            e.u8(unit_code(u));
            e.str(tz.as_deref().unwrap_or(""));
        }
        Duration(u) => {
            e.u8(22);
            e.u8(unit_code(u));
        }
        Interval(u) => {
            e.u8(23);
            e.u8(match u {
                IntervalUnit::YearMonth => 0,
                IntervalUnit::DayTime => 1,
                IntervalUnit::MonthDayNano => 2,
            });
        }
        Decimal128(p, s) => {
            e.u8(24);
            e.u8(*p);
            e.u8(*s as u8);
        }
        Decimal256(p, s) => {
            e.u8(25);
            e.u8(*p);
            e.u8(*s as u8);
        }
        FixedSizeBinary(n) => {
            e.u8(26);
            e.u32(*n as u32);
        }
        // validate() rejects every other type before anything is encoded.
        _ => e.u8(0),
    }
}

fn decode_type(d: &mut Decoder<'_>) -> Result<DataType> {
    use DataType::*;
    Ok(match d.u8()? {
        1 => Boolean,
        2 => Int8,
        3 => Int16,
        4 => Int32,
        5 => Int64,
        6 => UInt8,
        7 => UInt16,
        8 => UInt32,
        9 => UInt64,
        10 => Float16,
        11 => Float32,
        12 => Float64,
        13 => Utf8,
        14 => LargeUtf8,
        15 => Binary,
        16 => LargeBinary,
        17 => Date32,
        18 => Date64,
        19 => Time32(unit_from(d.u8()?)?),
        20 => Time64(unit_from(d.u8()?)?),
        21 => {
            let u = unit_from(d.u8()?)?;
            let tz = d.str()?;
            Timestamp(u, (!tz.is_empty()).then(|| tz.into()))
        }
        22 => Duration(unit_from(d.u8()?)?),
        23 => Interval(match d.u8()? {
            0 => IntervalUnit::YearMonth,
            1 => IntervalUnit::DayTime,
            2 => IntervalUnit::MonthDayNano,
            _ => return Err(Error::Corrupt("unknown interval unit in catalog".into())),
        }),
        24 => Decimal128(d.u8()?, d.u8()? as i8),
        25 => Decimal256(d.u8()?, d.u8()? as i8),
        26 => FixedSizeBinary(d.u32()? as i32),
        t => {
            return Err(Error::Corrupt(format!("unknown column type tag {t} in catalog")));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_meta_round_trips() {
        let mut t = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("a", DataType::Int64, false),
                ColumnMeta::new("b", DataType::Utf8View, true),
                ColumnMeta::new(
                    "c",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    true,
                ),
                ColumnMeta::new("d", DataType::Decimal128(15, 2), true),
            ],
        );
        t.primary_key = vec![0];
        t.unique = vec![vec![1, 2]];
        t.columns[1].properties.insert("default".into(), "'x'".into());
        t.validate().unwrap();
        assert_eq!(t.columns[1].data_type, DataType::Utf8);
        let mut e = Encoder::default();
        t.encode(&mut e);
        let back = TableMeta::decode(&mut Decoder::new(&e.buf, "t")).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn invalid_definitions_are_refused() {
        let dup = TableMeta::new(
            "t",
            vec![
                ColumnMeta::new("a", DataType::Int64, true),
                ColumnMeta::new("a", DataType::Int64, true),
            ],
        );
        assert!(dup.validate().is_err());
        let mut pk = TableMeta::new("t", vec![ColumnMeta::new("a", DataType::Int64, true)]);
        pk.primary_key = vec![3];
        assert!(pk.validate().is_err());
    }
}
