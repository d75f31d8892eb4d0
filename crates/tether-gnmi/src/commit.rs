//! The Commit extension (gnmi_ext field 4, gnmi-commit-confirmed.md) on Set: the one place
//! the confirmed-commit engine plugs in.
//!
//! `set.rs` has resolved and decoded every operation of the request into `edits` (empty for
//! confirm, cancel and set-rollback-duration) and checked the NETCONF locks; the extension
//! itself was parsed and checked in `extensions.rs` into a [`CommitAction`]. What is left is
//! the engine's part: apply with a rollback timer, confirm, cancel, restart the timer,
//! refuse a plain Set while a commit waits for confirmation (FAILED_PRECONDITION, §3.2.1),
//! and answer with the commit's time. Until the engine exists the action is refused with
//! UNIMPLEMENTED, so a client that asked for a rollback safety net never gets a commit
//! without one; nothing has changed by then.
//!
//! To wire the engine: replace the body of [`confirmed`] (a plain commit is
//! [`crate::set::apply`]).

use tether_model::Edit;
use tracing::Span;

use crate::error::GnmiError;
use crate::extensions::CommitAction;
use crate::service::{Caller, Shared};

/// Carries out a confirmed-commit action with the Set's edits; returns the timestamp of the
/// Set's response.
pub(crate) async fn confirmed(
    _shared: &Shared,
    _caller: &Caller,
    action: &CommitAction,
    _edits: Vec<Edit>,
    _span: &Span,
) -> Result<i64, GnmiError> {
    let what = match action {
        CommitAction::Commit { .. } => "commit",
        CommitAction::Confirm { .. } => "confirm",
        CommitAction::Cancel { .. } => "cancel",
        CommitAction::SetRollbackDuration { .. } => "set_rollback_duration",
    };
    Err(GnmiError::Unimplemented(format!(
        "the commit extension (gnmi_ext field 4, action {what}) is not implemented by this target yet"
    )))
}
