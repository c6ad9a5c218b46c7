//! The columnar fast path: plans of the analytic shapes run over Arrow
//! batches with Arrow's compute kernels, one scan batch per rayon task, and
//! fall back to the row executor for everything else.
//!
//! ```text
//!  Scan (projected columns, pushed predicates) ─ Filter ─ Project ─┬─ rows
//!        one batch per store segment, in parallel on rayon         ├─ Aggregate (partials merged)
//!                                                                  └─ Sort [+ Limit] (top-k)
//! ```
//!
//! A pipeline's source is a table scan, an inner equi-join of two or more
//! pipelines (module `join`, in the row path's join order unless the consumer
//! does not care) or a LEFT equi-join of two (module `outer`). DECIMAL columns are
//! read as the row path reads them (REAL, or INTEGER for scale 0) straight
//! from their integers, DATE columns stay day numbers for comparisons and
//! EXTRACT ([`vexpr::VType::Date`]). Subqueries are resolved before
//! compilation ([`subquery`]: uncorrelated ones run once, correlated EXISTS
//! and scalar aggregates keyed by equalities are decorrelated).
//!
//! A plan node takes this path when its whole subtree is such a pipeline and
//! every expression compiles into the vectorized subset of [`vexpr`]. Results
//! are those of the row path (the corpus checks it with
//! `LLKV_NATIVE_COLUMNAR=always`): each column holds one SQLite storage class,
//! and whatever would leave that model (an integer overflow turning into a
//! REAL, a NaN, an integer sum that might overflow on some prefix) makes the
//! run give up and the row path answer instead. One difference remains: a sum
//! of REALs is added up per batch and then across batches, so its last bits
//! can differ from the row path's row-by-row sum. A SUM / TOTAL / AVG of a
//! bare DECIMAL column that nothing else reads is taken over the column's
//! unscaled integers, exactly, and rounded to a REAL once (no per-value
//! conversion), so it too can differ from the row path in the last bits.
//!
//! `LLKV_NATIVE_COLUMNAR`: `off` disables the path, `always` uses it for any
//! table size; by default it is used for tables of at least
//! [`AUTO_MIN_ROWS`] rows.

mod accum;
mod agg;
mod groups;
mod hash;
mod join;
mod like;
mod outer;
pub mod subquery;
mod topk;
pub mod vexpr;

use crate::convert::array_values;
use crate::exec::ExecCtx;
use crate::expr::Expr;
use crate::plan::Plan;
use crate::value::{Row, parse_exact_numeric};
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow::compute::{FilterBuilder, cast, prep_null_mask_filter};
use arrow::datatypes::DataType;
use llkv_mvcc::TableHandle;
use llkv_sql::SqlResult;
use llkv_store::{Predicate, ScanRequest};
use rayon::prelude::*;
use std::sync::{Arc, OnceLock};
use vexpr::{Columns, Fail, VExpr, VResult, VType, as_value, class, compile};

/// Tables with fewer rows than this stay on the row path (in `auto` mode).
pub const AUTO_MIN_ROWS: u64 = 4096;

/// When the columnar path is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnarMode {
    /// Never.
    Off,
    /// For tables of at least [`AUTO_MIN_ROWS`] rows.
    Auto,
    /// Whenever the plan allows (for testing it on small tables).
    Always,
}

static OVERRIDE: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

impl ColumnarMode {
    /// The mode for new statements: the one set by [`ColumnarMode::set`], else
    /// `LLKV_NATIVE_COLUMNAR` (read once), else `Auto`.
    pub fn from_env() -> ColumnarMode {
        match OVERRIDE.load(std::sync::atomic::Ordering::Relaxed) {
            1 => return ColumnarMode::Off,
            2 => return ColumnarMode::Auto,
            3 => return ColumnarMode::Always,
            _ => {}
        }
        static MODE: OnceLock<ColumnarMode> = OnceLock::new();
        *MODE.get_or_init(|| match std::env::var("LLKV_NATIVE_COLUMNAR").as_deref() {
            Ok("off") | Ok("0") => ColumnarMode::Off,
            Ok("always") | Ok("force") => ColumnarMode::Always,
            _ => ColumnarMode::Auto,
        })
    }

