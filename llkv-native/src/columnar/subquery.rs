//! Subqueries on the columnar path.
//!
//! Before a plan is compiled, the subqueries in its expressions are resolved
//! once per statement (cached in [`ExecCtx::columnar_subqueries`] by the
//! subquery plan's address):
//! - an **uncorrelated** subquery runs once: a scalar subquery or EXISTS
//!   becomes a constant, an IN subquery a set of values;
//! - a **correlated** EXISTS / NOT EXISTS whose correlated conjuncts are
//!   `inner = outer.column` equalities (and at most one
//!   `inner <> outer.column`) is decorrelated into a semi-join: the inner
//!   relation, filtered by its other conjuncts, is read once into a map from
//!   the equality keys to (up to two distinct) values of the `<>` column;
//! - a **correlated scalar aggregate** (`(SELECT f(agg) FROM … WHERE
//!   inner = outer.column AND …)`) is decorrelated into the same aggregate
//!   grouped by the inner keys, looked up per row; a key without a group
//!   gets what the subquery gives on no rows (run once on an empty input).
//!
//! Keys compare as the row path's `=` does for values of one storage class
//! (their [`GroupKey`]s); lookups with a NULL key find nothing, as `=` with
//! NULL is never true. Any other shape is left to the row path.

use super::hash::FxMap;
use super::vexpr::{Col, Fail, VExpr, VResult, VType, class};
use super::{Batch, Pipeline};
use crate::convert::array_values;
use crate::exec::{ExecCtx, execute};
use crate::expr::{AggCall, BinOp, Expr};
use crate::plan::Plan;
use crate::value::{GroupKey, Value};
use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray, new_null_array,
};
use arrow::datatypes::{Float64Type, Int64Type};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A resolved subquery.
#[derive(Debug)]
pub enum Resolved {
    /// An uncorrelated scalar subquery or EXISTS: its value.
    Const(Value),
    /// An uncorrelated IN subquery: its values.
    Set(Arc<ValueSet>),
    /// A decorrelated EXISTS.
    Exists(Arc<ExistsMap>),
    /// A decorrelated scalar aggregate.
    Scalar(Arc<ScalarMap>),
    /// Not resolvable here (the row path answers).
    No,
}

/// The values of an IN subquery.
#[derive(Debug, Default)]
pub struct ValueSet {
    ints: HashSet<i64, super::hash::FxBuild>,
    others: HashSet<GroupKey>,
    texts: HashSet<String>,
    has_null: bool,
    empty: bool,
}

impl ValueSet {
    fn from_values(vals: impl Iterator<Item = Value>) -> ValueSet {
        let mut s = ValueSet { empty: true, ..Default::default() };
        for v in vals {
            s.empty = false;
            match v.group_key() {
                GroupKey::Null => s.has_null = true,
                GroupKey::Int(i) => {
                    s.ints.insert(i);
                }
                GroupKey::Text(t) => {
                    s.texts.insert(t);
                }
                k => {
                    s.others.insert(k);
                }
            }
        }
        s
    }

    /// `x [NOT] IN set` per row, as the row path's `InSubquery`.
    fn eval(&self, x: &ArrayRef, negated: bool) -> VResult<BooleanArray> {
        let decide = |found: Option<bool>| -> Option<bool> {
            let r = if self.empty {
                Some(false)
            } else {
                match found {
                    None => None,
                    Some(true) => Some(true),
                    Some(false) if self.has_null => None,
                    Some(false) => Some(false),
                }
            };
            if negated { r.map(|b| !b) } else { r }
        };
        Ok(if let Some(a) = x.as_primitive_opt::<Int64Type>() {
            a.iter().map(|v| decide(v.map(|i| self.ints.contains(&i)))).collect()
        } else if let Some(a) = x.as_string_opt::<i32>() {
            a.iter().map(|v| decide(v.map(|t| self.texts.contains(t)))).collect()
        } else if let Some(a) = x.as_primitive_opt::<Float64Type>() {
            a.iter()
                .map(|v| {
                    decide(v.map(|r| match Value::Real(r).group_key() {
                        GroupKey::Int(i) => self.ints.contains(&i),
                        k => self.others.contains(&k),
                    }))
                })
                .collect()
        } else if x.data_type() == &arrow::datatypes::DataType::Null {
            (0..x.len()).map(|_| decide(None)).collect()
        } else {
            return Err(Fail::Unsupported);
        })
    }
}

