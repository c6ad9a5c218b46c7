//! Binding the FROM clause: tables, views, CTEs, derived tables and joins.
//!
//! Inner joins (comma, CROSS, INNER) are flattened into one
//! [`Plan::MultiJoin`] whose conjuncts are the ON and WHERE conditions, so the
//! join executor can order them; an outer join becomes a [`Plan::Join`] of the
//! relations to its left and its right.

use super::{Binder, BoundQuery, Scope, ScopeCol, ident_name, object_name};
use crate::expr::{BinOp, Expr};
use crate::plan::{JoinKind, JoinRel, Plan};
use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast;

/// The relations of a FROM clause not yet joined, and the conjuncts for them.
pub(crate) struct FromItems {
    /// Relations and their scopes, in order.
    pub rels: Vec<(Plan, Scope)>,
    /// ON conditions of inner joins, bound later against the whole scope.
    pub on: Vec<ast::Expr>,
    /// Extra bound conjuncts over the whole scope (USING / NATURAL).
    pub bound_on: Vec<Expr>,
}

/// The property key under which a view's SQL is kept.
pub fn view_key(name: &str) -> String {
    format!("view.{name}")
}

impl Binder<'_> {
    /// Binds a FROM clause into relations (not yet joined).
    pub(crate) fn bind_from(&mut self, from: &[ast::TableWithJoins]) -> SqlResult<FromItems> {
        let mut items = FromItems { rels: Vec::new(), on: Vec::new(), bound_on: Vec::new() };
        for twj in from {
            self.bind_table_with_joins(twj, &mut items)?;
        }
        Ok(items)
    }

    fn bind_table_with_joins(
        &mut self,
        twj: &ast::TableWithJoins,
        items: &mut FromItems,
    ) -> SqlResult<()> {
        let first = self.bind_factor(&twj.relation)?;
        items.rels.push(first);
        for j in &twj.joins {
            use ast::JoinOperator as J;
            let (kind, constraint) = match &j.join_operator {
                J::Join(c) | J::Inner(c) | J::CrossJoin(c) => (JoinKind::Inner, c),
                J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                J::Right(c) | J::RightOuter(c) => (JoinKind::Right, c),
                J::FullOuter(c) => (JoinKind::Full, c),
                other => return Err(SqlError::plan(format!("unsupported join {other:?}"))),
            };
            let (rplan, mut rscope) = self.bind_factor(&j.relation)?;
            if kind == JoinKind::Inner {
                let lscope = concat_scopes(items.rels.iter().map(|(_, s)| s));
                let base = lscope.cols.len();
                let using = self.using_pairs(constraint, &lscope, &mut rscope)?;
                for (l, r) in using {
                    items.bound_on.push(Expr::Binary(
                        BinOp::Eq,
                        Box::new(Expr::Column(l)),
                        Box::new(Expr::Column(base + r)),
                    ));
                }
                if let ast::JoinConstraint::On(e) = constraint {
                    items.on.push(e.clone());
                }
                items.rels.push((rplan, rscope));
                continue;
            }
            // Outer join: everything to the left becomes one input.
            let (lplan, lscope) = self.collapse(
                std::mem::take(&mut items.rels),
                std::mem::take(&mut items.on),
                std::mem::take(&mut items.bound_on),
            )?;
            let lw = lscope.cols.len();
            let using = self.using_pairs(constraint, &lscope, &mut rscope)?;
            let rw = rscope.cols.len();
            let scope =
                Scope { cols: lscope.cols.iter().chain(rscope.cols.iter()).cloned().collect() };
            let mut conds: Vec<Expr> = using
                .into_iter()
                .map(|(l, r)| {
                    Expr::Binary(
                        BinOp::Eq,
                        Box::new(Expr::Column(l)),
                        Box::new(Expr::Column(lw + r)),
                    )
                })
                .collect();
            if let ast::JoinConstraint::On(e) = constraint {
                conds.push(self.bind_expr(e, &scope)?);
            }
            let on =
                conds.into_iter().reduce(|a, b| Expr::Binary(BinOp::And, Box::new(a), Box::new(b)));
            let plan = Plan::Join {
                left: Box::new(lplan),
                right: Box::new(rplan),
                left_width: lw,
                right_width: rw,
                kind,
                on,
            };
            items.rels.push((plan, scope));
        }
        Ok(())
    }

    /// Column pairs (left position, right position) of USING / NATURAL; the
    /// right-hand copies are hidden from unqualified names and `*`.
    fn using_pairs(
        &mut self,
        c: &ast::JoinConstraint,
        left: &Scope,
        right: &mut Scope,
    ) -> SqlResult<Vec<(usize, usize)>> {
        let names: Vec<String> = match c {
            ast::JoinConstraint::Using(cols) => {
                cols.iter().map(object_name).collect::<SqlResult<_>>()?
            }
            ast::JoinConstraint::Natural => right
                .cols
                .iter()
                .filter(|rc| {
                    !rc.system
                        && left.cols.iter().any(|lc| {
                            !lc.hidden && !lc.system && lc.name.eq_ignore_ascii_case(&rc.name)
                        })
                })
                .map(|c| c.name.clone())
                .collect(),
            _ => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        for n in names {
            let l = left
                .find(None, &n)?
                .ok_or_else(|| SqlError::plan(format!("cannot join using column {n}")))?;
            let r = right
                .find(None, &n)?
                .ok_or_else(|| SqlError::plan(format!("cannot join using column {n}")))?;
            right.cols[r].hidden = true;
            out.push((l, r));
        }
        Ok(out)
    }

    /// Joins relations with their conjuncts into one plan (full-width rows).
    pub(crate) fn collapse(
        &mut self,
        rels: Vec<(Plan, Scope)>,
        on: Vec<ast::Expr>,
        bound_on: Vec<Expr>,
    ) -> SqlResult<(Plan, Scope)> {
        let scope = concat_scopes(rels.iter().map(|(_, s)| s));
        let mut conjuncts = bound_on;
        for e in &on {
            split_and(e, &mut |x| {
                conjuncts.push(self.bind_expr(x, &scope)?);
                Ok(())
            })?;
        }
        Ok((self.join_plan(rels, conjuncts), scope))
    }

    /// A plan joining `rels` under `conjuncts`.
    pub(crate) fn join_plan(&mut self, rels: Vec<(Plan, Scope)>, conjuncts: Vec<Expr>) -> Plan {
        let mut factored = Vec::with_capacity(conjuncts.len());
        for c in conjuncts {
            crate::planner::factor_or(c, &mut factored);
        }
        let conjuncts = factored;
        let width: usize = rels.iter().map(|(_, s)| s.cols.len()).sum();
        let mut iter = rels.into_iter();
        match (iter.len(), iter.next()) {
            (0, _) | (_, None) => {
                let plan = Plan::Values(vec![Vec::new()]);
                filter_all(plan, conjuncts)
            }
            (1, Some((plan, _))) => {
                filter_all(crate::planner::push_down(plan, &conjuncts), conjuncts)
            }
            (_, Some(first)) => {
                let mut start = 0;
                let mut jr = Vec::new();
                for (plan, scope) in std::iter::once(first).chain(iter) {
                    let w = scope.cols.len();
                    jr.push(JoinRel { plan, start, width: w });
                    start += w;
                }
                Plan::MultiJoin { rels: jr, conjuncts, width }
            }
        }
    }

    fn bind_factor(&mut self, f: &ast::TableFactor) -> SqlResult<(Plan, Scope)> {
        match f {
            ast::TableFactor::Table { name, alias, args: None, .. } => {
                let tname = super::table_name(name)?;
                let qual = alias.as_ref().map_or_else(|| tname.clone(), |a| ident_name(&a.name));
                if let Some(q) = self.ctes.iter().rev().find_map(|m| m.get(&tname)).cloned() {
                    return Ok(derived(q, &qual, alias));
                }
                if let Some(sql) = self.txn.property(&view_key(&tname)) {
                    if self.view_depth > 16 {
                        return Err(SqlError::plan(format!("view {tname} refers to itself")));
                    }
                    let q = crate::parse::parse_query(&sql)?;
                    if self.rowid == Some(false) && super::mentions_rowid(&q) {
                        self.rowid = Some(true);
                    }
                    let saved = std::mem::take(&mut self.outers);
                    self.view_depth += 1;
                    let r = self.bind_query(&q);
                    self.view_depth -= 1;
                    self.outers = saved;
                    return Ok(derived(r?, &qual, alias));
                }
                let table = self
                    .txn
                    .table(&tname)?
                    .ok_or_else(|| SqlError::plan(format!("no such table: {tname}")))?;
                let scope = Scope {
                    cols: table
                        .meta
                        .columns
                        .iter()
                        .map(|c| ScopeCol {
                            table: Some(qual.clone()),
                            name: c.name.clone(),
                            hidden: false,
                            system: false,
                        })
                        .collect(),
                };
                let mut scope = rename_columns(scope, alias);
                let real_rowid =
                    table.meta.columns.iter().any(|c| c.name.eq_ignore_ascii_case("rowid"));
                if self.rowid == Some(true) && !real_rowid {
                    scope.cols.push(ScopeCol {
                        table: Some(qual),
                        name: "rowid".into(),
                        hidden: false,
                        system: true,
                    });
                    return Ok((Plan::RowIdScan { table, predicates: Vec::new() }, scope));
                }
                Ok((Plan::Scan { table, predicates: Vec::new() }, scope))
            }
            ast::TableFactor::Derived { lateral: false, subquery, alias, .. } => {
                let saved = std::mem::take(&mut self.outers);
                let r = self.bind_query(subquery);
                self.outers = saved;
                let q = r?;
                let qual = alias.as_ref().map(|a| ident_name(&a.name)).unwrap_or_default();
                Ok(derived(q, &qual, alias))
            }
            ast::TableFactor::NestedJoin { table_with_joins, alias: None } => {
                let mut items =
                    FromItems { rels: Vec::new(), on: Vec::new(), bound_on: Vec::new() };
                self.bind_table_with_joins(table_with_joins, &mut items)?;
                self.collapse(items.rels, items.on, items.bound_on)
            }
            ast::TableFactor::Table { name, alias, args: Some(args), .. } => {
                let fname = object_name(name)?;
                self.bind_table_function(&fname, &args.args, alias)
            }
            other => Err(SqlError::plan(format!("unsupported FROM item: {other}"))),
        }
    }
}