    /// Sets the mode for the whole process (`None`: back to the environment's).
    /// For tests and benchmarks that compare the two paths.
    pub fn set(mode: Option<ColumnarMode>) {
        let v = match mode {
            None => 0,
            Some(ColumnarMode::Off) => 1,
            Some(ColumnarMode::Auto) => 2,
            Some(ColumnarMode::Always) => 3,
        };
        OVERRIDE.store(v, std::sync::atomic::Ordering::Relaxed);
    }
}

static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many plan nodes the columnar path has answered in this process (for
/// tests and diagnostics).
pub fn runs() -> u64 {
    RUNS.load(std::sync::atomic::Ordering::Relaxed)
}

/// How many aggregates were answered from stored DECIMAL codes without
/// reading the values (see `agg::from_codes`), for tests and diagnostics.
pub fn code_sum_runs() -> u64 {
    agg::CODE_SUM_RUNS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `plan` on the columnar path if it can; `None` means "use the rows path".
///
/// # Errors
/// Storage errors (anything else falls back).
pub fn try_execute(plan: &Plan, ctx: &ExecCtx<'_>) -> SqlResult<Option<Vec<Row>>> {
    if ctx.columnar == ColumnarMode::Off {
        return Ok(None);
    }
    // Subqueries resolved for the compilation below (dropped at return).
    let _resolved = subquery::prepare(plan, ctx);
    let r = match plan {
        Plan::Aggregate { input, groups, aggs } => agg::run(input, groups, aggs, ctx),
        Plan::Filter { .. } | Plan::Project { .. } | Plan::MultiJoin { .. } | Plan::Join { .. } => {
            rows(plan, ctx)
        }
        Plan::Sort { .. } | Plan::Limit { .. } => topk::run(plan, ctx),
        _ => Ok(None),
    };
    match r {
        Ok(Some(x)) => {
            RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(Some(x))
        }
        Ok(None) => Ok(None),
        Err(Fail::Unsupported) => Ok(None),
        Err(Fail::Sql(e)) => Err(e),
    }
}

/// A batch of the pipeline: columns that were not needed are `None`.
#[derive(Debug, Clone)]
pub struct Batch {
    cols: Vec<Option<ArrayRef>>,
    rows: usize,
}

impl Columns for Batch {
    fn rows(&self) -> usize {
        self.rows
    }

    fn column(&self, i: usize) -> Option<&ArrayRef> {
        self.cols.get(i).and_then(Option::as_ref)
    }
}

impl Batch {
    fn filter(self, mask: &BooleanArray) -> VResult<Batch> {
        let mask = if mask.null_count() > 0 { prep_null_mask_filter(mask) } else { mask.clone() };
        let kept = mask.true_count();
        if kept == self.rows {
            return Ok(self);
        }
        let f = FilterBuilder::new(&mask).optimize().build();
        let cols = self
            .cols
            .iter()
            .map(|c| c.as_ref().map(|a| f.filter(a.as_ref())).transpose())
            .collect::<Result<_, _>>()?;
        Ok(Batch { cols, rows: kept })
    }

    /// The batch's rows (unread columns as NULL).
    fn to_rows(&self) -> VResult<Vec<Row>> {
        let cols: Vec<Option<Vec<crate::value::Value>>> = self
            .cols
            .iter()
            .map(|c| c.as_ref().map(|a| array_values(a.as_ref())).transpose())
            .collect::<SqlResult<_>>()?;
        let mut rows: Vec<Row> = (0..self.rows).map(|_| Vec::with_capacity(cols.len())).collect();
        for col in cols {
            match col {
                Some(vals) => {
                    for (r, v) in rows.iter_mut().zip(vals) {
                        r.push(v);
                    }
                }
                None => rows.iter_mut().for_each(|r| r.push(crate::value::Value::Null)),
            }
        }
        Ok(rows)
    }
}

/// The storage class a table column of type `t` is read as (the row path's
/// conversion in [`crate::convert::array_values`]).
fn class_of(t: &DataType) -> Option<VType> {
    use DataType as D;
    Some(match t {
        D::Null => VType::Null,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 => VType::Int,
        D::Boolean => VType::Int,
        D::Float32 | D::Float64 => VType::Real,
        D::Utf8 | D::LargeUtf8 | D::Utf8View => VType::Text,
        D::Date32 => VType::Date,
        D::Date64 | D::Timestamp(..) => VType::Text,
        D::Decimal128(_, 0) => VType::Int,
        D::Decimal128(..) => VType::Real,
        _ => return None,
    })
}

/// A table column as an array of its class (see [`class_of`]).
fn convert(a: &ArrayRef) -> VResult<ArrayRef> {
    use DataType as D;
    Ok(match a.data_type() {
        D::Int64 | D::Utf8 | D::Null => Arc::clone(a),
        D::Float64 => {
            if vexpr::has_nan(a.as_ref()) {
                return Err(Fail::Unsupported);
            }
            Arc::clone(a)
        }
        D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16 | D::UInt32 | D::Boolean => {
            cast(a, &D::Int64)?
        }
        D::Float32 => {
            let f = cast(a, &D::Float64)?;
            if vexpr::has_nan(f.as_ref()) {
                return Err(Fail::Unsupported);
            }
            f
        }
        D::Date32 => {
            // Kept as days while every date reads as ten-character text.
            let d = a.as_primitive::<arrow::datatypes::Date32Type>();
            let range = crate::dates::CANONICAL_DAYS;
            if d.values().iter().any(|v| !range.contains(v)) {
                return Err(Fail::Unsupported);
            }
            Arc::clone(a)
        }
        D::LargeUtf8 | D::Utf8View | D::Date64 | D::Timestamp(..) => cast(a, &D::Utf8)?,
        D::Decimal128(_, scale) if (0..=18).contains(scale) => decimal(a, *scale)?,
        D::Decimal128(_, scale) => {
            // As the row path: through the decimal's text.
            let text = cast(a, &D::Utf8)?;
            let s = text.as_string::<i32>();
            if *scale == 0 {
                let mut out = Vec::with_capacity(s.len());
                for v in s.iter() {
                    out.push(match v {
                        None => None,
                        Some(t) => match parse_exact_numeric(t) {
                            Some(crate::value::Value::Int(i)) => Some(i),
                            _ => return Err(Fail::Unsupported),
                        },
                    });
                }
                Arc::new(Int64Array::from(out))
            } else {
                let mut out = Vec::with_capacity(s.len());
                for v in s.iter() {
                    out.push(match v {
                        None => None,
                        Some(t) => match parse_exact_numeric(t) {
                            Some(crate::value::Value::Real(r)) if !r.is_nan() => Some(r),
                            _ => return Err(Fail::Unsupported),
                        },
                    });
                }
                Arc::new(Float64Array::from(out))
            }
        }
        _ => return Err(Fail::Unsupported),
    })
}

/// A Decimal128 column as the row path reads it (through its text, see
/// [`crate::convert::array_values`]), computed from the unscaled integers:
/// scale 0 gives INTEGERs; otherwise the text has a decimal point and parses
/// as the REAL nearest to `v / 10^scale`, which is what the division of the
/// two exactly held doubles `v` and `10^scale` (`|v| <= 2^53`, scale <= 18)
/// rounds to. Anything larger falls back.
fn decimal(a: &ArrayRef, scale: i8) -> VResult<ArrayRef> {
    use arrow::datatypes::Decimal128Type;
    let d = a.as_primitive::<Decimal128Type>();
    let limit = 1i128 << 53;
    if d.values().iter().any(|v| v.unsigned_abs() > limit as u128) {
        return Err(Fail::Unsupported);
    }
    if scale == 0 {
        return Ok(Arc::new(d.unary::<_, arrow::datatypes::Int64Type>(|v| v as i64)));
    }
    // 10^scale <= 10^18 is an integer a double holds exactly.
    let p = 10i64.pow(u32::from(scale.unsigned_abs())) as f64;
    Ok(Arc::new(d.unary::<_, arrow::datatypes::Float64Type>(|v| v as f64 / p)))
}

/// A source batch, or the work that makes it (run in the parallel loop).
type Pending = Box<dyn FnOnce() -> VResult<Batch> + Send>;

/// One step of a pipeline.
#[derive(Debug, Clone)]
enum Step {
    /// Keep the rows where the predicate is true.
    Filter(VExpr),
    /// New columns (the input's width is kept for the column analysis).
    Project(Vec<VExpr>, usize),
}

/// Where a pipeline's batches come from.
#[derive(Debug, Clone)]
enum Source {
    /// A table scan (projected to the needed columns, predicates pushed).
    Scan { table: TableHandle, predicates: Vec<Predicate> },
    /// An inner equi-join of two pipelines.
    Join(Box<join::JoinSpec>),
    /// A LEFT OUTER equi-join of two pipelines.
    Outer(Box<outer::OuterSpec>),
}

/// (Scan | Join) → (Filter | Project)*.
#[derive(Debug, Clone)]
pub struct Pipeline {
    source: Source,
    steps: Vec<Step>,
    /// Classes of the output columns (`None`: not readable here).
    types: Vec<Option<VType>>,
    /// Source columns handed on in their stored type instead of their class
    /// (DECIMAL columns that only exact sums read, see `agg`); empty: none.
    raw: Vec<bool>,
}

/// A condition: truth of a value (TEXT is not supported).
fn compile_pred(e: &Expr, types: &[Option<VType>]) -> Option<VExpr> {
    let v = compile(e, types)?;
    match class(&v) {
        VType::Bool => Some(v),
        VType::Text => None,
        _ => compile(
            &Expr::Binary(
                crate::expr::BinOp::NotEq,
                Box::new(e.clone()),
                Box::new(Expr::Literal(crate::value::Value::Int(0))),
            ),
            types,
        ),
    }
}

impl Pipeline {
    /// The pipeline computing `plan`, if it is one.
    fn compile(plan: &Plan) -> Option<Pipeline> {
        match plan {
            Plan::Scan { table, predicates } => Some(Pipeline {
                source: Source::Scan { table: table.clone(), predicates: predicates.clone() },
                steps: Vec::new(),
                types: table.meta.columns.iter().map(|c| class_of(&c.data_type)).collect(),
                raw: Vec::new(),
            }),
            Plan::Filter { input, predicate } => {
                let mut p = Pipeline::compile(input)?;
                let e = compile_pred(predicate, &p.types)?;
                p.steps.push(Step::Filter(e));
                Some(p)
            }
            Plan::Project { input, exprs } => {
                let mut p = Pipeline::compile(input)?;
                let es: Vec<VExpr> = exprs
                    .iter()
                    .map(|e| compile(e, &p.types).map(as_value))
                    .collect::<Option<_>>()?;
                let w = p.types.len();
                p.types = es.iter().map(|e| Some(class(e))).collect();
                p.steps.push(Step::Project(es, w));
                Some(p)
            }
            Plan::MultiJoin { rels, conjuncts, width } => join::compile(rels, conjuncts, *width),
            Plan::Join { left, right, left_width, right_width, kind, on } => {
                outer::compile(left, right, *left_width, *right_width, *kind, on.as_ref())
            }
            _ => None,
        }
    }

    /// Lets a join source produce its rows in any order (for consumers whose
    /// result does not depend on it).
    fn set_unordered(&mut self) {
        if let Source::Join(j) = &mut self.source {
            j.set_unordered();
        }
    }

    /// Compiles `e` over the pipeline's output.
    fn expr(&self, e: &Expr) -> VResult<VExpr> {
        compile(e, &self.types).map(as_value).ok_or(Fail::Unsupported)
    }

    /// Runs the pipeline, calling `sink` on each output batch (in parallel)
    /// and returning its results in scan order; `None` when the table is
    /// below the `auto` threshold. `needed` marks the output columns the
    /// sink reads.
    /// The source's batches with the `need`ed columns, converted lazily (in
    /// the parallel loop); `None` below the `auto` threshold.
    fn source_batches(
        &self,
        ctx: &ExecCtx<'_>,
        need: &[bool],
        force: bool,
    ) -> VResult<Option<Vec<Pending>>> {
        match &self.source {
            Source::Join(spec) => spec.run(ctx, need),
            Source::Outer(spec) => spec.run(ctx, need),
            Source::Scan { table, predicates } => {
                let width = table.meta.columns.len();
                let projection: Vec<usize> =
                    (0..width).filter(|&c| need.get(c) == Some(&true)).collect();
                let req = ScanRequest {
                    projection: Some(projection.clone()),
                    predicates: predicates.clone(),
                    ..Default::default()
                };
                let scan = ctx.txn.prepare_scan(table, &req).map_err(llkv_sql::SqlError::from)?;
                if !force
                    && ctx.columnar == ColumnarMode::Auto
                    && scan.estimated_rows() < AUTO_MIN_ROWS
                {
                    return Ok(None);
                }
                // Each segment is read in the parallel loop, by the task that
                // then runs the steps and the sink on it: the chunks a read
                // copies (widened DECIMALs) are still in the cache when used.
                let scan = Arc::new(scan);
                let projection = Arc::new(projection);
                let into_batch = move |rb: &RecordBatch, projection: &[usize]| {
                    let mut b = Batch { cols: vec![None; width], rows: rb.num_rows() };
                    for (k, &c) in projection.iter().enumerate() {
                        b.cols[c] = Some(Arc::clone(rb.column(k)));
                    }
                    b
                };
                let mut pending: Vec<Pending> = (0..scan.segment_count())
                    .map(|i| {
                        let (scan, projection) = (Arc::clone(&scan), Arc::clone(&projection));
                        Box::new(move || {
                            let rb = scan.read_segment(i).map_err(llkv_sql::SqlError::from)?;
                            let rb = rb.unwrap_or_else(|| RecordBatch::new_empty(scan.schema()));
                            Ok(into_batch(&rb, &projection))
                        }) as Pending
                    })
                    .collect();
                for rb in scan.local_batches() {
                    let b = into_batch(rb, &projection);
                    pending.push(Box::new(move || Ok(b)));
                }
                Ok(Some(pending))
            }
        }
    }

    fn run<T: Send>(
        &self,
        ctx: &ExecCtx<'_>,
        needed: &[bool],
        sink: &(dyn Fn(usize, Batch) -> VResult<T> + Sync),
    ) -> VResult<Option<Vec<T>>> {
        self.run_with(ctx, needed, false, sink)
    }

    /// Which columns the source must read and each step must produce for
    /// a sink reading `needed`.
    fn needs(&self, needed: &[bool]) -> (Vec<bool>, Vec<Vec<bool>>) {
        let mut need = needed.to_vec();
        let mut step_needs = vec![Vec::new(); self.steps.len()];
        for (i, s) in self.steps.iter().enumerate().rev() {
            step_needs[i] = need.clone();
            match s {
                Step::Filter(e) => e.visit_columns(&mut |c| mark(&mut need, c)),
                Step::Project(es, w) => {
                    let mut nin = vec![false; *w];
                    for (j, e) in es.iter().enumerate() {
                        if need.get(j).copied().unwrap_or(false) {
                            e.visit_columns(&mut |c| mark(&mut nin, c));
                        }
                    }
                    need = nin;
                }
            }
        }
        (need, step_needs)
    }

    /// One source batch through the steps.
    fn process(&self, b: Pending, step_needs: &[Vec<bool>]) -> VResult<Batch> {
        let mut b = b()?;
        for (i, c) in b.cols.iter_mut().enumerate() {
            if let Some(c) = c
                && self.raw.get(i) != Some(&true)
            {
                *c = convert(c)?;
            }
        }
        for (s, sn) in self.steps.iter().zip(step_needs) {
            b = match s {
                Step::Filter(e) => {
                    let m = e.eval(&b)?.into_array(b.rows)?;
                    let m = m.as_boolean_opt().ok_or(Fail::Unsupported)?.clone();
                    b.filter(&m)?
                }
                Step::Project(es, _) => {
                    let mut cols = Vec::with_capacity(es.len());
                    for (j, e) in es.iter().enumerate() {
                        cols.push(if sn.get(j) == Some(&true) {
                            Some(e.eval(&b)?.into_array(b.rows)?)
                        } else {
                            None
                        });
                    }
                    Batch { cols, rows: b.rows }
                }
            };
        }
        Ok(b)
    }

    /// [`Pipeline::run`]; `force` ignores the `auto` threshold.
    fn run_with<T: Send>(
        &self,
        ctx: &ExecCtx<'_>,
        needed: &[bool],
        force: bool,
        sink: &(dyn Fn(usize, Batch) -> VResult<T> + Sync),
    ) -> VResult<Option<Vec<T>>> {
        let (need, step_needs) = self.needs(needed);
        let Some(inputs) = self.source_batches(ctx, &need, force)? else { return Ok(None) };
        let cancel = ctx.cancel.clone();
        let out = inputs
            .into_par_iter()
            .enumerate()
            .map(|(bi, b)| {
                // Ctrl-C stops the statement between batches.
                cancel.check()?;
                sink(bi, self.process(b, &step_needs)?)
            })
            .collect::<VResult<Vec<T>>>()?;
        Ok(Some(out))
    }

    /// Runs the pipeline folding its output batches into accumulators (one
    /// per rayon task, from `init`) with `step`, and `merge`s them in scan
    /// order (`merge(a, b)`: `b` holds later rows); `None` below the `auto`
    /// threshold.
    fn fold<A: Send>(
        &self,
        ctx: &ExecCtx<'_>,
        needed: &[bool],
        init: &(dyn Fn() -> A + Sync),
        step: &(dyn Fn(A, Batch) -> VResult<A> + Sync),
        merge: &(dyn Fn(A, A) -> VResult<A> + Sync),
    ) -> VResult<Option<A>> {
        let (need, step_needs) = self.needs(needed);
        let Some(inputs) = self.source_batches(ctx, &need, false)? else { return Ok(None) };
        let cancel = ctx.cancel.clone();
        // One accumulator per thread: merging costs as much as folding.
        let per_task = inputs.len().div_ceil(rayon::current_num_threads().max(1)).max(1);
        let out = inputs
            .into_par_iter()
            .with_min_len(per_task)
            .map(|b| -> VResult<Batch> {
                cancel.check()?;
                self.process(b, &step_needs)
            })
            .try_fold(init, |acc, b| step(acc, b?))
            .try_reduce_with(merge)
            .transpose()?;
        Ok(Some(out.unwrap_or_else(init)))
    }
}

fn mark(v: &mut [bool], c: usize) {
    if let Some(x) = v.get_mut(c) {
        *x = true;
    }
}

/// Filter / Project pipelines returning rows.
fn rows(plan: &Plan, ctx: &ExecCtx<'_>) -> VResult<Option<Vec<Row>>> {
    let Some(p) = Pipeline::compile(plan) else { return Ok(None) };
    if p.types.iter().any(Option::is_none) {
        return Ok(None);
    }
    let needed = vec![true; p.types.len()];
    let parts = p.run(ctx, &needed, &|_, b| b.to_rows())?;
    Ok(parts.map(|ps| ps.into_iter().flatten().collect()))
}
