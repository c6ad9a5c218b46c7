//! Joins: a multi-way inner join with greedy ordering and hash joins on
//! equi-conjuncts, and a nested-loop outer join.

use super::{ExecCtx, Outer, execute};
use crate::eval::{eval, eval_pred};
use crate::expr::{BinOp, Expr};
use crate::plan::{JoinKind, JoinRel};
use crate::value::{GroupKey, Row, Value};
use llkv_sql::{SqlError, SqlResult};
use rayon::prelude::*;
use std::collections::HashMap;

/// Inner joins of several relations (comma joins, CROSS and INNER JOIN).
///
/// Rows are built at full width: relation `i` fills its own column range, so
/// conjuncts bound against the whole FROM clause apply unchanged at any join
/// order. The rule-based order: single-relation conjuncts filter their relation
/// first; then, starting from the smallest relation, the next relation is one
/// linked by an equality (joined by hashing), else the smallest left (cross).
pub struct MultiJoinExecutor;

struct Conj {
    expr: Expr,
    rels: Vec<usize>,
    late: bool,
    done: bool,
}

fn rel_of(rels: &[JoinRel], col: usize) -> Option<usize> {
    rels.iter().position(|r| col >= r.start && col < r.start + r.width)
}

fn rels_of(rels: &[JoinRel], e: &Expr) -> Vec<usize> {
    let mut v: Vec<usize> = e.columns().into_iter().filter_map(|c| rel_of(rels, c)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

impl MultiJoinExecutor {
    /// Runs the join.
    ///
    /// # Errors
    /// Storage and evaluation errors.
    pub fn execute(
        rels: &[JoinRel],
        conjuncts: &[Expr],
        width: usize,
        outer: Option<&Outer<'_>>,
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        let mut conj: Vec<Conj> = conjuncts
            .iter()
            .map(|e| Conj {
                expr: e.clone(),
                rels: rels_of(rels, e),
                late: e.has_subquery(),
                done: false,
            })
            .collect();
        // Constant conjuncts decide up front.
        let empty_row = vec![Value::Null; width];
        for c in conj.iter_mut().filter(|c| c.rels.is_empty() && !c.late) {
            if !eval_pred(&c.expr, &empty_row, outer, ctx)? {
                return Ok(Vec::new());
            }
            c.done = true;
        }
        // Read and pre-filter each relation.
        let mut inputs: Vec<Vec<Row>> = Vec::with_capacity(rels.len());
        for (i, rel) in rels.iter().enumerate() {
            let mut rows = execute(&rel.plan, outer, ctx)?;
            for c in conj.iter_mut().filter(|c| !c.late && !c.done && c.rels == [i]) {
                let mut e = c.expr.clone();
                let start = rel.start;
                e.map_columns(&|k| k - start);
                rows = super::FilterExecutor::execute(rows, &e, outer, ctx)?;
                c.done = true;
            }
            inputs.push(rows);
        }
        let Some(first) = (0..rels.len()).min_by_key(|&i| inputs[i].len()) else {
            return Ok(vec![Vec::new()]);
        };
        let mut joined: Vec<usize> = vec![first];
        let mut cur: Vec<Row> = inputs[first]
            .iter()
            .map(|r| {
                let mut full = vec![Value::Null; width];
                place(&mut full, rels[first].start, r);
                full
            })
            .collect();
        while joined.len() < rels.len() {
            // Pick the next relation: linked by equalities first, smallest first.
            let candidates: Vec<usize> = (0..rels.len()).filter(|i| !joined.contains(i)).collect();
            let linked = |i: usize| -> Vec<(usize, Expr, Expr)> {
                let mut keys = Vec::new();
                for (ci, c) in conj.iter().enumerate() {
                    if c.done || c.late {
                        continue;
                    }
                    if let Expr::Binary(BinOp::Eq, a, b) = &c.expr {
                        let (ra, rb) = (rels_of(rels, a), rels_of(rels, b));
                        let cur_side =
                            |r: &Vec<usize>| !r.is_empty() && r.iter().all(|x| joined.contains(x));
                        if rb == [i] && cur_side(&ra) {
                            keys.push((ci, (**a).clone(), (**b).clone()));
                        } else if ra == [i] && cur_side(&rb) {
                            keys.push((ci, (**b).clone(), (**a).clone()));
                        }
                    }
                }
                keys
            };
            let next = candidates
                .iter()
                .copied()
                .filter(|&i| !linked(i).is_empty())
                .min_by_key(|&i| inputs[i].len())
                .or_else(|| candidates.iter().copied().min_by_key(|&i| inputs[i].len()));
            let Some(next) = next else { break };
            let keys = linked(next);
            let rel = &rels[next];
            let right = &inputs[next];
            cur = if keys.is_empty() {
                // Conjuncts this step completes filter the product as it is
                // built, so only matching rows are ever materialized.
                let mut covering = Vec::new();
                for c in conj.iter_mut().filter(|c| !c.done && !c.late) {
                    if c.rels.iter().all(|r| *r == next || joined.contains(r)) {
                        covering.push(c.expr.clone());
                        c.done = true;
                    }
                }
                cross(&cur, right, rel.start, &covering, outer, ctx)?
            } else {
                for (ci, _, _) in &keys {
                    conj[*ci].done = true;
                }
                let start = rel.start;
                let right_keys: Vec<Expr> = keys
                    .iter()
                    .map(|(_, _, r)| {
                        let mut e = r.clone();
                        e.map_columns(&|k| k - start);
                        e
                    })
                    .collect();
                let left_keys: Vec<Expr> = keys.iter().map(|(_, l, _)| l.clone()).collect();
                hash_join(&cur, right, &left_keys, &right_keys, start, outer, ctx)?
            };
            joined.push(next);
            // Apply conjuncts now fully covered.
            for c in conj.iter_mut().filter(|c| !c.done && !c.late) {
                if c.rels.iter().all(|r| joined.contains(r)) {
                    cur = super::FilterExecutor::execute(cur, &c.expr, outer, ctx)?;
                    c.done = true;
                }
            }
        }
        for c in conj.iter().filter(|c| !c.done) {
            cur = super::FilterExecutor::execute(cur, &c.expr, outer, ctx)?;
        }
        Ok(cur)
    }
}

fn place(full: &mut [Value], start: usize, part: &[Value]) {
    for (slot, v) in full.iter_mut().skip(start).zip(part) {
        *slot = v.clone();
    }
}

/// The most rows one cross-join step may materialize. The row executor holds
/// whole intermediate results in memory; past this a query fails with a clear
/// error instead of exhausting memory.
const MAX_CROSS_ROWS: usize = 20_000_000;

/// The rows of `left` × `right` (placed at `start`) that satisfy every
/// predicate in `filters`.
fn cross(
    left: &[Row],
    right: &[Row],
    start: usize,
    filters: &[Expr],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Vec<Row>> {
    let mut out = Vec::new();
    for l in left {
        ctx.check_cancel()?;
        for r in right {
            let mut row = l.clone();
            place(&mut row, start, r);
            let mut keep = true;
            for f in filters {
                if !eval_pred(f, &row, outer, ctx)? {
                    keep = false;
                    break;
                }
            }
            if keep {
                if out.len() >= MAX_CROSS_ROWS {
                    return Err(SqlError::execution(format!(
                        "a join without usable join condition produces more than \
                         {MAX_CROSS_ROWS} rows; add an equality between the tables"
                    )));
                }
                out.push(row);
            }
        }
    }
    Ok(out)
}

fn key_of(
    exprs: &[Expr],
    row: &[Value],
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Option<Vec<GroupKey>>> {
    let mut k = Vec::with_capacity(exprs.len());
    for e in exprs {
        let v = eval(e, row, outer, ctx)?;
        // NULL never equals anything.
        if v.is_null() {
            return Ok(None);
        }
        k.push(v.group_key());
    }
    Ok(Some(k))
}

/// Builds a hash table on the right rows and probes it with the left rows
/// (in parallel over the probe side).
fn hash_join(
    left: &[Row],
    right: &[Row],
    left_keys: &[Expr],
    right_keys: &[Expr],
    start: usize,
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Vec<Row>> {
    let mut table: HashMap<Vec<GroupKey>, Vec<usize>> = HashMap::new();
    for (i, r) in right.iter().enumerate() {
        if let Some(k) = key_of(right_keys, r, outer, ctx)? {
            table.entry(k).or_default().push(i);
        }
    }
    let probe = |l: &Row| -> SqlResult<Vec<Row>> {
        ctx.check_cancel()?;
        let mut out = Vec::new();
        if let Some(k) = key_of(left_keys, l, outer, ctx)?
            && let Some(ms) = table.get(&k)
        {
            for &m in ms {
                let mut row = l.clone();
                place(&mut row, start, &right[m]);
                out.push(row);
            }
        }
        Ok(out)
    };
    let parts: Vec<Vec<Row>> = if left.len() >= super::PARALLEL_ROWS {
        left.par_iter().map(probe).collect::<SqlResult<_>>()?
    } else {
        left.iter().map(probe).collect::<SqlResult<_>>()?
    };
    Ok(parts.into_iter().flatten().collect())
}

/// An outer (or inner) join of two inputs by nested loops; row = left ++ right.
pub struct JoinExecutor;

impl JoinExecutor {
    /// Runs the join; unmatched rows of the preserved side(s) get NULLs.
    ///
    /// # Errors
    /// Evaluation errors.
    #[expect(clippy::too_many_arguments, reason = "a join has this many inputs")]
    pub fn execute(
        left: Vec<Row>,
        right: Vec<Row>,
        left_width: usize,
        right_width: usize,
        kind: JoinKind,
        on: Option<&Expr>,
        outer: Option<&Outer<'_>>,
        ctx: &ExecCtx<'_>,
    ) -> SqlResult<Vec<Row>> {
        if let Some(on) = on
            && let Some(out) =
                hashed_outer(&left, &right, left_width, right_width, kind, on, outer, ctx)?
        {
            return Ok(out);
        }
        let mut out = Vec::new();
        let mut right_matched = vec![false; right.len()];
        for l in &left {
            ctx.check_cancel()?;
            let mut matched = false;
            for (j, r) in right.iter().enumerate() {
                let mut row = Vec::with_capacity(left_width + right_width);
                row.extend(l.iter().cloned());
                row.extend(r.iter().cloned());
                let ok = match on {
                    Some(e) => eval_pred(e, &row, outer, ctx)?,
                    None => true,
                };
                if ok {
                    matched = true;
                    right_matched[j] = true;
                    out.push(row);
                }
            }
            if !matched && matches!(kind, JoinKind::Left | JoinKind::Full) {
                let mut row = l.clone();
                row.resize(left_width + right_width, Value::Null);
                out.push(row);
            }
        }
        if matches!(kind, JoinKind::Right | JoinKind::Full) {
            for (j, r) in right.iter().enumerate() {
                if !right_matched[j] {
                    let mut row = vec![Value::Null; left_width];
                    row.extend(r.iter().cloned());
                    out.push(row);
                }
            }
        }
        Ok(out)
    }
}

/// [`JoinExecutor::execute`] for an ON clause with equalities between the
/// two sides: the right rows are hashed on their side of the equalities, and
/// each left row meets only the right rows with its key (in their order)
/// instead of all of them. Same rows in the same order as the nested loop:
/// a pair passes `on` only if its keys are equal and non-NULL (`=` on values
/// is equality of their group keys), and the other conjuncts are evaluated
/// on the pairs that remain. `None` when the ON clause has no such equality
/// (or has a subquery).
#[expect(clippy::too_many_arguments, reason = "a join has this many inputs")]
fn hashed_outer(
    left: &[Row],
    right: &[Row],
    left_width: usize,
    right_width: usize,
    kind: JoinKind,
    on: &Expr,
    outer: Option<&Outer<'_>>,
    ctx: &ExecCtx<'_>,
) -> SqlResult<Option<Vec<Row>>> {
    if on.has_subquery() {
        return Ok(None);
    }
    let mut cs = Vec::new();
    crate::planner::conjuncts(on, &mut cs);
    let side = |e: &Expr| -> Option<bool> {
        let cols = e.columns();
        if cols.is_empty() {
            None
        } else if cols.iter().all(|&c| c < left_width) {
            Some(false)
        } else if cols.iter().all(|&c| c >= left_width) {
            Some(true)
        } else {
            None
        }
    };
    let (mut lk, mut rk, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for c in cs {
        if let Expr::Binary(BinOp::Eq, a, b) = &c {
            let (sa, sb) = (side(a), side(b));
            if let (Some(x), Some(y)) = (sa, sb)
                && x != y
            {
                let (l, mut r) =
                    if x { ((**b).clone(), (**a).clone()) } else { ((**a).clone(), (**b).clone()) };
                r.map_columns(&|k| k - left_width);
                lk.push(l);
                rk.push(r);
                continue;
            }
        }
        rest.push(c);
    }
    if lk.is_empty() {
        return Ok(None);
    }
    let residual = rest.into_iter().reduce(|a, b| Expr::Binary(BinOp::And, a.into(), b.into()));
    let mut table: HashMap<Vec<GroupKey>, Vec<usize>> = HashMap::new();
    for (j, r) in right.iter().enumerate() {
        if let Some(k) = key_of(&rk, r, outer, ctx)? {
            table.entry(k).or_default().push(j);
        }
    }
    let width = left_width + right_width;
    let probe = |l: &Row| -> SqlResult<(Vec<Row>, Vec<usize>)> {
        ctx.check_cancel()?;
        let mut rows = Vec::new();
        let mut hits = Vec::new();
        if let Some(k) = key_of(&lk, l, outer, ctx)?
            && let Some(ms) = table.get(&k)
        {
            for &j in ms {
                let mut row = Vec::with_capacity(width);
                row.extend(l.iter().cloned());
                row.extend(right[j].iter().cloned());
                let ok = match &residual {
                    Some(e) => eval_pred(e, &row, outer, ctx)?,
                    None => true,
                };
                if ok {
                    rows.push(row);
                    hits.push(j);
                }
            }
        }
        if rows.is_empty() && matches!(kind, JoinKind::Left | JoinKind::Full) {
            let mut row = l.clone();
            row.resize(width, Value::Null);
            rows.push(row);
        }
        Ok((rows, hits))
    };
    let parts: Vec<(Vec<Row>, Vec<usize>)> = if left.len() >= super::PARALLEL_ROWS {
        left.par_iter().map(probe).collect::<SqlResult<_>>()?
    } else {
        left.iter().map(probe).collect::<SqlResult<_>>()?
    };
    let mut right_matched = vec![false; right.len()];
    let mut out = Vec::new();
    for (rows, hits) in parts {
        for j in hits {
            right_matched[j] = true;
        }
        out.extend(rows);
    }
    if matches!(kind, JoinKind::Right | JoinKind::Full) {
        for (j, r) in right.iter().enumerate() {
            if !right_matched[j] {
                let mut row = vec![Value::Null; left_width];
                row.extend(r.iter().cloned());
                out.push(row);
            }
        }
    }
    Ok(Some(out))
}
