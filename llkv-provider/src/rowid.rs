//! `rowid` on the DataFusion route.
//!
//! DataFusion 55 has no hidden (metadata) columns for a `TableProvider`
//! (apache/datafusion#13975, #15173): a column a provider exposes is part of
//! `SELECT *`. llkv therefore exposes each row's id as a real column only for
//! the statements that name `rowid`, and keeps it out of their wildcards:
//!
//! 1. [`prepare`] looks through the statement's SQL syntax tree. When it names
//!    `rowid` (`rowid`, `t.rowid`), every `*` and `t.*` over an llkv table in
//!    the statement is expanded into that table's columns from llkv's catalog
//!    (quoted, qualified by the table's name or alias), and
//! 2. while DataFusion plans the statement, the schema provider hands out llkv
//!    tables with an extra last column [`ROWID`] (`Int64`, the store's stable
//!    row id; see [`RowidScope`]), except for tables with a real column of
//!    that name, which takes precedence, and the target of an INSERT.
//!
//! So `rowid` works in select lists, WHERE, ORDER BY, GROUP BY and the WHERE
//! of DELETE and UPDATE (which llkv plans as row-id queries, see
//! `crate::rewrite`), and `SELECT *` never shows it. Not supported (clear
//! error or plain DataFusion behaviour): wildcards with `EXCLUDE`/`REPLACE`
//! options over llkv tables, `*` over an unnamed table function next to an
//! llkv table, and `rowid` inside persisted view definitions; a NATURAL JOIN
//! of two llkv tables in a statement that names `rowid` also joins on it.

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, JoinConstraint, JoinOperator, ObjectName, ObjectNamePart, Query, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor, TableWithJoins, VisitMut,
    VisitorMut, WildcardAdditionalOptions, visit_expressions,
};
use llkv_mvcc::Session;
use llkv_sql::{SqlError, SqlResult};
use std::collections::HashSet;
use std::ops::ControlFlow;

/// The name of the row-id column.
pub const ROWID: &str = "rowid";

/// Which llkv tables expose [`ROWID`] while one statement is planned.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowidScope {
    /// Tables (normalized names) that do not: the target of an INSERT, whose
    /// input must match the table's own columns.
    pub(crate) except: Vec<String>,
}

impl RowidScope {
    /// Whether table `name` exposes the row id.
    pub(crate) fn exposes(&self, name: &str) -> bool {
        !self.except.iter().any(|e| e == name)
    }
}

/// Prepares `stmt` for planning with row ids: `None` when it does not name
/// `rowid` (nothing changes), else the scope to plan it in, with its
/// wildcards expanded (see the module docs).
///
/// # Errors
/// When a wildcard over an llkv table cannot be expanded.
pub(crate) fn prepare(stmt: &mut Statement, session: &Session) -> SqlResult<Option<RowidScope>> {
    if !names_rowid(stmt) {
        return Ok(None);
    }
    let mut except = Vec::new();
    if let Statement::Insert(ins) = &*stmt
        && let datafusion::sql::sqlparser::ast::TableObject::TableName(name) = &ins.table
        && let Some(last) = name.0.last().and_then(ObjectNamePart::as_ident)
    {
        except.push(normalize(last));
    }
    let mut ctes = CteNames(HashSet::new());
    let _ = stmt.visit(&mut ctes);
    let mut expander = Expander { session, ctes: ctes.0, except: except.clone() };
    if let ControlFlow::Break(e) = stmt.visit(&mut expander) {
        return Err(e);
    }
    Ok(Some(RowidScope { except }))
}

/// Whether the statement refers to a column `rowid` (plain or qualified).
fn names_rowid(stmt: &Statement) -> bool {
    visit_expressions(stmt, |e| {
        let hit = match e {
            Expr::Identifier(i) => is_rowid(i),
            Expr::CompoundIdentifier(parts) => parts.last().is_some_and(is_rowid),
            _ => false,
        };
        if hit { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    })
    .is_break()
}

fn is_rowid(i: &Ident) -> bool {
    normalize(i) == ROWID
}

/// An identifier as DataFusion resolves it: unquoted ones in lower case.
fn normalize(i: &Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

/// Collects the names of the statement's common table expressions.
struct CteNames(HashSet<String>);

impl VisitorMut for CteNames {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        if let Some(with) = &query.with {
            self.0.extend(with.cte_tables.iter().map(|c| normalize(&c.alias.name)));
        }
        ControlFlow::Continue(())
    }
}

/// Expands the wildcards of every SELECT of a statement.
struct Expander<'a> {
    session: &'a Session,
    ctes: HashSet<String>,
    except: Vec<String>,
}

