//! Aggregation over pipeline batches: partial results — groups in
//! first-seen order, typed accumulators — are built in parallel and merged in
//! scan order, so "first value" semantics (the key a group shows, bare
//! columns) are those of the row path. Keys of INTEGER, REAL and TEXT
//! columns go through a [`GroupTable`] (hashed a column at a time, one
//! partial per rayon task, states in [`Acc`] vectors indexed by group);
//! other keys through per-batch maps of [`GroupKey`]s. Results follow
//! [`crate::exec::AggregateExecutor`]'s SQLite rules; an integer sum whose
//! absolute values add up past `i64::MAX` (where the row path's running sum
//! could have turned REAL on some prefix) falls back to the row path.

use super::accum::Acc;
use super::groups::GroupTable;
use super::hash::FxMap;
use super::vexpr::{Fail, VExpr, VResult, VType, class};
use super::{Batch, Pipeline};
use crate::convert::array_values;
use crate::exec::ExecCtx;
use crate::expr::{AggCall, AggFunc, Expr};
use crate::value::{GroupKey, Row, Value};
use arrow::array::Decimal128Array;
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int64Type};
use llkv_sql::SqlError;
use llkv_store::{DecimalSum, ScanRequest, SegmentSums};
use rayon::prelude::*;
use std::hash::Hash;

/// Largest integer a double holds exactly.
const EXACT_F64: i128 = 1 << 53;

#[derive(Debug, Clone)]
pub(super) enum St {
    Count(i64),
    ISum {
        sum: i128,
        abs: i128,
        n: i64,
    },
    FSum {
        sum: f64,
        n: i64,
    },
    /// A REAL sum of a DECIMAL column read in its stored type: the exact sum
    /// of the unscaled integers (see [`decimal_sum`]).
    DSum {
        sum: i128,
        n: i64,
        scale: u8,
    },
    IMin(Option<i64>),
    FMin(Option<f64>),
    TMin(Option<String>),
    Any(Option<Value>),
    Nothing,
}

pub(super) struct Spec {
    pub(super) func: AggFunc,
    arg: Option<VExpr>,
    class: VType,
    /// The scale of the DECIMAL column the argument reads unconverted (see
    /// [`raw_decimals`]).
    decimal: Option<u8>,
}

impl Spec {
    fn new(a: &AggCall, p: &Pipeline) -> VResult<Spec> {
        if a.distinct || a.func == AggFunc::GroupConcat {
            return Err(Fail::Unsupported);
        }
        let arg = a.arg.as_ref().map(|e| p.expr(e)).transpose()?;
        let class = arg.as_ref().map_or(VType::Null, class);
        let ok = match a.func {
            AggFunc::Sum | AggFunc::Total | AggFunc::Avg => class != VType::Text,
            _ => true,
        };
        if !ok {
            return Err(Fail::Unsupported);
        }
        Ok(Spec { func: a.func, arg, class, decimal: None })
    }

    pub(super) fn init(&self) -> St {
        use AggFunc as F;
        if let (F::Sum | F::Total | F::Avg, Some(scale)) = (self.func, self.decimal) {
            return St::DSum { sum: 0, n: 0, scale };
        }
        match (self.func, self.class) {
            (F::CountStar | F::Count, _) => St::Count(0),
            (F::AnyValue, _) => St::Any(None),
            (_, VType::Null) => St::Nothing,
            (F::Sum | F::Total | F::Avg, VType::Int) => St::ISum { sum: 0, abs: 0, n: 0 },
            (F::Sum | F::Total | F::Avg, _) => St::FSum { sum: 0.0, n: 0 },
            (_, VType::Int) => St::IMin(None),
            (_, VType::Real) => St::FMin(None),
            _ => St::TMin(None),
        }
    }

    /// Whether the result is the same whatever the order of the rows (up to
    /// the last bits of a REAL sum, as everywhere on this path): not so for
    /// the first value of a group, nor for a REAL min/max (`0.0` / `-0.0`).
    fn order_free(&self) -> bool {
        use AggFunc as F;
        match self.func {
            F::CountStar | F::Count | F::Sum | F::Total | F::Avg => true,
            F::Min | F::Max => matches!(self.class, VType::Int | VType::Text),
            _ => false,
        }
    }

    pub(super) fn is_max(&self) -> bool {
        self.func == AggFunc::Max
    }
}

