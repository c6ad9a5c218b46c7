//! Vectorized evaluation of a subset of bound expressions over Arrow arrays,
//! with the same results as the row evaluator ([`crate::eval`]).
//!
//! Every array holds one SQLite storage class ([`VType`]): Int64 (INTEGER),
//! Float64 (REAL), Utf8 (TEXT), Boolean (a comparison's 0/1 result, an
//! INTEGER once it leaves an expression) or all-NULL. The subset: column
//! references, literals, `+ - * / %`, unary `-`/`+`, comparisons, `IS [NOT]`,
//! `AND`/`OR`/`NOT` (three-valued, Arrow's Kleene kernels), `IS [NOT] NULL`,
//! `BETWEEN`, `IN (list)`, `CASE` and `CAST` to INTEGER/REAL/TEXT.
//!
//! Two kinds of checks keep results identical to the row path:
//! - at compile time, anything outside the subset (functions, subqueries,
//!   TEXT in arithmetic, branches of different classes…) is refused;
//! - at run time, what the row path would turn into another storage class
//!   (an INTEGER overflow that SQLite turns into a REAL) or what Arrow orders
//!   differently (NaN) makes the evaluation give up with [`Fail::Unsupported`],
//!   and the caller reruns the query on the row path.
//!
//! REAL comparisons normalize `-0.0` to `0.0` first: Arrow compares floats by
//! IEEE total order, SQLite by value.

use crate::expr::{BinOp, CastTo, Expr, UnOp};
use crate::value::{Value, format_real, real_to_int};
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Datum, Float64Array, Int64Array,
    NullArray, Scalar, StringArray, UInt32Array, new_null_array,
};
use arrow::compute::kernels::{boolean, cmp, numeric, zip::zip};
use arrow::compute::{cast, prep_null_mask_filter, take};
use arrow::datatypes::{DataType, Date32Type, Float64Type, Int64Type};
use llkv_sql::SqlError;
use std::sync::Arc;

/// Why a vectorized evaluation did not produce a result.
#[derive(Debug)]
pub enum Fail {
    /// Outside the vectorized subset: run the row path instead.
    Unsupported,
    /// A real error (storage), reported as is.
    Sql(SqlError),
}

impl From<arrow::error::ArrowError> for Fail {
    fn from(_: arrow::error::ArrowError) -> Self {
        // Overflow, division errors, unexpected types: the row path decides.
        Fail::Unsupported
    }
}

impl From<SqlError> for Fail {
    fn from(e: SqlError) -> Self {
        Fail::Sql(e)
    }
}

/// Results of the vectorized path.
pub type VResult<T> = Result<T, Fail>;

/// The storage class of an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VType {
    /// Int64.
    Int,
    /// Float64 (never NaN).
    Real,
    /// Utf8.
    Text,
    /// Boolean: a truth value, INTEGER 0/1 when it becomes a value.
    Bool,
    /// All NULL.
    Null,
    /// Date32 days: a TEXT `yyyy-mm-dd` kept as its day number until a
    /// text is needed ([`VExpr::DateText`]); only table columns have it.
    Date,
}

impl VType {
    /// The Arrow type of arrays of this class.
    pub fn data_type(self) -> DataType {
        match self {
            VType::Int => DataType::Int64,
            VType::Real => DataType::Float64,
            VType::Text => DataType::Utf8,
            VType::Bool => DataType::Boolean,
            VType::Null => DataType::Null,
            VType::Date => DataType::Date32,
        }
    }

