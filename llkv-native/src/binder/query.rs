//! Binding queries: SELECT cores, compound selects, VALUES, WITH, ORDER BY
//! and LIMIT.
//!
//! ORDER BY terms resolve as in SQLite: an integer is a result column
//! position; a bare name matching a result alias is that column; an
//! expression equal to a result expression is that column; anything else is
//! evaluated over the input row as a hidden extra column.

use super::from::split_and;
use super::{AggState, Binder, BoundQuery, Scope};
use crate::expr::Expr;
use crate::plan::{Plan, SetOp, SortKey};
use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast;
use std::collections::HashMap;

impl Binder<'_> {
    /// Binds a full query.
    ///
    /// # Errors
    /// Unknown names, unsupported constructs.
    pub fn bind_query(&mut self, q: &ast::Query) -> SqlResult<BoundQuery> {
        if self.rowid.is_none() {
            self.rowid = Some(super::mentions_rowid(q));
        }
        let pushed = q.with.is_some();
        if let Some(w) = &q.with {
            if w.recursive {
                return Err(SqlError::plan("WITH RECURSIVE is not supported"));
            }
            self.ctes.push(HashMap::new());
            for cte in &w.cte_tables {
                let saved = std::mem::take(&mut self.outers);
                let r = self.bind_query(&cte.query);
                self.outers = saved;
                let mut bq = match r {
                    Ok(b) => b,
                    Err(e) => {
                        self.ctes.pop();
                        return Err(e);
                    }
                };
                for (n, c) in bq.names.iter_mut().zip(&cte.alias.columns) {
                    *n = c.name.value.clone();
                }
                if let Some(m) = self.ctes.last_mut() {
                    m.insert(super::ident_name(&cte.alias.name), bq);
                }
            }
        }
        let r = self.bind_query_body(q);
        if pushed {
            self.ctes.pop();
        }
        r
    }

    fn bind_query_body(&mut self, q: &ast::Query) -> SqlResult<BoundQuery> {
        if q.fetch.is_some() || !q.locks.is_empty() {
            return Err(SqlError::plan("FETCH / locking clauses are not supported"));
        }
        let positional: Vec<ast::OrderByExpr>;
        let order: &[ast::OrderByExpr] = match &q.order_by {
            Some(ast::OrderBy { kind: ast::OrderByKind::Expressions(v), .. })
                if !is_order_by_all(v) =>
            {
                v
            }
            Some(ast::OrderBy { kind, .. }) => {
                // ORDER BY ALL: every result column, left to right.
                let options = match kind {
                    ast::OrderByKind::All(o) => *o,
                    ast::OrderByKind::Expressions(v) => {
                        v.first().map(|o| o.options).unwrap_or_default()
                    }
                };
                let n = self.bind_set_expr(&q.body)?.names.len();
                positional = (1..=n)
                    .map(|i| ast::OrderByExpr {
                        expr: ast::Expr::value(ast::Value::Number(i.to_string(), false)),
                        options,
                        with_fill: None,
                    })
                    .collect();
                &positional
            }
            None => &[],
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, None),
            Some(ast::LimitClause::LimitOffset { limit, offset, limit_by }) => {
                if !limit_by.is_empty() {
                    return Err(SqlError::plan("LIMIT BY is not supported"));
                }
                (limit.clone(), offset.as_ref().map(|o| o.value.clone()))
            }
            Some(ast::LimitClause::OffsetCommaLimit { offset, limit }) => {
                (Some(limit.clone()), Some(offset.clone()))
            }
        };
        let mut bq = match q.body.as_ref() {
            ast::SetExpr::Select(s) => self.bind_select(s, order)?,
            other => {
                let bq = self.bind_set_expr(other)?;
                self.order_outputs(bq, order)?
            }
        };
        if limit.is_some() || offset.is_some() {
            let limit = limit.map(|l| self.bind_const_expr(&l)).transpose()?;
            let offset = offset.map(|o| self.bind_const_expr(&o)).transpose()?;
            bq.plan = Plan::Limit { input: Box::new(bq.plan), limit, offset };
        }
        Ok(bq)
    }

    fn bind_set_expr(&mut self, s: &ast::SetExpr) -> SqlResult<BoundQuery> {
        match s {
            ast::SetExpr::Select(sel) => self.bind_select(sel, &[]),
            ast::SetExpr::Query(q) => self.bind_query(q),
            ast::SetExpr::Values(v) => {
                let rows: Vec<Vec<Expr>> = v
                    .rows
                    .iter()
                    .map(|r| {
                        r.content
                            .iter()
                            .map(|e| self.bind_const_expr(e))
                            .collect::<SqlResult<Vec<_>>>()
                    })
                    .collect::<SqlResult<_>>()?;
                let n = rows.first().map_or(0, Vec::len);
                if rows.iter().any(|r| r.len() != n) {
                    return Err(SqlError::plan("all VALUES must have the same number of terms"));
                }
                Ok(BoundQuery {
                    plan: Plan::Values(rows),
                    names: (1..=n).map(|i| format!("column{i}")).collect(),
                })
            }
            ast::SetExpr::SetOperation { left, op, set_quantifier, right } => {
                let l = self.bind_set_expr(left)?;
                let r = self.bind_set_expr(right)?;
                if l.names.len() != r.names.len() {
                    return Err(SqlError::plan(format!(
                        "SELECTs to the left and right of {op} do not have the same number of result columns"
                    )));
                }
                let op = match op {
                    ast::SetOperator::Union => SetOp::Union,
                    ast::SetOperator::Intersect => SetOp::Intersect,
                    ast::SetOperator::Except | ast::SetOperator::Minus => SetOp::Except,
                };
                let all = match set_quantifier {
                    ast::SetQuantifier::All => true,
                    ast::SetQuantifier::None | ast::SetQuantifier::Distinct => false,
                    other => {
                        return Err(SqlError::plan(format!("unsupported set quantifier {other}")));
                    }
                };
                Ok(BoundQuery {
                    plan: Plan::SetOp { left: Box::new(l.plan), right: Box::new(r.plan), op, all },
                    names: l.names,
                })
            }
            other => Err(SqlError::plan(format!("unsupported query: {other}"))),
        }
    }

    /// ORDER BY over a compound select's output: positions or output names.
    fn order_outputs(
        &mut self,
        bq: BoundQuery,
        order: &[ast::OrderByExpr],
    ) -> SqlResult<BoundQuery> {
        if order.is_empty() {
            return Ok(bq);
        }
        let mut keys = Vec::new();
        for o in order {
            let idx = match output_position(&o.expr, bq.names.len())? {
                Some(i) => i,
                None => {
                    let name = match &o.expr {
                        ast::Expr::Identifier(i) => i.value.clone(),
                        ast::Expr::CompoundIdentifier(p) => {
                            p.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        other => other.to_string(),
                    };
                    bq.names.iter().position(|n| n.eq_ignore_ascii_case(&name)).ok_or_else(
                        || {
                            SqlError::plan(format!(
                                "ORDER BY term does not match any column in the result set: {}",
                                o.expr
                            ))
                        },
                    )?
                }
            };
            keys.push(sort_key(Expr::Column(idx), &o.options));
        }
        Ok(BoundQuery { plan: Plan::Sort { input: Box::new(bq.plan), keys }, names: bq.names })
    }

    /// Binds one SELECT core with its ORDER BY.
    fn bind_select(
        &mut self,
        s: &ast::Select,
        order: &[ast::OrderByExpr],
    ) -> SqlResult<BoundQuery> {
        if s.having.is_some()
            && matches!(&s.group_by, ast::GroupByExpr::Expressions(g, _) if g.is_empty())
        {
            // SQLite accepts HAVING without GROUP BY in an aggregate query.
        }
        if !s.lateral_views.is_empty()
            || s.qualify.is_some()
            || !s.named_window.is_empty()
            || s.top.is_some()
        {
            return Err(SqlError::plan("unsupported SELECT clause"));
        }
        let items = self.bind_from(&s.from)?;
        let scope =
            Scope { cols: items.rels.iter().flat_map(|(_, sc)| sc.cols.iter().cloned()).collect() };
        let mut on_and_where: Vec<ast::Expr> = items.on.clone();
        if let Some(w) = &s.selection {
            on_and_where.push(w.clone());
        }
        let mut conjuncts = items.bound_on;
        for e in &on_and_where {
            split_and(e, &mut |x| {
                let saw = std::mem::replace(&mut self.saw_agg, false);
                let b = self.bind_expr(x, &scope)?;
                if self.saw_agg {
                    return Err(SqlError::plan("misuse of aggregate function in WHERE"));
                }
                self.saw_agg = saw;
                conjuncts.push(b);
                Ok(())
            })?;
        }
        let source = self.join_plan(items.rels, conjuncts);

        // Expand the projection.
        let mut proj: Vec<(ast::Expr, String)> = Vec::new();
        let mut star_cols: Vec<(usize, usize)> = Vec::new(); // (output position, input column)
        // DuckDB's `FROM t` without SELECT means `SELECT *`.
        let star = [ast::SelectItem::Wildcard(ast::WildcardAdditionalOptions::default())];
        let items: &[ast::SelectItem] = if s.projection.is_empty()
            && matches!(s.flavor, ast::SelectFlavor::FromFirstNoSelect)
        {
            &star
        } else {
            &s.projection
        };
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e) => proj.push((e.clone(), expr_name(e))),
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    proj.push((expr.clone(), alias.value.clone()))
                }
                ast::SelectItem::Wildcard(opts) => {
                    if scope.cols.is_empty() {
                        return Err(SqlError::plan("no tables specified"));
                    }
                    let excluded = excluded_columns(opts, &scope)?;
                    for (i, c) in scope
                        .cols
                        .iter()
                        .enumerate()
                        .filter(|(i, c)| !c.hidden && !c.system && !excluded.contains(i))
                    {
                        star_cols.push((proj.len(), i));
                        proj.push((ast::Expr::Value(ast::Value::Null.into()), c.name.clone()));
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, opts) => {
                    let excluded = excluded_columns(opts, &scope)?;
                    let t = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            super::table_name(n)?
                        }
                        ast::SelectItemQualifiedWildcardKind::Expr(e) => {
                            e.to_string().to_ascii_lowercase()
                        }
                    };
                    let mut any = false;
                    for (i, c) in scope.cols.iter().enumerate() {
                        if c.table.as_deref().is_some_and(|ct| super::qualifier_matches(ct, &t)) {
                            any = true;
                            if excluded.contains(&i) || c.system {
                                continue;
                            }
                            star_cols.push((proj.len(), i));
                            proj.push((ast::Expr::Value(ast::Value::Null.into()), c.name.clone()));
                        }
                    }
                    if !any {
                        return Err(SqlError::plan(format!("no such table: {t}")));
                    }
                }
                other => return Err(SqlError::plan(format!("unsupported select item {other}"))),
            }
        }
        let group_asts: Vec<ast::Expr> = match &s.group_by {
            ast::GroupByExpr::Expressions(g, m) if m.is_empty() => g.clone(),
            _ => return Err(SqlError::plan("unsupported GROUP BY form")),
        };
        let distinct = match &s.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => {
                return Err(SqlError::plan("DISTINCT ON is not supported"));
            }
        };

        // Is it an aggregate query? Bind once plainly to find out.
        let saw = std::mem::replace(&mut self.saw_agg, false);
        let probe = |this: &mut Self, e: &ast::Expr| -> SqlResult<()> {
            this.bind_expr(e, &scope).map(|_| ())
        };
        for (i, (e, _)) in proj.iter().enumerate() {
            if !star_cols.iter().any(|(p, _)| *p == i) {
                probe(self, e)?;
            }
        }
        self.aliases = proj
            .iter()
            .filter(|(e, n)| !matches!(e, ast::Expr::Identifier(i) if i.value == *n))
            .cloned()
            .map(|(e, n)| (n, e))
            .collect();
        if let Some(h) = &s.having {
            let r = probe(self, h);
            if r.is_err() {
                self.aliases.clear();
            }
            r?;
        }
        self.aliases.clear();
        for o in order {
            if output_position(&o.expr, proj.len())?.is_none()
                && alias_position(&o.expr, &proj).is_none()
            {
                probe(self, &o.expr)?;
            }
        }
        let is_agg = self.saw_agg || !group_asts.is_empty() || s.having.is_some();
        self.saw_agg = saw;

        let mut input = source;
        if is_agg {
            let mut group_bound = Vec::new();
            for g in &group_asts {
                // GROUP BY may name a result column by position or alias.
                let g = match output_position(g, proj.len())? {
                    Some(i) => proj.get(i).map(|p| p.0.clone()).unwrap_or_else(|| g.clone()),
                    None => match alias_only(g, &proj, &scope) {
                        Some(e) => e,
                        None => g.clone(),
                    },
                };
                group_bound.push(self.bind_expr(&g, &scope)?);
            }
            self.agg =
                Some(AggState { group_asts: group_asts.clone(), group_bound, aggs: Vec::new() });
        }
        let result = self.bind_select_outputs(
            &scope,
            &proj,
            &star_cols,
            s.having.as_ref(),
            order,
            input.clone(),
        );
        let state = self.agg.take();
        let (mut exprs, having, hidden) = result?;
        if let Some(st) = state {
            input =
                Plan::Aggregate { input: Box::new(input), groups: st.group_bound, aggs: st.aggs };
        }
        if let Some(h) = having {
            input = Plan::Filter { input: Box::new(input), predicate: h };
        }
        let width = proj.len();
        let mut keys = Vec::new();
        for (i, o) in order.iter().enumerate() {
            let idx = hidden[i];
            keys.push(sort_key(Expr::Column(idx), &o.options));
        }
        let total = exprs.len();
        let _ = &mut exprs;
        let mut plan = Plan::Project { input: Box::new(input), exprs };
        if distinct {
            plan = Plan::Distinct { input: Box::new(plan), width };
        }
        if !keys.is_empty() {
            plan = Plan::Sort { input: Box::new(plan), keys };
        }
        if total > width {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..width).map(Expr::Column).collect(),
            };
        }
        Ok(BoundQuery { plan, names: proj.into_iter().map(|(_, n)| n).collect() })
    }

    /// Binds result expressions, HAVING and ORDER BY keys (in the aggregate
    /// context when one is set). Returns the projection (with hidden ORDER BY
    /// columns appended), HAVING, and each ORDER BY term's column.
    fn bind_select_outputs(
        &mut self,
        scope: &Scope,
        proj: &[(ast::Expr, String)],
        star_cols: &[(usize, usize)],
        having: Option<&ast::Expr>,
        order: &[ast::OrderByExpr],
        _input: Plan,
    ) -> SqlResult<(Vec<Expr>, Option<Expr>, Vec<usize>)> {
        let mut exprs = Vec::with_capacity(proj.len());
        for (i, (e, _)) in proj.iter().enumerate() {
            if let Some((_, col)) = star_cols.iter().find(|(p, _)| *p == i) {
                exprs.push(match &mut self.agg {
                    Some(a) => Expr::Column(a.column(*col)),
                    None => Expr::Column(*col),
                });
            } else {
                exprs.push(self.bind_expr(e, scope)?);
            }
        }
        self.aliases = proj
            .iter()
            .enumerate()
            .filter(|(i, _)| !star_cols.iter().any(|(p, _)| p == i))
            .map(|(_, (e, n))| (n.clone(), e.clone()))
            .collect();
        let having = having.map(|h| self.bind_expr(h, scope)).transpose();
        self.aliases.clear();
        let having = having?;
        let mut cols = Vec::new();
        for o in order {
            let idx = if let Some(i) = output_position(&o.expr, proj.len())? {
                i
            } else if let Some(i) = alias_position(&o.expr, proj) {
                i
            } else if let Some(i) = proj
                .iter()
                .enumerate()
                .position(|(i, (e, _))| !star_cols.iter().any(|(p, _)| *p == i) && e == &o.expr)
            {
                i
            } else {
                exprs.push(self.bind_expr(&o.expr, scope)?);
                exprs.len() - 1
            };
            cols.push(idx);
        }
        Ok((exprs, having, cols))
    }
}