/// Folds row `i` of `a` into `st`.
pub(super) fn update(st: &mut St, spec: &Spec, a: Option<&ArrayRef>, i: usize) {
    let valid = a.is_some_and(|a| a.is_valid(i));
    match st {
        St::Count(n) => {
            if spec.func == AggFunc::CountStar || valid {
                *n += 1;
            }
        }
        St::Any(v) => {
            if v.is_none() {
                *v = Some(a.and_then(|a| value_at(a, i)).unwrap_or(Value::Null));
            }
        }
        St::Nothing => {}
        _ if !valid => {}
        St::ISum { sum, abs, n } => {
            if let Some(x) = a.and_then(|a| a.as_primitive_opt::<Int64Type>()) {
                let v = x.value(i);
                *sum += i128::from(v);
                *abs += i128::from(v.unsigned_abs());
                *n += 1;
            }
        }
        St::FSum { sum, n } => {
            if let Some(x) = a.and_then(|a| a.as_primitive_opt::<Float64Type>()) {
                *sum += x.value(i);
                *n += 1;
            }
        }
        St::DSum { sum, n, .. } => {
            if let Some(x) = a.and_then(|a| a.as_primitive_opt::<Decimal128Type>()) {
                *sum += x.value(i);
                *n += 1;
            }
        }
        St::IMin(cur) => {
            if let Some(x) = a.and_then(|a| a.as_primitive_opt::<Int64Type>()) {
                let v = x.value(i);
                if cur.is_none_or(|c| if spec.is_max() { v > c } else { v < c }) {
                    *cur = Some(v);
                }
            }
        }
        St::FMin(cur) => {
            if let Some(x) = a.and_then(|a| a.as_primitive_opt::<Float64Type>()) {
                let v = x.value(i);
                if cur.is_none_or(|c| if spec.is_max() { v > c } else { v < c }) {
                    *cur = Some(v);
                }
            }
        }
        St::TMin(cur) => {
            if let Some(x) = a.and_then(|a| a.as_string_opt::<i32>()) {
                let v = x.value(i);
                let better = match cur {
                    None => true,
                    Some(c) => {
                        let o = v.as_bytes().cmp(c.as_bytes());
                        if spec.is_max() { o.is_gt() } else { o.is_lt() }
                    }
                };
                if better {
                    *cur = Some(v.to_string());
                }
            }
        }
    }
}

/// Folds a later partial's state into an earlier one's.
pub(super) fn merge(into: &mut St, from: St, spec: &Spec) {
    match (into, from) {
        (St::Count(a), St::Count(b)) => *a += b,
        (St::ISum { sum, abs, n }, St::ISum { sum: s2, abs: a2, n: n2 }) => {
            *sum += s2;
            *abs += a2;
            *n += n2;
        }
        (St::FSum { sum, n }, St::FSum { sum: s2, n: n2 }) => {
            *sum += s2;
            *n += n2;
        }
        (St::DSum { sum, n, .. }, St::DSum { sum: s2, n: n2, .. }) => {
            *sum += s2;
            *n += n2;
        }
        (St::IMin(a), St::IMin(Some(v)))
            if a.is_none_or(|c| if spec.is_max() { v > c } else { v < c }) =>
        {
            *a = Some(v);
        }
        (St::FMin(a), St::FMin(Some(v)))
            if a.is_none_or(|c| if spec.is_max() { v > c } else { v < c }) =>
        {
            *a = Some(v);
        }
        (St::TMin(a), St::TMin(Some(v))) => {
            let better = match a {
                None => true,
                Some(c) => {
                    let o = v.as_bytes().cmp(c.as_bytes());
                    if spec.is_max() { o.is_gt() } else { o.is_lt() }
                }
            };
            if better {
                *a = Some(v);
            }
        }
        (St::Any(a), St::Any(b)) if a.is_none() => *a = b,
        _ => {}
    }
}

