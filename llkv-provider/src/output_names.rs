//! Result columns that share a name (`SELECT a, a FROM t`,
//! `SELECT x AS a, a FROM t`, `SELECT count(*), count(*) FROM t`).
//!
//! SQLite, PostgreSQL and DuckDB accept them; DataFusion refuses a projection
//! with two equal names, or an alias equal to a column it projects
//! (apache/datafusion#6543). Before planning, the items of the statement's
//! outermost select list that would collide get internal aliases
//! (`__llkv_col_N`), and the engine renames the result's columns back to the
//! names the user wrote. An `ORDER BY` identifier that names one of those
//! items now names its internal alias (as in SQLite, an output column's name
//! comes before an input column's).

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, OrderByKind, Query, Select, SelectItem, SetExpr, Statement as SqlStatement, Value,
};
use std::collections::HashMap;

/// Prefix of the internal aliases.
const PREFIX: &str = "__llkv_col_";

/// The internal alias given to a result column and the name shown for it.
pub(crate) type Renames = Vec<(String, String)>;

/// Gives colliding result columns of `stmt` internal aliases; returns them
/// with the names to show (empty when nothing collides).
pub(crate) fn unique_output_names(stmt: &mut Statement) -> Renames {
    output_names(stmt, false)
}

/// Gives every expression of the outermost select list an internal alias,
/// for a statement DataFusion refused for duplicate names that
/// [`unique_output_names`] did not foresee (DataFusion names
/// `CAST(x AS INTEGER)` of an integer `x` like `x` itself).
pub(crate) fn alias_all_output_names(stmt: &mut Statement) -> Renames {
    output_names(stmt, true)
}

/// Whether a planning error is DataFusion's refusal of duplicate names.
pub(crate) fn is_duplicate_name_error(message: &str) -> bool {
    message.contains("Projections require unique expression names")
}

fn output_names(stmt: &mut Statement, all: bool) -> Renames {
    let mut renames = Renames::new();
    if let Statement::Statement(s) = stmt {
        match s.as_mut() {
            SqlStatement::Query(q) => query(q, &mut renames, all),
            SqlStatement::Insert(i) => {
                if let Some(q) = i.source.as_mut() {
                    query(q, &mut renames, all);
                }
            }
            _ => {}
        }
    }
    renames
}

fn query(q: &mut Query, renames: &mut Renames, all: bool) {
    let mut order_names = HashMap::new();
    body(&mut q.body, renames, &mut order_names, true, all);
    if order_names.is_empty() {
        return;
    }
    if let Some(order_by) = q.order_by.as_mut()
        && let OrderByKind::Expressions(list) = &mut order_by.kind
    {
        for o in list {
            if let Expr::Identifier(id) = &o.expr
                && let Some(internal) = order_names.get(&id.value.to_lowercase())
            {
                o.expr = Expr::Identifier(Ident::new(internal.clone()));
            }
        }
    }
}

/// Rewrites the select lists of a query body; the leftmost select of a set
/// operation names the result (`first`).
fn body(
    b: &mut SetExpr,
    renames: &mut Renames,
    order_names: &mut HashMap<String, String>,
    first: bool,
    all: bool,
) {
    match b {
        SetExpr::Select(s) => select(s, renames, order_names, first, all),
        SetExpr::SetOperation { left, right, .. } => {
            body(left, renames, order_names, first, all);
            let mut ignored = HashMap::new();
            body(right, &mut Renames::new(), &mut ignored, false, all);
        }
        SetExpr::Query(q) if first => {
            // A parenthesized query body names the result too.
            body(&mut q.body, renames, order_names, first, all)
        }
        _ => {}
    }
}