/// Lookup keys: one INTEGER, or any values by their group keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Int(i64),
    Any(Vec<GroupKey>),
}

/// The keys of rows `0..n` of `arrays` (`None` where a part is NULL).
fn keys_of(arrays: &[ArrayRef]) -> VResult<Vec<Option<Key>>> {
    if let [a] = arrays
        && let Some(p) = a.as_primitive_opt::<Int64Type>()
    {
        return Ok(p.iter().map(|v| v.map(Key::Int)).collect());
    }
    let cols: Vec<Vec<Value>> =
        arrays.iter().map(|a| array_values(a.as_ref())).collect::<Result<_, _>>()?;
    let n = arrays.first().map_or(0, |a| a.len());
    Ok((0..n)
        .map(|i| {
            let k: Vec<GroupKey> = cols.iter().map(|c| c[i].group_key()).collect();
            (!k.contains(&GroupKey::Null)).then(|| key_from(k))
        })
        .collect())
}

/// The group keys of an array's values (INTEGERs without boxing).
fn group_keys(a: &ArrayRef) -> VResult<Vec<GroupKey>> {
    if let Some(p) = a.as_primitive_opt::<Int64Type>() {
        return Ok(p.iter().map(|v| v.map_or(GroupKey::Null, GroupKey::Int)).collect());
    }
    Ok(array_values(a.as_ref())?.iter().map(Value::group_key).collect())
}

fn key_from(k: Vec<GroupKey>) -> Key {
    match k.as_slice() {
        [GroupKey::Int(i)] => Key::Int(*i),
        _ => Key::Any(k),
    }
}

/// Up to two distinct non-NULL values of the `<>` column of a key's rows.
#[derive(Debug, Default, Clone)]
struct Distinct2(Vec<GroupKey>);

impl Distinct2 {
    fn add(&mut self, k: GroupKey) {
        if k != GroupKey::Null && self.0.len() < 2 && !self.0.contains(&k) {
            self.0.push(k);
        }
    }
}

/// A decorrelated EXISTS: the keys of the inner rows.
#[derive(Debug)]
pub struct ExistsMap {
    /// Outer columns of the equality keys.
    outer: Vec<usize>,
    /// Outer column of the `<>` conjunct, if any.
    ne: Option<usize>,
    map: FxMap<Key, Distinct2>,
    negated: bool,
}

/// A decorrelated scalar aggregate.
#[derive(Debug)]
pub struct ScalarMap {
    outer: Vec<usize>,
    map: FxMap<Key, Value>,
    default: Value,
    class: VType,
}

/// A lookup compiled over a pipeline's columns.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// `x [NOT] IN set`.
    In(VExpr, Arc<ValueSet>, bool),
    /// `[NOT] EXISTS` by keys.
    Exists(Vec<VExpr>, Option<VExpr>, Arc<ExistsMap>),
    /// A scalar subquery's value by keys.
    Scalar(Vec<VExpr>, Arc<ScalarMap>),
}

impl Lookup {
    /// The class of the result.
    pub fn class(&self) -> VType {
        match self {
            Lookup::In(..) | Lookup::Exists(..) => VType::Bool,
            Lookup::Scalar(_, m) => m.class,
        }
    }

    /// Calls `f` on the input columns read.
    pub fn visit_columns(&self, f: &mut dyn FnMut(usize)) {
        match self {
            Lookup::In(x, ..) => x.visit_columns(f),
            Lookup::Exists(keys, ne, _) => {
                keys.iter().for_each(|k| k.visit_columns(f));
                if let Some(n) = ne {
                    n.visit_columns(f);
                }
            }
            Lookup::Scalar(keys, _) => keys.iter().for_each(|k| k.visit_columns(f)),
        }
    }

