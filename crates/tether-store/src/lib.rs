//! Tether's running datastore.
//!
//! What this crate is for: holding the one running configuration, applying commits to it
//! as validated all-or-nothing transactions (through `tether-model`), persisting each commit
//! in sled together with its commit-log record, and telling the caller "done" only once the
//! commit is on stable storage. It keeps the last N commits for audit and rollback, and
//! broadcasts every durable commit to the rest of the daemon (worker, telemetry).
//!
//! What it is not for: protocols (gNMI, NETCONF) or behaviour (the worker). It never
//! imports them; they call it.
//!
//! The invariant: **the store keeps exactly what it acknowledged.** A commit reaches the
//! configuration readers see only after it validated and is on stable storage; a refused or
//! failed commit (invalid, disk full, I/O error) leaves no trace in memory, on disk, in Get
//! or in Subscribe (`sled_store.rs` says how).
//!
//! Concurrency: commits are serialised by one writer thread, which batches the commits that
//! arrive while a sync is in flight into one `fdatasync` (group commit). Readers take a
//! shared lock on the published tree and are blocked only while a durable batch is
//! installed in it, never during disk I/O.

mod boot;
mod confirmed;
mod disk;
mod durable;
mod error;
mod lock;
mod record;
mod sled_store;
mod writer;

pub use boot::CheckReport;
pub use confirmed::{
    Caller, ConfirmError, ConfirmKey, ConfirmedAction, ConfirmedRequest, ConfirmedStatus,
};
pub use error::StoreError;
pub use lock::{Datastore, Holder, Locks};
pub use record::{CommitMeta, CommitOutcome, CommitRecord};
pub use sled_store::{SledStore, StoreOptions};

use std::sync::RwLockReadGuard;

use tether_model::{ConfigTree, Edit};

/// The datastore interface the northbound protocols and the worker use.
pub trait Store: Send + Sync + 'static {
    /// Applies `edits` as one transaction and waits until it is durable. An edit that fails
    /// validation changes nothing and returns the model's error.
    fn commit(&self, edits: Vec<Edit>, meta: CommitMeta) -> Pending;

    /// Returns the configuration to what it was right after commit `id`, as a new commit.
    fn rollback(&self, id: u64, meta: CommitMeta) -> Pending;

    /// A confirmed-commit request (start, follow up, confirm, cancel, extend, session end;
    /// `confirmed.rs` has the rules). While a confirmed commit is pending, [`Store::commit`]
    /// and [`Store::rollback`] are refused with [`ConfirmError::Pending`].
    fn confirmed(&self, request: ConfirmedRequest, meta: CommitMeta) -> Pending;

    /// The pending confirmed commit, if any.
    fn confirmed_status(&self) -> Option<ConfirmedStatus>;

    /// How many confirmed commits were reverted (timeout, cancel, the owning session's end,
    /// boot) since the store opened. It moves when the revert is durable, before the revert's
    /// reply and its record on the commit bus, so whoever keeps data derived from running
    /// (NETCONF's candidate) can tell that running went back without watching the bus.
    fn reverts(&self) -> u64;

    /// A read view of the running configuration.
    fn config(&self) -> RwLockReadGuard<'_, ConfigTree>;

    /// The newest commits, newest first (at most `limit`).
    fn commits(&self, limit: usize) -> Result<Vec<CommitRecord>, StoreError>;

    /// Every durable commit from now on. A receiver that falls behind gets `Lagged` and must
    /// re-read the configuration.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<std::sync::Arc<CommitRecord>>;

    /// Durable key/value records the daemon keeps beside the configuration (e.g. which
    /// interfaces link-state tracking disabled, so a restart re-enables exactly those).
    fn runtime_put(&self, key: &str, value: Option<&[u8]>) -> Result<(), StoreError>;

    /// Several runtime record changes (`None` removes) made durable together: one sync for
    /// the lot, so link-state tracking disabling 1,000 interfaces pays for one `fdatasync`,
    /// not 1,000.
    fn runtime_batch(&self, changes: &[(String, Option<Vec<u8>>)]) -> Result<(), StoreError>;

    /// Runtime records whose key starts with `prefix`.
    fn runtime_scan(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}

/// A commit on its way to stable storage.
pub struct Pending(tokio::sync::oneshot::Receiver<Result<CommitOutcome, StoreError>>);

impl Pending {
    pub(crate) fn new(
        rx: tokio::sync::oneshot::Receiver<Result<CommitOutcome, StoreError>>,
    ) -> Self {
        Pending(rx)
    }

    /// Waits from async code.
    pub async fn wait(self) -> Result<CommitOutcome, StoreError> {
        self.0.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Waits from a plain thread (tests, benchmarks, tools). Must not be called from inside
    /// a tokio runtime.
    pub fn wait_blocking(self) -> Result<CommitOutcome, StoreError> {
        self.0.blocking_recv().unwrap_or(Err(StoreError::Closed))
    }
}
