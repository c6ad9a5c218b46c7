//! # llkv
//!
//! An embedded, transactional SQL database whose tables are Arrow column
//! chunks stored in one simd-r-drive file and read back zero-copy.
//!
//! This facade re-exports the layers:
//!
//! ```text
//!   llkv-store  ←  llkv-mvcc  ←  llkv-sql  ←  llkv-provider (DataFusion route)
//!                                          ←  llkv-native   (native route)
//! ```

pub use llkv_mvcc as mvcc;
pub use llkv_native as native;
pub use llkv_provider as provider;
pub use llkv_sql as sql;
pub use llkv_store as store;

pub use llkv_mvcc::{Database, Session, Transaction};
