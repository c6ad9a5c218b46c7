//! Bound expressions: column references resolved to row positions, ready to
//! evaluate (see [`crate::eval`]).

use crate::plan::Plan;
use crate::value::Value;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
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
    /// `AND`
    And,
    /// `OR`
    Or,
    /// `||`
    Concat,
    /// `IS` (NULL-safe equality)
    Is,
    /// `IS NOT`
    IsNot,
    /// `&`
    BitAnd,
    /// `|`
    BitOr,
    /// `<<`
    ShiftLeft,
    /// `>>`
    ShiftRight,
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `-x`
    Neg,
    /// `+x` (no-op, but makes the operand lose column affinity)
    Plus,
    /// `NOT x`
    Not,
    /// `~x`
    BitNot,
}

/// The storage class a `CAST` converts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastTo {
    /// INTEGER affinity.
    Integer,
    /// REAL affinity.
    Real,
    /// TEXT affinity.
    Text,
    /// NUMERIC affinity (INTEGER if exact, else REAL).
    Numeric,
    /// BLOB (no conversion).
    Blob,
}

/// An aggregate function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFunc {
    /// `count(*)`
    CountStar,
    /// `count(x)`
    Count,
    /// `sum(x)`: INTEGER while all inputs are integers, NULL over no rows.
    Sum,
    /// `total(x)`: always REAL, 0.0 over no rows.
    Total,
    /// `avg(x)`: REAL.
    Avg,
    /// `min(x)`
    Min,
    /// `max(x)`
    Max,
    /// `group_concat(x [, sep])`
    GroupConcat,
    /// A bare column in an aggregate query: SQLite takes it from some row of
    /// the group (we take the first).
    AnyValue,
}

/// One aggregate call of a query.
#[derive(Debug, Clone)]
pub struct AggCall {
    /// The function.
    pub func: AggFunc,
    /// Its argument (None for `count(*)`).
    pub arg: Option<Expr>,
    /// The separator of `group_concat`.
    pub sep: Option<Expr>,
    /// `DISTINCT` inside the call.
    pub distinct: bool,
}

/// A bound expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A column of the current row.
    Column(usize),
    /// A column of an enclosing query's row (`depth` 0 is the nearest).
    Outer {
        /// How many query levels out.
        depth: usize,
        /// The column position in that row.
        index: usize,
    },
    /// A constant.
    Literal(Value),
    /// A unary operation.
    Unary(UnOp, Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `x IS [NOT] NULL`
    IsNull(Box<Expr>, bool),
    /// `x [NOT] BETWEEN low AND high`
    Between {
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `NOT BETWEEN`.
        negated: bool,
    },
    /// `x [NOT] IN (list)`
    InList {
        /// The tested value.
        expr: Box<Expr>,
        /// The list.
        list: Vec<Expr>,
        /// `NOT IN`.
        negated: bool,
    },
    /// `x [NOT] IN (subquery)`
    InSubquery {
        /// The tested value.
        expr: Box<Expr>,
        /// The subquery (one column).
        plan: Box<Plan>,
        /// `NOT IN`.
        negated: bool,
        /// Whether the subquery refers to enclosing rows.
        correlated: bool,
    },
    /// `[NOT] EXISTS (subquery)`
    Exists {
        /// The subquery.
        plan: Box<Plan>,
        /// `NOT EXISTS`.
        negated: bool,
        /// Whether the subquery refers to enclosing rows.
        correlated: bool,
    },
    /// `(subquery)` as a value: its first row's first column, NULL if none.
    Subquery {
        /// The subquery.
        plan: Box<Plan>,
        /// Whether the subquery refers to enclosing rows.
        correlated: bool,
    },
    /// `CASE [operand] WHEN … THEN … [ELSE …] END`
    Case {
        /// The operand of a simple CASE.
        operand: Option<Box<Expr>>,
        /// WHEN/THEN pairs.
        whens: Vec<(Expr, Expr)>,
        /// ELSE.
        else_: Option<Box<Expr>>,
    },
    /// `CAST(x AS type)`
    Cast(Box<Expr>, CastTo),
    /// A scalar function call (name lower-case).
    Func(String, Vec<Expr>),
    /// `x [NOT] LIKE pattern [ESCAPE e]` or `GLOB`.
    Like {
        /// The tested text.
        expr: Box<Expr>,
        /// The pattern.
        pattern: Box<Expr>,
        /// The escape character.
        escape: Option<Box<Expr>>,
        /// `NOT LIKE`.
        negated: bool,
        /// GLOB (case-sensitive, `*` and `?`) instead of LIKE.
        glob: bool,
    },
}