pub(super) fn finish(st: St, func: AggFunc) -> VResult<Value> {
    use AggFunc as F;
    Ok(match st {
        St::Count(n) => Value::Int(n),
        St::Any(v) => v.unwrap_or(Value::Null),
        St::Nothing => match func {
            F::Total => Value::Real(0.0),
            _ => Value::Null,
        },
        St::ISum { sum, abs, n } => {
            let exact_int = abs <= i128::from(i64::MAX);
            match func {
                F::Sum if n == 0 => Value::Null,
                F::Sum if exact_int => {
                    Value::Int(i64::try_from(sum).map_err(|_| Fail::Unsupported)?)
                }
                F::Total if abs <= EXACT_F64 => Value::Real(sum as f64),
                F::Avg if n == 0 => Value::Null,
                F::Avg if abs <= EXACT_F64 => Value::Real(sum as f64 / n as f64),
                _ => return Err(Fail::Unsupported),
            }
        }
        St::FSum { sum, n } => match func {
            F::Total => Value::Real(sum),
            _ if n == 0 => Value::Null,
            F::Avg => Value::Real(sum / n as f64),
            _ => Value::Real(sum),
        },
        St::DSum { sum, n, scale } => {
            let real = decimal_to_f64(sum, scale)?;
            match func {
                F::Total => Value::Real(real),
                _ if n == 0 => Value::Null,
                F::Avg => Value::Real(real / n as f64),
                _ => Value::Real(real),
            }
        }
        St::IMin(v) => v.map_or(Value::Null, Value::Int),
        St::FMin(v) => v.map_or(Value::Null, Value::Real),
        St::TMin(v) => v.map_or(Value::Null, Value::Text),
    })
}

fn value_at(a: &ArrayRef, i: usize) -> Option<Value> {
    if a.is_null(i) {
        return Some(Value::Null);
    }
    if let Some(x) = a.as_primitive_opt::<Int64Type>() {
        return Some(Value::Int(x.value(i)));
    }
    if let Some(x) = a.as_primitive_opt::<Float64Type>() {
        return Some(Value::Real(x.value(i)));
    }
    if let Some(x) = a.as_string_opt::<i32>() {
        return Some(Value::Text(x.value(i).to_string()));
    }
    array_values(a.slice(i, 1).as_ref()).ok().and_then(|v| v.into_iter().next())
}

/// Folds the rows of `a` into the states of their groups (`gids[i]`), with
/// one typed loop per aggregate.
fn update_groups(st: &mut [St], spec: &Spec, a: Option<&ArrayRef>, gids: &[usize]) {
    let valid = |i: usize| a.is_some_and(|a| a.is_valid(i));
    match (spec.init(), a) {
        (St::Count(_), _) if spec.func == AggFunc::CountStar => {
            for &g in gids {
                if let Some(St::Count(n)) = st.get_mut(g) {
                    *n += 1;
                }
            }
        }
        (St::Count(_), _) => {
            for (i, &g) in gids.iter().enumerate() {
                if valid(i)
                    && let Some(St::Count(n)) = st.get_mut(g)
                {
                    *n += 1;
                }
            }
        }
        (St::ISum { .. }, Some(a)) if a.as_primitive_opt::<Int64Type>().is_some() => {
            let x = a.as_primitive::<Int64Type>();
            for (i, &g) in gids.iter().enumerate() {
                if x.is_valid(i)
                    && let Some(St::ISum { sum, abs, n }) = st.get_mut(g)
                {
                    let v = x.value(i);
                    *sum += i128::from(v);
                    *abs += i128::from(v.unsigned_abs());
                    *n += 1;
                }
            }
        }
        (St::FSum { .. }, Some(a)) if a.as_primitive_opt::<Float64Type>().is_some() => {
            let x = a.as_primitive::<Float64Type>();
            for (i, &g) in gids.iter().enumerate() {
                if x.is_valid(i)
                    && let Some(St::FSum { sum, n }) = st.get_mut(g)
                {
                    *sum += x.value(i);
                    *n += 1;
                }
            }
        }
        _ => {
            for (i, &g) in gids.iter().enumerate() {
                if let Some(s) = st.get_mut(g) {
                    update(s, spec, a, i);
                }
            }
        }
    }
}

/// One batch's groups: key per group (first-seen order), their values, and
/// states as `states[agg][group]`.
struct Partial<K> {
    index: FxMap<K, u32>,
    keys: Vec<K>,
    values: Vec<Row>,
    states: Vec<Vec<St>>,
}

impl<K: Hash + Eq + Clone> Partial<K> {
    fn new(n_aggs: usize) -> Self {
        Partial {
            index: FxMap::default(),
            keys: Vec::new(),
            values: Vec::new(),
            states: (0..n_aggs).map(|_| Vec::new()).collect(),
        }
    }

    fn group(&mut self, k: K, values: impl FnOnce() -> Row, specs: &[Spec]) -> u32 {
        if let Some(&g) = self.index.get(&k) {
            return g;
        }
        let g = self.keys.len() as u32;
        self.index.insert(k.clone(), g);
        self.keys.push(k);
        self.values.push(values());
        for (s, spec) in self.states.iter_mut().zip(specs) {
            s.push(spec.init());
        }
        g
    }

