//! The routes and storage backends a file runs on, and opening a fresh
//! database for each file.

use crate::memtable::MemTableEngine;
use llkv_mvcc::Database;
use llkv_native::NativeEngine;
use llkv_provider::DataFusionEngine;
use llkv_sql::{Engine, SqlError, SqlResult};
use std::fmt;
use tempfile::TempDir;

/// A SQL route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Route {
    /// `llkv-provider`: llkv tables under DataFusion.
    DataFusion,
    /// `llkv-native`: llkv's own planner and executor.
    Native,
    /// DataFusion on its own `MemTable`s (no llkv): the reference of
    /// `--compare-memtable`.
    DataFusionMem,
}

impl Route {
    /// Both routes, DataFusion first.
    pub const ALL: [Route; 2] = [Route::DataFusion, Route::Native];

    /// The route's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Route::DataFusion => "datafusion",
            Route::Native => "native",
            Route::DataFusionMem => "datafusion-mem",
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a file's database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// `Database::in_memory()`.
    Memory,
    /// A fresh database file in a temporary directory.
    File,
}

impl Backend {
    /// Both backends, memory first.
    pub const ALL: [Backend; 2] = [Backend::Memory, Backend::File];

    /// The backend's name as the CLI spells it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::File => "file",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One fresh database on one backend, handing out connections on one route.
/// Drop it after its connections: the temporary directory goes with it.
pub struct TestDatabase {
    db: Database,
    route: Route,
    /// The shared tables of the [`Route::DataFusionMem`] connections.
    mem: Option<datafusion::prelude::SessionContext>,
    _dir: Option<TempDir>,
}

impl TestDatabase {
    /// A new, empty database.
    ///
    /// # Errors
    /// When the temporary directory or the database file cannot be created.
    pub fn new(route: Route, backend: Backend) -> SqlResult<Self> {
        let (db, dir) = match backend {
            Backend::Memory => (Database::in_memory(), None),
            Backend::File => {
                let dir = tempfile::tempdir()
                    .map_err(|e| SqlError::new(llkv_sql::ErrorKind::Storage, e.to_string()))?;
                let db = Database::open(dir.path().join("test.llkv"))?;
                (db, Some(dir))
            }
        };
        let mem = (route == Route::DataFusionMem).then(MemTableEngine::context);
        Ok(Self { db, route, mem, _dir: dir })
    }

    /// A new session on the database.
    ///
    /// # Errors
    /// When the route's engine cannot start.
    pub fn connect(&self) -> SqlResult<Box<dyn Engine>> {
        Ok(match self.route {
            Route::DataFusion => Box::new(DataFusionEngine::new(self.db.clone())?),
            Route::Native => Box::new(NativeEngine::new(self.db.clone())),
            Route::DataFusionMem => {
                let ctx = self.mem.clone().unwrap_or_else(MemTableEngine::context);
                Box::new(MemTableEngine::new(ctx)?)
            }
        })
    }
}
