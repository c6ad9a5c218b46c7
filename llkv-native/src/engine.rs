//! The native route's [`Engine`]: one session, statements dispatched to the
//! binder/executor (queries), DDL and DML modules.

use crate::binder::Binder;
use crate::convert::rows_to_batch;
use crate::exec::{ExecCtx, execute};
use crate::settings::Settings;
use crate::stmt_cache::StatementCache;
use crate::{ddl, dml};
use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use llkv_mvcc::{Database, Session, Transaction};
use llkv_sql::{CancelFlag, Engine, ErrorKind, Output, SqlError, SqlResult};
use sqlparser::ast::{self, Statement};
use std::sync::Arc;

/// A native-route connection (one session) to an llkv database.
///
/// ```
/// use llkv_native::NativeEngine;
/// use llkv_sql::{Engine, Output};
///
/// let mut e = NativeEngine::new(llkv_mvcc::Database::in_memory());
/// e.execute("CREATE TABLE t(a INTEGER); INSERT INTO t VALUES (1), (2)")?;
/// let out = e.execute("SELECT sum(a) FROM t")?;
/// assert!(matches!(&out[0], Output::Rows { batches, .. } if batches[0].num_rows() == 1));
/// # Ok::<(), llkv_sql::SqlError>(())
/// ```
pub struct NativeEngine {
    session: Session,
    /// Stops a running query (checked by the executors).
    cancel: CancelFlag,
    settings: Settings,
    /// Parsed statements by the shape of their text.
    statements: StatementCache,
}

impl NativeEngine {
    /// A new session on `db`.
    pub fn new(db: Database) -> Self {
        Self {
            session: Session::new(db),
            settings: Settings::default(),
            cancel: CancelFlag::default(),
            statements: StatementCache::default(),
        }
    }

    fn run_one(session: &Session, cancel: &CancelFlag, stmt: &Statement) -> SqlResult<Output> {
        match stmt {
            Statement::StartTransaction { .. } => {
                session.begin()?;
                return Ok(Output::Done("BEGIN".into()));
            }
            Statement::Commit { .. } => {
                session.commit()?;
                return Ok(Output::Done("COMMIT".into()));
            }
            Statement::Rollback { savepoint: None, .. } => {
                session.rollback()?;
                return Ok(Output::Done("ROLLBACK".into()));
            }
            Statement::Vacuum(_) => return vacuum(session),
            _ => {}
        }
        let st = session.statement_txn();
        // Inside a transaction that a failed statement aborted, everything but
        // COMMIT and ROLLBACK is refused (as in PostgreSQL and DuckDB).
        if st.explicit {
            st.txn.check_usable()?;
        }
        if let Statement::Pragma { .. } = stmt {
            // Unknown pragmas are ignored, as SQLite does; llkv has no pragmas yet.
            return st.finish(Ok(Output::Done("PRAGMA".into()))).map_err(Into::into);
        }
        let r = run_in_with(&st.txn, stmt, cancel);
        match r {
            Ok(out) => {
                if !st.explicit {
                    st.txn.commit()?;
                }
                Ok(out)
            }
            Err(e) => {
                st.abort(e.message.clone());
                Err(e)
            }
        }
    }
}

/// `VACUUM` (any table name or option is accepted; the whole database is
/// vacuumed): reclaims dead row versions and rewrites the file. As in SQLite,
/// not inside a transaction.
fn vacuum(session: &Session) -> SqlResult<Output> {
    if session.in_transaction() {
        return Err(SqlError::execution("cannot VACUUM from within a transaction"));
    }
    session.database().vacuum()?;
    Ok(Output::Done("VACUUM".into()))
}

/// Runs one non-transaction-control statement in `txn`.
pub(crate) fn run_in(txn: &Transaction, stmt: &Statement) -> SqlResult<Output> {
    run_in_with(txn, stmt, &CancelFlag::default())
}

