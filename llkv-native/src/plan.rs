//! Query plans: trees of operators over rows of [`crate::value::Value`]s.
//!
//! ```text
//!  Limit ─ Sort ─ Distinct ─ Project ─ Aggregate ─ Filter ─ MultiJoin ─┬─ Scan t1
//!                                                                     └─ Scan t2
//! ```

use crate::expr::{AggCall, Expr};
use crate::value::Row;
use llkv_mvcc::TableHandle;
use llkv_store::Predicate;

/// How a join keeps unmatched rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Only matching pairs.
    Inner,
    /// Also left rows without a match (right side NULL).
    Left,
    /// Also right rows without a match.
    Right,
    /// Both.
    Full,
}

/// A set operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    /// `UNION`
    Union,
    /// `INTERSECT`
    Intersect,
    /// `EXCEPT`
    Except,
}

/// One ORDER BY key over the input row.
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The key.
    pub expr: Expr,
    /// Ascending.
    pub asc: bool,
    /// NULLs first (SQLite's default is NULLs first for ASC, last for DESC).
    pub nulls_first: bool,
}

/// One input of an inner multi-way join: its rows go to `start..start+width`
/// of the joined row.
#[derive(Debug, Clone)]
pub struct JoinRel {
    /// The relation.
    pub plan: Plan,
    /// Its first column in the joined row.
    pub start: usize,
    /// Its column count.
    pub width: usize,
}

/// A query plan node.
#[derive(Debug, Clone)]
pub enum Plan {
    /// All visible rows of a table; simple WHERE conjuncts are pushed into the
    /// store's chunk pruning as `predicates` (the full filter still runs above).
    Scan {
        /// The table.
        table: TableHandle,
        /// Predicates for chunk pruning.
        predicates: Vec<Predicate>,
    },
    /// All visible rows of a table with the row id as an extra last column
    /// (a query that names `rowid`); `predicates` prune chunks as in `Scan`.
    RowIdScan {
        /// The table.
        table: TableHandle,
        /// Predicates for chunk pruning.
        predicates: Vec<Predicate>,
    },
    /// Constant rows (a SELECT without FROM has one empty row).
    Values(Vec<Vec<Expr>>),
    /// Already computed rows (a materialized view or CTE).
    Rows(std::sync::Arc<Vec<Row>>),
    /// Rows where the predicate is true.
    Filter {
        /// Input.
        input: Box<Plan>,
        /// Predicate.
        predicate: Expr,
    },
    /// Computes expressions per row.
    Project {
        /// Input.
        input: Box<Plan>,
        /// Output expressions.
        exprs: Vec<Expr>,
    },
    /// Inner joins of several relations with the WHERE/ON conjuncts; the
    /// executor orders the joins greedily and hashes equi-conjuncts.
    MultiJoin {
        /// The relations.
        rels: Vec<JoinRel>,
        /// The conjuncts over the joined row.
        conjuncts: Vec<Expr>,
        /// Joined row width.
        width: usize,
    },
    /// An outer join of two inputs (row = left ++ right).
    Join {
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
        /// Left width.
        left_width: usize,
        /// Right width.
        right_width: usize,
        /// Join kind.
        kind: JoinKind,
        /// ON condition over the joined row.
        on: Option<Expr>,
    },
    /// Grouping and aggregates: output row = group keys ++ aggregate results.
    Aggregate {
        /// Input.
        input: Box<Plan>,
        /// GROUP BY keys.
        groups: Vec<Expr>,
        /// Aggregate calls.
        aggs: Vec<AggCall>,
    },
    /// Sorting.
    Sort {
        /// Input.
        input: Box<Plan>,
        /// Keys.
        keys: Vec<SortKey>,
    },
    /// LIMIT / OFFSET (constant expressions).
    Limit {
        /// Input.
        input: Box<Plan>,
        /// Row limit; negative means none.
        limit: Option<Expr>,
        /// Rows to skip.
        offset: Option<Expr>,
    },
    /// Removes duplicate rows, comparing the first `width` columns.
    Distinct {
        /// Input.
        input: Box<Plan>,
        /// Compared prefix.
        width: usize,
    },
    /// UNION / INTERSECT / EXCEPT.
    SetOp {
        /// Left input.
        left: Box<Plan>,
        /// Right input.
        right: Box<Plan>,
        /// Operation.
        op: SetOp,
        /// `ALL`.
        all: bool,
    },
}
