//! Inner equi-joins of two or more pipelines by hashing, in the row path's
//! join order and row order.
//!
//! The row path ([`crate::exec::MultiJoinExecutor`]) filters each relation
//! by its own conjuncts, starts from the smallest relation and repeatedly
//! joins the smallest relation linked to the joined set by equalities,
//! emitting for each joined row in order the matching rows of the new
//! relation in their order; the conjuncts a step completes filter its result.
//! This module does the same over Arrow batches: each relation is read by
//! its pipeline (in parallel), the joined set is kept as one batch of the
//! full joined width (only the needed columns), and each step hashes the
//! smaller side and probes with the other in parallel chunks. When the
//! joined set is the side that was hashed, a stable counting sort on its row
//! number restores the row path's order. The last step is not materialized:
//! its probe side is cut in batches probed in the consumer's parallel loop.
//! When the consumer does not care about the order (an aggregate whose
//! result does not depend on it, [`JoinSpec::set_unordered`]), the order is
//! free: each step joins the linked relation whose join gives the fewest rows
//! (counted exactly from the keys), no counting sort is done, and the last
//! step may probe with the next relation's batches. Keys must be INTEGER =
//! INTEGER or TEXT = TEXT (NULL matches nothing); a step without an equality
//! (a cross join) or a conjunct with a subquery sends the plan to the row
//! path.

use super::hash::FxMap;
use super::vexpr::{Fail, VExpr, VResult, VType, class};
use super::{Batch, ColumnarMode, Pending, Pipeline, Source, Step, compile_pred};
use crate::convert::array_values;
use crate::exec::ExecCtx;
use crate::expr::{BinOp, Expr};
use crate::plan::JoinRel;
use crate::value::GroupKey;
use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, UInt32Array};
use arrow::compute::{concat, prep_null_mask_filter, take};
use arrow::datatypes::Int64Type;
use rayon::prelude::*;
use std::hash::Hash;
use std::sync::Arc;

/// Rows per output batch (and per probe task).
pub(super) const CHUNK: usize = 65_536;

/// One relation of the join.
#[derive(Debug, Clone)]
struct Rel {
    pipeline: Pipeline,
    start: usize,
    width: usize,
}

/// A conjunct over the joined row, with the relations it reads.
#[derive(Debug, Clone)]
struct Conj {
    rels: Vec<usize>,
    /// The whole conjunct as a condition over the joined row.
    pred: VExpr,
    /// For `a = b` with `a`, `b` over disjoint relation sets: both sides,
    /// their relations, and whether they can be hash keys.
    eq: Option<EqConj>,
}

#[derive(Debug, Clone)]
struct EqConj {
    sides: [(VExpr, Vec<usize>); 2],
    hashable: bool,
}

/// A compiled inner join of relations.
#[derive(Debug, Clone)]
pub struct JoinSpec {
    rels: Vec<Rel>,
    conjs: Vec<Conj>,
    /// Conjuncts with subqueries: applied last, as the row path does.
    late: Vec<VExpr>,
    width: usize,
    /// Whether the rows may come in any order (see [`JoinSpec::set_unordered`]).
    unordered: bool,
}

