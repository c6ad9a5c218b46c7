//! LEFT OUTER equi-joins of two pipelines (`left LEFT JOIN right ON l = r
//! AND …`): the right side, filtered by the ON conjuncts over it alone, is
//! hashed once; the left side's batches probe it in the parallel loop, each
//! left row followed by its matches in right order or, without one, by a row
//! of NULLs — the row path's ([`crate::exec::JoinExecutor`]) rows in its
//! order. Keys must be INTEGER = INTEGER or TEXT = TEXT; any other ON
//! conjunct sends the plan to the row path.

use super::join::{CHUNK, JoinKey, Table, chunks, concat_batches, keys_of};
use super::vexpr::{Fail, VExpr, VResult, VType, as_value, class};
use super::{Batch, Pending, Pipeline, Source, Step, compile_pred};
use crate::exec::ExecCtx;
use crate::expr::{BinOp, Expr};
use crate::plan::{JoinKind, Plan};
use crate::value::GroupKey;
use arrow::array::{ArrayRef, UInt32Array};
use arrow::compute::take;
use std::sync::Arc;

/// A compiled LEFT join.
#[derive(Debug, Clone)]
pub struct OuterSpec {
    left: Pipeline,
    right: Pipeline,
    /// Key expressions over the left and right rows (pairwise equal).
    left_keys: Vec<VExpr>,
    right_keys: Vec<VExpr>,
    left_width: usize,
    all_int: bool,
}

/// Whether every column of `e` is at least `from` (and below `to`); false
/// for no columns.
fn within(e: &Expr, from: usize, to: usize) -> bool {
    let cs = e.columns();
    !cs.is_empty() && cs.iter().all(|&c| c >= from && c < to)
}

/// The pipeline of `left LEFT JOIN right ON on`, if it can be one.
pub(super) fn compile(
    left: &Plan,
    right: &Plan,
    left_width: usize,
    right_width: usize,
    kind: JoinKind,
    on: Option<&Expr>,
) -> Option<Pipeline> {
    if kind != JoinKind::Left {
        return None;
    }
    let (l, mut r) = (Pipeline::compile(left)?, Pipeline::compile(right)?);
    if l.types.len() != left_width || r.types.len() != right_width {
        return None;
    }
    let width = left_width + right_width;
    let mut cs = Vec::new();
    crate::planner::conjuncts(on?, &mut cs);
    let (mut left_keys, mut right_keys) = (Vec::new(), Vec::new());
    let mut all_int = true;
    let to_right = |e: &Expr| {
        let mut e = e.clone();
        e.map_columns(&|k| k - left_width);
        e
    };
    for c in &cs {
        if c.has_subquery() {
            return None;
        }
        if within(c, left_width, width) {
            // Right rows failing it match nothing.
            let pred = compile_pred(&to_right(c), &r.types)?;
            r.steps.push(Step::Filter(pred));
            continue;
        }
        let Expr::Binary(BinOp::Eq, a, b) = c else { return None };
        let (lx, rx) = if within(a, 0, left_width) && within(b, left_width, width) {
            (a, b)
        } else if within(b, 0, left_width) && within(a, left_width, width) {
            (b, a)
        } else {
            return None;
        };
        let lk = super::vexpr::compile(lx, &l.types).map(as_value)?;
        let rk = super::vexpr::compile(&to_right(rx), &r.types).map(as_value)?;
        let (cl, cr) = (class(&lk), class(&rk));
        if cl != cr || !matches!(cl, VType::Int | VType::Text) {
            return None;
        }
        all_int &= cl == VType::Int;
        left_keys.push(lk);
        right_keys.push(rk);
    }
    if left_keys.is_empty() {
        return None;
    }
    let mut types = l.types.clone();
    types.extend(r.types.iter().copied());
    Some(Pipeline {
        source: Source::Outer(Box::new(OuterSpec {
            left: l,
            right: r,
            left_keys,
            right_keys,
            left_width,
            all_int,
        })),
        steps: Vec::new(),
        types,
        raw: Vec::new(),
    })
}

/// The hashed right side and what a probe needs.
struct Probe<K> {
    table: Table<K>,
    right: Batch,
    left_keys: Vec<VExpr>,
    left_width: usize,
    need: Vec<bool>,
}

