//! DuckDB's `ORDER BY ALL` (every output column, left to right) on the
//! DataFusion route, whose SQL parser reads `ALL` there as a column name: the
//! clause becomes `ORDER BY 1, 2, …, n` (keeping `ASC`/`DESC` and `NULLS`),
//! with `n` counted from the select list and, for `*`, from llkv's catalog.
//! Queries whose width cannot be known that way are left unchanged.

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, JoinConstraint, ObjectNamePart, OrderByExpr, OrderByKind, Query, SelectItem,
    SetExpr, Statement, TableFactor, Value, VisitMut, VisitorMut,
};
use llkv_mvcc::Session;
use std::ops::ControlFlow;

/// Rewrites every `ORDER BY ALL` of `stmt` it can.
pub(crate) fn order_by_all(stmt: &mut Statement, session: &Session) {
    let _ = stmt.visit(&mut Rewriter { session });
}

struct Rewriter<'a> {
    session: &'a Session,
}

impl VisitorMut for Rewriter<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, q: &mut Query) -> ControlFlow<()> {
        let Some(order_by) = &mut q.order_by else { return ControlFlow::Continue(()) };
        let options = match &order_by.kind {
            OrderByKind::All(options) => *options,
            OrderByKind::Expressions(exprs) => match exprs.as_slice() {
                [OrderByExpr { expr: Expr::Identifier(i), options, with_fill: None }]
                    if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("all") =>
                {
                    *options
                }
                _ => return ControlFlow::Continue(()),
            },
        };
        // (A common table expression could shadow a table of the same name.)
        if q.with.is_none()
            && let Some(n) = self.width(&q.body)
        {
            order_by.kind = OrderByKind::Expressions(
                (1..=n)
                    .map(|i| OrderByExpr {
                        expr: Expr::value(Value::Number(i.to_string(), false)),
                        options,
                        with_fill: None,
                    })
                    .collect(),
            );
        }
        ControlFlow::Continue(())
    }
}

impl Rewriter<'_> {
    /// The number of output columns of a query body, when it can be known.
    fn width(&self, body: &SetExpr) -> Option<usize> {
        let select = match body {
            SetExpr::Select(s) => s,
            SetExpr::SetOperation { left, .. } => return self.width(left),
            _ => return None,
        };
        let mut n = 0;
        for item in &select.projection {
            n += match item {
                SelectItem::Wildcard(_) => {
                    let mut all = 0;
                    for twj in &select.from {
                        all += self.columns(&twj.relation)?;
                        for j in &twj.joins {
                            if matches!(
                                crate::rowid::constraint_of(&j.join_operator),
                                Some(JoinConstraint::Using(_) | JoinConstraint::Natural)
                            ) {
                                return None;
                            }
                            all += self.columns(&j.relation)?;
                        }
                    }
                    all
                }
                SelectItem::QualifiedWildcard(..) => return None,
                _ => 1,
            };
        }
        Some(n)
    }

    /// The column count of a plain llkv table in FROM.
    fn columns(&self, factor: &TableFactor) -> Option<usize> {
        let TableFactor::Table { name, args: None, .. } = factor else { return None };
        let ident: &Ident = name.0.last().and_then(ObjectNamePart::as_ident)?;
        let table = if ident.quote_style.is_some() {
            ident.value.clone()
        } else {
            ident.value.to_lowercase()
        };
        let st = self.session.statement_txn();
        let handle = st.txn.table(&table).ok().flatten()?;
        Some(handle.meta.columns.len())
    }
}