fn rels_of(rels: &[JoinRel], e: &Expr) -> Vec<usize> {
    let mut v: Vec<usize> = e
        .columns()
        .into_iter()
        .filter_map(|c| rels.iter().position(|r| c >= r.start && c < r.start + r.width))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The pipeline of a `MultiJoin`, if it can be one.
pub(super) fn compile(rels: &[JoinRel], conjuncts: &[Expr], width: usize) -> Option<Pipeline> {
    if rels.len() < 2 {
        return None;
    }
    let mut out: Vec<Rel> = Vec::with_capacity(rels.len());
    let mut types = vec![None; width];
    for r in rels {
        let p = Pipeline::compile(&r.plan)?;
        if p.types.len() != r.width || r.start + r.width > width {
            return None;
        }
        types[r.start..r.start + r.width].copy_from_slice(&p.types);
        out.push(Rel { pipeline: p, start: r.start, width: r.width });
    }
    let mut conjs = Vec::new();
    let mut late = Vec::new();
    for c in conjuncts {
        if c.has_subquery() {
            late.push(compile_pred(c, &types)?);
            continue;
        }
        let cr = rels_of(rels, c);
        if cr.is_empty() {
            return None;
        }
        if let [only] = cr.as_slice() {
            // Filters its relation first, as the row path does.
            let rel = &mut out[*only];
            let mut e = c.clone();
            let start = rel.start;
            e.map_columns(&|k| k - start);
            let pred = compile_pred(&e, &rel.pipeline.types)?;
            rel.pipeline.steps.push(Step::Filter(pred));
            continue;
        }
        let pred = compile_pred(c, &types)?;
        let mut eq = None;
        if let Expr::Binary(BinOp::Eq, a, b) = c {
            let (ra, rb) = (rels_of(rels, a), rels_of(rels, b));
            if !ra.is_empty() && !rb.is_empty() && ra.iter().all(|x| !rb.contains(x)) {
                let ka = super::vexpr::compile(a, &types).map(super::vexpr::as_value)?;
                let kb = super::vexpr::compile(b, &types).map(super::vexpr::as_value)?;
                let (ca, cb) = (class(&ka), class(&kb));
                let hashable = ca == cb && matches!(ca, VType::Int | VType::Text);
                eq = Some(EqConj { sides: [(ka, ra), (kb, rb)], hashable });
            }
        }
        conjs.push(Conj { rels: cr, pred, eq });
    }
    Some(Pipeline {
        source: Source::Join(Box::new(JoinSpec {
            rels: out,
            conjs,
            late,
            width,
            unordered: false,
        })),
        steps: Vec::new(),
        types,
        raw: Vec::new(),
    })
}

/// Hashable join keys.
pub(super) trait JoinKey: Hash + Eq + Send + Sync + Sized {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Option<Self>>>;
}

impl JoinKey for i64 {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Option<i64>>> {
        let a = keys.first().and_then(|a| a.as_primitive_opt::<Int64Type>());
        Ok(a.ok_or(Fail::Unsupported)?.iter().collect())
    }
}

impl JoinKey for (i64, i64) {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Option<(i64, i64)>>> {
        let [a, b] = keys else { return Err(Fail::Unsupported) };
        let a = a.as_primitive_opt::<Int64Type>().ok_or(Fail::Unsupported)?;
        let b = b.as_primitive_opt::<Int64Type>().ok_or(Fail::Unsupported)?;
        Ok(a.iter().zip(b.iter()).map(|(x, y)| x.zip(y)).collect())
    }
}

impl JoinKey for Vec<GroupKey> {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Option<Self>>> {
        let cols: Vec<Vec<crate::value::Value>> =
            keys.iter().map(|a| array_values(a.as_ref())).collect::<Result<_, _>>()?;
        let n = keys.first().map_or(0, |a| a.len());
        Ok((0..n)
            .map(|i| {
                let k: Vec<GroupKey> = cols.iter().map(|c| c[i].group_key()).collect();
                (!k.contains(&GroupKey::Null)).then_some(k)
            })
            .collect())
    }
}

/// Keys of `arrays` (one array per key part), built in parallel chunks.
pub(super) fn keys_of<K: JoinKey>(arrays: &[ArrayRef]) -> VResult<Vec<Option<K>>> {
    let n = arrays.first().map_or(0, |a| a.len());
    let parts: Vec<Vec<Option<K>>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let start = c * CHUNK;
            let len = CHUNK.min(n - start);
            let slice: Vec<ArrayRef> = arrays.iter().map(|a| a.slice(start, len)).collect();
            K::build(&slice)
        })
        .collect::<VResult<_>>()?;
    Ok(parts.into_iter().flatten().collect())
}

/// A hash table over keyed rows: `head[key]` is the first row with the key,
/// `next[row]` the following one (ascending), `u32::MAX` ends a chain.
pub(super) struct Table<K> {
    head: FxMap<K, u32>,
    next: Vec<u32>,
}