    /// The class once a truth value is used as a value.
    fn value_class(self) -> VType {
        if self == VType::Bool { VType::Int } else { self }
    }
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub enum VExpr {
    /// An input column.
    Col(usize, VType),
    /// A constant (a one-element array of its class).
    Lit(ArrayRef, VType),
    /// Arithmetic; the result class is `Int` only for two `Int` operands.
    Arith(BinOp, Box<VExpr>, Box<VExpr>, VType),
    /// `-x`
    Neg(Box<VExpr>, VType),
    /// A comparison (`= <> < <= > >=`, `IS`, `IS NOT`) of two operands of
    /// comparable classes (already converted to a common one).
    Cmp(BinOp, Box<VExpr>, Box<VExpr>),
    /// A comparison between a number and a text: its outcome is fixed by the
    /// class order (numbers sort before text); NULL when either side is.
    ClassCmp(bool, Box<VExpr>, Box<VExpr>),
    /// `IS` / `IS NOT` between a number and a text: only two NULLs are equal.
    ClassIs(bool, Box<VExpr>, Box<VExpr>),
    /// Three-valued AND.
    And(Box<VExpr>, Box<VExpr>),
    /// Three-valued OR.
    Or(Box<VExpr>, Box<VExpr>),
    /// Three-valued NOT.
    Not(Box<VExpr>),
    /// `x IS [NOT] NULL`
    IsNull(Box<VExpr>, bool),
    /// Searched CASE (simple CASE is rewritten into comparisons).
    Case(Vec<(VExpr, VExpr)>, Option<Box<VExpr>>, VType),
    /// Int → Real.
    ToReal(Box<VExpr>),
    /// Bool → Int (0/1).
    BoolToInt(Box<VExpr>),
    /// `CAST(real AS INTEGER)` (truncating, saturating).
    RealToInt(Box<VExpr>),
    /// `CAST(x AS TEXT)` of a number.
    ToText(Box<VExpr>, VType),
    /// A constant NULL of some class.
    Null(VType),
    /// A Date32 column as its TEXT `yyyy-mm-dd` (the row path's reading).
    DateText(Box<VExpr>),
    /// `CAST(substr(date, start, len) AS INTEGER)` of a Date32 column, i.e.
    /// `EXTRACT(YEAR|MONTH|DAY …)`: the year (start 1), month (6) or day (9).
    DatePart(Box<VExpr>, i64),
    /// `substr(text, start, len)` with constants `start >= 1`, `len >= 0`.
    Substr(Box<VExpr>, i64, i64),
    /// `text [NOT] LIKE pattern` with a constant pattern and no ESCAPE.
    Like(Box<VExpr>, Arc<super::like::Pattern>, bool),
    /// A resolved subquery ([`super::subquery`]).
    Lookup(Box<super::subquery::Lookup>),
}

/// An evaluated operand: a full array or a one-element constant.
#[derive(Debug, Clone)]
pub enum Col {
    /// One value per row.
    Array(ArrayRef),
    /// The same value for every row.
    Scalar(ArrayRef),
}

impl Col {
    fn datum(&self) -> Box<dyn Datum + '_> {
        match self {
            Col::Array(a) => Box::new(a),
            Col::Scalar(a) => Box::new(Scalar::new(a)),
        }
    }

    /// The operand as a full array of `n` rows.
    ///
    /// # Errors
    /// Arrow errors (none expected).
    pub fn into_array(self, n: usize) -> VResult<ArrayRef> {
        match self {
            Col::Array(a) => Ok(a),
            Col::Scalar(a) => repeat(&a, n),
        }
    }

    fn map(self, f: impl Fn(&ArrayRef) -> VResult<ArrayRef>) -> VResult<Col> {
        Ok(match self {
            Col::Array(a) => Col::Array(f(&a)?),
            Col::Scalar(a) => Col::Scalar(f(&a)?),
        })
    }
}

/// `n` copies of the single value of `a`.
pub fn repeat(a: &ArrayRef, n: usize) -> VResult<ArrayRef> {
    if a.data_type() == &DataType::Null {
        return Ok(Arc::new(NullArray::new(n)));
    }
    let idx = UInt32Array::from(vec![0u32; n]);
    Ok(take(a.as_ref(), &idx, None)?)
}

/// The columns an expression is evaluated over.
pub trait Columns {
    /// Number of rows.
    fn rows(&self) -> usize;
    /// Column `i`, if it was read.
    fn column(&self, i: usize) -> Option<&ArrayRef>;
}