    /// Evaluates over `input`.
    ///
    /// # Errors
    /// [`Fail::Unsupported`] for unexpected array types.
    pub fn eval(&self, input: &dyn super::vexpr::Columns) -> VResult<Col> {
        let n = input.rows();
        let arrays = |es: &[VExpr]| -> VResult<Vec<ArrayRef>> {
            es.iter().map(|e| e.eval(input)?.into_array(n)).collect()
        };
        Ok(Col::Array(match self {
            Lookup::In(x, set, negated) => {
                Arc::new(set.eval(&x.eval(input)?.into_array(n)?, *negated)?)
            }
            Lookup::Exists(keys, ne, m) => {
                let ks = keys_of(&arrays(keys)?)?;
                let ne_vals = match ne {
                    Some(e) => Some(group_keys(&e.eval(input)?.into_array(n)?)?),
                    None => None,
                };
                let out: BooleanArray = ks
                    .iter()
                    .enumerate()
                    .map(|(i, k)| {
                        let found = match k.as_ref().and_then(|k| m.map.get(k)) {
                            None => false,
                            Some(d) => match &ne_vals {
                                None => true,
                                Some(v) => {
                                    let g = &v[i];
                                    *g != GroupKey::Null && d.0.iter().any(|x| x != g)
                                }
                            },
                        };
                        Some(found != m.negated)
                    })
                    .collect();
                Arc::new(out)
            }
            Lookup::Scalar(keys, m) => {
                let ks = keys_of(&arrays(keys)?)?;
                let vals =
                    ks.iter().map(|k| k.as_ref().and_then(|k| m.map.get(k)).unwrap_or(&m.default));
                match m.class {
                    VType::Int => Arc::new(vals.map(Value::as_i64).collect::<Int64Array>()),
                    VType::Real => Arc::new(
                        vals.map(|v| match v {
                            Value::Real(r) => Some(*r),
                            _ => None,
                        })
                        .collect::<Float64Array>(),
                    ),
                    VType::Text => Arc::new(
                        vals.map(|v| match v {
                            Value::Text(t) => Some(t.as_str()),
                            _ => None,
                        })
                        .collect::<StringArray>(),
                    ),
                    _ => new_null_array(&arrow::datatypes::DataType::Null, n),
                }
            }
        }))
    }
}

/// All resolutions of a statement, by subquery plan address.
type Resolutions = Arc<HashMap<usize, Arc<Resolved>>>;

thread_local! {
    /// The resolutions visible to [`compiled`] while a plan is compiled on
    /// this thread.
    static CURRENT: RefCell<Option<Resolutions>> = const { RefCell::new(None) };
}

/// Makes `r` visible to compilation on this thread until dropped.
pub(super) struct Installed(Option<Resolutions>);

