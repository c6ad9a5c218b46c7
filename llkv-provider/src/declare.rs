//! CHECK and FOREIGN KEY clauses of `CREATE TABLE` on the DataFusion route.
//!
//! DataFusion 55 refuses or drops these clauses, so llkv takes them out of the
//! statement's syntax tree before DataFusion plans it ([`take_declared`]) and
//! adds them to the new table's catalog entry when DataFusion registers the
//! table ([`Declared::apply`]), in the properties the native route uses:
//! `check.0`, `check.1`, … (the CHECK expressions as SQL text) and
//! [`FOREIGN_KEYS_PROPERTY`]. llkv-mvcc enforces foreign keys on every route;
//! CHECKs are enforced on this route by `crate::check`.

use datafusion::sql::sqlparser::ast::{
    ColumnOption, CreateTable, Expr, ForeignKeyConstraint, FunctionArguments, Ident,
    ObjectNamePart, ReferentialAction, Statement, TableConstraint, Visit, Visitor,
};
use llkv_mvcc::{FOREIGN_KEYS_PROPERTY, ForeignKey};
use llkv_sql::{CHECK_PREFIX, SqlError, SqlResult};
use llkv_store::TableMeta;
use std::ops::ControlFlow;

/// The CHECK and FOREIGN KEY clauses of one `CREATE TABLE`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Declared {
    /// The table being created (its llkv catalog name).
    pub(crate) table: String,
    /// CHECK expressions as SQL text.
    pub(crate) checks: Vec<String>,
    /// FOREIGN KEY clauses.
    pub(crate) foreign_keys: Vec<ForeignKey>,
    /// `CREATE TABLE … AS SELECT`: every column is nullable (DataFusion marks
    /// a column of constants NOT NULL; SQL's CTAS declares no constraints).
    pub(crate) as_select: bool,
}

impl Declared {
    /// Records the clauses in the new table's definition (llkv-mvcc checks
    /// the foreign keys when the table is created).
    pub(crate) fn apply(&self, meta: &mut TableMeta) {
        if self.as_select {
            for c in &mut meta.columns {
                c.nullable = true;
            }
        }
        for (i, c) in self.checks.iter().enumerate() {
            meta.properties.insert(format!("{CHECK_PREFIX}{i}"), c.clone());
        }
        if !self.foreign_keys.is_empty() {
            meta.properties
                .insert(FOREIGN_KEYS_PROPERTY.into(), ForeignKey::encode_all(&self.foreign_keys));
        }
    }
}

/// An identifier as DataFusion resolves it: unquoted ones in lower case.
fn normalize(i: &Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

/// Takes the CHECK and FOREIGN KEY clauses out of a `CREATE TABLE` (for
/// `CREATE TABLE … AS SELECT`, only notes that) and checks them: each CHECK may use only the table's columns
/// (optionally qualified by the table's name) and no subquery or aggregate
/// (`is_aggregate` names the aggregate functions). `None` for other
/// statements and tables without such clauses.
///
/// # Errors
/// A plan error naming what is wrong.
pub(crate) fn take_declared(
    stmt: &mut Statement,
    is_aggregate: &dyn Fn(&str) -> bool,
) -> SqlResult<Option<Declared>> {
    let Statement::CreateTable(ct) = stmt else { return Ok(None) };
    let Ok(table) = llkv_sql::names::table_name(&ct.name) else {
        return Ok(None);
    };
    if ct.query.is_some() && ct.columns.is_empty() {
        return Ok(Some(Declared { table, as_select: true, ..Declared::default() }));
    }
    let mut d = Declared { table, ..Declared::default() };
    let mut checks = Vec::new();
    for col in &mut ct.columns {
        let name = col.name.clone();
        let mut kept = Vec::with_capacity(col.options.len());
        for o in std::mem::take(&mut col.options) {
            match &o.option {
                ColumnOption::Check(c) => checks.push((*c.expr).clone()),
                ColumnOption::ForeignKey(fk) => {
                    let mut fk = fk.clone();
                    fk.columns = vec![name.clone()];
                    d.foreign_keys.push(foreign_key(&fk)?);
                }
                _ => kept.push(o),
            }
        }
        col.options = kept;
    }
    let mut kept = Vec::with_capacity(ct.constraints.len());
    for c in std::mem::take(&mut ct.constraints) {
        match c {
            TableConstraint::Check(c) => checks.push(*c.expr),
            TableConstraint::ForeignKey(fk) => d.foreign_keys.push(foreign_key(&fk)?),
            other => kept.push(other),
        }
    }
    ct.constraints = kept;
    for e in &checks {
        validate_check(ct, e, is_aggregate)?;
    }
    d.checks = checks.iter().map(ToString::to_string).collect();
    if d.checks.is_empty() && d.foreign_keys.is_empty() {
        return Ok(None);
    }
    Ok(Some(d))
}

/// A FOREIGN KEY clause as llkv records it (NO ACTION / RESTRICT only).
fn foreign_key(fk: &ForeignKeyConstraint) -> SqlResult<ForeignKey> {
    for a in [&fk.on_delete, &fk.on_update].into_iter().flatten() {
        if !matches!(a, ReferentialAction::NoAction | ReferentialAction::Restrict) {
            return Err(SqlError::plan(format!(
                "FOREIGN KEY action {a} is not supported (only NO ACTION and RESTRICT)"
            )));
        }
    }
    let parent = llkv_sql::names::table_name(&fk.foreign_table)
        .map_err(|_| SqlError::plan(format!("bad FOREIGN KEY table {}", fk.foreign_table)))?;
    Ok(ForeignKey {
        columns: fk.columns.iter().map(normalize).collect(),
        parent,
        parent_columns: fk.referred_columns.iter().map(normalize).collect(),
    })
}

/// Refuses a CHECK that names something else than the table's columns, or
/// contains a subquery or an aggregate.
fn validate_check(
    ct: &CreateTable,
    e: &Expr,
    is_aggregate: &dyn Fn(&str) -> bool,
) -> SqlResult<()> {
    struct V<'a> {
        ct: &'a CreateTable,
        is_aggregate: &'a dyn Fn(&str) -> bool,
    }
    impl Visitor for V<'_> {
        type Break = SqlError;
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<SqlError> {
            let has_column = |i: &Ident| {
                let n = normalize(i);
                self.ct.columns.iter().any(|c| normalize(&c.name) == n)
            };
            let table = self.ct.name.0.last().and_then(ObjectNamePart::as_ident).map(normalize);
            let problem = match e {
                Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                    Some("a CHECK constraint cannot contain a subquery".to_string())
                }
                Expr::Function(f) => {
                    let name = f.name.to_string().to_lowercase();
                    let listed = matches!(&f.args, FunctionArguments::List(_));
                    (listed && (self.is_aggregate)(&name)).then(|| {
                        format!("a CHECK constraint cannot contain an aggregate function: {name}")
                    })
                }
                Expr::Identifier(i) if !has_column(i) => {
                    Some(format!("CHECK constraint: no such column: {}", i.value))
                }
                Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                    [t, c] if Some(normalize(t)) == table && has_column(c) => None,
                    _ => Some(format!(
                        "CHECK constraint: no such column: {}",
                        parts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>().join(".")
                    )),
                },
                _ => None,
            };
            match problem {
                Some(p) => ControlFlow::Break(SqlError::plan(p)),
                None => ControlFlow::Continue(()),
            }
        }
    }
    match e.visit(&mut V { ct, is_aggregate }) {
        ControlFlow::Break(err) => Err(err),
        ControlFlow::Continue(()) => Ok(()),
    }
}