    fn absorb(&mut self, other: Partial<K>, specs: &[Spec]) {
        let mut states: Vec<std::vec::IntoIter<St>> =
            other.states.into_iter().map(Vec::into_iter).collect();
        for (k, v) in other.keys.into_iter().zip(other.values) {
            let g = self.group(k, || v, specs) as usize;
            for ((mine, theirs), spec) in self.states.iter_mut().zip(states.iter_mut()).zip(specs) {
                if let (Some(into), Some(from)) = (mine.get_mut(g), theirs.next()) {
                    merge(into, from, spec);
                }
            }
        }
    }
}

/// Key extraction for one batch.
trait KeyOf: Hash + Eq + Clone + Send {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Self>>;
}

impl KeyOf for Vec<GroupKey> {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Self>> {
        let cols: Vec<Vec<Value>> =
            keys.iter().map(|a| array_values(a.as_ref())).collect::<Result<_, _>>()?;
        let n = keys.first().map_or(0, |a| a.len());
        Ok((0..n).map(|i| cols.iter().map(|c| c[i].group_key()).collect()).collect())
    }
}

fn partial<K: KeyOf>(b: &Batch, keys: &[VExpr], specs: &[Spec]) -> VResult<Partial<K>> {
    let n = b.rows;
    let key_arrays: Vec<ArrayRef> =
        keys.iter().map(|k| k.eval(b)?.into_array(n)).collect::<VResult<_>>()?;
    let args: Vec<Option<ArrayRef>> = specs
        .iter()
        .map(|s| s.arg.as_ref().map(|e| e.eval(b)?.into_array(n)).transpose())
        .collect::<VResult<_>>()?;
    let mut p = Partial::<K>::new(specs.len());
    let ks = K::build(&key_arrays)?;
    let mut gids = Vec::with_capacity(n);
    for (i, k) in ks.into_iter().enumerate() {
        let g = p.group(
            k,
            || key_arrays.iter().map(|a| value_at(a, i).unwrap_or(Value::Null)).collect(),
            specs,
        );
        gids.push(g as usize);
    }
    for ((st, spec), a) in p.states.iter_mut().zip(specs).zip(&args) {
        update_groups(st, spec, a.as_ref(), &gids);
    }
    Ok(p)
}

/// The single-group case: one state per aggregate over whole batches.
fn fold_all(b: &Batch, specs: &[Spec]) -> VResult<Vec<St>> {
    let n = b.rows;
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let a = spec.arg.as_ref().map(|e| e.eval(b)?.into_array(n)).transpose()?;
        let mut st = spec.init();
        match (&mut st, &a) {
            (St::Count(c), _) if spec.func == AggFunc::CountStar => *c = n as i64,
            (St::Count(c), Some(a)) => *c = (a.len() - a.logical_null_count()) as i64,
            (St::ISum { sum, abs, n: cnt }, Some(a)) => {
                let x = a.as_primitive_opt::<Int64Type>().ok_or(Fail::Unsupported)?;
                let (mut s, mut ab) = (0i128, 0i128);
                if x.null_count() == 0 {
                    for &v in x.values().iter() {
                        s += i128::from(v);
                        ab += i128::from(v.unsigned_abs());
                    }
                } else {
                    for v in x.iter().flatten() {
                        s += i128::from(v);
                        ab += i128::from(v.unsigned_abs());
                    }
                }
                *sum = s;
                *abs = ab;
                *cnt = (x.len() - x.null_count()) as i64;
            }
            (St::IMin(cur), Some(a)) => {
                let x = a.as_primitive_opt::<Int64Type>().ok_or(Fail::Unsupported)?;
                *cur = if spec.is_max() { arrow::compute::max(x) } else { arrow::compute::min(x) };
            }
            (St::FMin(cur), Some(a)) => {
                // Strict comparisons: the first of equal values (0.0 / -0.0) stays.
                let x = a.as_primitive_opt::<Float64Type>().ok_or(Fail::Unsupported)?;
                let max = spec.is_max();
                let mut best: Option<f64> = None;
                for v in x.iter().flatten() {
                    if best.is_none_or(|c| if max { v > c } else { v < c }) {
                        best = Some(v);
                    }
                }
                *cur = best;
            }
            (St::TMin(cur), Some(a)) => {
                let x = a.as_string_opt::<i32>().ok_or(Fail::Unsupported)?;
                let v = if spec.is_max() {
                    arrow::compute::max_string(x)
                } else {
                    arrow::compute::min_string(x)
                };
                *cur = v.map(str::to_string);
            }
            (St::DSum { sum, n: cnt, .. }, Some(a)) => {
                let x = a.as_primitive_opt::<Decimal128Type>().ok_or(Fail::Unsupported)?;
                (*sum, *cnt) = decimal_sum(x)?;
            }
            (St::FSum { sum, n: cnt }, Some(a)) => {
                let x = a.as_primitive_opt::<Float64Type>().ok_or(Fail::Unsupported)?;
                *sum = arrow::compute::sum(x).unwrap_or(0.0);
                *cnt = (x.len() - x.null_count()) as i64;
            }
            _ => {
                for i in 0..n {
                    update(&mut st, spec, a.as_ref(), i);
                }
            }
        }
        out.push(st);
    }
    Ok(out)
}