impl Drop for Installed {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

fn install(r: Resolutions) -> Installed {
    Installed(CURRENT.with(|c| c.borrow_mut().replace(r)))
}

fn addr(p: &Plan) -> usize {
    p as *const Plan as usize
}

/// The resolution of the subquery with plan `p`, if one was made.
fn resolution(p: &Plan) -> Option<Arc<Resolved>> {
    CURRENT.with(|c| c.borrow().as_ref().and_then(|m| m.get(&addr(p)).cloned()))
}

/// Compiles a subquery expression from its resolution (see
/// [`super::vexpr::compile`]).
pub(super) fn compiled(e: &Expr, types: &[Option<VType>]) -> Option<VExpr> {
    let col = |k: usize| super::vexpr::compile(&Expr::Column(k), types);
    let (plan, in_expr, negated) = match e {
        Expr::InSubquery { expr, plan, negated, correlated: false } => (plan, Some(expr), *negated),
        Expr::Exists { plan, .. } | Expr::Subquery { plan, .. } => (plan, None, false),
        _ => return None,
    };
    let r = resolution(plan)?;
    Some(match (r.as_ref(), in_expr) {
        (Resolved::Const(v), None) => super::vexpr::compile(&Expr::Literal(v.clone()), types)?,
        (Resolved::Set(s), Some(x)) => {
            let x = super::vexpr::as_value(super::vexpr::compile(x, types)?);
            VExpr::Lookup(Box::new(Lookup::In(x, Arc::clone(s), negated)))
        }
        (Resolved::Exists(m), None) => {
            let keys = m.outer.iter().map(|&k| col(k)).collect::<Option<Vec<_>>>()?;
            let ne = match m.ne {
                Some(k) => Some(col(k)?),
                None => None,
            };
            VExpr::Lookup(Box::new(Lookup::Exists(keys, ne, Arc::clone(m))))
        }
        (Resolved::Scalar(m), None) => {
            if m.class == VType::Null {
                return Some(VExpr::Null(VType::Null));
            }
            let keys = m.outer.iter().map(|&k| col(k)).collect::<Option<Vec<_>>>()?;
            if keys.iter().any(|k| class(k) == VType::Bool) {
                return None;
            }
            VExpr::Lookup(Box::new(Lookup::Scalar(keys, Arc::clone(m))))
        }
        _ => return None,
    })
}

/// Resolves the subqueries of `plan`'s expressions (not yet resolved in this
/// statement) and makes all of the statement's resolutions visible to the
/// compilation that follows on this thread.
pub(super) fn prepare(plan: &Plan, ctx: &ExecCtx<'_>) -> Option<Installed> {
    let mut found = false;
    visit_plan_exprs(plan, &mut |e| {
        e.walk(&mut |x| {
            if matches!(x, Expr::InSubquery { .. } | Expr::Exists { .. } | Expr::Subquery { .. }) {
                found = true;
            }
        })
    });
    if !found {
        return None;
    }
    visit_plan_exprs(plan, &mut |e| {
        e.walk(&mut |x| {
            let p = match x {
                Expr::InSubquery { plan, .. }
                | Expr::Exists { plan, .. }
                | Expr::Subquery { plan, .. } => plan,
                _ => return,
            };
            if ctx.columnar_subqueries.lock().contains_key(&addr(p)) {
                return;
            }
            let r = resolve(x, ctx).unwrap_or(Resolved::No);
            ctx.columnar_subqueries.lock().insert(addr(p), Arc::new(r));
        })
    });
    let all = Arc::new(ctx.columnar_subqueries.lock().clone());
    Some(install(all))
}

/// Calls `f` on the expressions of the plan nodes the columnar path compiles.
fn visit_plan_exprs(plan: &Plan, f: &mut dyn FnMut(&Expr)) {
    match plan {
        Plan::Filter { input, predicate } => {
            f(predicate);
            visit_plan_exprs(input, f);
        }
        Plan::Project { input, exprs } => {
            exprs.iter().for_each(&mut *f);
            visit_plan_exprs(input, f);
        }
        Plan::MultiJoin { rels, conjuncts, .. } => {
            conjuncts.iter().for_each(&mut *f);
            for r in rels {
                visit_plan_exprs(&r.plan, f);
            }
        }
        Plan::Aggregate { input, groups, aggs } => {
            groups.iter().for_each(&mut *f);
            aggs.iter().filter_map(|a| a.arg.as_ref()).for_each(&mut *f);
            visit_plan_exprs(input, f);
        }
        Plan::Sort { input, keys } => {
            keys.iter().for_each(|k| f(&k.expr));
            visit_plan_exprs(input, f);
        }
        Plan::Limit { input, .. } => visit_plan_exprs(input, f),
        _ => {}
    }
}

fn resolve(e: &Expr, ctx: &ExecCtx<'_>) -> VResult<Resolved> {
    match e {
        Expr::Subquery { plan, correlated: false } => {
            let rows = uncorrelated(plan, ctx)?;
            Ok(Resolved::Const(
                rows.first().and_then(|r| r.first()).cloned().unwrap_or(Value::Null),
            ))
        }
        Expr::Exists { plan, negated, correlated: false } => {
            let rows = uncorrelated(plan, ctx)?;
            Ok(Resolved::Const(Value::from_bool(rows.is_empty() == *negated)))
        }
        Expr::InSubquery { plan, correlated: false, .. } => {
            let rows = uncorrelated(plan, ctx)?;
            let vals = rows.iter().map(|r| r.first().cloned().unwrap_or(Value::Null));
            Ok(Resolved::Set(Arc::new(ValueSet::from_values(vals))))
        }
        Expr::Exists { plan, negated, correlated: true } => exists(plan, *negated, ctx),
        Expr::Subquery { plan, correlated: true } => scalar(plan, ctx),
        _ => Ok(Resolved::No),
    }
}

/// An uncorrelated subquery's rows, shared with the row path's cache.
fn uncorrelated(plan: &Plan, ctx: &ExecCtx<'_>) -> VResult<Arc<Vec<crate::value::Row>>> {
    if let Some(r) = ctx.subquery_cache.lock().get(&addr(plan)) {
        return Ok(Arc::clone(r));
    }
    let rows = Arc::new(execute(plan, None, ctx)?);
    ctx.subquery_cache.lock().insert(addr(plan), Arc::clone(&rows));
    Ok(rows)
}

/// Whether `e` refers to an enclosing query (directly or via a correlated
/// subquery).
fn has_outer(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if matches!(
            x,
            Expr::Outer { .. }
                | Expr::Exists { correlated: true, .. }
                | Expr::Subquery { correlated: true, .. }
                | Expr::InSubquery { correlated: true, .. }
        ) {
            found = true;
        }
    });
    found
}

