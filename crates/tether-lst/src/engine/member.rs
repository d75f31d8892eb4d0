//! One interface inside a group, and how its reported status is kept current.
//!
//! A member's status is derived (disabled by Tether, up, or down), and a change is reported only
//! when it differs from the last one sent, so that ON_CHANGE telemetry carries no repeats.

use crate::state::{
    GroupId, InterfaceObservation, MemberState, MemberStatus, Outcome, Role, StateChange,
};

/// A configured interface as its group sees it: the status last reported and Tether's own flags.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) name: String,
    pub(super) status: MemberStatus,
    pub(super) last_change_ns: u64,
    /// Added and not yet reported in a [`StateChange`].
    pub(super) fresh: bool,
    /// Upstream only: counted in `upstream_up`.
    pub(super) up: bool,
    /// Downstream only: Tether disabled it for this group (mirrors `World::disabled`).
    pub(super) disabled: bool,
}

impl Member {
    pub(super) fn new(name: String, now_ns: u64) -> Self {
        Self {
            name,
            status: MemberStatus::Down,
            last_change_ns: now_ns,
            fresh: true,
            up: false,
            disabled: false,
        }
    }
}

/// Where a configured interface sits, so that an observation reaches its member without a search.
#[derive(Debug, Clone, Copy)]
pub(super) struct MemberRef {
    pub(super) group: GroupId,
    pub(super) role: Role,
    pub(super) index: usize,
}

/// Recomputes a member's status and reports it when it changed (or the member is new).
pub(super) fn refresh_member(
    group: GroupId,
    role: Role,
    member: &mut Member,
    observation: Option<&InterfaceObservation>,
    now_ns: u64,
    out: &mut Outcome,
) {
    let status = if member.disabled {
        MemberStatus::Disabled
    } else if observation.is_some_and(InterfaceObservation::oper_up) {
        MemberStatus::Up
    } else {
        MemberStatus::Down
    };
    if status == member.status && !member.fresh {
        return;
    }
    if status != member.status {
        member.status = status;
        member.last_change_ns = now_ns;
    }
    member.fresh = false;
    out.changes.push(StateChange::Member {
        at_ns: now_ns,
        state: MemberState {
            interface: member.name.clone(),
            group,
            role,
            status,
            last_change_ns: member.last_change_ns,
        },
    });
}
