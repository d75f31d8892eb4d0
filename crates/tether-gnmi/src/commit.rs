//! The Commit extension (gnmi_ext field 4, gnmi-commit-confirmed.md) on Set: the one place
//! the confirmed-commit engine plugs in.
//!
//! `set.rs` has resolved and decoded every operation of the request into `edits` (empty for
//! confirm, cancel and set-rollback-duration) and checked the NETCONF locks; the extension
//! itself was parsed and checked in `extensions.rs` into a [`CommitAction`]. This file hands
//! it to the store's confirmed-commit engine (`tether_store::Store::confirmed`), the same one
//! NETCONF's `<commit><confirmed/>` uses, so the rules are the device's, not gNMI's:
//! - one confirmed commit at a time for the whole device: a Commit action while one is
//!   pending, or a plain Set, is FAILED_PRECONDITION (§3.2.1);
//! - the commit `id` is the token: confirm, cancel and set_rollback_duration must repeat it
//!   (a different one is INVALID_ARGUMENT, §3.2.2–3.2.4; nothing pending is
//!   FAILED_PRECONDITION). It is the same token as a NETCONF `<persist>`: a gNMI client may
//!   confirm or cancel a NETCONF confirmed commit made with `<persist>` by giving the
//!   persist-id as its id, and a NETCONF session may confirm a gNMI one with
//!   `<persist-id>`. A NETCONF confirmed commit made without persist belongs to its session
//!   (RFC 6241 §8.4.1: no other session may confirm it); from gNMI it is
//!   FAILED_PRECONDITION;
//! - the rollback is a commit like any other (the commit log, Subscribe and the dataplane
//!   see it), at the deadline, on cancel, or when tetherd restarts with the commit pending.
//!
//! Confirm, cancel and set_rollback_duration carry no operations: the commit "cannot be
//! amended once issued" (§2), so a Set that has both is INVALID_ARGUMENT.

use std::time::Duration;

use tether_model::Edit;
use tether_store::{Caller as Holder, ConfirmKey, ConfirmedAction, ConfirmedRequest};
use tracing::Span;

use crate::error::GnmiError;
use crate::extensions::CommitAction;
use crate::service::{Caller, Shared};

/// The rollback duration when the Commit action gives none (gnmi-commit-confirmed §3.2.1).
pub const DEFAULT_ROLLBACK: Duration = Duration::from_secs(600);

/// Carries out a confirmed-commit action with the Set's edits; returns the timestamp of the
/// Set's response.
pub(crate) async fn confirmed(
    shared: &Shared,
    caller: &Caller,
    action: &CommitAction,
    edits: Vec<Edit>,
    span: &Span,
) -> Result<i64, GnmiError> {
    if !matches!(action, CommitAction::Commit { .. }) && !edits.is_empty() {
        return Err(GnmiError::invalid(
            "commit extension: confirm, cancel and set_rollback_duration carry no updates, \
             replaces or deletes (a confirmed commit cannot be amended)",
        ));
    }
    let (id, action, what) = match action {
        CommitAction::Commit { id, rollback } => (
            id,
            ConfirmedAction::Commit {
                edits,
                timeout: rollback.unwrap_or(DEFAULT_ROLLBACK),
                key: ConfirmKey::Id(id.clone()),
                follow_up: false,
            },
            "commit",
        ),
        CommitAction::Confirm { id } => (
            id,
            ConfirmedAction::Confirm {
                edits,
                or_commit: false,
            },
            "confirm",
        ),
        CommitAction::Cancel { id } => (id, ConfirmedAction::Cancel, "cancel"),
        CommitAction::SetRollbackDuration { id, rollback } => (
            id,
            ConfirmedAction::Extend { timeout: *rollback },
            "set_rollback_duration",
        ),
    };
    tracing::debug!(action = what, "commit extension");
    let request = ConfirmedRequest {
        action,
        caller: Holder {
            session: None,
            id: Some(id.clone()),
        },
    };
    crate::set::store_request(shared, caller, span, |store, meta| {
        store.confirmed(request, meta)
    })
    .await
}
