//! # llkv-mvcc
//!
//! Snapshot-isolation transactions over the llkv column store. Both query
//! routes (DataFusion and native) read and write only through this crate.
//!
//! ```
//! use llkv_mvcc::{Database, Session};
//! use llkv_store::{ColumnMeta, ScanRequest, TableMeta};
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::DataType;
//! use std::sync::Arc;
//!
//! let db = Database::in_memory();
//! let session = Session::new(db.clone());
//! session.run(|txn| {
//!     let t = txn.create_table(TableMeta::new("t", vec![ColumnMeta::new("x", DataType::Int64, true)]))?;
//!     let rows = RecordBatch::try_new(t.meta.schema(), vec![Arc::new(Int64Array::from(vec![1, 2]))])?;
//!     txn.insert(&t, &rows)?;
//!     Ok(())
//! })?;
//! let reader = db.begin();
//! let t = reader.table("t")?.unwrap();
//! assert_eq!(reader.scan(&t, &ScanRequest::all())?[0].num_rows(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The visibility rule and the commit protocol are in `docs/design.md`.

mod constraints;
mod database;
mod error;
mod foreign_keys;
mod index;
mod locks;
mod scan;
mod schemas;
mod session;
mod transaction;
mod vacuum;
mod versioning;

pub use constraints::{check_no_duplicates, check_unique, conform};
pub use database::{Database, TxnId};
pub use error::{Error, Result};
pub use foreign_keys::{FOREIGN_KEYS_PROPERTY, ForeignKey};
pub use index::{INDEX_PREFIX, IndexDef, format_index_def, parse_index_def};
pub use scan::{PreparedScan, count_rows, row_ids_of};
pub use schemas::{DEFAULT_SCHEMA, SCHEMA_PREFIX, qualified_name, split_qualified};
pub use session::{Session, StatementTxn};
pub use transaction::{LOCAL_ROW_BASE, TableHandle, Transaction};
pub use vacuum::{AutoVacuum, VacuumReport};
pub use versioning::{CREATED_COLUMN, DELETED_COLUMN};
