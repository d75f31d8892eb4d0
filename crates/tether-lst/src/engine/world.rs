//! State shared by every group (observations, Tether's disables, running delays) and the rules
//! for keeping or making a disable.
//!
//! The group state machine and the engine's reconciliation must apply the same keep/disable
//! rules, so they are written once, here.

use std::collections::{BTreeSet, HashMap};

use crate::state::{GroupId, InterfaceObservation};

/// What groups consult and update outside themselves, kept apart so that a group and the world can
/// be borrowed mutably together.
#[derive(Debug, Default)]
pub(super) struct World {
    /// Last observation of each interface; an interface never observed is unknown.
    pub(super) interfaces: HashMap<String, InterfaceObservation>,
    /// What Tether disabled, and for which group: the set the daemon persists.
    pub(super) disabled: HashMap<String, GroupId>,
    /// Running delays, earliest first.
    pub(super) deadlines: BTreeSet<(u64, GroupId)>,
}

/// May Tether keep its disable on this interface? Not once it is gone or the operator shut it.
/// An interface never observed (restored at boot, not seen yet) is kept: forgetting it would
/// leave it disabled for good.
pub(super) fn may_keep(observation: Option<&InterfaceObservation>) -> bool {
    observation.is_none_or(|o| o.exists && !o.operator_shut())
}

/// May Tether disable this interface now? Only one it has seen, that exists and that the
/// operator did not shut.
pub(super) fn may_disable(observation: Option<&InterfaceObservation>) -> bool {
    observation.is_some_and(|o| o.exists && !o.operator_shut())
}