/// Lets SUM / TOTAL / AVG of a bare DECIMAL column (scale 1 to 18) of a
/// scanned table read the column unconverted: when nothing else reads the
/// column (no filter, no other aggregate) and the pipeline has no
/// projection, the column is marked raw in `p` and the aggregates sum its
/// unscaled integers exactly ([`St::DSum`]); the total is rounded to a REAL
/// once at the end. That is the row path's result up to the last bits of a
/// REAL sum (which depend on the order of additions anyway), and it skips
/// converting every value to a REAL.
fn raw_decimals(p: &mut Pipeline, specs: &mut [Spec]) {
    let super::Source::Scan { table, .. } = &p.source else { return };
    if p.steps.iter().any(|s| matches!(s, super::Step::Project(..))) {
        return;
    }
    let width = table.meta.columns.len();
    let scale_of = |c: usize| match table.meta.columns.get(c).map(|m| &m.data_type) {
        Some(DataType::Decimal128(_, s)) if (1..=18).contains(s) => u8::try_from(*s).ok(),
        _ => None,
    };
    let summed = |s: &Spec| match (&s.func, &s.arg) {
        (AggFunc::Sum | AggFunc::Total | AggFunc::Avg, Some(VExpr::Col(c, _))) => {
            scale_of(*c).map(|scale| (*c, scale))
        }
        _ => None,
    };
    // Columns read otherwise than as such a sum.
    let mut other = vec![false; width];
    for s in p.steps.iter() {
        if let super::Step::Filter(e) = s {
            e.visit_columns(&mut |c| super::mark(&mut other, c));
        }
    }
    for s in specs.iter() {
        if let (None, Some(e)) = (summed(s), &s.arg) {
            e.visit_columns(&mut |c| super::mark(&mut other, c));
        }
    }
    let mut raw = vec![false; width];
    for s in specs.iter_mut() {
        if let Some((c, scale)) = summed(&*s)
            && !other[c]
        {
            raw[c] = true;
            s.decimal = Some(scale);
        }
    }
    if raw.contains(&true) {
        p.raw = raw;
    }
}

/// Aggregates answered by [`from_codes`] (see `super::code_sum_runs`).
pub(super) static CODE_SUM_RUNS: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// Runs an aggregate made only of COUNT(*) and sums of raw DECIMAL columns
/// (see [`raw_decimals`]) over a scan with nothing but pushed predicates,
/// from the columns' stored codes (`llkv_store::Store::segment_sums`): the
/// values are never widened into arrays. `None` when the aggregate is not of
/// that form, the table is under the `auto` threshold, a column's bounds
/// are not known to be within `-2^53..2^53` (as [`decimal_sum`] requires),
/// or a sum overflows.
fn from_codes(p: &Pipeline, specs: &[Spec], ctx: &ExecCtx<'_>) -> VResult<Option<Row>> {
    let super::Source::Scan { table, predicates } = &p.source else { return Ok(None) };
    if !p.steps.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::new();
    for s in specs {
        match (s.func, s.decimal, &s.arg) {
            (AggFunc::CountStar, ..) => {}
            (_, Some(_), Some(VExpr::Col(c, _))) if !columns.contains(c) => columns.push(*c),
            (_, Some(_), Some(VExpr::Col(..))) => {}
            _ => return Ok(None),
        }
    }
    if columns.is_empty() {
        return Ok(None);
    }
    let req = ScanRequest {
        projection: Some(columns.clone()),
        predicates: predicates.clone(),
        ..Default::default()
    };
    let scan = ctx.txn.prepare_scan(table, &req).map_err(SqlError::from)?;
    if ctx.columnar == super::ColumnarMode::Auto && scan.estimated_rows() < super::AUTO_MIN_ROWS {
        return Ok(None);
    }
    let segments = scan.segment_count();
    let within = |a: &Option<ArrayRef>| {
        a.as_ref()
            .and_then(|a| a.as_primitive_opt::<Decimal128Type>())
            .is_some_and(|a| a.len() == 1 && a.is_valid(0) && a.value(0).abs() < EXACT_F64)
    };
    let summary = scan.summary(0..segments, true);
    if !summary.columns.iter().all(|c| within(&c.min) && within(&c.max)) {
        return Ok(None);
    }
    let cancel = ctx.cancel.clone();
    let parts = (0..segments)
        .into_par_iter()
        .map(|i| {
            // Ctrl-C stops the statement between segments.
            cancel.check()?;
            Ok(scan.segment_sums(i).map_err(SqlError::from)?)
        })
        .collect::<VResult<Vec<_>>>()?;
    let mut total = SegmentSums { rows: 0, sums: vec![Some(DecimalSum::default()); columns.len()] };
    for s in parts.iter().flatten() {
        total.absorb(s);
    }
    for b in scan.local_batches() {
        total.absorb(&SegmentSums::of_rows(b.columns(), b.num_rows(), None));
    }
    CODE_SUM_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut row = Row::with_capacity(specs.len());
    for s in specs {
        let st = match (&s.arg, s.decimal) {
            (Some(VExpr::Col(c, _)), Some(scale)) => {
                let k = columns.iter().position(|x| x == c).ok_or(Fail::Unsupported)?;
                let Some(d) = total.sums[k] else { return Ok(None) };
                St::DSum { sum: d.sum, n: d.count as i64, scale }
            }
            _ => St::Count(total.rows as i64),
        };
        row.push(finish(st, s.func)?);
    }
    Ok(Some(row))
}

