//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong in the column store.
///
/// Errors fall in three kinds: the caller's mistake (`Invalid*`, `NotFound`,
/// `AlreadyExists`), a damaged or foreign file (`NotADatabase`, `Corrupt`,
/// `UnsupportedVersion`), and the world's failure (`Io`, `Locked`, `PreviousIo`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system I/O error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The file exists but does not start with the llkv header.
    #[error("{path} is not an llkv database (bad header); the file was left unchanged")]
    NotADatabase {
        /// The offending file.
        path: PathBuf,
    },
    /// The file was written by an incompatible format version.
    #[error("unsupported llkv file format version {found} (this build reads version {expected})")]
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The version this build understands.
        expected: u32,
    },
    /// Another handle (in this or another process) holds the database.
    #[error("database {path} is already open by another process or handle")]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// A record failed validation (checksum, magic, length).
    #[error("corrupt database: {0}")]
    Corrupt(String),
    /// An earlier write failed; the store refuses writes until reopened.
    #[error("a previous write failed; reopen the database before writing again")]
    PreviousIo,
    /// The named object does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The named object exists already.
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The caller passed something the store cannot accept.
    #[error("invalid argument: {0}")]
    Invalid(String),
    /// The database was opened read-only ([`crate::Store::open_read_only`]).
    #[error("the database is open read-only: {0}")]
    ReadOnly(String),
    /// An Arrow kernel failed.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

/// The store's result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
