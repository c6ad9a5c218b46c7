//! # llkv-store
//!
//! The llkv column store: tables kept as chunked Arrow columns in one
//! simd-r-drive file (or in memory), read back zero-copy, with per-chunk
//! statistics, atomic multi-table commits and recovery at open.
//!
//! It sits at the bottom of llkv: `llkv-mvcc` adds transactions on top, and
//! the two query routes (DataFusion and native) read and write through that.
//! The store knows no SQL.
//!
//! ```
//! use llkv_store::{ColumnMeta, ScanRequest, Store, TableMeta};
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::DataType;
//! use std::sync::Arc;
//!
//! let store = Store::in_memory();
//! let mut w = store.begin_write()?;
//! let id = w.create_table(TableMeta::new("t", vec![ColumnMeta::new("x", DataType::Int64, true)]))?;
//! let meta = w.version().table(id).unwrap().meta.schema();
//! w.append(id, &RecordBatch::try_new(meta, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])?)?;
//! w.commit()?;
//! let v = store.current();
//! let batches = store.scan(v.table(id).unwrap(), &ScanRequest::all())?;
//! assert_eq!(batches[0].num_rows(), 3);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The on-disk layout, the commit protocol and their invariants are described
//! in `docs/design.md` at the root of the repository.

mod catalog;
pub mod chunk;
mod codec;
mod decoded;
mod error;
mod index;
mod narrow;
pub mod pager;
mod patch;
mod predicate;
mod scan;
mod scan_rows;
mod settled;
mod stats;
mod store;
mod summary;
mod sums;
mod table;
mod vacuum;
mod write;

pub use catalog::{ColumnMeta, TableId, TableMeta};
pub use decoded::STRING_VIEW_CACHE_BYTES;
pub use error::{Error, Result};
pub use index::{KeyBound, KeyRange};
pub use patch::ChunkPatch;
pub use predicate::{CmpOp, Predicate};
pub use scan::{MaskedBatch, ROW_ID_COLUMN, ScanRequest, SegmentScan, VersionFilter};
pub use settled::SETTLED_CACHE_BYTES;
pub use stats::ChunkStats;
pub use store::{Durability, Store, StoreOptions, Version, WriteTxn};
pub use summary::{ColumnSummary, Figure, ScanSummary};
pub use sums::{DecimalSum, SegmentSums};
pub use table::{ColumnChunk, RowMap, Segment, SegmentBody, TableData};
pub use vacuum::VacuumStats;

/// The file format version. Bump it on any incompatible change of a record.
/// Version 2: a table manifest names a separate segment list record, read on
/// the table's first use (version 1 listed the segments in the manifest).
/// Version 3: a `Decimal128` chunk keeps its values narrowed (distances from
/// the chunk's smallest value in 1–8 bytes).
pub const FORMAT_VERSION: u32 = 3;
