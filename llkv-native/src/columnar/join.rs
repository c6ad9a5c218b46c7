//! Inner equi-join of two pipelines by hashing.
//!
//! The row path ([`crate::exec::MultiJoinExecutor`]) starts from the smaller
//! input and emits, for each of its rows in order, the matching rows of the
//! other input in their order. Here the hash table is built on the smaller
//! input and the larger one probes it in parallel chunks; the matches, found
//! in the larger input's order, are then put into the row path's order by a
//! stable counting sort on the smaller input's row number. Conjuncts on one
//! input filter that input first; the others filter the joined batches.
//! Keys must be INTEGER = INTEGER or TEXT = TEXT (NULL matches nothing).

use super::hash::FxMap;
use super::vexpr::{Fail, VExpr, VResult, VType, class};
use super::{Batch, ColumnarMode, Pipeline, Source, Step, compile_pred};
use crate::convert::array_values;
use crate::exec::ExecCtx;
use crate::expr::{BinOp, Expr};
use crate::plan::JoinRel;
use crate::value::GroupKey;
use arrow::array::{Array, ArrayRef, AsArray, UInt32Array};
use arrow::compute::{concat, take};
use arrow::datatypes::Int64Type;
use rayon::prelude::*;
use std::hash::Hash;

/// Rows per output batch (and per probe task).
const CHUNK: usize = 65_536;

/// A compiled two-way join.
#[derive(Debug, Clone)]
pub struct JoinSpec {
    sides: [Pipeline; 2],
    /// Width of the first input.
    split: usize,
    /// Key expressions over each input.
    keys: Vec<[VExpr; 2]>,
}

fn side_of(e: &Expr, split: usize) -> Option<usize> {
    let cols = e.columns();
    if cols.is_empty() {
        None
    } else if cols.iter().all(|&c| c < split) {
        Some(0)
    } else if cols.iter().all(|&c| c >= split) {
        Some(1)
    } else {
        None
    }
}

/// The pipeline of a `MultiJoin` of two relations, if it can be one.
pub(super) fn compile(rels: &[JoinRel], conjuncts: &[Expr], width: usize) -> Option<Pipeline> {
    let [a, b] = rels else { return None };
    if a.start != 0 || b.start != a.width || width != a.width + b.width {
        return None;
    }
    let split = a.width;
    let mut sides = [Pipeline::compile(&a.plan)?, Pipeline::compile(&b.plan)?];
    if sides[0].types.len() != a.width || sides[1].types.len() != b.width {
        return None;
    }
    let types: Vec<_> = sides[0].types.iter().chain(&sides[1].types).copied().collect();
    let mut keys = Vec::new();
    let mut residual = Vec::new();
    let local = |e: &Expr, side: usize| -> Expr {
        let mut e = e.clone();
        if side == 1 {
            e.map_columns(&|c| c - split);
        }
        e
    };
    for c in conjuncts {
        if c.has_subquery() {
            return None;
        }
        if let Some(s) = side_of(c, split) {
            let e = compile_pred(&local(c, s), &sides[s].types)?;
            sides[s].steps.push(Step::Filter(e));
            continue;
        }
        if let Expr::Binary(BinOp::Eq, l, r) = c
            && let (Some(sl), Some(sr)) = (side_of(l, split), side_of(r, split))
            && sl != sr
        {
            let (e0, e1) = if sl == 0 { (l, r) } else { (r, l) };
            let k0 = sides[0].expr(&local(e0, 0)).ok()?;
            let k1 = sides[1].expr(&local(e1, 1)).ok()?;
            let (c0, c1) = (class(&k0), class(&k1));
            if c0 == c1 && matches!(c0, VType::Int | VType::Text) {
                keys.push([k0, k1]);
                continue;
            }
        }
        residual.push(compile_pred(c, &types)?);
    }
    if keys.is_empty() {
        return None;
    }
    Some(Pipeline {
        source: Source::Join(Box::new(JoinSpec { sides, split, keys })),
        steps: residual.into_iter().map(Step::Filter).collect(),
        types,
    })
}

trait JoinKey: Hash + Eq + Send + Sync + Sized {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Option<Self>>>;
}