/// Compiles `e` over input columns of the given classes (`None`: not
/// available). `None` when `e` is outside the subset.
pub fn compile(e: &Expr, types: &[Option<VType>]) -> Option<VExpr> {
    Some(match e {
        Expr::Column(i) => match (*types.get(*i)?)? {
            VType::Date => VExpr::DateText(Box::new(VExpr::Col(*i, VType::Date))),
            t => VExpr::Col(*i, t),
        },
        Expr::Literal(v) => literal(v)?,
        Expr::Unary(op, x) => {
            let x = compile(x, types)?;
            match op {
                UnOp::Plus => x,
                UnOp::Not => VExpr::Not(Box::new(truthy(x)?)),
                UnOp::Neg => match class(&x) {
                    VType::Null => VExpr::Null(VType::Null),
                    VType::Text => return None,
                    t => {
                        let t = t.value_class();
                        VExpr::Neg(Box::new(as_value(x)), t)
                    }
                },
                UnOp::BitNot => return None,
            }
        }
        Expr::Binary(op, a, b) => {
            let (a, b) = (compile(a, types)?, compile(b, types)?);
            binary(*op, a, b)?
        }
        Expr::IsNull(x, negated) => VExpr::IsNull(Box::new(compile(x, types)?), *negated),
        Expr::Between { expr, low, high, negated } => {
            let x = compile(expr, types)?;
            let ge = binary(BinOp::GtEq, x.clone(), compile(low, types)?)?;
            let le = binary(BinOp::LtEq, x, compile(high, types)?)?;
            let both = VExpr::And(Box::new(ge), Box::new(le));
            if *negated { VExpr::Not(Box::new(both)) } else { both }
        }
        Expr::InList { expr, list, negated } => {
            if list.is_empty() {
                return literal(&Value::from_bool(*negated));
            }
            let x = compile(expr, types)?;
            let mut acc: Option<VExpr> = None;
            for item in list {
                let eq = binary(BinOp::Eq, x.clone(), compile(item, types)?)?;
                acc = Some(match acc {
                    None => eq,
                    Some(prev) => VExpr::Or(Box::new(prev), Box::new(eq)),
                });
            }
            let r = acc?;
            if *negated { VExpr::Not(Box::new(r)) } else { r }
        }
        Expr::Case { operand, whens, else_ } => {
            let base = match operand {
                Some(o) => Some(compile(o, types)?),
                None => None,
            };
            let mut arms = Vec::with_capacity(whens.len());
            let mut ty = VType::Null;
            let mut unify = |t: VType| -> Option<()> {
                let t = t.value_class();
                if t == VType::Null || t == ty {
                    Some(())
                } else if ty == VType::Null {
                    ty = t;
                    Some(())
                } else {
                    None
                }
            };
            for (w, t) in whens {
                let w = compile(w, types)?;
                let cond = match &base {
                    Some(b) => binary(BinOp::Eq, b.clone(), w)?,
                    None => truthy(w)?,
                };
                let t = compile(t, types)?;
                unify(class(&t))?;
                arms.push((cond, t));
            }
            let e = match else_ {
                Some(e) => {
                    let e = compile(e, types)?;
                    unify(class(&e))?;
                    Some(e)
                }
                None => None,
            };
            let fix = |x: VExpr| if class(&x) == VType::Bool { as_value(x) } else { x };
            VExpr::Case(
                arms.into_iter().map(|(c, t)| (c, fix(t))).collect(),
                e.map(|x| Box::new(fix(x))),
                ty,
            )
        }
        Expr::Cast(x, CastTo::Integer) if date_part(x, types).is_some() => date_part(x, types)?,
        Expr::Func(name, args) if name == "substr" || name == "substring" => {
            let [x, Expr::Literal(Value::Int(start)), Expr::Literal(Value::Int(len))] =
                args.as_slice()
            else {
                return None;
            };
            let x = compile(x, types)?;
            if class(&x) != VType::Text || *start < 1 || *len < 0 {
                return None;
            }
            VExpr::Substr(Box::new(x), *start, *len)
        }
        Expr::Like { expr, pattern, escape: None, negated, glob: false } => {
            let Expr::Literal(Value::Text(p)) = pattern.as_ref() else { return None };
            let x = compile(expr, types)?;
            if class(&x) != VType::Text {
                return None;
            }
            VExpr::Like(Box::new(x), Arc::new(super::like::Pattern::new(p)?), *negated)
        }
        Expr::InSubquery { .. } | Expr::Exists { .. } | Expr::Subquery { .. } => {
            super::subquery::compiled(e, types)?
        }
        Expr::Cast(x, to) => {
            let x = as_value(compile(x, types)?);
            match (class(&x), to) {
                (VType::Null, _) => VExpr::Null(VType::Null),
                (VType::Int, CastTo::Integer | CastTo::Numeric) => x,
                (VType::Real, CastTo::Real | CastTo::Numeric) => x,
                (VType::Text, CastTo::Text) => x,
                (VType::Int, CastTo::Real) => VExpr::ToReal(Box::new(x)),
                (VType::Real, CastTo::Integer) => VExpr::RealToInt(Box::new(x)),
                (t @ (VType::Int | VType::Real), CastTo::Text) => VExpr::ToText(Box::new(x), t),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// `substr(date_column, 1|6|9, 4|2|2)` (what `EXTRACT` binds to) as a
/// [`VExpr::DatePart`].
fn date_part(e: &Expr, types: &[Option<VType>]) -> Option<VExpr> {
    let Expr::Func(name, args) = e else { return None };
    if name != "substr" && name != "substring" {
        return None;
    }
    let [Expr::Column(c), Expr::Literal(Value::Int(start)), Expr::Literal(Value::Int(len))] =
        args.as_slice()
    else {
        return None;
    };
    if (*start, *len) != (1, 4) && (*start, *len) != (6, 2) && (*start, *len) != (9, 2) {
        return None;
    }
    (*types.get(*c)? == Some(VType::Date))
        .then(|| VExpr::DatePart(Box::new(VExpr::Col(*c, VType::Date)), *start))
}

fn literal(v: &Value) -> Option<VExpr> {
    Some(match v {
        Value::Null => VExpr::Null(VType::Null),
        Value::Int(i) => VExpr::Lit(Arc::new(Int64Array::from(vec![*i])), VType::Int),
        Value::Real(r) if !r.is_nan() => {
            VExpr::Lit(Arc::new(Float64Array::from(vec![*r])), VType::Real)
        }
        Value::Text(s) => VExpr::Lit(Arc::new(StringArray::from(vec![s.as_str()])), VType::Text),
        _ => return None,
    })
}

/// The class of a compiled expression's result.
pub fn class(e: &VExpr) -> VType {
    match e {
        VExpr::Col(_, t) | VExpr::Lit(_, t) | VExpr::Arith(.., t) | VExpr::Neg(_, t) => *t,
        VExpr::Case(_, _, t) | VExpr::Null(t) => *t,
        VExpr::Cmp(..)
        | VExpr::ClassCmp(..)
        | VExpr::ClassIs(..)
        | VExpr::And(..)
        | VExpr::Or(..)
        | VExpr::Not(_)
        | VExpr::IsNull(..) => VType::Bool,
        VExpr::ToReal(_) => VType::Real,
        VExpr::BoolToInt(_) | VExpr::RealToInt(_) => VType::Int,
        VExpr::ToText(..) | VExpr::DateText(_) | VExpr::Substr(..) => VType::Text,
        VExpr::DatePart(..) => VType::Int,
        VExpr::Like(..) => VType::Bool,
        VExpr::Lookup(l) => l.class(),
    }
}

/// A truth value used as a value becomes INTEGER 0/1.
pub fn as_value(e: VExpr) -> VExpr {
    if class(&e) == VType::Bool { VExpr::BoolToInt(Box::new(e)) } else { e }
}

/// An expression used as a condition (NULL stays unknown).
fn truthy(e: VExpr) -> Option<VExpr> {
    Some(match class(&e) {
        VType::Bool => e,
        VType::Null => VExpr::Null(VType::Bool),
        VType::Int => VExpr::Cmp(BinOp::NotEq, Box::new(e), Box::new(lit_int(0))),
        VType::Real => VExpr::Cmp(BinOp::NotEq, Box::new(e), Box::new(lit_real(0.0))),
        VType::Text | VType::Date => return None,
    })
}

fn lit_int(i: i64) -> VExpr {
    VExpr::Lit(Arc::new(Int64Array::from(vec![i])), VType::Int)
}

fn lit_real(r: f64) -> VExpr {
    VExpr::Lit(Arc::new(Float64Array::from(vec![r])), VType::Real)
}

fn to_real(e: VExpr) -> VExpr {
    if class(&e) == VType::Int { VExpr::ToReal(Box::new(e)) } else { e }
}

fn binary(op: BinOp, a: VExpr, b: VExpr) -> Option<VExpr> {
    use BinOp as B;
    match op {
        B::And => Some(VExpr::And(Box::new(truthy(a)?), Box::new(truthy(b)?))),
        B::Or => Some(VExpr::Or(Box::new(truthy(a)?), Box::new(truthy(b)?))),
        B::Add | B::Sub | B::Mul | B::Div | B::Mod => {
            let (a, b) = (as_value(a), as_value(b));
            let (ta, tb) = (class(&a), class(&b));
            if ta == VType::Text || tb == VType::Text {
                return None;
            }
            if ta == VType::Null || tb == VType::Null {
                return Some(VExpr::Null(VType::Null));
            }
            if ta == VType::Int && tb == VType::Int {
                return Some(VExpr::Arith(op, Box::new(a), Box::new(b), VType::Int));
            }
            if op == B::Mod {
                return None;
            }
            Some(VExpr::Arith(op, Box::new(to_real(a)), Box::new(to_real(b)), VType::Real))
        }
        B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq | B::Is | B::IsNot => {
            // Dates against dates or canonical date texts: by day number,
            // which is the order of their texts (see `dates::canonical_days`).
            if let Some((x, y)) = as_days(&a).zip(as_days(&b)) {
                return Some(VExpr::Cmp(op, Box::new(x), Box::new(y)));
            }
            let (a, b) = (as_value(a), as_value(b));
            let (ta, tb) = (class(&a), class(&b));
            let is = matches!(op, B::Is | B::IsNot);
            if ta == VType::Null || tb == VType::Null {
                if !is {
                    return Some(VExpr::Null(VType::Bool));
                }
                // x IS NULL / x IS NOT NULL (two NULLs are equal).
                let other = if ta == VType::Null { b } else { a };
                return Some(VExpr::IsNull(Box::new(other), op == B::IsNot));
            }
            let num = |t: VType| matches!(t, VType::Int | VType::Real);
            if num(ta) && num(tb) {
                let (a, b) = if ta == tb { (a, b) } else { (to_real(a), to_real(b)) };
                return Some(VExpr::Cmp(op, Box::new(a), Box::new(b)));
            }
            if ta == VType::Text && tb == VType::Text {
                return Some(VExpr::Cmp(op, Box::new(a), Box::new(b)));
            }
            // A number against a text: numbers sort first.
            let less = num(ta);
            if is {
                return Some(VExpr::ClassIs(op == B::IsNot, Box::new(a), Box::new(b)));
            }
            let outcome = match op {
                B::Eq => false,
                B::NotEq => true,
                B::Lt | B::LtEq => less,
                _ => !less,
            };
            Some(VExpr::ClassCmp(outcome, Box::new(a), Box::new(b)))
        }
        _ => None,
    }
}

/// A date column or a canonical date literal as Date32 days.
fn as_days(e: &VExpr) -> Option<VExpr> {
    match e {
        VExpr::DateText(x) => Some(x.as_ref().clone()),
        VExpr::Lit(a, VType::Text) => {
            let s = a.as_string_opt::<i32>()?;
            if s.len() != 1 || s.is_null(0) {
                return None;
            }
            let d = crate::dates::canonical_days(s.value(0))?;
            Some(VExpr::Lit(Arc::new(Date32Array::from(vec![d])), VType::Date))
        }
        _ => None,
    }
}

/// Whether a Float64 array holds a NaN (then the row path decides).
pub fn has_nan(a: &dyn Array) -> bool {
    a.as_primitive_opt::<Float64Type>().is_some_and(|f| f.values().iter().any(|v| v.is_nan()))
}

/// An array with REAL `-0.0` turned into `0.0` (other arrays unchanged).
///
/// # Errors
/// Arrow errors (none expected).
pub fn normalized(a: ArrayRef) -> VResult<ArrayRef> {
    match normalize(Col::Array(a))? {
        Col::Array(a) | Col::Scalar(a) => Ok(a),
    }
}

/// `-0.0` → `0.0`, so that Arrow's total order compares like SQLite.
fn normalize(c: Col) -> VResult<Col> {
    c.map(|a| {
        if a.data_type() == &DataType::Float64 {
            Ok(numeric::add_wrapping(a, &Scalar::new(Float64Array::from(vec![0.0])))?)
        } else {
            Ok(Arc::clone(a))
        }
    })
}

fn bool_array(c: Col, n: usize) -> VResult<BooleanArray> {
    let a = c.into_array(n)?;
    if a.data_type() == &DataType::Null {
        return Ok(BooleanArray::new_null(n));
    }
    a.as_boolean_opt().cloned().ok_or(Fail::Unsupported)
}

fn zero_to_null(a: &ArrayRef) -> VResult<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Int64 => {
            let p = a.as_primitive::<Int64Type>();
            Arc::new(p.iter().map(|v| v.filter(|x| *x != 0)).collect::<Int64Array>())
        }
        DataType::Float64 => {
            let p = a.as_primitive::<Float64Type>();
            Arc::new(p.iter().map(|v| v.filter(|x| *x != 0.0)).collect::<Float64Array>())
        }
        _ => return Err(Fail::Unsupported),
    })
}

/// Null wherever either operand is null, else `value`.
fn fixed(value: bool, a: &Col, b: &Col, n: usize) -> VResult<BooleanArray> {
    let na = a.clone().into_array(n)?;
    let nb = b.clone().into_array(n)?;
    let nulls =
        arrow::buffer::NullBuffer::union(na.logical_nulls().as_ref(), nb.logical_nulls().as_ref());
    let vals = if value {
        arrow::buffer::BooleanBuffer::new_set(n)
    } else {
        arrow::buffer::BooleanBuffer::new_unset(n)
    };
    Ok(BooleanArray::new(vals, nulls))
}

impl VExpr {
    /// Evaluates over `input`.
    ///
    /// # Errors
    /// [`Fail::Unsupported`] when the row path must decide (see the module doc).
    pub fn eval(&self, input: &dyn Columns) -> VResult<Col> {
        let n = input.rows();
        Ok(match self {
            VExpr::Col(i, _) => Col::Array(Arc::clone(input.column(*i).ok_or(Fail::Unsupported)?)),
            VExpr::Lit(a, _) => Col::Scalar(Arc::clone(a)),
            VExpr::Null(t) => Col::Scalar(new_null_array(&t.data_type(), 1)),
            VExpr::Arith(op, a, b, t) => {
                let (l, r) = (a.eval(input)?, b.eval(input)?);
                let r = match op {
                    BinOp::Div | BinOp::Mod => r.map(zero_to_null)?,
                    _ => r,
                };
                let (ld, rd) = (l.datum(), r.datum());
                let out = match op {
                    BinOp::Add => numeric::add(ld.as_ref(), rd.as_ref())?,
                    BinOp::Sub => numeric::sub(ld.as_ref(), rd.as_ref())?,
                    BinOp::Mul => numeric::mul(ld.as_ref(), rd.as_ref())?,
                    BinOp::Div => numeric::div(ld.as_ref(), rd.as_ref())?,
                    _ => numeric::rem(ld.as_ref(), rd.as_ref())?,
                };
                if *t == VType::Real && has_nan(out.as_ref()) {
                    return Err(Fail::Unsupported);
                }
                scalar_if(matches!((&l, &r), (Col::Scalar(_), Col::Scalar(_))), out)
            }
            VExpr::Neg(x, _) => {
                let v = x.eval(input)?;
                let s = matches!(v, Col::Scalar(_));
                let a = v.into_array(if s { 1 } else { n })?;
                scalar_if(s, numeric::neg(&a)?)
            }
            VExpr::Cmp(op, a, b) => {
                // REAL arrays never hold NaN (checked where they are made).
                let (l, r) = (normalize(a.eval(input)?)?, normalize(b.eval(input)?)?);
                let both = matches!((&l, &r), (Col::Scalar(_), Col::Scalar(_)));
                let (ld, rd) = (l.datum(), r.datum());
                let (ld, rd) = (ld.as_ref(), rd.as_ref());
                let out = match op {
                    BinOp::Eq => cmp::eq(ld, rd)?,
                    BinOp::NotEq => cmp::neq(ld, rd)?,
                    BinOp::Lt => cmp::lt(ld, rd)?,
                    BinOp::LtEq => cmp::lt_eq(ld, rd)?,
                    BinOp::Gt => cmp::gt(ld, rd)?,
                    BinOp::GtEq => cmp::gt_eq(ld, rd)?,
                    BinOp::Is => cmp::not_distinct(ld, rd)?,
                    _ => cmp::distinct(ld, rd)?,
                };
                scalar_if(both, Arc::new(out))
            }
            VExpr::ClassCmp(value, a, b) => {
                let (l, r) = (a.eval(input)?, b.eval(input)?);
                Col::Array(Arc::new(fixed(*value, &l, &r, n)?))
            }
            VExpr::ClassIs(negated, a, b) => {
                let (l, r) = (a.eval(input)?, b.eval(input)?);
                let (l, r) = (l.into_array(n)?, r.into_array(n)?);
                let both =
                    boolean::and(&arrow::compute::is_null(&l)?, &arrow::compute::is_null(&r)?)?;
                Col::Array(Arc::new(if *negated { boolean::not(&both)? } else { both }))
            }
            VExpr::And(a, b) => {
                let (l, r) = (bool_array(a.eval(input)?, n)?, bool_array(b.eval(input)?, n)?);
                Col::Array(Arc::new(boolean::and_kleene(&l, &r)?))
            }
            VExpr::Or(a, b) => {
                let (l, r) = (bool_array(a.eval(input)?, n)?, bool_array(b.eval(input)?, n)?);
                Col::Array(Arc::new(boolean::or_kleene(&l, &r)?))
            }
            VExpr::Not(x) => Col::Array(Arc::new(boolean::not(&bool_array(x.eval(input)?, n)?)?)),
            VExpr::IsNull(x, negated) => {
                let a = x.eval(input)?.into_array(n)?;
                let r = if *negated {
                    arrow::compute::is_not_null(&a)?
                } else {
                    arrow::compute::is_null(&a)?
                };
                Col::Array(Arc::new(r))
            }
            VExpr::Case(arms, else_, t) => {
                let dt = t.data_type();
                let mut acc: ArrayRef = match else_ {
                    Some(e) => cast_null(e.eval(input)?.into_array(n)?, &dt)?,
                    None => new_null_array(&dt, n),
                };
                for (c, v) in arms.iter().rev() {
                    let mask = bool_array(c.eval(input)?, n)?;
                    let mask =
                        if mask.null_count() > 0 { prep_null_mask_filter(&mask) } else { mask };
                    let v = cast_null(v.eval(input)?.into_array(n)?, &dt)?;
                    acc = zip(&mask, &v, &acc)?;
                }
                Col::Array(acc)
            }
            VExpr::ToReal(x) => x.eval(input)?.map(|a| Ok(cast(a, &DataType::Float64)?))?,
            VExpr::BoolToInt(x) => x.eval(input)?.map(|a| {
                if a.data_type() == &DataType::Null {
                    Ok(new_null_array(&DataType::Int64, a.len()))
                } else {
                    Ok(cast(a, &DataType::Int64)?)
                }
            })?,
            VExpr::RealToInt(x) => x.eval(input)?.map(|a| {
                let p = a.as_primitive_opt::<Float64Type>().ok_or(Fail::Unsupported)?;
                Ok(Arc::new(p.unary::<_, Int64Type>(real_to_int)) as ArrayRef)
            })?,
            VExpr::DateText(x) => x.eval(input)?.map(|a| Ok(cast(a, &DataType::Utf8)?))?,
            VExpr::DatePart(x, start) => {
                let start = *start;
                x.eval(input)?.map(|a| {
                    let d = a.as_primitive_opt::<Date32Type>().ok_or(Fail::Unsupported)?;
                    Ok(Arc::new(d.unary::<_, Int64Type>(|v| {
                        let (y, m, dd) = crate::dates::civil_from_days(i64::from(v));
                        match start {
                            1 => y,
                            6 => i64::from(m),
                            _ => i64::from(dd),
                        }
                    })) as ArrayRef)
                })?
            }
            VExpr::Substr(x, start, len) => {
                let (start, len) = (*start, *len);
                x.eval(input)?.map(|a| {
                    let s = a.as_string_opt::<i32>().ok_or(Fail::Unsupported)?;
                    Ok(Arc::new(super::like::substr(s, start, len)) as ArrayRef)
                })?
            }
            VExpr::Lookup(l) => l.eval(input)?,
            VExpr::Like(x, p, negated) => {
                let negated = *negated;
                x.eval(input)?.map(|a| {
                    let s = a.as_string_opt::<i32>().ok_or(Fail::Unsupported)?;
                    Ok(Arc::new(p.matches(s, negated)) as ArrayRef)
                })?
            }
            VExpr::ToText(x, t) => {
                let real = *t == VType::Real;
                x.eval(input)?.map(|a| {
                    if real {
                        let p = a.as_primitive_opt::<Float64Type>().ok_or(Fail::Unsupported)?;
                        Ok(Arc::new(p.iter().map(|v| v.map(format_real)).collect::<StringArray>())
                            as ArrayRef)
                    } else {
                        Ok(cast(a, &DataType::Utf8)?)
                    }
                })?
            }
        })
    }
}

fn scalar_if(scalar: bool, a: ArrayRef) -> Col {
    if scalar { Col::Scalar(a) } else { Col::Array(a) }
}

fn cast_null(a: ArrayRef, dt: &DataType) -> VResult<ArrayRef> {
    if a.data_type() == dt {
        Ok(a)
    } else if a.data_type() == &DataType::Null {
        Ok(new_null_array(dt, a.len()))
    } else {
        Err(Fail::Unsupported)
    }
}

impl VExpr {
    /// Calls `f` on every input column the expression reads.
    pub fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        match self {
            VExpr::Col(i, _) => f(*i),
            VExpr::Lit(..) | VExpr::Null(_) => {}
            VExpr::Arith(_, a, b, _)
            | VExpr::Cmp(_, a, b)
            | VExpr::ClassCmp(_, a, b)
            | VExpr::ClassIs(_, a, b)
            | VExpr::And(a, b)
            | VExpr::Or(a, b) => {
                a.visit_columns(f);
                b.visit_columns(f);
            }
            VExpr::Neg(x, _)
            | VExpr::Not(x)
            | VExpr::IsNull(x, _)
            | VExpr::ToReal(x)
            | VExpr::BoolToInt(x)
            | VExpr::RealToInt(x)
            | VExpr::DateText(x)
            | VExpr::DatePart(x, _)
            | VExpr::Substr(x, ..)
            | VExpr::Like(x, ..)
            | VExpr::ToText(x, _) => x.visit_columns(f),
            VExpr::Lookup(l) => l.visit_columns(f),
            VExpr::Case(arms, e, _) => {
                for (c, v) in arms {
                    c.visit_columns(f);
                    v.visit_columns(f);
                }
                if let Some(e) = e {
                    e.visit_columns(f);
                }
            }
        }
    }
}
