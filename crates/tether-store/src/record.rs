//! What the commit log holds.

use serde::{Deserialize, Serialize};
use tether_model::LeafChange;

/// Who made a commit and from where (gNMI metadata and peer address).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitMeta {
    pub user: String,
    pub client: String,
    /// Free text: "rollback to 12", "tetherctl import asa.cfg", ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// W3C `traceparent` of the request that made the commit, so the worker's reconcile span
    /// joins the same trace as the gNMI Set (Set → commit → reconcile → dataplane apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// One durable commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    pub id: u64,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: u64,
    #[serde(flatten)]
    pub meta: CommitMeta,
    /// The leaves that changed, with before and after values.
    pub changes: Vec<LeafChange>,
}

/// The answer to a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitOutcome {
    /// The commit's id; for an edit that changed nothing, the id of the latest commit
    /// (no record is written for it).
    pub id: u64,
    /// Nanoseconds since the Unix epoch at which the commit was made.
    pub time_ns: u64,
    pub changes: Vec<LeafChange>,
}