impl JoinKey for i64 {
    fn build(keys: &[ArrayRef]) -> VResult<Vec<Option<i64>>> {
        let a = keys.first().and_then(|a| a.as_primitive_opt::<Int64Type>());
        Ok(a.ok_or(Fail::Unsupported)?.iter().collect())
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

/// Pairs (build row, probe row) in build-row-major order.
fn matches<K: JoinKey>(build: &[ArrayRef], probe: &[ArrayRef]) -> VResult<(Vec<u32>, Vec<u32>)> {
    let mut table: FxMap<K, Vec<u32>> = FxMap::default();
    for (i, k) in K::build(build)?.into_iter().enumerate() {
        if let Some(k) = k {
            table.entry(k).or_default().push(i as u32);
        }
    }
    let n = probe.first().map_or(0, |a| a.len());
    let parts: Vec<Vec<(u32, u32)>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let start = c * CHUNK;
            let len = CHUNK.min(n - start);
            let slice: Vec<ArrayRef> = probe.iter().map(|a| a.slice(start, len)).collect();
            let mut out = Vec::new();
            for (j, k) in K::build(&slice)?.into_iter().enumerate() {
                if let Some(ms) = k.as_ref().and_then(|k| table.get(k)) {
                    out.extend(ms.iter().map(|&m| (m, (start + j) as u32)));
                }
            }
            Ok(out)
        })
        .collect::<VResult<_>>()?;
    // Stable counting sort by build row: (build, probe) ascending.
    let build_rows = build.first().map_or(0, |a| a.len());
    let mut counts = vec![0usize; build_rows + 1];
    for p in parts.iter().flatten() {
        counts[p.0 as usize + 1] += 1;
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let total = counts[build_rows];
    let (mut bi, mut pi) = (vec![0u32; total], vec![0u32; total]);
    for &(b, p) in parts.iter().flatten() {
        let slot = &mut counts[b as usize];
        bi[*slot] = b;
        pi[*slot] = p;
        *slot += 1;
    }
    Ok((bi, pi))
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

impl JoinSpec {
    /// Runs both inputs and joins them into batches of the joined row
    /// (columns not in `need` left out); `None` below the `auto` threshold.
    pub(super) fn run(
        &self,
        ctx: &ExecCtx<'_>,
        need: &[bool],
    ) -> VResult<Option<Vec<VResult<Batch>>>> {
        let split = self.split;
        let mut inputs = Vec::with_capacity(2);
        for (s, p) in self.sides.iter().enumerate() {
            let w = p.types.len();
            let off = if s == 0 { 0 } else { split };
            let mut n: Vec<bool> = (0..w).map(|c| need.get(off + c) == Some(&true)).collect();
            for k in &self.keys {
                k[s].visit_columns(&mut |c| super::mark(&mut n, c));
            }
            let Some(parts) = p.run_with(ctx, &n, true, &|_, b| Ok(b))? else {
                return Ok(None);
            };
            inputs.push(concat_batches(parts, w)?);
        }
        let biggest = inputs.iter().map(|b| b.rows).max().unwrap_or(0);
        if ctx.columnar == ColumnarMode::Auto && (biggest as u64) < super::AUTO_MIN_ROWS {
            return Ok(None);
        }
        // The row path starts from the smaller input (the first on a tie).
        let small = usize::from(inputs[1].rows < inputs[0].rows);
        let big = 1 - small;
        let key_arrays = |s: usize| -> VResult<Vec<ArrayRef>> {
            self.keys.iter().map(|k| k[s].eval(&inputs[s])?.into_array(inputs[s].rows)).collect()
        };
        let (kb, kp) = (key_arrays(small)?, key_arrays(big)?);
        let single_int = self.keys.len() == 1 && class(&self.keys[0][0]) == VType::Int;
        let (bi, pi) = if single_int {
            matches::<i64>(&kb, &kp)?
        } else {
            matches::<Vec<GroupKey>>(&kb, &kp)?
        };
        let width = self.sides[0].types.len() + self.sides[1].types.len();
        let total = bi.len();
        let out: Vec<VResult<Batch>> = (0..total.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let start = c * CHUNK;
                let end = (start + CHUNK).min(total);
                let idx = [
                    UInt32Array::from(bi[start..end].to_vec()),
                    UInt32Array::from(pi[start..end].to_vec()),
                ];
                let mut cols = vec![None; width];
                for (role, side) in [(0, small), (1, big)] {
                    let off = if side == 0 { 0 } else { split };
                    for (c, a) in inputs[side].cols.iter().enumerate() {
                        if let Some(a) = a {
                            cols[off + c] = Some(take(a.as_ref(), &idx[role], None)?);
                        }
                    }
                }
                Ok(Batch { cols, rows: end - start })
            })
            .collect();
        Ok(Some(out))
    }
}
