//! Tether's datastore administration service, `tether.admin.v1.Datastore`.
//!
//! What this crate is for: the gRPC face of what gNMI has no RPC for — the commit log (who
//! changed which leaves, when, from where) and rollback to an earlier commit, the equivalent of
//! IOS-XR `show configuration commit list` and `rollback configuration to`. `tetherctl commits`
//! and `tetherctl rollback` are its client. Beside it, `tether.admin.v1.LinkState` carries the
//! link-state YANG actions for gNMI users (`tetherctl clear link-state group N`). The daemon mounts [`service`] beside gNMI on the same
//! port; authentication and TLS are the daemon's (the same interceptor as gNMI should guard it:
//! a rollback is a write).
//!
//! What it is not for: storage or validation. It only translates between the wire and
//! [`tether_store::Store`]; a rollback is validated and made durable by the store like any
//! other commit.

mod link_state;

pub use link_state::{LinkStateService, action_status, link_state_service};

use std::sync::Arc;

use tether_proto::admin::datastore_server::{Datastore, DatastoreServer};
use tether_proto::admin::{
    Commit, LeafChange, ListCommitsRequest, ListCommitsResponse, RollbackRequest, RollbackResponse,
};
use tether_store::{CommitMeta, CommitRecord, Store, StoreError};
use tonic::{Request, Response, Status};

/// Commits returned when a request asks for `limit = 0`.
pub const DEFAULT_LIMIT: usize = 20;

/// The most commits one request may return, so a careless client cannot make the daemon
/// decode the whole log in one go.
pub const MAX_LIMIT: usize = 10_000;

/// The gRPC service over a store, ready to add to a tonic `Server`.
pub fn service(store: Arc<dyn Store>) -> DatastoreServer<DatastoreService> {
    DatastoreServer::new(DatastoreService::new(store))
}

/// `tether.admin.v1.Datastore` over a [`Store`].
pub struct DatastoreService {
    store: Arc<dyn Store>,
}

impl DatastoreService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        DatastoreService { store }
    }
}

#[tonic::async_trait]
impl Datastore for DatastoreService {
    async fn list_commits(
        &self,
        request: Request<ListCommitsRequest>,
    ) -> Result<Response<ListCommitsResponse>, Status> {
        let limit = match request.get_ref().limit {
            0 => DEFAULT_LIMIT,
            n => usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT),
        };
        let commits = self.store.commits(limit).map_err(status)?;
        Ok(Response::new(ListCommitsResponse {
            commits: commits.into_iter().map(commit_to_wire).collect(),
        }))
    }

    async fn rollback(
        &self,
        request: Request<RollbackRequest>,
    ) -> Result<Response<RollbackResponse>, Status> {
        let meta = caller_meta(&request);
        let RollbackRequest { id, comment } = request.into_inner();
        let meta = CommitMeta {
            comment: Some(if comment.is_empty() {
                format!("rollback to {id}")
            } else {
                comment
            }),
            ..meta
        };
        tracing::info!(to = id, user = %meta.user, client = %meta.client, "rollback");
        let outcome = self.store.rollback(id, meta).wait().await.map_err(status)?;
        Ok(Response::new(RollbackResponse {
            commit_id: outcome.id,
            changed_leaves: u32::try_from(outcome.changes.len()).unwrap_or(u32::MAX),
        }))
    }
}

/// Who is calling: the `username` metadata (as gNMI sends it), the peer address and the
/// `traceparent` metadata when the client sends one.
fn caller_meta<T>(request: &Request<T>) -> CommitMeta {
    let user = request
        .metadata()
        .get("username")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let client = request
        .remote_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    // A W3C trace context sent by the client joins the rollback's reconcile to its trace.
    let traceparent = request
        .metadata()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    CommitMeta {
        user,
        client,
        traceparent,
        ..CommitMeta::default()
    }
}

fn commit_to_wire(record: CommitRecord) -> Commit {
    Commit {
        id: record.id,
        time_ns: record.time_ns,
        user: record.meta.user,
        client: record.meta.client,
        comment: record.meta.comment.unwrap_or_default(),
        changes: record
            .changes
            .into_iter()
            .map(|c| LeafChange {
                path: c.path,
                old: c.old,
                new: c.new,
            })
            .collect(),
    }
}

/// The gRPC status of a store error: an unknown commit is NOT_FOUND, an edit the model refuses
/// is INVALID_ARGUMENT, a full disk is RESOURCE_EXHAUSTED, a disk that cannot be written or a
/// store shutting down is UNAVAILABLE, anything else is the daemon's fault (INTERNAL).
pub fn status(error: StoreError) -> Status {
    match &error {
        StoreError::UnknownCommit(_) => Status::not_found(error.to_string()),
        StoreError::Model(m) if m.is_user_error() => Status::invalid_argument(error.to_string()),
        // Disk faults and shutdown: nothing changed, and a retry may succeed later.
        StoreError::NoSpace(_) => Status::resource_exhausted(error.to_string()),
        StoreError::Unavailable(_) | StoreError::Closed => Status::unavailable(error.to_string()),
        _ => Status::internal(error.to_string()),
    }
}

#[cfg(test)]
mod tests;
