//! Index definitions and index-backed scans.
//!
//! A table's indexes are its PRIMARY KEY, its UNIQUE constraints and the
//! indexes made by `CREATE [UNIQUE] INDEX`, which both routes record as the
//! database property `index.<name>` = `[UNIQUE ]<table>(<col>, …)`. The index
//! structures themselves belong to the store (`llkv_store::Store::index_lookup`):
//! built in memory on first use, they map keys to every row version, and the
//! candidates they return are filtered here by the snapshot's visibility rule,
//! the transaction's own deletions and the scan's predicates.
//!
//! [`Transaction::prepare_scan`] picks an index by itself when a predicate on
//! the index's leading column is `=`, `IN (…)` or a range, and the index
//! narrows the scan to at most a quarter of the table's rows.

use crate::error::Result;
use crate::transaction::{TableHandle, Transaction};
use arrow::array::{Array, ArrayRef, RecordBatch};
use llkv_store::{CmpOp, KeyBound, KeyRange, Predicate, ScanRequest, TableData, TableMeta};
use std::sync::Arc;

/// Database property prefix of `CREATE INDEX` definitions.
pub const INDEX_PREFIX: &str = "index.";

/// An index candidates fall back to a plain scan above this share of the rows (1/N).
const MAX_SHARE: u64 = 4;

/// One index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    /// The index name (`PRIMARY KEY` / `UNIQUE` for constraints).
    pub name: String,
    /// Key columns (user column positions), in key order.
    pub columns: Vec<usize>,
    /// Whether keys without NULLs must be unique.
    pub unique: bool,
}

/// The property value recording an index: `[UNIQUE ]table(col, …)`.
pub fn format_index_def(unique: bool, table: &str, columns: &[&str]) -> String {
    let prefix = if unique { "UNIQUE " } else { "" };
    format!("{prefix}{table}({})", columns.join(","))
}

/// Reads a property value written by [`format_index_def`] (or by older
/// versions, with spaces or quoted names): `(unique, table, columns)`.
pub fn parse_index_def(value: &str) -> Option<(bool, String, Vec<String>)> {
    let (unique, rest) = match value.strip_prefix("UNIQUE ") {
        Some(r) => (true, r),
        None => (false, value),
    };
    let (table, cols) = rest.split_once('(')?;
    let cols = cols.trim_end().strip_suffix(')')?;
    // Column names may come qualified (`t.a`) or quoted.
    let unquote = |s: &str| {
        let s = s.trim();
        let s = s.rsplit_once('.').map_or(s, |(_, c)| c);
        s.trim_matches('"').trim_matches('`').to_string()
    };
    let cols: Vec<String> = cols.split(',').map(unquote).collect();
    if cols.iter().any(String::is_empty) {
        return None;
    }
    Some((unique, unquote(table), cols))
}

/// The key column sets to keep unique: the primary key, each UNIQUE, and
/// each UNIQUE index (a kind name for messages with each).
pub(crate) fn unique_sets(indexes: &[IndexDef]) -> Vec<(&'static str, Vec<usize>)> {
    indexes
        .iter()
        .filter(|i| i.unique)
        .map(|i| {
            (if i.name == "PRIMARY KEY" { "PRIMARY KEY" } else { "UNIQUE" }, i.columns.clone())
        })
        .collect()
}

/// The indexes of a table with definition `meta`, given the `index.*` properties.
pub(crate) fn indexes_of<'a>(
    meta: &TableMeta,
    props: impl Iterator<Item = (&'a String, &'a String)>,
) -> Vec<IndexDef> {
    let mut out = Vec::new();
    if !meta.primary_key.is_empty() {
        out.push(IndexDef {
            name: "PRIMARY KEY".into(),
            columns: meta.primary_key.clone(),
            unique: true,
        });
    }
    for u in &meta.unique {
        out.push(IndexDef { name: "UNIQUE".into(), columns: u.clone(), unique: true });
    }
    for (k, v) in props {
        let Some((unique, table, cols)) = parse_index_def(v) else { continue };
        if !table.eq_ignore_ascii_case(&meta.name) {
            continue;
        }
        let columns: Option<Vec<usize>> = cols
            .iter()
            .map(|c| meta.columns.iter().position(|m| m.name.eq_ignore_ascii_case(c)))
            .collect();
        if let Some(columns) = columns {
            let name = k.strip_prefix(INDEX_PREFIX).unwrap_or(k).to_string();
            out.push(IndexDef { name, columns, unique });
        }
    }
    out
}

/// How a scan uses an index: which, and the key ranges to read.
#[derive(Debug, Clone)]
pub(crate) struct IndexPlan {
    pub(crate) index: IndexDef,
    pub(crate) ranges: Vec<KeyRange>,
    /// Ranking: lower is better (equality on a full unique key first).
    rank: u8,
}

/// The best index for `predicates`, if any applies.
pub(crate) fn choose(indexes: &[IndexDef], predicates: &[Predicate]) -> Option<IndexPlan> {
    let mut best: Option<IndexPlan> = None;
    for ix in indexes {
        let Some(plan) = plan_for(ix, predicates) else { continue };
        if best.as_ref().is_none_or(|b| plan.rank < b.rank) {
            best = Some(plan);
        }
    }
    best
}

fn one(v: &ArrayRef) -> bool {
    v.len() == 1
}