impl<K: JoinKey + 'static> Probe<K> {
    fn probe(&self, chunk: &Batch) -> VResult<Batch> {
        let keys: Vec<ArrayRef> = self
            .left_keys
            .iter()
            .map(|e| e.eval(chunk)?.into_array(chunk.rows))
            .collect::<VResult<_>>()?;
        let ks = K::build(&keys)?;
        let (mut li, mut ri) = (Vec::with_capacity(ks.len()), Vec::with_capacity(ks.len()));
        for (j, k) in ks.iter().enumerate() {
            let before = li.len();
            if let Some(k) = k {
                self.table.each(k, |m| {
                    li.push(j as u32);
                    ri.push(Some(m));
                });
            }
            if li.len() == before {
                li.push(j as u32);
                ri.push(None);
            }
        }
        let rows = li.len();
        let (li, ri) = (UInt32Array::from(li), UInt32Array::from(ri));
        let mut cols = Vec::with_capacity(self.need.len());
        for (c, &n) in self.need.iter().enumerate() {
            let src = if c < self.left_width {
                chunk.cols.get(c).and_then(Option::as_ref).map(|a| (a, &li))
            } else {
                self.right.cols.get(c - self.left_width).and_then(Option::as_ref).map(|a| (a, &ri))
            };
            cols.push(match src {
                Some((a, idx)) if n => Some(take(a.as_ref(), idx, None)?),
                _ => None,
            });
        }
        Ok(Batch { cols, rows })
    }
}

fn pending<K: JoinKey + 'static>(
    spec: &OuterSpec,
    left: Vec<Batch>,
    right: Batch,
    need: Vec<bool>,
) -> VResult<Vec<Pending>> {
    let keys: Vec<ArrayRef> = spec
        .right_keys
        .iter()
        .map(|e| e.eval(&right)?.into_array(right.rows))
        .collect::<VResult<_>>()?;
    let table = Table::new(keys_of::<K>(&keys)?);
    let probe = Arc::new(Probe {
        table,
        right,
        left_keys: spec.left_keys.clone(),
        left_width: spec.left_width,
        need,
    });
    let mut out: Vec<Pending> = Vec::new();
    for b in left {
        for chunk in if b.rows > CHUNK { chunks(&b) } else { vec![b] } {
            let p = Arc::clone(&probe);
            out.push(Box::new(move || p.probe(&chunk)));
        }
    }
    Ok(out)
}

impl OuterSpec {
    /// Runs the join into batches of the joined row (columns not in `need`
    /// left out); `None` below the `auto` threshold (of the left side).
    pub(super) fn run(&self, ctx: &ExecCtx<'_>, need: &[bool]) -> VResult<Option<Vec<Pending>>> {
        let lw = self.left_width;
        let rw = self.right.types.len();
        let mut ln: Vec<bool> = (0..lw).map(|c| need.get(c) == Some(&true)).collect();
        let mut rn: Vec<bool> = (lw..lw + rw).map(|c| need.get(c) == Some(&true)).collect();
        for e in &self.left_keys {
            e.visit_columns(&mut |c| super::mark(&mut ln, c));
        }
        for e in &self.right_keys {
            e.visit_columns(&mut |c| super::mark(&mut rn, c));
        }
        let Some(left) = self.left.run_with(ctx, &ln, false, &|_, b| Ok(b))? else {
            return Ok(None);
        };
        let Some(right) = self.right.run_with(ctx, &rn, true, &|_, b| Ok(b))? else {
            return Ok(None);
        };
        ctx.check_cancel()?;
        let right = concat_batches(right, rw)?;
        let need: Vec<bool> = (0..lw + rw).map(|c| need.get(c) == Some(&true)).collect();
        let out = match (self.all_int, self.left_keys.len()) {
            (true, 1) => pending::<i64>(self, left, right, need)?,
            (true, 2) => pending::<(i64, i64)>(self, left, right, need)?,
            (_, 0) => return Err(Fail::Unsupported),
            _ => pending::<Vec<GroupKey>>(self, left, right, need)?,
        };
        Ok(Some(out))
    }
}