/// Exact sum and count of the non-NULL values of a DECIMAL array, as
/// unscaled integers. `Unsupported` for a value outside `-2^53..2^53`, which
/// the columnar path does not read as a REAL (see `convert`).
fn decimal_sum(x: &Decimal128Array) -> VResult<(i128, i64)> {
    const LIMIT: u64 = 1 << 53;
    // Values within 2^53 sum in an i64 over blocks of 512 (at most 2^62).
    const BLOCK: usize = 512;
    let fits = |v: i128| {
        let lo = v as i64;
        i128::from(lo) == v && (-(LIMIT as i64)..LIMIT as i64).contains(&lo)
    };
    let mut total = 0i128;
    if x.null_count() == 0 {
        // The values as (low, high) halves, little-endian.
        let halves: &[u64] = x.values().inner().typed_data();
        for block in halves.chunks(2 * BLOCK) {
            let mut s = 0i64;
            // Nonzero when a value does not fit: its high half is not the
            // sign of its low half, or the low half is outside ±2^53. Only
            // 64-bit adds, logical shifts and ORs, which vectorize.
            let mut misfit = 0u64;
            for v in block.chunks_exact(2) {
                let (lo, hi) = (v[0], v[1]);
                misfit |= hi.wrapping_add(lo >> 63) | (lo.wrapping_add(LIMIT) >> 54);
                s = s.wrapping_add(lo as i64);
            }
            if misfit != 0 {
                return Err(Fail::Unsupported);
            }
            total += i128::from(s);
        }
    } else {
        for v in x.iter().flatten() {
            if !fits(v) {
                return Err(Fail::Unsupported);
            }
            total += v;
        }
    }
    Ok((total, (x.len() - x.null_count()) as i64))
}

/// The REAL nearest to `sum / 10^scale` (scale at most 18).
fn decimal_to_f64(sum: i128, scale: u8) -> VResult<f64> {
    let p = 10u64.checked_pow(u32::from(scale)).ok_or(Fail::Unsupported)?;
    if sum.unsigned_abs() <= EXACT_F64 as u128 {
        // Both operands are exact doubles: one correctly rounded division.
        return Ok(sum as f64 / p as f64);
    }
    // Rust parses decimal text correctly rounded.
    let abs = sum.unsigned_abs();
    let (int, frac) = (abs / u128::from(p), abs % u128::from(p));
    let sign = if sum < 0 { "-" } else { "" };
    let text = format!("{sign}{int}.{frac:0width$}", width = usize::from(scale));
    text.parse::<f64>().map_err(|_| Fail::Unsupported)
}