impl VisitorMut for Expander<'_> {
    type Break = SqlError;

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<SqlError> {
        match self.expand_body(&mut query.body) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

/// One relation of a FROM clause, for wildcard expansion.
enum Source {
    /// An llkv table exposing the row id: its qualifier and columns.
    Known { qualifier: ObjectName, columns: Vec<String> },
    /// Anything else, expanded as `qualifier.*` (no hidden column there).
    Opaque { qualifier: Option<ObjectName> },
}

/// How a relation was joined to those before it.
enum Joined {
    First,
    Using(Vec<String>),
    Natural,
    Other,
}

impl Expander<'_> {
    /// The selects of one query body (nested queries are visited on their own).
    fn expand_body(&self, body: &mut SetExpr) -> SqlResult<()> {
        match body {
            SetExpr::Select(select) => {
                let has_wildcard = select.projection.iter().any(|item| {
                    matches!(item, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..))
                });
                if !has_wildcard {
                    return Ok(());
                }
                let mut sources = Vec::new();
                for twj in &select.from {
                    self.sources_of(twj, &mut sources)?;
                }
                if !sources.iter().any(|(s, _)| matches!(s, Source::Known { .. })) {
                    return Ok(());
                }
                let mut projection = Vec::with_capacity(select.projection.len());
                for item in std::mem::take(&mut select.projection) {
                    match item {
                        SelectItem::Wildcard(opts) => {
                            plain(&opts)?;
                            projection.extend(expand_all(&sources)?);
                        }
                        SelectItem::QualifiedWildcard(
                            SelectItemQualifiedWildcardKind::ObjectName(name),
                            opts,
                        ) => match sources.iter().find(|(s, _)| is_known_as(s, &name)) {
                            Some((Source::Known { qualifier, columns }, _)) => {
                                plain(&opts)?;
                                projection.extend(columns.iter().map(|c| column(qualifier, c)));
                            }
                            _ => projection.push(SelectItem::QualifiedWildcard(
                                SelectItemQualifiedWildcardKind::ObjectName(name),
                                opts,
                            )),
                        },
                        other => projection.push(other),
                    }
                }
                select.projection = projection;
                Ok(())
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.expand_body(left)?;
                self.expand_body(right)
            }
            _ => Ok(()),
        }
    }

    /// The relations of one FROM item, in order, with how each was joined.
    fn sources_of(&self, twj: &TableWithJoins, out: &mut Vec<(Source, Joined)>) -> SqlResult<()> {
        self.source_of(&twj.relation, Joined::First, out)?;
        for j in &twj.joins {
            let joined = match constraint_of(&j.join_operator) {
                Some(JoinConstraint::Using(cols)) => Joined::Using(
                    cols.iter()
                        .filter_map(|c| c.0.last().and_then(ObjectNamePart::as_ident))
                        .map(normalize)
                        .collect(),
                ),
                Some(JoinConstraint::Natural) => Joined::Natural,
                _ => Joined::Other,
            };
            self.source_of(&j.relation, joined, out)?;
        }
        Ok(())
    }

    fn source_of(
        &self,
        factor: &TableFactor,
        joined: Joined,
        out: &mut Vec<(Source, Joined)>,
    ) -> SqlResult<()> {
        let alias_name =
            |a: &Option<datafusion::sql::sqlparser::ast::TableAlias>| -> Option<ObjectName> {
                a.as_ref().map(|a| ObjectName(vec![ObjectNamePart::Identifier(a.name.clone())]))
            };
        let source = match factor {
            TableFactor::Table { name, alias, args: None, .. } => {
                let qualifier = alias_name(alias).unwrap_or_else(|| name.clone());
                match self.llkv_columns(name)? {
                    Some(columns) if alias.as_ref().is_none_or(|a| a.columns.is_empty()) => {
                        Source::Known { qualifier, columns }
                    }
                    _ => Source::Opaque { qualifier: Some(qualifier) },
                }
            }
            TableFactor::NestedJoin { table_with_joins, alias: None } => {
                return self.sources_of(table_with_joins, out);
            }
            TableFactor::Table { alias, .. }
            | TableFactor::Derived { alias, .. }
            | TableFactor::TableFunction { alias, .. }
            | TableFactor::Function { alias, .. }
            | TableFactor::UNNEST { alias, .. }
            | TableFactor::NestedJoin { alias, .. } => {
                Source::Opaque { qualifier: alias_name(alias) }
            }
            _ => Source::Opaque { qualifier: None },
        };
        out.push((source, joined));
        Ok(())
    }

    /// The columns of `name` when it is an llkv table that exposes the row id.
    fn llkv_columns(&self, name: &ObjectName) -> SqlResult<Option<Vec<String>>> {
        let parts: Vec<&Ident> = name.0.iter().filter_map(ObjectNamePart::as_ident).collect();
        let Some(last) = parts.last() else { return Ok(None) };
        let table = normalize(last);
        if parts.len() == 1 && self.ctes.contains(&table) {
            return Ok(None);
        }
        if self.except.contains(&table) {
            return Ok(None);
        }
        let st = self.session.statement_txn();
        let Some(h) = st.txn.table(&table).map_err(|e| SqlError::execution(e.to_string()))? else {
            return Ok(None);
        };
        if h.meta.columns.iter().any(|c| c.name.eq_ignore_ascii_case(ROWID)) {
            return Ok(None);
        }
        Ok(Some(h.meta.columns.iter().map(|c| c.name.clone()).collect()))
    }
}