impl Expr {
    /// Calls `f` on every column index of the current row this expression
    /// reads (not inside subqueries).
    pub fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        match self {
            Expr::Column(i) => f(*i),
            Expr::Outer { .. } | Expr::Literal(_) => {}
            Expr::Exists { .. } | Expr::Subquery { .. } => {}
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) => e.visit_columns(f),
            Expr::Binary(_, a, b) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
            Expr::Between { expr, low, high, .. } => {
                expr.visit_columns(f);
                low.visit_columns(f);
                high.visit_columns(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.visit_columns(f);
                list.iter().for_each(|e| e.visit_columns(f));
            }
            Expr::InSubquery { expr, .. } => expr.visit_columns(f),
            Expr::Case { operand, whens, else_ } => {
                if let Some(o) = operand {
                    o.visit_columns(f);
                }
                for (w, t) in whens {
                    w.visit_columns(f);
                    t.visit_columns(f);
                }
                if let Some(e) = else_ {
                    e.visit_columns(f);
                }
            }
            Expr::Func(_, args) => args.iter().for_each(|e| e.visit_columns(f)),
            Expr::Like { expr, pattern, escape, .. } => {
                expr.visit_columns(f);
                pattern.visit_columns(f);
                if let Some(e) = escape {
                    e.visit_columns(f);
                }
            }
        }
    }

    /// Whether the expression contains a subquery (at any depth of this level).
    pub fn has_subquery(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(e, Expr::InSubquery { .. } | Expr::Exists { .. } | Expr::Subquery { .. }) {
                found = true;
            }
        });
        found
    }

    /// Calls `f` on this node and its children (not into subquery plans).
    pub fn walk(&self, f: &mut dyn FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Column(_) | Expr::Outer { .. } | Expr::Literal(_) => {}
            Expr::Exists { .. } | Expr::Subquery { .. } => {}
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) => e.walk(f),
            Expr::InSubquery { expr, .. } => expr.walk(f),
            Expr::Binary(_, a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Between { expr, low, high, .. } => {
                expr.walk(f);
                low.walk(f);
                high.walk(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.walk(f);
                list.iter().for_each(|e| e.walk(f));
            }
            Expr::Case { operand, whens, else_ } => {
                if let Some(o) = operand {
                    o.walk(f);
                }
                for (w, t) in whens {
                    w.walk(f);
                    t.walk(f);
                }
                if let Some(e) = else_ {
                    e.walk(f);
                }
            }
            Expr::Func(_, args) => args.iter().for_each(|e| e.walk(f)),
            Expr::Like { expr, pattern, escape, .. } => {
                expr.walk(f);
                pattern.walk(f);
                if let Some(e) = escape {
                    e.walk(f);
                }
            }
        }
    }

    /// Rewrites every column index with `f` (used to move expressions between
    /// row layouts, e.g. onto one side of a join).
    pub fn map_columns(&mut self, f: &dyn Fn(usize) -> usize) {
        match self {
            Expr::Column(i) => *i = f(*i),
            Expr::Outer { .. } | Expr::Literal(_) => {}
            Expr::Exists { .. } | Expr::Subquery { .. } => {}
            Expr::Unary(_, e) | Expr::IsNull(e, _) | Expr::Cast(e, _) => e.map_columns(f),
            Expr::InSubquery { expr, .. } => expr.map_columns(f),
            Expr::Binary(_, a, b) => {
                a.map_columns(f);
                b.map_columns(f);
            }
            Expr::Between { expr, low, high, .. } => {
                expr.map_columns(f);
                low.map_columns(f);
                high.map_columns(f);
            }
            Expr::InList { expr, list, .. } => {
                expr.map_columns(f);
                list.iter_mut().for_each(|e| e.map_columns(f));
            }
            Expr::Case { operand, whens, else_ } => {
                if let Some(o) = operand {
                    o.map_columns(f);
                }
                for (w, t) in whens {
                    w.map_columns(f);
                    t.map_columns(f);
                }
                if let Some(e) = else_ {
                    e.map_columns(f);
                }
            }
            Expr::Func(_, args) => args.iter_mut().for_each(|e| e.map_columns(f)),
            Expr::Like { expr, pattern, escape, .. } => {
                expr.map_columns(f);
                pattern.map_columns(f);
                if let Some(e) = escape {
                    e.map_columns(f);
                }
            }
        }
    }

    /// The column positions this expression reads.
    pub fn columns(&self) -> Vec<usize> {
        let mut v = Vec::new();
        self.visit_columns(&mut |i| v.push(i));
        v
    }
}