fn plan_for(ix: &IndexDef, predicates: &[Predicate]) -> Option<IndexPlan> {
    let lead = *ix.columns.first()?;
    // Equalities on a prefix of the key columns.
    let mut prefix = Vec::new();
    for &c in &ix.columns {
        let eq = predicates.iter().find_map(|p| match p {
            Predicate::Compare { column, op: CmpOp::Eq, value } if *column == c && one(value) => {
                Some(Arc::clone(value))
            }
            _ => None,
        });
        match eq {
            Some(v) => prefix.push(v),
            None => break,
        }
    }
    if !prefix.is_empty() {
        let full = prefix.len() == ix.columns.len();
        let rank = match (full, ix.unique) {
            (true, true) => 0,
            (true, false) => 1,
            _ => 2,
        };
        return Some(IndexPlan { index: ix.clone(), ranges: vec![KeyRange::eq(prefix)], rank });
    }
    // IN (…) on the leading column.
    for p in predicates {
        if let Predicate::InList { column, values } = p
            && *column == lead
        {
            let ranges = (0..values.len())
                .filter(|&i| values.is_valid(i))
                .map(|i| KeyRange::eq(vec![values.slice(i, 1)]))
                .collect();
            return Some(IndexPlan { index: ix.clone(), ranges, rank: 3 });
        }
    }
    // A range on the leading column (the tightest one of each side is not
    // searched for: any bound narrows, the predicates filter exactly).
    let mut range = KeyRange::default();
    for p in predicates {
        match p {
            Predicate::Compare { column, op, value } if *column == lead && one(value) => {
                let b = |inclusive| Some(KeyBound { values: vec![Arc::clone(value)], inclusive });
                match op {
                    CmpOp::Gt if range.low.is_none() => range.low = b(false),
                    CmpOp::GtEq if range.low.is_none() => range.low = b(true),
                    CmpOp::Lt if range.high.is_none() => range.high = b(false),
                    CmpOp::LtEq if range.high.is_none() => range.high = b(true),
                    _ => {}
                }
            }
            Predicate::Between { column, low, high } if *column == lead => {
                if range.low.is_none() && one(low) {
                    range.low = Some(KeyBound { values: vec![Arc::clone(low)], inclusive: true });
                }
                if range.high.is_none() && one(high) {
                    range.high = Some(KeyBound { values: vec![Arc::clone(high)], inclusive: true });
                }
            }
            _ => {}
        }
    }
    (range.low.is_some() || range.high.is_some()).then(|| IndexPlan {
        index: ix.clone(),
        ranges: vec![range],
        rank: 4,
    })
}

/// Candidate row ids of `plan` on `table`, or `None` when they are too many
/// for reading them one by one to beat a scan.
pub(crate) fn candidates(
    store: &llkv_store::Store,
    table: &TableData,
    plan: &IndexPlan,
) -> Result<Option<Vec<u64>>> {
    // Predicate values were not cast yet: the store casts them to the column types.
    let ids = store.index_lookup(table, &plan.index.columns, &plan.ranges)?;
    let limit = (table.live_rows() / MAX_SHARE).max(64);
    Ok((ids.len() as u64 <= limit).then_some(ids))
}

impl Transaction {
    /// The indexes of `table` as this transaction sees them: its primary key,
    /// its UNIQUE constraints, then its `CREATE INDEX` indexes.
    pub fn indexes(&self, table: &TableHandle) -> Vec<IndexDef> {
        let props = self.properties_with_prefix(INDEX_PREFIX);
        indexes_of(&table.meta, props.iter())
    }

    /// Rows of `table` whose `columns` equal `key` (one value per column, as
    /// one-element arrays), as this transaction sees them: an index on those
    /// columns is used when there is one. `req` gives the projection and
    /// whether to add row ids; its predicates are added to the key's.
    ///
    /// # Errors
    /// As for [`Transaction::scan`].
    pub fn lookup(
        &self,
        table: &TableHandle,
        columns: &[usize],
        key: &[ArrayRef],
        req: &ScanRequest,
    ) -> Result<Vec<RecordBatch>> {
        let mut req = req.clone();
        for (&column, value) in columns.iter().zip(key) {
            req.predicates.push(Predicate::Compare {
                column,
                op: CmpOp::Eq,
                value: Arc::clone(value),
            });
        }
        self.scan(table, &req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;

    #[test]
    fn index_definitions_round_trip_and_tolerate_spaces_and_quotes() {
        let v = format_index_def(true, "t", &["a", "b"]);
        assert_eq!(parse_index_def(&v), Some((true, "t".into(), vec!["a".into(), "b".into()])));
        assert_eq!(
            parse_index_def("t1(\"x\", y)"),
            Some((false, "t1".into(), vec!["x".into(), "y".into()]))
        );
        assert_eq!(parse_index_def("t()"), None);
        assert_eq!(parse_index_def("garbage"), None);
    }

    #[test]
    fn equality_on_a_unique_key_beats_ranges_and_in_lists() {
        let ix = vec![
            IndexDef { name: "i".into(), columns: vec![1], unique: false },
            IndexDef { name: "PRIMARY KEY".into(), columns: vec![0], unique: true },
        ];
        let v = |x: i64| -> ArrayRef { Arc::new(Int64Array::from(vec![x])) };
        let preds = vec![
            Predicate::Compare { column: 1, op: CmpOp::Gt, value: v(3) },
            Predicate::Compare { column: 0, op: CmpOp::Eq, value: v(7) },
        ];
        let p = choose(&ix, &preds).unwrap();
        assert_eq!(p.index.name, "PRIMARY KEY");
        let preds = vec![Predicate::Compare { column: 1, op: CmpOp::LtEq, value: v(3) }];
        assert_eq!(choose(&ix, &preds).unwrap().index.name, "i");
        let preds = vec![Predicate::Compare { column: 1, op: CmpOp::NotEq, value: v(3) }];
        assert!(choose(&ix, &preds).is_none());
    }
}
