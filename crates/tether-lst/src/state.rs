//! The values that go in and out of the engine: observations, actions, state and changes.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A link state group number (1..=4096).
pub type GroupId = u16;

// ===== inputs =====

/// What the dataplane says about one interface right now.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InterfaceObservation {
    pub name: String,
    /// The interface exists in the dataplane.
    pub exists: bool,
    /// The operator's admin state (`no shutdown`).
    pub admin_up: bool,
    /// The lower layer is up (`IFF_LOWER_UP`).
    pub carrier: bool,
    /// Tether's own disable (protodown, or admin down where there is no protodown) is in effect.
    pub disabled_by_tether: bool,
}

impl InterfaceObservation {
    /// An interface that exists, is admin up, has carrier and is not disabled.
    pub fn up(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            exists: true,
            admin_up: true,
            carrier: true,
            disabled_by_tether: false,
        }
    }

    /// Admin up but the link is down.
    pub fn no_carrier(name: impl Into<String>) -> Self {
        Self {
            carrier: false,
            ..Self::up(name)
        }
    }

    /// Shut by the operator.
    pub fn admin_down(name: impl Into<String>) -> Self {
        Self {
            admin_up: false,
            carrier: false,
            ..Self::up(name)
        }
    }

    /// Not in the dataplane.
    pub fn missing(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            exists: false,
            admin_up: false,
            carrier: false,
            disabled_by_tether: false,
        }
    }

    /// Forwarding: an upstream in this state counts as up.
    pub fn oper_up(&self) -> bool {
        self.exists && self.admin_up && self.carrier && !self.disabled_by_tether
    }

    /// Shut by the operator, not by Tether: Tether must never bring it up.
    pub fn operator_shut(&self) -> bool {
        self.exists && !self.admin_up && !self.disabled_by_tether
    }
}

/// The side of a group an interface is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Upstream,
    Downstream,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Upstream => "upstream",
            Role::Downstream => "downstream",
        })
    }
}

// ===== outputs =====

/// What the worker must do to the dataplane.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum Action {
    /// Disable this downstream because `group` holds it. Issued for an interface already
    /// disabled when the group it is attributed to changes (re-attribution: the group that held
    /// it released it while another still holds it, or a configuration change moved it).
    Disable { interface: String, group: GroupId },
    /// Lift Tether's disable of this downstream: no group holds it any more; `group` is the one
    /// it was attributed to (never touches the operator's admin state).
    Enable { interface: String, group: GroupId },
}

impl Action {
    pub fn interface(&self) -> &str {
        match self {
            Action::Disable { interface, .. } | Action::Enable { interface, .. } => interface,
        }
    }

    pub fn group(&self) -> GroupId {
        match self {
            Action::Disable { group, .. } | Action::Enable { group, .. } => *group,
        }
    }
}

/// `Status` of a group: down means its downstreams are disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupStatus {
    Up,
    Down,
}

/// The state of a member, as `show link state group N detail` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberStatus {
    /// `(Up)`: operationally up.
    Up,
    /// `(Dwn)`: down by itself: admin down, no carrier, missing or not yet seen.
    Down,
    /// `(Dis)`: disabled by this group.
    Disabled,
}

impl MemberStatus {
    /// The Cisco abbreviation: `Up`, `Dwn` or `Dis`.
    pub fn abbreviation(self) -> &'static str {
        match self {
            MemberStatus::Up => "Up",
            MemberStatus::Down => "Dwn",
            MemberStatus::Disabled => "Dis",
        }
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// What a running up or down delay will do when it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PendingAction {
    None,
    Disable,
    Enable,
}

/// `/link-state/groups/group[id]/state`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupState {
    pub id: GroupId,
    pub enabled: bool,
    pub status: GroupStatus,
    pub upstream_up: u32,
    pub upstream_total: u32,
    pub downstream_total: u32,
    pub downstream_disabled: u32,
    /// Manual recovery: the group is up but still holds downstreams it disabled, until cleared.
    pub awaiting_clear: bool,
    /// When `status` last changed (or the group was created).
    pub last_change_ns: u64,
    /// Up↔down changes since the group was created.
    pub transitions: u64,
    pub pending_action: PendingAction,
    /// When the pending action fires; `None` when nothing is pending.
    pub pending_until_ns: Option<u64>,
}

/// `/link-state/groups/group[id]/{up,down}stream/interfaces/interface[name]/state`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemberState {
    pub interface: String,
    pub group: GroupId,
    pub role: Role,
    pub status: MemberStatus,
    pub last_change_ns: u64,
}

/// Everything `show link state group N detail` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupDetail {
    pub state: GroupState,
    pub upstream: Vec<MemberState>,
    pub downstream: Vec<MemberState>,
}

/// A change of state, for ON_CHANGE telemetry. Each carries the whole new value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "change")]
pub enum StateChange {
    /// A leaf of the group's state changed, or the group was created.
    Group {
        at_ns: u64,
        state: GroupState,
    },
    GroupRemoved {
        at_ns: u64,
        group: GroupId,
    },
    /// A member's status changed, or the member was added.
    Member {
        at_ns: u64,
        state: MemberState,
    },
    MemberRemoved {
        at_ns: u64,
        group: GroupId,
        role: Role,
        interface: String,
    },
}

/// What one call to the engine produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// To apply to the dataplane, in order.
    pub actions: Vec<Action>,
    /// To publish to telemetry, in order.
    pub changes: Vec<StateChange>,
}

impl Outcome {
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.changes.is_empty()
    }
}
