//! Errors of the gNMI layer and their gRPC status codes (gNMI specification §3.x "Error
//! handling" of each RPC).

use thiserror::Error;
use tonic::{Code, Status};

use tether_model::ModelError;
use tether_store::{ConfirmError, StoreError};

/// Why a gNMI request failed. Each variant maps to one gRPC status code.
#[derive(Debug, Error)]
pub enum GnmiError {
    /// The request is malformed or breaks a schema rule (`INVALID_ARGUMENT`).
    #[error("{0}")]
    InvalidArgument(String),
    /// The datastore is locked by a NETCONF session, or a commit state forbids the request
    /// (`FAILED_PRECONDITION`).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The path names nothing (`NOT_FOUND`).
    #[error("{0}")]
    NotFound(String),
    /// The request asks for something the target does not do (`UNIMPLEMENTED`).
    #[error("{0}")]
    Unimplemented(String),
    /// No or wrong credentials (`UNAUTHENTICATED`).
    #[error("{0}")]
    Unauthenticated(String),
    /// The user may not do this (`PERMISSION_DENIED`).
    #[error("{0}")]
    PermissionDenied(String),
    /// The target cannot serve the request now (`UNAVAILABLE`).
    #[error("{0}")]
    Unavailable(String),
    /// A subscriber fell behind, or the datastore's disk is full (`RESOURCE_EXHAUSTED`).
    #[error("{0}")]
    ResourceExhausted(String),
    /// Our fault (`INTERNAL`).
    #[error("{0}")]
    Internal(String),
}

impl GnmiError {
    /// The gRPC status code of this error.
    pub fn code(&self) -> Code {
        match self {
            GnmiError::InvalidArgument(_) => Code::InvalidArgument,
            GnmiError::NotFound(_) => Code::NotFound,
            GnmiError::Unimplemented(_) => Code::Unimplemented,
            GnmiError::Unauthenticated(_) => Code::Unauthenticated,
            GnmiError::FailedPrecondition(_) => Code::FailedPrecondition,
            GnmiError::PermissionDenied(_) => Code::PermissionDenied,
            GnmiError::Unavailable(_) => Code::Unavailable,
            GnmiError::ResourceExhausted(_) => Code::ResourceExhausted,
            GnmiError::Internal(_) => Code::Internal,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        GnmiError::InvalidArgument(msg.into())
    }
}

impl From<GnmiError> for Status {
    fn from(e: GnmiError) -> Status {
        Status::new(e.code(), crate::limits::cap_message(e.to_string()))
    }
}

impl From<ModelError> for GnmiError {
    fn from(e: ModelError) -> Self {
        match e {
            ModelError::NotFound(p) => GnmiError::NotFound(format!("{p} does not exist")),
            // A configured limit: the request is well formed, the target lacks room for it.
            e @ ModelError::LimitExceeded { .. } => GnmiError::ResourceExhausted(e.to_string()),
            e if e.is_user_error() => GnmiError::InvalidArgument(e.to_string()),
            e => GnmiError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for GnmiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Model(m) => m.into(),
            // gnmi-commit-confirmed §3.2: an id that does not match is INVALID_ARGUMENT; no
            // commit pending, one pending that blocks the Set, or one this client may not
            // touch, FAILED_PRECONDITION.
            StoreError::Confirm(c @ ConfirmError::WrongId { .. }) => {
                GnmiError::InvalidArgument(c.to_string())
            }
            StoreError::Confirm(c) => GnmiError::FailedPrecondition(c.to_string()),
            StoreError::Closed => GnmiError::Unavailable("the datastore is shutting down".into()),
            // Disk faults: the Set left no trace and may be retried once the disk is usable.
            e @ StoreError::NoSpace(_) => GnmiError::ResourceExhausted(e.to_string()),
            e @ StoreError::Unavailable(_) => GnmiError::Unavailable(e.to_string()),
            e if e.is_user_error() => GnmiError::InvalidArgument(e.to_string()),
            e => GnmiError::Internal(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_map_to_grpc_codes() {
        let cases = [
            (
                StoreError::NoSpace("No space left on device".into()),
                Code::ResourceExhausted,
            ),
            (
                StoreError::Unavailable("Read-only file system".into()),
                Code::Unavailable,
            ),
            (StoreError::Closed, Code::Unavailable),
            (StoreError::UnknownCommit(7), Code::InvalidArgument),
            (
                StoreError::Model(ModelError::NotFound("/x".into())),
                Code::NotFound,
            ),
            (
                StoreError::Model(ModelError::LimitExceeded {
                    limit: "/m:c/max".into(),
                    max: 1,
                    path: "/m:c/l".into(),
                    count: 2,
                }),
                Code::ResourceExhausted,
            ),
            (
                StoreError::Corrupt {
                    key: "commit 3".into(),
                    message: "bad json".into(),
                },
                Code::Internal,
            ),
        ];
        for (error, code) in cases {
            let text = error.to_string();
            let status = Status::from(GnmiError::from(error));
            assert_eq!(status.code(), code, "{text}");
            assert!(status.message().len() < 200, "{}", status.message());
        }
    }
}
