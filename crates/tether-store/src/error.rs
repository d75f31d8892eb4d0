//! Store errors.

use tether_model::ModelError;
use thiserror::Error;

/// Why a commit or a read of the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The edit is invalid; nothing changed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The disk (or quota) is full: the commit was not made durable and left no trace.
    /// Commits resume by themselves once space is freed.
    #[error("no space left on the datastore's disk: {0}")]
    NoSpace(String),
    /// The disk cannot be written (I/O error, read-only file system): the commit was not
    /// made durable and left no trace. Commits resume by themselves once the disk is usable.
    #[error("the datastore's disk cannot be written: {0}")]
    Unavailable(String),
    /// sled failed in a way that is not a disk fault (a bug or a corrupt file).
    #[error("storage: {0}")]
    Storage(sled::Error),
    /// A file operation failed outside a commit (opening, boot).
    #[error("storage I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A persisted record could not be decoded, or the datastore on disk is inconsistent.
    #[error("corrupt record {key}: {message}")]
    Corrupt { key: String, message: String },
    /// Rollback to a commit the log no longer (or never) held.
    #[error("commit {0} is not in the commit log")]
    UnknownCommit(u64),
    /// A confirmed-commit rule refused the request (`confirmed.rs`); nothing changed.
    #[error(transparent)]
    Confirm(#[from] crate::ConfirmError),
    /// The writer thread is gone (shutdown).
    #[error("the store is shut down")]
    Closed,
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        match e {
            sled::Error::Io(io) => StoreError::from_io(&io),
            e => StoreError::Storage(e),
        }
    }
}

impl StoreError {
    /// Classifies an I/O error met while making a commit durable: a full disk or quota is
    /// [`StoreError::NoSpace`], anything else [`StoreError::Unavailable`].
    pub fn from_io(e: &std::io::Error) -> StoreError {
        const ENOSPC: i32 = 28;
        const EDQUOT: i32 = 122;
        match e.raw_os_error() {
            Some(ENOSPC) | Some(EDQUOT) => StoreError::NoSpace(e.to_string()),
            _ if e.kind() == std::io::ErrorKind::StorageFull => StoreError::NoSpace(e.to_string()),
            _ => StoreError::Unavailable(e.to_string()),
        }
    }

    /// Whether the caller's input is at fault (gNMI InvalidArgument/NotFound).
    pub fn is_user_error(&self) -> bool {
        match self {
            StoreError::Model(m) => m.is_user_error(),
            StoreError::UnknownCommit(_) => true,
            _ => false,
        }
    }
}