impl<K: JoinKey> Table<K> {
    pub(super) fn new(keys: Vec<Option<K>>) -> Table<K> {
        let mut head: FxMap<K, u32> = FxMap::default();
        head.reserve(keys.len());
        let mut next = vec![u32::MAX; keys.len()];
        for (i, k) in keys.into_iter().enumerate().rev() {
            if let Some(k) = k
                && let Some(prev) = head.insert(k, i as u32)
            {
                next[i] = prev;
            }
        }
        Table { head, next }
    }

    /// Calls `f` on the rows with key `k`, ascending.
    pub(super) fn each(&self, k: &K, mut f: impl FnMut(u32)) {
        let mut at = self.head.get(k).copied().unwrap_or(u32::MAX);
        while at != u32::MAX {
            f(at);
            at = self.next.get(at as usize).copied().unwrap_or(u32::MAX);
        }
    }
}

/// The matching (left row, right row) pairs, ordered by left row, then right
/// row: the order of the row path's hash join with `left` as the joined set.
/// `ordered: false` lets them come in any order.
fn pairs<K: JoinKey>(
    left: &[ArrayRef],
    right: &[ArrayRef],
    ordered: bool,
) -> VResult<(Vec<u32>, Vec<u32>)> {
    let (lk, rk) = (keys_of::<K>(left)?, keys_of::<K>(right)?);
    let probe = |table: &Table<K>, keys: &[Option<K>], swap: bool| -> Vec<(u32, u32)> {
        let parts: Vec<Vec<(u32, u32)>> = keys
            .par_chunks(CHUNK)
            .enumerate()
            .map(|(c, ks)| {
                let mut out = Vec::new();
                for (j, k) in ks.iter().enumerate() {
                    if let Some(k) = k {
                        let p = (c * CHUNK + j) as u32;
                        table.each(k, |m| out.push(if swap { (m, p) } else { (p, m) }));
                    }
                }
                out
            })
            .collect();
        parts.into_iter().flatten().collect()
    };
    if rk.len() <= lk.len() {
        // Probing in left order gives the order directly.
        let table = Table::new(rk);
        let ps = probe(&table, &lk, false);
        return Ok(ps.into_iter().unzip());
    }
    // Hash the (smaller) left side; the pairs come in right order, so a
    // stable counting sort by left row restores the order.
    let n_left = lk.len();
    let table = Table::new(lk);
    let ps = probe(&table, &rk, true);
    if !ordered {
        return Ok(ps.into_iter().unzip());
    }
    let mut counts = vec![0usize; n_left + 1];
    for p in &ps {
        counts[p.0 as usize + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let total = ps.len();
    let (mut li, mut ri) = (vec![0u32; total], vec![0u32; total]);
    for &(l, r) in &ps {
        let slot = &mut counts[l as usize];
        li[*slot] = l;
        ri[*slot] = r;
        *slot += 1;
    }
    Ok((li, ri))
}

pub(super) fn concat_batches(parts: Vec<Batch>, width: usize) -> VResult<Batch> {
    let rows = parts.iter().map(|b| b.rows).sum();
    let mut cols = Vec::with_capacity(width);
    for c in 0..width {
        let pieces: Vec<&dyn Array> =
            parts.iter().filter_map(|b| b.cols.get(c).and_then(|x| x.as_deref())).collect();
        cols.push(if pieces.len() == parts.len() && !pieces.is_empty() {
            Some(concat(&pieces)?)
        } else {
            None
        });
    }
    Ok(Batch { cols, rows })
}

/// Keeps the rows of `b` where every predicate is true (in parallel chunks).
fn filter_all(b: Batch, preds: &[&VExpr]) -> VResult<Batch> {
    if preds.is_empty() || b.rows == 0 {
        return Ok(b);
    }
    let width = b.cols.len();
    let chunks: Vec<Batch> = (0..b.rows.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let start = c * CHUNK;
            let len = CHUNK.min(b.rows - start);
            let mut part = Batch {
                cols: b.cols.iter().map(|x| x.as_ref().map(|a| a.slice(start, len))).collect(),
                rows: len,
            };
            for p in preds {
                let m = p.eval(&part)?.into_array(part.rows)?;
                let m: BooleanArray = m.as_boolean_opt().ok_or(Fail::Unsupported)?.clone();
                let m = if m.null_count() > 0 { prep_null_mask_filter(&m) } else { m };
                part = part.filter(&m)?;
            }
            Ok(part)
        })
        .collect::<VResult<_>>()?;
    concat_batches(chunks, width)
}

/// Gathers rows of `from` by `idx` into `into` (the columns present in `from`).
fn gather(into: &mut [Option<ArrayRef>], from: &Batch, idx: &UInt32Array) -> VResult<()> {
    let cols: Vec<(usize, ArrayRef)> = from
        .cols
        .par_iter()
        .enumerate()
        .filter_map(|(c, a)| a.as_ref().map(|a| (c, a)))
        .map(|(c, a)| Ok((c, take(a.as_ref(), idx, None)?)))
        .collect::<VResult<_>>()?;
    for (c, a) in cols {
        if let Some(slot) = into.get_mut(c) {
            *slot = Some(a);
        }
    }
    Ok(())
}

/// The last join step, run lazily: a table over the build side's keys and
/// the probe side cut in chunks, each chunk probed into one output batch.
struct LastStep<K> {
    table: Table<K>,
    build: Batch,
    probe_keys: Vec<VExpr>,
    /// Columns gathered into the output.
    gather: Vec<bool>,
    /// Conjuncts completed by the step (and the late ones).
    preds: Vec<VExpr>,
    /// Columns kept in the output batches.
    need: Vec<bool>,
}

impl<K: JoinKey + 'static> LastStep<K> {
    fn probe(&self, chunk: &Batch) -> VResult<Batch> {
        let keys: Vec<ArrayRef> = self
            .probe_keys
            .iter()
            .map(|e| e.eval(chunk)?.into_array(chunk.rows))
            .collect::<VResult<_>>()?;
        let ks = K::build(&keys)?;
        let (mut bi, mut pi) = (Vec::new(), Vec::new());
        for (j, k) in ks.iter().enumerate() {
            if let Some(k) = k {
                self.table.each(k, |m| {
                    bi.push(m);
                    pi.push(j as u32);
                });
            }
        }
        let rows = bi.len();
        let (bi, pi) = (UInt32Array::from(bi), UInt32Array::from(pi));
        let width = self.gather.len();
        let mut cols = vec![None; width];
        for (c, slot) in cols.iter_mut().enumerate() {
            if !self.gather[c] {
                continue;
            }
            if let Some(a) = self.build.cols.get(c).and_then(Option::as_ref) {
                *slot = Some(take(a.as_ref(), &bi, None)?);
            } else if let Some(a) = chunk.cols.get(c).and_then(Option::as_ref) {
                *slot = Some(take(a.as_ref(), &pi, None)?);
            }
        }
        let mut out = Batch { cols, rows };
        for p in &self.preds {
            let m = p.eval(&out)?.into_array(out.rows)?;
            let m: BooleanArray = m.as_boolean_opt().ok_or(Fail::Unsupported)?.clone();
            out = out.filter(&m)?;
        }
        for (c, slot) in out.cols.iter_mut().enumerate() {
            if self.need.get(c) != Some(&true) {
                *slot = None;
            }
        }
        Ok(out)
    }

    /// The output batches of probing `chunks` (in their order).
    fn pending(self, chunks: Vec<Batch>) -> Vec<Pending> {
        let me = Arc::new(self);
        chunks
            .into_iter()
            .map(|chunk| {
                let me = Arc::clone(&me);
                Box::new(move || me.probe(&chunk)) as Pending
            })
            .collect()
    }
}