/// Whether a plan is free of references to enclosing queries (conservative).
fn plan_is_closed(p: &Plan) -> bool {
    let closed = |e: &Expr| !has_outer(e) && !e.has_subquery();
    match p {
        Plan::Scan { .. } => true,
        Plan::Filter { input, predicate } => closed(predicate) && plan_is_closed(input),
        Plan::Project { input, exprs } => exprs.iter().all(closed) && plan_is_closed(input),
        Plan::MultiJoin { rels, conjuncts, .. } => {
            conjuncts.iter().all(closed) && rels.iter().all(|r| plan_is_closed(&r.plan))
        }
        _ => false,
    }
}

/// The correlated conjuncts of a subquery's WHERE.
struct Split {
    /// The subquery's input without its correlated conjuncts.
    plan: Plan,
    /// `inner = outer[k]`.
    eqs: Vec<(Expr, usize)>,
    /// `inner <> outer[k]`.
    ne: Option<(Expr, usize)>,
}

/// `inner op outer[k]` with `inner` free of outer references.
fn correlated_cmp(c: &Expr) -> Option<(BinOp, Expr, usize)> {
    let Expr::Binary(op @ (BinOp::Eq | BinOp::NotEq), a, b) = c else { return None };
    match (a.as_ref(), b.as_ref()) {
        (Expr::Outer { depth: 0, index }, x) | (x, Expr::Outer { depth: 0, index })
            if !has_outer(x) =>
        {
            Some((*op, x.clone(), *index))
        }
        _ => None,
    }
}

fn split(plan: &Plan) -> Option<Split> {
    let mut eqs = Vec::new();
    let mut ne = None;
    let mut classify = |cs: Vec<Expr>| -> Option<Vec<Expr>> {
        let mut local = Vec::new();
        for c in cs {
            // Subqueries inside would be cloned into the plans built here.
            if c.has_subquery() {
                return None;
            }
            if !has_outer(&c) {
                local.push(c);
                continue;
            }
            match correlated_cmp(&c)? {
                (BinOp::Eq, x, k) => eqs.push((x, k)),
                (_, x, k) if ne.is_none() => ne = Some((x, k)),
                _ => return None,
            }
        }
        Some(local)
    };
    let and =
        |cs: Vec<Expr>| cs.into_iter().reduce(|a, b| Expr::Binary(BinOp::And, a.into(), b.into()));
    // A Filter's own conjuncts first, then those of a join beneath it (or of
    // a join at the top): the order in which `classify` meets them.
    let (input, local) = match plan {
        Plan::Filter { input, predicate } => {
            let mut cs = Vec::new();
            crate::planner::conjuncts(predicate, &mut cs);
            (input.as_ref(), Some(classify(cs)?))
        }
        other => (other, None),
    };
    let input = match input {
        Plan::MultiJoin { rels, conjuncts, width } => {
            if !rels.iter().all(|r| plan_is_closed(&r.plan)) {
                return None;
            }
            Plan::MultiJoin {
                rels: rels.clone(),
                conjuncts: classify(conjuncts.clone())?,
                width: *width,
            }
        }
        other if local.is_some() && plan_is_closed(other) => other.clone(),
        _ => return None,
    };
    let out = match local.and_then(and) {
        Some(p) => Plan::Filter { input: Box::new(input), predicate: p },
        None => input,
    };
    if eqs.is_empty() {
        return None;
    }
    Some(Split { plan: out, eqs, ne })
}

