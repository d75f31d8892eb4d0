//! Store errors.

use tether_model::ModelError;
use thiserror::Error;

/// Why a commit or a read of the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The edit is invalid; nothing changed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// sled failed.
    #[error("storage: {0}")]
    Storage(#[from] sled::Error),
    /// A file operation (sync of sled's data file) failed.
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A persisted record could not be decoded.
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
    /// Rollback to a commit the log no longer (or never) held.
    #[error("commit {0} is not in the commit log")]
    UnknownCommit(u64),
    /// The store failed to make a commit durable earlier and refuses writes until restart,
    /// since what is on disk is no longer known.
    #[error("the store is read-only after an earlier storage failure: {0}")]
    Failed(String),
    /// The writer thread is gone (shutdown).
    #[error("the store is shut down")]
    Closed,
}

impl StoreError {
    /// Whether the caller's input is at fault (gNMI InvalidArgument/NotFound).
    pub fn is_user_error(&self) -> bool {
        match self {
            StoreError::Model(m) => m.is_user_error(),
            StoreError::UnknownCommit(_) => true,
            _ => false,
        }
    }
}