/// The number of matching pairs between the rows keyed `left` and those
/// keyed `right` (in parts): the keys of the smaller side are counted, the
/// other side's looked up.
fn match_count<K: JoinKey>(left: &[ArrayRef], right: &[Vec<ArrayRef>]) -> VResult<u64> {
    let n_left = left.first().map_or(0, |a| a.len());
    let n_right: usize = right.iter().map(|p| p.first().map_or(0, |a| a.len())).sum();
    let mut counts: FxMap<K, u64> = FxMap::default();
    let mut total = 0u64;
    if n_left <= n_right {
        for k in K::build(left)?.into_iter().flatten() {
            *counts.entry(k).or_default() += 1;
        }
        for p in right {
            for k in K::build(p)?.iter().flatten() {
                total += counts.get(k).copied().unwrap_or(0);
            }
        }
    } else {
        for p in right {
            for k in K::build(p)?.into_iter().flatten() {
                *counts.entry(k).or_default() += 1;
            }
        }
        for k in K::build(left)?.iter().flatten() {
            total += counts.get(k).copied().unwrap_or(0);
        }
    }
    Ok(total)
}

/// Cuts `b` into batches of at most [`CHUNK`] rows.
pub(super) fn chunks(b: &Batch) -> Vec<Batch> {
    (0..b.rows.div_ceil(CHUNK))
        .map(|c| {
            let start = c * CHUNK;
            let len = CHUNK.min(b.rows - start);
            Batch {
                cols: b
                    .cols
                    .iter()
                    .map(|x| x.as_ref().map(|a| Arc::clone(a).slice(start, len)))
                    .collect(),
                rows: len,
            }
        })
        .collect()
}