fn select(
    s: &mut Select,
    renames: &mut Renames,
    order_names: &mut HashMap<String, String>,
    first: bool,
    all: bool,
) {
    let has_wildcard = s
        .projection
        .iter()
        .any(|i| matches!(i, SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)));
    let keys: Vec<Option<(String, bool)>> = s.projection.iter().map(key).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (k, _) in keys.iter().flatten() {
        *counts.entry(k.as_str()).or_default() += 1;
    }
    // An item collides with another, or (when named like a column) maybe with
    // a column a wildcard brings.
    let collides: Vec<bool> = keys
        .iter()
        .map(|k| match k {
            Some((k, is_name)) => {
                all || counts.get(k.as_str()).copied().unwrap_or(0) > 1
                    || (has_wildcard && *is_name)
            }
            None => false,
        })
        .collect();
    if !collides.iter().any(|c| *c) {
        return;
    }
    let start = renames.len();
    for (n, (item, (k, c))) in s.projection.iter_mut().zip(keys.iter().zip(&collides)).enumerate() {
        let (Some((k, _)), true) = (k, *c) else { continue };
        let internal = format!("{PREFIX}{}", start + n);
        let (expr, shown) = match item {
            SelectItem::UnnamedExpr(e) => {
                let shown = shown_name(e);
                (std::mem::replace(e, Expr::value(Value::Null)), shown)
            }
            SelectItem::ExprWithAlias { expr, alias } => {
                let shown = normalized(alias);
                (std::mem::replace(expr, Expr::value(Value::Null)), shown)
            }
            _ => continue,
        };
        *item = SelectItem::ExprWithAlias { expr, alias: Ident::with_quote('"', internal.clone()) };
        if first {
            order_names.entry(k.clone()).or_insert_with(|| internal.clone());
            renames.push((internal, shown));
        }
    }
}

/// The name an item is known by for collisions (lower case), and whether it
/// is a name (an alias or a column) rather than an expression's text.
fn key(item: &SelectItem) -> Option<(String, bool)> {
    match item {
        SelectItem::ExprWithAlias { alias, .. } => Some((alias.value.to_lowercase(), true)),
        SelectItem::UnnamedExpr(e) => match stripped(e) {
            Expr::Identifier(id) => Some((id.value.to_lowercase(), true)),
            Expr::CompoundIdentifier(ids) => ids.last().map(|id| (id.value.to_lowercase(), true)),
            // DataFusion names every subquery `(<subquery>)`: items that hold one may collide.
            e if has_subquery(&e) => Some(("(<subquery>)".into(), false)),
            e => Some((e.to_string().to_lowercase(), false)),
        },
        _ => None,
    }
}

/// `e` without unary `+` and parentheses, which do not change DataFusion's
/// name for an expression.
fn stripped(e: &Expr) -> Expr {
    use datafusion::sql::sqlparser::ast::{UnaryOperator, visit_expressions_mut};
    use std::ops::ControlFlow;
    let mut e = e.clone();
    let _ = visit_expressions_mut(&mut e, |e| {
        loop {
            match e {
                Expr::Nested(inner) => {
                    *e = std::mem::replace(inner.as_mut(), Expr::value(Value::Null))
                }
                Expr::UnaryOp { op: UnaryOperator::Plus, expr } => {
                    *e = std::mem::replace(expr.as_mut(), Expr::value(Value::Null))
                }
                _ => break,
            }
        }
        ControlFlow::<()>::Continue(())
    });
    e
}

/// Whether `e` holds a subquery.
fn has_subquery(e: &Expr) -> bool {
    use datafusion::sql::sqlparser::ast::visit_expressions;
    use std::ops::ControlFlow;
    visit_expressions(e, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// What the user sees as the name of an unaliased item.
fn shown_name(e: &Expr) -> String {
    match e {
        Expr::Identifier(id) => normalized(id),
        Expr::CompoundIdentifier(ids) => ids.last().map(normalized).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// An identifier as DataFusion resolves it: lower case unless quoted.
fn normalized(id: &Ident) -> String {
    if id.quote_style.is_some() { id.value.clone() } else { id.value.to_lowercase() }
}

/// `schema` and `batches` with the internal aliases renamed to the names shown.
pub(crate) fn restore(
    renames: &Renames,
    schema: datafusion::arrow::datatypes::SchemaRef,
    batches: Vec<datafusion::arrow::array::RecordBatch>,
) -> Result<
    (datafusion::arrow::datatypes::SchemaRef, Vec<datafusion::arrow::array::RecordBatch>),
    datafusion::arrow::error::ArrowError,
> {
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;
    // The batches' own types: DataFusion's logical schema can disagree with
    // what execution produced (a CASE mixing an integer and an aggregate's
    // float was seen typed Int64 while its values were Float64).
    let schema = batches.first().map_or(schema, |b| b.schema());
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match renames.iter().find(|(internal, _)| internal == f.name()) {
            Some((_, shown)) => f.as_ref().clone().with_name(shown),
            None => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches = batches
        .into_iter()
        .map(|b| {
            datafusion::arrow::array::RecordBatch::try_new_with_options(
                Arc::clone(&schema),
                b.columns().to_vec(),
                &datafusion::arrow::array::RecordBatchOptions::new()
                    .with_row_count(Some(b.num_rows())),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((schema, batches))
}
