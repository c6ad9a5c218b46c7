//! The binder: resolves names in sqlparser's AST against the catalog and the
//! query's scopes, and produces [`crate::plan::Plan`]s with bound
//! [`crate::expr::Expr`]s.
//!
//! Names are case-insensitive (as in SQLite). A column name is looked up in
//! the current query's FROM scope first, then in enclosing queries' scopes
//! (correlated subqueries), innermost first.

mod dates;
mod expr;
mod from;
mod query;
mod table_functions;

pub use from::view_key;

use crate::expr::{AggCall, AggFunc, Expr};
use crate::plan::Plan;
use llkv_mvcc::Transaction;
use llkv_sql::{SqlError, SqlResult};
use sqlparser::ast;
use std::collections::HashMap;

/// One column visible in a scope.
#[derive(Debug, Clone)]
pub struct ScopeCol {
    /// The table (or alias) it belongs to, lower-case.
    pub table: Option<String>,
    /// Its name as declared.
    pub name: String,
    /// Hidden from unqualified lookups and `*` (the right side of USING/NATURAL).
    pub hidden: bool,
    /// The table's row id (`rowid`): found by name, never part of `*` or of
    /// a NATURAL join.
    pub system: bool,
}

/// The columns of a row, in order.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The columns.
    pub cols: Vec<ScopeCol>,
}

impl Scope {
    /// Finds a column; errors when an unqualified name is ambiguous.
    fn find(&self, table: Option<&str>, name: &str) -> SqlResult<Option<usize>> {
        let mut hit = None;
        // A qualified name: an exact qualifier first, then the bare name of a
        // schema-qualified table (`t.a` for `s.t`), which must be unique.
        if let Some(t) = table {
            let cols =
                || self.cols.iter().enumerate().filter(|(_, c)| c.name.eq_ignore_ascii_case(name));
            if let Some((i, _)) = cols()
                .find(|(_, c)| c.table.as_deref().is_some_and(|ct| ct.eq_ignore_ascii_case(t)))
            {
                return Ok(Some(i));
            }
            let mut by_suffix = cols()
                .filter(|(_, c)| c.table.as_deref().is_some_and(|ct| qualifier_matches(ct, t)));
            let first = by_suffix.next().map(|(i, _)| i);
            if by_suffix.next().is_some() {
                return Err(SqlError::plan(format!("ambiguous column name: {t}.{name}")));
            }
            return Ok(first);
        }
        for (i, c) in self.cols.iter().enumerate() {
            if !c.name.eq_ignore_ascii_case(name) {
                continue;
            }
            if c.hidden {
                continue;
            }
            if hit.is_some() {
                return Err(SqlError::plan(format!("ambiguous column name: {name}")));
            }
            hit = Some(i);
        }
        Ok(hit)
    }
}

/// What an aggregate query's expressions bind against: the GROUP BY keys and
/// the aggregate calls collected so far (output row = keys ++ aggregates).
#[derive(Debug, Clone)]
struct AggState {
    group_asts: Vec<ast::Expr>,
    group_bound: Vec<Expr>,
    aggs: Vec<AggCall>,
}

impl AggState {
    /// The output position of input column `k`: its GROUP BY key, or a new
    /// "any value" aggregate (SQLite allows bare columns in aggregate queries).
    fn column(&mut self, k: usize) -> usize {
        let ng = self.group_bound.len();
        if let Some(i) =
            self.group_bound.iter().position(|g| matches!(g, Expr::Column(c) if *c == k))
        {
            return i;
        }
        if let Some(j) = self.aggs.iter().position(|a| {
            a.func == AggFunc::AnyValue && matches!(a.arg, Some(Expr::Column(c)) if c == k)
        }) {
            return ng + j;
        }
        self.aggs.push(AggCall {
            func: AggFunc::AnyValue,
            arg: Some(Expr::Column(k)),
            sep: None,
            distinct: false,
        });
        ng + self.aggs.len() - 1
    }
}

struct OuterScope {
    scope: Scope,
    agg: Option<AggState>,
    correlated: bool,
}

/// A bound query: its plan and output column names.
#[derive(Debug, Clone)]
pub struct BoundQuery {
    /// The plan.
    pub plan: Plan,
    /// Output column names.
    pub names: Vec<String>,
}

/// Binds statements' queries and expressions within one transaction.
pub struct Binder<'a> {
    txn: &'a Transaction,
    outers: Vec<OuterScope>,
    agg: Option<AggState>,
    saw_agg: bool,
    ctes: Vec<HashMap<String, BoundQuery>>,
    view_depth: usize,
    /// Result-column aliases usable in WHERE / HAVING (a SQLite extension).
    aliases: Vec<(String, ast::Expr)>,
    /// Whether the statement names `rowid` anywhere (None until the first
    /// query is bound): only then do its tables' scans carry the row id.
    rowid: Option<bool>,
}