/// The join constraint of a join operator, where it has one.
pub(crate) fn constraint_of(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c) => Some(c),
        JoinOperator::AsOf { constraint, .. } => Some(constraint),
        _ => None,
    }
}

/// Refuses wildcard options that the expansion does not apply.
fn plain(opts: &WildcardAdditionalOptions) -> SqlResult<()> {
    if opts.opt_ilike.is_some()
        || opts.opt_exclude.is_some()
        || opts.opt_except.is_some()
        || opts.opt_replace.is_some()
        || opts.opt_rename.is_some()
        || opts.opt_alias.is_some()
    {
        return Err(SqlError::plan(
            "a wildcard with EXCLUDE, EXCEPT, REPLACE, RENAME, ILIKE or an alias over an llkv \
             table is not supported in a statement that uses rowid",
        ));
    }
    Ok(())
}

/// Whether source `s` is the llkv table a qualified wildcard `name.*` names.
fn is_known_as(s: &Source, name: &ObjectName) -> bool {
    let Source::Known { qualifier, .. } = s else { return false };
    let last = |n: &ObjectName| n.0.last().and_then(ObjectNamePart::as_ident).map(normalize);
    last(name).is_some() && last(name) == last(qualifier)
}

/// `qualifier."column"` as a select item.
fn column(qualifier: &ObjectName, name: &str) -> SelectItem {
    let mut parts: Vec<Ident> =
        qualifier.0.iter().filter_map(ObjectNamePart::as_ident).cloned().collect();
    parts.push(Ident::with_quote('"', name));
    SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts))
}

/// The unqualified `*` over `sources`: every column of each, in order, the
/// columns a USING or NATURAL join shares with its left side once.
fn expand_all(sources: &[(Source, Joined)]) -> SqlResult<Vec<SelectItem>> {
    let unsupported = |what: &str| {
        SqlError::plan(format!(
            "`*` over {what} next to an llkv table is not supported in a statement that uses \
             rowid on the DataFusion route; name the columns"
        ))
    };
    let mut items = Vec::new();
    // Column names seen so far, None once a relation's columns are unknown.
    let mut seen: Option<Vec<String>> = Some(Vec::new());
    for (source, joined) in sources {
        match source {
            Source::Known { qualifier, columns } => {
                let skip: Vec<String> = match joined {
                    Joined::Using(cols) => cols.clone(),
                    Joined::Natural => match &seen {
                        Some(s) => columns
                            .iter()
                            .filter(|c| s.iter().any(|x| x.eq_ignore_ascii_case(c)))
                            .cloned()
                            .collect(),
                        None => return Err(unsupported("a NATURAL JOIN")),
                    },
                    Joined::First | Joined::Other => Vec::new(),
                };
                for c in columns {
                    if !skip.iter().any(|s| s.eq_ignore_ascii_case(c)) {
                        items.push(column(qualifier, c));
                    }
                }
                if let Some(s) = &mut seen {
                    s.extend(columns.iter().cloned());
                }
            }
            Source::Opaque { qualifier } => {
                if matches!(joined, Joined::Using(_) | Joined::Natural) {
                    return Err(unsupported("a USING or NATURAL join"));
                }
                let Some(q) = qualifier else {
                    return Err(unsupported("a relation without a name"));
                };
                items.push(SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(q.clone()),
                    WildcardAdditionalOptions::default(),
                ));
                seen = None;
            }
        }
    }
    Ok(items)
}
