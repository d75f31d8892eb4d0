//! The candidate datastore (RFC 6241 §8.3): one per server, shared by every session, `None`
//! while it equals running (nothing edited since the last commit or discard).
//!
//! Why it is more than a mutex: a confirmed commit that is reverted (its timeout, a
//! cancel-commit, the owning session's end, a gNMI cancel, a restart) takes running back to
//! the configuration before it, and the candidate is reset to that restored running: changes
//! staged in the candidate after the confirmed commit are discarded. A NETCONF operator
//! expects a revert to leave the device as it was before the trial; a candidate still holding
//! the trial (plus whatever was staged on top of it) would let the next plain `<commit>` —
//! by any session, possibly much later — put back the very configuration that was rolled
//! back, without a timer this time. RFC 6241 §8.4.1 says only that the *configuration* is
//! restored; discarding the candidate is Tether's choice, documented in the user guide
//! (docs/user-guide.md, "Confirmed commit").
//!
//! How: the store counts durable reverts (`Store::reverts`); every access to the candidate
//! goes through [`Candidate::lock`], which compares that count with the one the candidate
//! last saw and discards the candidate's changes when it moved. So the reset needs no task
//! watching the commit bus, and holds even for a revert that changed no leaf (no record is
//! published for it). A `<commit>` that had already read the candidate when a timeout fired
//! is ordered after the revert by the store's writer and commits what it read: the same
//! answer as a `<commit>` that arrived a moment before the deadline.

use std::ops::{Deref, DerefMut};

use tether_model::ConfigTree;
use tether_store::Store;
use tokio::sync::{Mutex, MutexGuard};
use tracing::info;

struct Slot {
    tree: Option<ConfigTree>,
    /// `Store::reverts` when the candidate was last looked at.
    reverts: u64,
}

/// The candidate, reset to running by every confirmed-commit revert.
pub(crate) struct Candidate {
    slot: Mutex<Slot>,
}

/// The locked candidate: `None` while it equals running.
pub(crate) struct CandidateGuard<'a>(MutexGuard<'a, Slot>);

impl Deref for CandidateGuard<'_> {
    type Target = Option<ConfigTree>;

    fn deref(&self) -> &Self::Target {
        &self.0.tree
    }
}

impl DerefMut for CandidateGuard<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0.tree
    }
}

impl Candidate {
    pub(crate) fn new(store: &dyn Store) -> Self {
        Candidate {
            slot: Mutex::new(Slot {
                tree: None,
                reverts: store.reverts(),
            }),
        }
    }

    /// The candidate, after discarding its changes if a confirmed commit was reverted since
    /// it was last looked at.
    pub(crate) async fn lock(&self, store: &dyn Store) -> CandidateGuard<'_> {
        let mut slot = self.slot.lock().await;
        refresh(&mut slot, store);
        CandidateGuard(slot)
    }

    /// The same without waiting: `None` while another session holds it.
    pub(crate) fn try_lock(&self, store: &dyn Store) -> Option<CandidateGuard<'_>> {
        let mut slot = self.slot.try_lock().ok()?;
        refresh(&mut slot, store);
        Some(CandidateGuard(slot))
    }
}

fn refresh(slot: &mut Slot, store: &dyn Store) {
    let now = store.reverts();
    if slot.reverts != now {
        slot.reverts = now;
        if slot.tree.take().is_some() {
            info!(
                "a confirmed commit was reverted: the candidate's uncommitted changes are \
                 discarded (it equals the restored running configuration)"
            );
        }
    }
}