fn rename_columns(mut scope: Scope, alias: &Option<ast::TableAlias>) -> Scope {
    if let Some(a) = alias {
        for (c, n) in scope.cols.iter_mut().zip(&a.columns) {
            c.name = n.name.value.clone();
        }
    }
    scope
}

fn derived(q: BoundQuery, qual: &str, alias: &Option<ast::TableAlias>) -> (Plan, Scope) {
    let table = (!qual.is_empty()).then(|| qual.to_string());
    let scope = Scope {
        cols: q
            .names
            .iter()
            .map(|n| ScopeCol {
                table: table.clone(),
                name: n.clone(),
                hidden: false,
                system: false,
            })
            .collect(),
    };
    (q.plan, rename_columns(scope, alias))
}

fn concat_scopes<'s>(scopes: impl Iterator<Item = &'s Scope>) -> Scope {
    Scope { cols: scopes.flat_map(|s| s.cols.iter().cloned()).collect() }
}

fn filter_all(plan: Plan, conjuncts: Vec<Expr>) -> Plan {
    match conjuncts.into_iter().reduce(|a, b| Expr::Binary(BinOp::And, Box::new(a), Box::new(b))) {
        Some(p) => Plan::Filter { input: Box::new(plan), predicate: p },
        None => plan,
    }
}

/// Calls `f` on each conjunct of `e` (splitting AND).
pub(crate) fn split_and(
    e: &ast::Expr,
    f: &mut dyn FnMut(&ast::Expr) -> SqlResult<()>,
) -> SqlResult<()> {
    match e {
        ast::Expr::BinaryOp { left, op: ast::BinaryOperator::And, right } => {
            split_and(left, f)?;
            split_and(right, f)
        }
        ast::Expr::Nested(x)
            if matches!(x.as_ref(), ast::Expr::BinaryOp { op: ast::BinaryOperator::And, .. }) =>
        {
            split_and(x, f)
        }
        other => f(other),
    }
}
