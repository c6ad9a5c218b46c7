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
//! number restores the row path's order. Keys must be INTEGER = INTEGER or
//! TEXT = TEXT (NULL matches nothing); a step without an equality (a cross
//! join) or a conjunct with a subquery sends the plan to the row path.

use super::hash::FxMap;
use super::vexpr::{Fail, VExpr, VResult, VType, class};
use super::{Batch, ColumnarMode, Pipeline, Source, Step, compile_pred};
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
const CHUNK: usize = 65_536;

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
        source: Source::Join(Box::new(JoinSpec { rels: out, conjs, late, width })),
        steps: Vec::new(),
        types,
    })
}

/// Hashable join keys.
trait JoinKey: Hash + Eq + Send + Sync + Sized {
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
fn keys_of<K: JoinKey>(arrays: &[ArrayRef]) -> VResult<Vec<Option<K>>> {
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
struct Table<K> {
    head: FxMap<K, u32>,
    next: Vec<u32>,
}

impl<K: JoinKey> Table<K> {
    fn new(keys: Vec<Option<K>>) -> Table<K> {
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
    fn each(&self, k: &K, mut f: impl FnMut(u32)) {
        let mut at = self.head.get(k).copied().unwrap_or(u32::MAX);
        while at != u32::MAX {
            f(at);
            at = self.next.get(at as usize).copied().unwrap_or(u32::MAX);
        }
    }
}

/// The matching (left row, right row) pairs, ordered by left row, then right
/// row: the order of the row path's hash join with `left` as the joined set.
fn pairs<K: JoinKey>(left: &[ArrayRef], right: &[ArrayRef]) -> VResult<(Vec<u32>, Vec<u32>)> {
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

fn concat_batches(parts: Vec<Batch>, width: usize) -> VResult<Batch> {
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

impl JoinSpec {
    /// Runs the join into batches of the joined row (columns not in `need`
    /// left out); `None` below the `auto` threshold.
    pub(super) fn run(
        &self,
        ctx: &ExecCtx<'_>,
        need: &[bool],
    ) -> VResult<Option<Vec<VResult<Batch>>>> {
        let width = self.width;
        // Columns read above the join or by a conjunct.
        let mut keep: Vec<bool> = (0..width).map(|c| need.get(c) == Some(&true)).collect();
        for e in self.conjs.iter().map(|c| &c.pred).chain(&self.late) {
            e.visit_columns(&mut |k| super::mark(&mut keep, k));
        }
        // Each relation, filtered, as a batch of the full joined width.
        let mut inputs: Vec<Batch> = Vec::with_capacity(self.rels.len());
        for r in &self.rels {
            let n: Vec<bool> = (r.start..r.start + r.width).map(|c| keep[c]).collect();
            let Some(parts) = r.pipeline.run_with(ctx, &n, true, &|_, b| Ok(b))? else {
                return Ok(None);
            };
            let local = concat_batches(parts, r.width)?;
            let mut cols = vec![None; width];
            for (c, a) in local.cols.into_iter().enumerate() {
                cols[r.start + c] = a;
            }
            inputs.push(Batch { cols, rows: local.rows });
        }
        let biggest = inputs.iter().map(|b| b.rows).max().unwrap_or(0);
        if ctx.columnar == ColumnarMode::Auto && (biggest as u64) < super::AUTO_MIN_ROWS {
            return Ok(None);
        }
        let n_rels = self.rels.len();
        let Some(first) = (0..n_rels).min_by_key(|&i| inputs[i].rows) else {
            return Err(Fail::Unsupported);
        };
        let mut joined = vec![first];
        let mut done = vec![false; self.conjs.len()];
        let mut cur = inputs[first].clone();
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
            let Some(next) = candidates
                .iter()
                .copied()
                .filter(|&i| !linked(i).is_empty())
                .min_by_key(|&i| inputs[i].rows)
            else {
                // A cross join: the row path's.
                return Err(Fail::Unsupported);
            };
            let keys = linked(next);
            let mut lk = Vec::with_capacity(keys.len());
            let mut rk = Vec::with_capacity(keys.len());
            let mut all_int = true;
            for &(ci, l, r) in &keys {
                let eq = self.conjs[ci].eq.as_ref().ok_or(Fail::Unsupported)?;
                if !eq.hashable {
                    return Err(Fail::Unsupported);
                }
                all_int &= class(&eq.sides[l].0) == VType::Int;
                lk.push(eq.sides[l].0.eval(&cur)?.into_array(cur.rows)?);
                rk.push(eq.sides[r].0.eval(&inputs[next])?.into_array(inputs[next].rows)?);
                done[ci] = true;
            }
            let (li, ri) = match (all_int, lk.len()) {
                (true, 1) => pairs::<i64>(&lk, &rk)?,
                (true, 2) => pairs::<(i64, i64)>(&lk, &rk)?,
                _ => pairs::<Vec<GroupKey>>(&lk, &rk)?,
            };
            let rows = li.len();
            let (li, ri) = (UInt32Array::from(li), UInt32Array::from(ri));
            let mut cols = vec![None; width];
            gather(&mut cols, &cur, &li)?;
            gather(&mut cols, &inputs[next], &ri)?;
            cur = Batch { cols, rows };
            joined.push(next);
            // Conjuncts now covered filter the result.
            let mut preds = Vec::new();
            for (ci, c) in self.conjs.iter().enumerate() {
                if !done[ci] && c.rels.iter().all(|r| joined.contains(r)) {
                    preds.push(&c.pred);
                    done[ci] = true;
                }
            }
            cur = filter_all(cur, &preds)?;
        }
        let late: Vec<&VExpr> = self.late.iter().collect();
        cur = filter_all(cur, &late)?;
        // Drop what only the conjuncts read, then cut into output batches.
        for (c, slot) in cur.cols.iter_mut().enumerate() {
            if need.get(c) != Some(&true) {
                *slot = None;
            }
        }
        let total = cur.rows;
        let out = (0..total.div_ceil(CHUNK))
            .map(|c| {
                let start = c * CHUNK;
                let len = CHUNK.min(total - start);
                Ok(Batch {
                    cols: cur
                        .cols
                        .iter()
                        .map(|x| x.as_ref().map(|a| Arc::clone(a).slice(start, len)))
                        .collect(),
                    rows: len,
                })
            })
            .collect();
        Ok(Some(out))
    }
}
