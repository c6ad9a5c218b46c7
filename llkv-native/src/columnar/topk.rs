//! ORDER BY [… LIMIT] over a pipeline: each batch keeps its own best
//! `offset + limit` rows (Arrow's partial lexicographic sort), then the
//! candidates are sorted once more. A last key — the row's position in scan
//! order — makes the result that of the row path's stable sort. REAL keys
//! compare with `-0.0` as `0.0` (SQLite compares values; Arrow uses IEEE
//! total order).

use super::vexpr::{Fail, VResult};
use super::{Batch, Pipeline};
use crate::exec::ExecCtx;
use crate::expr::Expr;
use crate::plan::{Plan, SortKey};
use crate::value::Row;
use arrow::array::{Array, ArrayRef, Float64Array, Scalar, UInt64Array};
use arrow::compute::kernels::numeric;
use arrow::compute::{SortColumn, SortOptions, concat, lexsort_to_indices, take};
use arrow::datatypes::DataType;
use std::sync::Arc;

/// Runs `Sort` / `Limit(Sort)` / `Limit(Project(Sort))` over a pipeline.
pub(super) fn run(plan: &Plan, ctx: &ExecCtx<'_>) -> VResult<Option<Vec<Row>>> {
    let (sort, outer, limit, offset) = match plan {
        Plan::Limit { input, limit, offset } => match input.as_ref() {
            s @ Plan::Sort { .. } => (s, None, limit.as_ref(), offset.as_ref()),
            Plan::Project { input: s, exprs }
                if matches!(s.as_ref(), Plan::Sort { .. })
                    && exprs.iter().all(|e| matches!(e, Expr::Column(_))) =>
            {
                (s.as_ref(), Some(exprs), limit.as_ref(), offset.as_ref())
            }
            _ => return Ok(None),
        },
        s @ Plan::Sort { .. } => (s, None, None, None),
        _ => return Ok(None),
    };
    let Plan::Sort { input, keys } = sort else { return Ok(None) };
    let Some(p) = Pipeline::compile(input) else { return Ok(None) };
    if p.types.iter().any(Option::is_none) {
        return Ok(None);
    }
    let konst = |e: Option<&Expr>| -> VResult<Option<i64>> {
        match e {
            None => Ok(None),
            Some(e) => Ok(crate::eval::eval(e, &[], None, ctx)?.as_i64()),
        }
    };
    let lim = konst(limit)?.unwrap_or(-1);
    let off = usize::try_from(konst(offset)?.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
    // A negative LIMIT means none.
    let fetch = if lim < 0 {
        None
    } else {
        Some(off.saturating_add(usize::try_from(lim).unwrap_or(usize::MAX)))
    };
    let kexprs = keys.iter().map(|k| p.expr(&k.expr)).collect::<VResult<Vec<_>>>()?;
    let width = p.types.len();
    let needed = vec![true; width];
    // Each batch: its output columns, key columns and positions, cut to `fetch`.
    let parts = p.run(ctx, &needed, &|bi, b: Batch| -> VResult<Vec<ArrayRef>> {
        let n = b.rows;
        let mut cols: Vec<ArrayRef> = Vec::with_capacity(width + keys.len() + 1);
        for c in &b.cols {
            cols.push(Arc::clone(c.as_ref().ok_or(Fail::Unsupported)?));
        }
        for k in &kexprs {
            cols.push(normalize(k.eval(&b)?.into_array(n)?)?);
        }
        let base = (bi as u64) << 32;
        cols.push(Arc::new(UInt64Array::from_iter_values((0..n as u64).map(|i| base | i))));
        match fetch {
            Some(f) if f < n => {
                let idx = lexsort_to_indices(&sort_columns(&cols, width, keys), Some(f))?;
                cols.iter().map(|c| Ok(take(c.as_ref(), &idx, None)?)).collect()
            }
            _ => Ok(cols),
        }
    })?;
    let Some(parts) = parts else { return Ok(None) };
    if parts.is_empty() || fetch == Some(0) {
        return Ok(Some(Vec::new()));
    }
    let ncols = width + keys.len() + 1;
    let mut all = Vec::with_capacity(ncols);
    for c in 0..ncols {
        let pieces: Vec<&dyn Array> =
            parts.iter().filter_map(|p| p.get(c)).map(|a| a.as_ref()).collect();
        all.push(concat(&pieces)?);
    }
    let idx = lexsort_to_indices(&sort_columns(&all, width, keys), fetch)?;
    let cols = all
        .iter()
        .take(width)
        .map(|c| Ok(Some(take(c.as_ref(), &idx, None)?)))
        .collect::<VResult<Vec<_>>>()?;
    let rows = Batch { cols, rows: idx.len() }.to_rows()?;
    let rows = rows.into_iter().skip(off);
    Ok(Some(match outer {
        None => rows.collect(),
        Some(exprs) => rows
            .map(|r| {
                exprs
                    .iter()
                    .map(|e| match e {
                        Expr::Column(i) => r.get(*i).cloned().ok_or(Fail::Unsupported),
                        _ => Err(Fail::Unsupported),
                    })
                    .collect::<VResult<Row>>()
            })
            .collect::<VResult<_>>()?,
    }))
}

fn sort_columns(cols: &[ArrayRef], width: usize, keys: &[SortKey]) -> Vec<SortColumn> {
    let mut out: Vec<SortColumn> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| SortColumn {
            values: Arc::clone(&cols[width + i]),
            options: Some(SortOptions { descending: !k.asc, nulls_first: k.nulls_first }),
        })
        .collect();
    out.push(SortColumn {
        values: Arc::clone(&cols[width + keys.len()]),
        options: Some(SortOptions { descending: false, nulls_first: false }),
    });
    out
}

/// `-0.0` → `0.0` in a REAL key.
fn normalize(a: ArrayRef) -> VResult<ArrayRef> {
    if a.data_type() == &DataType::Float64 {
        Ok(numeric::add_wrapping(&a, &Scalar::new(Float64Array::from(vec![0.0])))?)
    } else if a.data_type() == &DataType::Null {
        Err(Fail::Unsupported)
    } else {
        Ok(a)
    }
}
