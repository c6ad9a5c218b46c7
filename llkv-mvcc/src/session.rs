//! A session: one connection's transaction state.
//!
//! Outside an explicit transaction every statement runs in a transaction of
//! its own that commits when the statement succeeds and rolls back when it
//! fails. Inside one (after BEGIN), a failing statement aborts the transaction:
//! everything but ROLLBACK is refused until it ends, as in PostgreSQL and DuckDB.

use crate::database::Database;
use crate::error::{Error, Result};
use crate::transaction::Transaction;
use parking_lot::Mutex;
use std::sync::Arc;

/// One connection's view of a database.
#[derive(Debug)]
pub struct Session {
    db: Database,
    explicit: Mutex<Option<Arc<Transaction>>>,
}

/// The transaction a statement runs in.
#[derive(Debug, Clone)]
pub struct StatementTxn {
    /// The transaction.
    pub txn: Arc<Transaction>,
    /// Whether it is the session's explicit transaction (else it is the statement's own).
    pub explicit: bool,
}

impl StatementTxn {
    /// Ends the statement: an implicit transaction commits on success and rolls
    /// back on failure; an explicit one is marked failed on failure.
    ///
    /// # Errors
    /// The statement's own error, or the commit's.
    pub fn finish<T>(&self, result: Result<T>) -> Result<T> {
        match (result, self.explicit) {
            (Ok(v), false) => {
                self.txn.commit()?;
                Ok(v)
            }
            (Ok(v), true) => Ok(v),
            (Err(e), _) => {
                self.abort(e.to_string());
                Err(e)
            }
        }
    }

    /// Ends a failed statement: an implicit transaction rolls back; an
    /// explicit one is marked failed with `message` and then accepts nothing
    /// but ROLLBACK.
    pub fn abort(&self, message: String) {
        if self.explicit {
            self.txn.fail(message);
        } else {
            self.txn.rollback();
        }
    }
}

impl Session {
    /// A session on `db`, in autocommit mode.
    pub fn new(db: Database) -> Self {
        Self { db, explicit: Mutex::new(None) }
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Whether an explicit transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.explicit.lock().is_some()
    }

    /// `BEGIN`: opens an explicit transaction.
    ///
    /// # Errors
    /// [`Error::TransactionState`] when one is already open.
    pub fn begin(&self) -> Result<()> {
        let mut cur = self.explicit.lock();
        if cur.is_some() {
            return Err(Error::TransactionState(
                "cannot start a transaction within a transaction".into(),
            ));
        }
        *cur = Some(self.db.begin());
        Ok(())
    }

    /// `COMMIT`: commits the explicit transaction. Committing a transaction
    /// that a failed statement aborted rolls it back instead, and succeeds (as
    /// in PostgreSQL and DuckDB).
    ///
    /// # Errors
    /// [`Error::TransactionState`] when none is open; the commit's errors (the
    /// transaction is then rolled back).
    pub fn commit(&self) -> Result<()> {
        let txn = self.explicit.lock().take();
        match txn {
            Some(t) if t.is_failed() => {
                t.rollback();
                Ok(())
            }
            Some(t) => t.commit().map(|_| ()),
            None => Err(Error::TransactionState("cannot commit - no transaction is active".into())),
        }
    }

    /// `ROLLBACK`: discards the explicit transaction.
    ///
    /// # Errors
    /// [`Error::TransactionState`] when none is open.
    pub fn rollback(&self) -> Result<()> {
        let txn = self.explicit.lock().take();
        match txn {
            Some(t) => {
                t.rollback();
                Ok(())
            }
            None => {
                Err(Error::TransactionState("cannot rollback - no transaction is active".into()))
            }
        }
    }

    /// The transaction the next statement runs in.
    pub fn statement_txn(&self) -> StatementTxn {
        match &*self.explicit.lock() {
            Some(t) => StatementTxn { txn: Arc::clone(t), explicit: true },
            None => StatementTxn { txn: self.db.begin(), explicit: false },
        }
    }

    /// Runs one statement in the right transaction (see the module docs).
    ///
    /// # Errors
    /// The statement's error, or the commit's.
    pub fn run<T>(&self, f: impl FnOnce(&Arc<Transaction>) -> Result<T>) -> Result<T> {
        let st = self.statement_txn();
        let r = f(&st.txn);
        st.finish(r)
    }
}