/// `ORDER BY 2`: a result column position (1-based), checked for range.
/// The scope columns that `* EXCLUDE (…)` / `* EXCEPT (…)` leave out. A
/// name may be qualified (`t.c`, `s.t.c`); a bare name leaves out every
/// column of that name. ILIKE, REPLACE and RENAME are refused.
fn excluded_columns(opts: &ast::WildcardAdditionalOptions, scope: &Scope) -> SqlResult<Vec<usize>> {
    if opts.opt_ilike.is_some() || opts.opt_replace.is_some() || opts.opt_rename.is_some() {
        return Err(SqlError::plan("unsupported wildcard option: ILIKE, REPLACE or RENAME"));
    }
    let mut names: Vec<Vec<String>> = Vec::new();
    match &opts.opt_exclude {
        Some(ast::ExcludeSelectItem::Single(n)) => names.push(name_parts(n)),
        Some(ast::ExcludeSelectItem::Multiple(ns)) => names.extend(ns.iter().map(name_parts)),
        None => {}
    }
    if let Some(e) = &opts.opt_except {
        names.push(vec![e.first_element.value.clone()]);
        names.extend(e.additional_elements.iter().map(|i| vec![i.value.clone()]));
    }
    let mut out = Vec::new();
    for parts in names {
        let (table, col) = match parts.as_slice() {
            [c] => (None, c),
            [t, c] => (Some(t.clone()), c),
            [s, t, c] => (Some(llkv_mvcc::qualified_name(s, t)), c),
            _ => {
                return Err(SqlError::plan(format!(
                    "unsupported EXCLUDE name {}",
                    parts.join(".")
                )));
            }
        };
        let before = out.len();
        match table {
            None => out.extend(
                scope
                    .cols
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.name.eq_ignore_ascii_case(col))
                    .map(|(i, _)| i),
            ),
            Some(t) => out.extend(scope.find(Some(&t), col)?),
        }
        if out.len() == before {
            return Err(SqlError::plan(format!(
                "column {} in EXCLUDE list not found in FROM clause",
                parts.join(".")
            )));
        }
    }
    Ok(out)
}