/// Runs one non-transaction-control statement in `txn`; `cancel` stops a query
/// or a DML statement while it reads its rows.
fn run_in_with(txn: &Transaction, stmt: &Statement, cancel: &CancelFlag) -> SqlResult<Output> {
    match stmt {
        Statement::Query(q) => {
            if let Some(out) = crate::point::select(txn, q, cancel)? {
                return Ok(out);
            }
            let bq = Binder::new(txn).bind_query(q)?;
            let ctx = ExecCtx::new(txn).with_cancel(cancel.clone());
            let rows = execute(&bq.plan, None, &ctx)?;
            let (schema, batch) = rows_to_batch(&bq.names, &rows)?;
            Ok(Output::Rows { schema, batches: vec![batch] })
        }
        Statement::Insert(i) => dml::insert(txn, i, cancel),
        Statement::Update(u) => match crate::point_update::update(txn, u, cancel)? {
            Some(out) => Ok(out),
            None => dml::update(txn, u, cancel),
        },
        Statement::Delete(d) => dml::delete(txn, d, cancel),
        Statement::CreateTable(c) => ddl::create_table(txn, c),
        Statement::CreateView(v) => ddl::create_view(txn, v),
        Statement::CreateIndex(c) => ddl::create_index(txn, c),
        Statement::AlterTable(a) => llkv_sql::alter::alter_table(txn, a),
        Statement::CreateTrigger(t) => crate::triggers::create(txn, t),
        Statement::DropTrigger(d) => crate::triggers::drop(txn, d),
        Statement::Drop {
            object_type: ast::ObjectType::Schema, if_exists, names, cascade, ..
        } => ddl::drop_schemas(txn, *if_exists, *cascade, names),
        Statement::Drop { object_type, if_exists, names, .. } => {
            ddl::drop(txn, object_type, *if_exists, names)
        }
        Statement::CreateSchema { schema_name, if_not_exists, .. } => {
            ddl::create_schema(txn, schema_name, *if_not_exists)
        }
        Statement::Explain { statement, .. } => match statement.as_ref() {
            Statement::Query(q) => {
                let bq = Binder::new(txn).bind_query(q)?;
                let text = format!("{:#?}", bq.plan);
                let lines: Vec<&str> = text.lines().collect();
                let schema = Arc::new(Schema::new(vec![Field::new("plan", DataType::Utf8, false)]));
                let batch = RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![Arc::new(StringArray::from(lines))],
                )?;
                Ok(Output::Rows { schema, batches: vec![batch] })
            }
            other => {
                Err(SqlError::plan(format!("EXPLAIN is supported for queries only, not: {other}")))
            }
        },
        other => {
            let text = other.to_string();
            let head: String = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            Err(SqlError::new(ErrorKind::Plan, format!("unsupported statement: {head}")))
        }
    }
}

impl NativeEngine {
    /// `REINDEX [name]` (SQLite): see [`llkv_sql::reindex`].
    fn reindex(&self, sql: &str) -> SqlResult<Option<Output>> {
        let Some(target) = llkv_sql::reindex::parse(sql) else { return Ok(None) };
        let name = target?;
        let st = self.session.statement_txn();
        st.finish(llkv_sql::reindex::check(&st.txn, name.as_deref()))?;
        Ok(Some(Output::Done("REINDEX".into())))
    }
}

impl Engine for NativeEngine {
    fn route(&self) -> &'static str {
        "native"
    }

    fn set_cancel_flag(&mut self, flag: CancelFlag) {
        self.cancel = flag;
    }

    fn execute(&mut self, sql: &str) -> SqlResult<Vec<Output>> {
        if let Some(out) = self.reindex(sql)? {
            return Ok(vec![out]);
        }
        if let Some((name, ty)) = crate::user_types::parse_create_type(sql) {
            let st = self.session.statement_txn();
            let r = crate::user_types::create(&st.txn, &name, &ty);
            st.finish(r.map_err(|e| llkv_mvcc::Error::TransactionState(e.message)))?;
            return Ok(vec![Output::Done("CREATE TYPE".into())]);
        }
        let stmts = if crate::point::enabled() {
            self.statements.parse(sql)?
        } else {
            std::borrow::Cow::Owned(crate::parse::parse_sql(sql)?)
        };
        let mut out = Vec::with_capacity(stmts.len());
        for s in stmts.iter() {
            self.cancel.check()?;
            if let Statement::Set(ast::Set::SingleAssignment { variable, values, .. }) = s {
                self.settings.set(variable, values)?;
                out.push(Output::Done("SET".into()));
                continue;
            }
            let r = if self.settings.changes_statements() {
                let mut s = s.clone();
                self.settings.apply(&mut s);
                Self::run_one(&self.session, &self.cancel, &s)
            } else {
                Self::run_one(&self.session, &self.cancel, s)
            };
            out.push(r?);
        }
        Ok(out)
    }
}