/// Runs `Aggregate { input, groups, aggs }` when `input` is a pipeline.
pub(super) fn run(
    input: &crate::plan::Plan,
    groups: &[Expr],
    aggs: &[AggCall],
    ctx: &ExecCtx<'_>,
) -> VResult<Option<Vec<Row>>> {
    let Some(mut p) = Pipeline::compile(input) else { return Ok(None) };
    let keys: Vec<VExpr> = groups.iter().map(|g| p.expr(g)).collect::<VResult<_>>()?;
    let mut specs: Vec<Spec> = aggs.iter().map(|a| Spec::new(a, &p)).collect::<VResult<_>>()?;
    if keys.is_empty() {
        raw_decimals(&mut p, &mut specs);
    }
    if keys.is_empty()
        && let Some(row) = from_codes(&p, &specs, ctx)?
    {
        return Ok(Some(vec![row]));
    }
    if specs.iter().all(Spec::order_free) {
        p.set_unordered();
    }
    let mut needed = vec![false; p.types.len()];
    for e in keys.iter().chain(specs.iter().filter_map(|s| s.arg.as_ref())) {
        e.visit_columns(&mut |c| super::mark(&mut needed, c));
    }
    let groups_rows = if keys.is_empty() {
        let Some(parts) = p.run(ctx, &needed, &|_, b| fold_all(&b, &specs))? else {
            return Ok(None);
        };
        let mut acc: Vec<St> = specs.iter().map(Spec::init).collect();
        for part in parts {
            for ((into, from), spec) in acc.iter_mut().zip(part).zip(&specs) {
                merge(into, from, spec);
            }
        }
        let row = acc
            .into_iter()
            .zip(&specs)
            .map(|(s, spec)| finish(s, spec.func))
            .collect::<VResult<Row>>()?;
        return Ok(Some(vec![row]));
    } else if GroupTable::supports(&keys.iter().map(class).collect::<Vec<_>>()) {
        hashed(&p, ctx, &needed, &keys, &specs)?
    } else {
        grouped::<Vec<GroupKey>>(&p, ctx, &needed, &keys, &specs)?
    };
    Ok(groups_rows)
}

fn grouped<K: KeyOf>(
    p: &Pipeline,
    ctx: &ExecCtx<'_>,
    needed: &[bool],
    keys: &[VExpr],
    specs: &[Spec],
) -> VResult<Option<Vec<Row>>> {
    let Some(parts) = p.run(ctx, needed, &|_, b| partial::<K>(&b, keys, specs))? else {
        return Ok(None);
    };
    finish_groups(parts, keys.len(), specs).map(Some)
}