/// The parts of a name, lower-case unless quoted.
fn name_parts(n: &ast::ObjectName) -> Vec<String> {
    n.0.iter().map(|p| p.as_ident().map_or_else(|| p.to_string(), super::ident_name)).collect()
}

fn output_position(e: &ast::Expr, n: usize) -> SqlResult<Option<usize>> {
    if let ast::Expr::Value(v) = e
        && let ast::Value::Number(s, _) = &v.value
    {
        let k: i64 = s.parse().map_err(|_| SqlError::plan(format!("bad ORDER BY term {s}")))?;
        if k < 1 || k as usize > n {
            return Err(SqlError::plan(format!(
                "ORDER BY term out of range - should be between 1 and {n}"
            )));
        }
        return Ok(Some(k as usize - 1));
    }
    Ok(None)
}

/// A bare name equal to a result column's name, or an expression equal to
/// a result expression.
fn alias_position(e: &ast::Expr, proj: &[(ast::Expr, String)]) -> Option<usize> {
    if let ast::Expr::Identifier(id) = e
        && let Some(i) = proj.iter().position(|(_, n)| n.eq_ignore_ascii_case(&id.value))
    {
        return Some(i);
    }
    None
}

/// A GROUP BY name that is a result alias and not an input column.
fn alias_only(e: &ast::Expr, proj: &[(ast::Expr, String)], scope: &Scope) -> Option<ast::Expr> {
    let ast::Expr::Identifier(id) = e else { return None };
    if scope.find(None, &id.value).ok().flatten().is_some() {
        return None;
    }
    proj.iter().find(|(_, n)| n.eq_ignore_ascii_case(&id.value)).map(|(pe, _)| pe.clone())
}

/// `ORDER BY ALL` as the SQLite dialect parses it: one bare identifier `ALL`.
fn is_order_by_all(v: &[ast::OrderByExpr]) -> bool {
    matches!(v, [o] if matches!(&o.expr, ast::Expr::Identifier(i)
        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("all")))
}

fn sort_key(expr: Expr, o: &ast::OrderByOptions) -> SortKey {
    let asc = o.asc.unwrap_or(true);
    // SQLite: NULLs are smallest, so first in ASC and last in DESC by default.
    SortKey { expr, asc, nulls_first: o.nulls_first.unwrap_or(asc) }
}

/// The name SQLite gives a result column without an alias.
fn expr_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => i.value.clone(),
        ast::Expr::CompoundIdentifier(p) => p.last().map(|i| i.value.clone()).unwrap_or_default(),
        other => other.to_string(),
    }
}