/// The inputs of a join step: the joined set and the next relation (as its
/// pipeline's batches), with their key expressions.
struct StepIn<'a> {
    cur: &'a Batch,
    next: &'a [Batch],
    cur_keys: Vec<VExpr>,
    next_keys: Vec<VExpr>,
}

/// Runs the last step lazily (see [`LastStep`]) when its output order may be
/// produced that way; `None`: run it eagerly.
fn last_step<K: JoinKey + 'static>(
    s: StepIn<'_>,
    unordered: bool,
    gather: Vec<bool>,
    preds: Vec<VExpr>,
    need: Vec<bool>,
    width: usize,
) -> VResult<Option<Vec<Pending>>> {
    let next_rows: usize = s.next.iter().map(|b| b.rows).sum();
    if s.cur.rows >= next_rows {
        // Hash the next relation, probe with the joined set in its order:
        // the row path's order.
        let build = concat_batches(s.next.to_vec(), width)?;
        let keys: Vec<ArrayRef> = s
            .next_keys
            .iter()
            .map(|e| e.eval(&build)?.into_array(build.rows))
            .collect::<VResult<_>>()?;
        let table = Table::new(keys_of::<K>(&keys)?);
        let step = LastStep { table, build, probe_keys: s.cur_keys, gather, preds, need };
        return Ok(Some(step.pending(chunks(s.cur))));
    }
    if !unordered {
        return Ok(None);
    }
    // Hash the (smaller) joined set, probe with the next relation's batches.
    let keys: Vec<ArrayRef> =
        s.cur_keys.iter().map(|e| e.eval(s.cur)?.into_array(s.cur.rows)).collect::<VResult<_>>()?;
    let table = Table::new(keys_of::<K>(&keys)?);
    let step =
        LastStep { table, build: s.cur.clone(), probe_keys: s.next_keys, gather, preds, need };
    let mut parts = Vec::new();
    for b in s.next {
        parts.extend(chunks(b));
    }
    Ok(Some(step.pending(parts)))
}

impl JoinSpec {
    /// The number of rows joining `rel` to `cur` by the equalities `keys`
    /// ((conjunct, side over `cur`, side over `rel`)) gives.
    fn step_rows(
        &self,
        cur: &Batch,
        rel: &[Batch],
        keys: &[(usize, usize, usize)],
    ) -> VResult<u64> {
        let mut cx = Vec::with_capacity(keys.len());
        let mut rx = Vec::with_capacity(keys.len());
        let mut all_int = true;
        for &(ci, l, r) in keys {
            let eq = self.conjs[ci].eq.as_ref().ok_or(Fail::Unsupported)?;
            if !eq.hashable {
                return Err(Fail::Unsupported);
            }
            all_int &= class(&eq.sides[l].0) == VType::Int;
            cx.push(&eq.sides[l].0);
            rx.push(&eq.sides[r].0);
        }
        let eval = |es: &[&VExpr], b: &Batch| -> VResult<Vec<ArrayRef>> {
            es.iter().map(|e| e.eval(b)?.into_array(b.rows)).collect()
        };
        let ck = eval(&cx, cur)?;
        let rk: Vec<Vec<ArrayRef>> = rel.iter().map(|b| eval(&rx, b)).collect::<VResult<_>>()?;
        match (all_int, keys.len()) {
            (true, 1) => match_count::<i64>(&ck, &rk),
            (true, 2) => match_count::<(i64, i64)>(&ck, &rk),
            _ => match_count::<Vec<GroupKey>>(&ck, &rk),
        }
    }