impl<'a> Binder<'a> {
    /// A binder reading the catalog through `txn`.
    pub fn new(txn: &'a Transaction) -> Self {
        Self {
            txn,
            outers: Vec::new(),
            agg: None,
            saw_agg: false,
            ctes: Vec::new(),
            view_depth: 0,
            aliases: Vec::new(),
            rowid: None,
        }
    }

    /// Binds an expression with no row (INSERT values, LIMIT).
    ///
    /// # Errors
    /// Unknown names, unsupported constructs.
    pub fn bind_const_expr(&mut self, e: &ast::Expr) -> SqlResult<Expr> {
        self.bind_expr(e, &Scope::default())
    }

    /// Binds an expression over the columns of `scope`.
    ///
    /// # Errors
    /// Unknown names, unsupported constructs.
    pub fn bind_scoped_expr(&mut self, e: &ast::Expr, scope: &Scope) -> SqlResult<Expr> {
        self.bind_expr(e, scope)
    }

    /// Resolves a column reference.
    fn resolve(&mut self, table: Option<&str>, name: &str, scope: &Scope) -> SqlResult<Expr> {
        if let Some(k) = scope.find(table, name)? {
            return Ok(match &mut self.agg {
                Some(a) => Expr::Column(a.column(k)),
                None => Expr::Column(k),
            });
        }
        if name.eq_ignore_ascii_case("rowid") && rowid_of_this_from(table, scope) {
            // This query's own FROM has no row id (a view, a subquery in
            // FROM): binding it to an enclosing row would be wrong.
            return Err(SqlError::plan(
                "no such column: rowid (only tables have a row id)".to_string(),
            ));
        }
        let n = self.outers.len();
        for depth in 0..n {
            let level = n - 1 - depth;
            let found = self.outers[level].scope.find(table, name)?;
            if let Some(k) = found {
                for o in &mut self.outers[level..] {
                    o.correlated = true;
                }
                let index = match &mut self.outers[level].agg {
                    Some(a) => a.column(k),
                    None => k,
                };
                return Ok(Expr::Outer { depth, index });
            }
        }
        let full = match table {
            Some(t) => format!("{t}.{name}"),
            None => name.to_string(),
        };
        Err(SqlError::plan(format!("no such column: {full}")))
    }

    /// Binds a subquery inside an expression over `scope`; returns it and
    /// whether it refers to enclosing rows.
    fn bind_subquery(&mut self, q: &ast::Query, scope: &Scope) -> SqlResult<(BoundQuery, bool)> {
        let agg = self.agg.take();
        let saw = std::mem::replace(&mut self.saw_agg, false);
        let aliases = std::mem::take(&mut self.aliases);
        self.outers.push(OuterScope { scope: scope.clone(), agg, correlated: false });
        let r = self.bind_query(q);
        let o = self.outers.pop();
        self.saw_agg = saw;
        self.aliases = aliases;
        let (agg, correlated) = match o {
            Some(o) => (o.agg, o.correlated),
            None => (None, false),
        };
        self.agg = agg;
        Ok((r?, correlated))
    }
}

/// Whether `q` names `rowid` (bare or qualified) anywhere, subqueries included.
pub(crate) fn mentions_rowid(q: &ast::Query) -> bool {
    use sqlparser::ast::Visit;
    use std::ops::ControlFlow;
    struct Finder;
    impl ast::Visitor for Finder {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &ast::Expr) -> ControlFlow<()> {
            let hit = match e {
                ast::Expr::Identifier(i) => i.value.eq_ignore_ascii_case("rowid"),
                ast::Expr::CompoundIdentifier(p) => {
                    p.last().is_some_and(|i| i.value.eq_ignore_ascii_case("rowid"))
                }
                _ => false,
            };
            if hit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        }
    }
    q.visit(&mut Finder).is_break()
}

/// Whether a `rowid` reference (not a column of `scope`) names the row id of a
/// table in `scope`, the current query's FROM: unqualified with a non-empty
/// FROM, or qualified by one of its tables.
fn rowid_of_this_from(table: Option<&str>, scope: &Scope) -> bool {
    match table {
        None => !scope.cols.is_empty(),
        Some(t) => scope
            .cols
            .iter()
            .any(|c| c.table.as_deref().is_some_and(|ct| ct.eq_ignore_ascii_case(t))),
    }
}

/// The name of an object, lower-cased unless quoted.
pub fn object_name(n: &ast::ObjectName) -> SqlResult<String> {
    let last =
        n.0.last()
            .and_then(|p| p.as_ident())
            .ok_or_else(|| SqlError::plan(format!("unsupported name {n}")))?;
    Ok(ident_name(last))
}

pub use llkv_sql::names::table_name;

/// Whether a scope column's table qualifier answers to `reference` (a name
/// made by [`table_name`]): the same name, or the bare name of a table of
/// another schema that was not given an alias (`t` for `s.t`).
pub(crate) fn qualifier_matches(qualifier: &str, reference: &str) -> bool {
    qualifier.eq_ignore_ascii_case(reference)
        || (!reference.contains('.')
            && qualifier.split_once('.').is_some_and(|(_, t)| t.eq_ignore_ascii_case(reference)))
}

pub use llkv_sql::names::ident_name;