/// Merges partials in scan order, finishes the states, sorts by key.
fn finish_groups<K: Hash + Eq + Clone>(
    parts: Vec<Partial<K>>,
    nk: usize,
    specs: &[Spec],
) -> VResult<Vec<Row>> {
    let mut it = parts.into_iter();
    let Some(mut acc) = it.next() else { return Ok(Vec::new()) };
    for part in it {
        acc.absorb(part, specs);
    }
    let mut states: Vec<std::vec::IntoIter<St>> =
        acc.states.into_iter().map(Vec::into_iter).collect();
    let mut rows = Vec::with_capacity(acc.values.len());
    for mut row in acc.values {
        for (s, spec) in states.iter_mut().zip(specs) {
            row.push(finish(s.next().ok_or(Fail::Unsupported)?, spec.func)?);
        }
        rows.push(row);
    }
    // Groups come out in ascending key order, as the row path's.
    rows.sort_by(|a, b| {
        for (x, y) in a.iter().zip(b.iter()).take(nk) {
            let o = x.total_cmp(y);
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(rows)
}

/// Groups of one or more INTEGER / REAL / TEXT keys with their states.
#[derive(Clone)]
struct Hashed {
    table: GroupTable,
    accs: Vec<Acc>,
}

impl Hashed {
    fn new(types: &[VType], specs: &[Spec]) -> VResult<Hashed> {
        Ok(Hashed { table: GroupTable::new(types)?, accs: specs.iter().map(Acc::new).collect() })
    }

    /// Folds one batch in.
    fn step(mut self, b: &Batch, keys: &[VExpr], specs: &[Spec]) -> VResult<Hashed> {
        let n = b.rows;
        let key_arrays: Vec<ArrayRef> = keys
            .iter()
            .map(|k| super::vexpr::normalized(k.eval(b)?.into_array(n)?))
            .collect::<VResult<_>>()?;
        let mut gids = Vec::new();
        self.table.intern(&key_arrays, &mut gids)?;
        let len = self.table.len();
        for (acc, spec) in self.accs.iter_mut().zip(specs) {
            let a = spec.arg.as_ref().map(|e| e.eval(b)?.into_array(n)).transpose()?;
            acc.resize(len, spec);
            acc.update(spec, a.as_ref(), &gids)?;
        }
        Ok(self)
    }

    /// Folds the groups of later rows in.
    fn absorb(mut self, other: Hashed, specs: &[Spec]) -> Hashed {
        if other.table.len() == 0 {
            return self;
        }
        if self.table.len() == 0 {
            return other;
        }
        let map = self.table.absorb(&other.table);
        let len = self.table.len();
        for ((acc, theirs), spec) in self.accs.iter_mut().zip(other.accs).zip(specs) {
            acc.resize(len, spec);
            acc.merge(theirs, &map, spec);
        }
        self
    }
}

/// Hash aggregation over [`GroupTable`] keys: each rayon task folds its
/// batches into one table, tables are merged in scan order.
fn hashed(
    p: &Pipeline,
    ctx: &ExecCtx<'_>,
    needed: &[bool],
    keys: &[VExpr],
    specs: &[Spec],
) -> VResult<Option<Vec<Row>>> {
    let types: Vec<VType> = keys.iter().map(class).collect();
    let proto = Hashed::new(&types, specs)?;
    let init = || proto.clone();
    let Some(h) = p.fold(ctx, needed, &init, &|acc, b| acc.step(&b, keys, specs), &|a, b| {
        Ok(a.absorb(b, specs))
    })?
    else {
        return Ok(None);
    };
    let order = h.table.sorted();
    let mut rows = Vec::with_capacity(order.len());
    for g in order {
        let g = g as usize;
        let mut row = h.table.key_row(g, specs.len());
        for (acc, spec) in h.accs.iter().zip(specs) {
            row.push(acc.finish(g, spec.func)?);
        }
        rows.push(row);
    }
    Ok(Some(rows))
}

#[cfg(test)]
mod decimal_tests {
    use super::*;

    fn dec(v: Vec<Option<i128>>) -> Decimal128Array {
        Decimal128Array::from(v).with_precision_and_scale(38, 2).unwrap()
    }

    #[test]
    fn decimal_sums_are_exact_and_values_beyond_2_pow_53_fall_back() {
        assert_eq!(decimal_sum(&dec(vec![Some(1), Some(-2), Some(3)])).unwrap(), (2, 3));
        let with_nulls = dec(vec![Some(5), None, Some(7), None]);
        assert_eq!(decimal_sum(&with_nulls).unwrap(), (12, 2));
        // Many values at the limit: the per-block i64 sums must not overflow.
        let big = 1i128 << 53;
        let many = dec((0..2000).map(|i| Some(if i % 3 == 0 { -big } else { big - 1 })).collect());
        let expect: i128 = (0..2000).map(|i| if i % 3 == 0 { -big } else { big - 1 }).sum();
        assert_eq!(decimal_sum(&many).unwrap(), (expect, 2000));
        let part: i128 = (7..1507).map(|i| if i % 3 == 0 { -big } else { big - 1 }).sum();
        assert_eq!(decimal_sum(&many.slice(7, 1500)).unwrap(), (part, 1500));
        assert!(decimal_sum(&dec(vec![Some(1), Some(big)])).is_err());
        assert!(decimal_sum(&dec(vec![None, Some(-big - 1)])).is_err());
        assert!(decimal_sum(&dec(vec![Some(-big - 1)])).is_err());
        for v in [1i128 << 64, (1i128 << 64) - 5, -(1i128 << 64) + 5, i128::MIN, i128::MAX] {
            assert!(decimal_sum(&dec(vec![Some(2), Some(v)])).is_err(), "{v}");
        }
    }

    #[test]
    fn decimal_totals_round_once_to_the_nearest_real() {
        assert_eq!(decimal_to_f64(12345, 2).unwrap(), 123.45);
        assert_eq!(decimal_to_f64(-5, 1).unwrap(), -0.5);
        assert_eq!(decimal_to_f64(0, 18).unwrap(), 0.0);
        // Ten times 0.1 is exactly 1 (a running REAL sum gives 0.9999999999999999).
        assert_eq!(decimal_to_f64(10, 1).unwrap(), 1.0);
        // Beyond 2^53: through the decimal text.
        let e20 = 10i128.pow(20);
        assert_eq!(decimal_to_f64(e20 + 1, 2).unwrap(), 1e18);
        assert_eq!(decimal_to_f64(-(e20 + 50), 2).unwrap(), -1e18);
        assert_eq!(decimal_to_f64(e20 + 5, 3).unwrap(), 1e17);
    }
}