    /// Lets the join produce its rows in any order (for an aggregate whose
    /// result does not depend on it).
    pub(super) fn set_unordered(&mut self) {
        self.unordered = true;
    }

    /// Runs the join into batches of the joined row (columns not in `need`
    /// left out); `None` below the `auto` threshold. The last step's batches
    /// are made in the caller's parallel loop.
    pub(super) fn run(&self, ctx: &ExecCtx<'_>, need: &[bool]) -> VResult<Option<Vec<Pending>>> {
        let width = self.width;
        // Columns read above the join or by a conjunct.
        let mut keep: Vec<bool> = (0..width).map(|c| need.get(c) == Some(&true)).collect();
        for e in self.conjs.iter().map(|c| &c.pred).chain(&self.late) {
            e.visit_columns(&mut |k| super::mark(&mut keep, k));
        }
        // Each relation, filtered, as batches of the full joined width.
        let mut parts: Vec<Vec<Batch>> = Vec::with_capacity(self.rels.len());
        for r in &self.rels {
            let n: Vec<bool> = (r.start..r.start + r.width).map(|c| keep[c]).collect();
            let Some(ps) = r.pipeline.run_with(ctx, &n, true, &|_, b| {
                let mut cols = vec![None; width];
                for (c, a) in b.cols.into_iter().enumerate() {
                    cols[r.start + c] = a;
                }
                Ok(Batch { cols, rows: b.rows })
            })?
            else {
                return Ok(None);
            };
            parts.push(ps);
        }
        let sizes: Vec<usize> = parts.iter().map(|p| p.iter().map(|b| b.rows).sum()).collect();
        let biggest = sizes.iter().copied().max().unwrap_or(0);
        if ctx.columnar == ColumnarMode::Auto && (biggest as u64) < super::AUTO_MIN_ROWS {
            return Ok(None);
        }
        let n_rels = self.rels.len();
        let Some(first) = (0..n_rels).min_by_key(|&i| sizes[i]) else {
            return Err(Fail::Unsupported);
        };
        let mut joined = vec![first];
        let mut done = vec![false; self.conjs.len()];
        let mut cur = concat_batches(std::mem::take(&mut parts[first]), width)?;
        while joined.len() < n_rels {
            ctx.check_cancel()?;
            let in_cur = |r: &Vec<usize>| !r.is_empty() && r.iter().all(|x| joined.contains(x));
            // (conjunct, side over the joined set, side over relation i)
            let linked = |i: usize| -> Vec<(usize, usize, usize)> {
                let mut keys = Vec::new();
                for (ci, c) in self.conjs.iter().enumerate() {
                    if done[ci] {
                        continue;
                    }
                    if let Some(eq) = &c.eq {
                        let (ra, rb) = (&eq.sides[0].1, &eq.sides[1].1);
                        if rb.as_slice() == [i] && in_cur(ra) {
                            keys.push((ci, 0, 1));
                        } else if ra.as_slice() == [i] && in_cur(rb) {
                            keys.push((ci, 1, 0));
                        }
                    }
                }
                keys
            };
            let candidates: Vec<usize> = (0..n_rels).filter(|i| !joined.contains(i)).collect();
            let linked_to: Vec<usize> =
                candidates.iter().copied().filter(|&i| !linked(i).is_empty()).collect();
            let next = if self.unordered && linked_to.len() > 1 {
                // Any order will do: the relation giving the fewest rows.
                let mut best = None;
                for &i in &linked_to {
                    let n = self.step_rows(&cur, &parts[i], &linked(i))?;
                    if best.is_none_or(|(b, bi)| (n, sizes[i]) < (b, sizes[bi])) {
                        best = Some((n, i));
                    }
                }
                best.map(|(_, i)| i)
            } else {
                linked_to.iter().copied().min_by_key(|&i| sizes[i])
            };
            let Some(next) = next else {
                // A cross join: the row path's.
                return Err(Fail::Unsupported);
            };
            let keys = linked(next);
            let mut lx = Vec::with_capacity(keys.len());
            let mut rx = Vec::with_capacity(keys.len());
            let mut all_int = true;
            for &(ci, l, r) in &keys {
                let eq = self.conjs[ci].eq.as_ref().ok_or(Fail::Unsupported)?;
                if !eq.hashable {
                    return Err(Fail::Unsupported);
                }
                all_int &= class(&eq.sides[l].0) == VType::Int;
                lx.push(eq.sides[l].0.clone());
                rx.push(eq.sides[r].0.clone());
                done[ci] = true;
            }
            joined.push(next);
            // Conjuncts now covered filter the result.
            let mut preds = Vec::new();
            for (ci, c) in self.conjs.iter().enumerate() {
                if !done[ci] && c.rels.iter().all(|r| joined.contains(r)) {
                    preds.push(c.pred.clone());
                    done[ci] = true;
                }
            }
            if joined.len() == n_rels {
                preds.extend(self.late.iter().cloned());
                let mut gather: Vec<bool> =
                    (0..width).map(|c| need.get(c) == Some(&true)).collect();
                for p in &preds {
                    p.visit_columns(&mut |k| super::mark(&mut gather, k));
                }
                let s = StepIn {
                    cur: &cur,
                    next: &parts[next],
                    cur_keys: lx.clone(),
                    next_keys: rx.clone(),
                };
                let need = need.to_vec();
                let lazy = match (all_int, lx.len()) {
                    (true, 1) => {
                        last_step::<i64>(s, self.unordered, gather, preds.clone(), need, width)?
                    }
                    (true, 2) => last_step::<(i64, i64)>(
                        s,
                        self.unordered,
                        gather,
                        preds.clone(),
                        need,
                        width,
                    )?,
                    _ => last_step::<Vec<GroupKey>>(
                        s,
                        self.unordered,
                        gather,
                        preds.clone(),
                        need,
                        width,
                    )?,
                };
                if let Some(out) = lazy {
                    return Ok(Some(out));
                }
            }
            let nb = concat_batches(std::mem::take(&mut parts[next]), width)?;
            let mut lk = Vec::with_capacity(lx.len());
            let mut rk = Vec::with_capacity(rx.len());
            for (l, r) in lx.iter().zip(&rx) {
                lk.push(l.eval(&cur)?.into_array(cur.rows)?);
                rk.push(r.eval(&nb)?.into_array(nb.rows)?);
            }
            let (li, ri) = match (all_int, lk.len()) {
                (true, 1) => pairs::<i64>(&lk, &rk, !self.unordered)?,
                (true, 2) => pairs::<(i64, i64)>(&lk, &rk, !self.unordered)?,
                _ => pairs::<Vec<GroupKey>>(&lk, &rk, !self.unordered)?,
            };
            let rows = li.len();
            let (li, ri) = (UInt32Array::from(li), UInt32Array::from(ri));
            let mut cols = vec![None; width];
            gather(&mut cols, &cur, &li)?;
            gather(&mut cols, &nb, &ri)?;
            cur = Batch { cols, rows };
            let preds: Vec<&VExpr> = preds.iter().collect();
            cur = filter_all(cur, &preds)?;
        }
        // (Only a join of one relation gets here.)
        for (c, slot) in cur.cols.iter_mut().enumerate() {
            if need.get(c) != Some(&true) {
                *slot = None;
            }
        }
        Ok(Some(chunks(&cur).into_iter().map(|b| Box::new(move || Ok(b)) as Pending).collect()))
    }
}