fn exists(plan: &Plan, negated: bool, ctx: &ExecCtx<'_>) -> VResult<Resolved> {
    // The select list does not matter to EXISTS.
    let body = match plan {
        Plan::Project { input, .. } => input.as_ref(),
        other => other,
    };
    let Some(s) = split(body) else { return Ok(Resolved::No) };
    let mut exprs: Vec<Expr> = s.eqs.iter().map(|(x, _)| x.clone()).collect();
    let nk = exprs.len();
    if let Some((x, _)) = &s.ne {
        exprs.push(x.clone());
    }
    let proj = Plan::Project { input: Box::new(s.plan), exprs };
    let mut map: FxMap<Key, Distinct2> = FxMap::default();
    let mut add = |keys: Vec<Option<Key>>, ne: Option<Vec<GroupKey>>| {
        let mut ne = ne.map(Vec::into_iter);
        for k in keys {
            let v = ne.as_mut().and_then(Iterator::next);
            if let Some(k) = k {
                let d = map.entry(k).or_default();
                if let Some(v) = v {
                    d.add(v);
                }
            }
        }
    };
    // Batches when the inner plan is a pipeline, else rows.
    match Pipeline::compile(&proj).filter(|p| p.types.iter().all(Option::is_some)) {
        Some(p) => {
            let needed = vec![true; p.types.len()];
            let parts = p
                .run_with(ctx, &needed, true, &|_, b: Batch| {
                    let cols: Vec<ArrayRef> = (0..b.cols.len())
                        .map(|c| b.cols[c].clone().ok_or(Fail::Unsupported))
                        .collect::<VResult<_>>()?;
                    let keys = keys_of(&cols[..nk])?;
                    let ne = match cols.get(nk) {
                        Some(a) => Some(group_keys(a)?),
                        None => None,
                    };
                    Ok((keys, ne))
                })?
                .ok_or(Fail::Unsupported)?;
            for (k, ne) in parts {
                add(k, ne);
            }
        }
        None => {
            let rows = execute(&proj, None, ctx)?;
            for r in rows {
                let k: Vec<GroupKey> = r[..nk].iter().map(Value::group_key).collect();
                let key = (!k.contains(&GroupKey::Null)).then(|| key_from(k));
                add(vec![key], r.get(nk).map(|v| vec![v.group_key()]));
            }
        }
    }
    Ok(Resolved::Exists(Arc::new(ExistsMap {
        outer: s.eqs.iter().map(|(_, k)| *k).collect(),
        ne: s.ne.map(|(_, k)| k),
        map,
        negated,
    })))
}

fn scalar(plan: &Plan, ctx: &ExecCtx<'_>) -> VResult<Resolved> {
    let Plan::Project { input, exprs } = plan else { return Ok(Resolved::No) };
    let Plan::Aggregate { input: agg_in, groups, aggs } = input.as_ref() else {
        return Ok(Resolved::No);
    };
    let Some(e) = exprs.first() else { return Ok(Resolved::No) };
    if !groups.is_empty()
        || has_outer(e)
        || aggs.iter().any(|a: &AggCall| a.arg.as_ref().is_some_and(has_outer))
    {
        return Ok(Resolved::No);
    }
    let Some(s) = split(agg_in) else { return Ok(Resolved::No) };
    if s.ne.is_some() {
        return Ok(Resolved::No);
    }
    let nk = s.eqs.len();
    // What the subquery gives on no rows.
    let empty = Plan::Project {
        input: Box::new(Plan::Aggregate {
            input: Box::new(Plan::Values(Vec::new())),
            groups: Vec::new(),
            aggs: aggs.clone(),
        }),
        exprs: vec![e.clone()],
    };
    let default = execute(&empty, None, ctx)?
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or(Value::Null);
    let mut shifted = e.clone();
    shifted.map_columns(&|c| c + nk);
    let mut out: Vec<Expr> = (0..nk).map(Expr::Column).collect();
    out.push(shifted);
    let grouped = Plan::Project {
        input: Box::new(Plan::Aggregate {
            input: Box::new(s.plan),
            groups: s.eqs.iter().map(|(x, _)| x.clone()).collect(),
            aggs: aggs.clone(),
        }),
        exprs: out,
    };
    let rows = execute(&grouped, None, ctx)?;
    let mut class_of = VType::Null;
    let mut note = |v: &Value| -> bool {
        let t = match v {
            Value::Null => return true,
            Value::Int(_) => VType::Int,
            Value::Real(_) => VType::Real,
            Value::Text(_) => VType::Text,
            Value::Blob(_) => return false,
        };
        if class_of == VType::Null {
            class_of = t;
        }
        class_of == t
    };
    if !note(&default) {
        return Ok(Resolved::No);
    }
    let mut map: FxMap<Key, Value> = FxMap::default();
    for mut r in rows {
        let v = r.pop().unwrap_or(Value::Null);
        if !note(&v) {
            return Ok(Resolved::No);
        }
        let k: Vec<GroupKey> = r.iter().map(Value::group_key).collect();
        if !k.contains(&GroupKey::Null) {
            map.insert(key_from(k), v);
        }
    }
    Ok(Resolved::Scalar(Arc::new(ScalarMap {
        outer: s.eqs.iter().map(|(_, k)| *k).collect(),
        map,
        default,
        class: class_of,
    })))
}
