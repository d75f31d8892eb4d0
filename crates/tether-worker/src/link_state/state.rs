//! `/tether-link-state:link-state/groups/group[id]/...state`: the LST engine's state changes
//! as state leaves. One engine [`Outcome`](tether_lst::Outcome) becomes one batch, so a
//! subscriber sees a group and its 40 members change in one notification.

use std::collections::BTreeMap;

use tether_lst::{
    GroupConfig, GroupId, GroupState, GroupStatus, MemberState, MemberStatus, PendingAction,
    StateChange, ThresholdKind,
};
use tether_model::tether_link_state::link_state::groups::group;
use tether_telemetry::StateBatch;

use crate::paths;
use crate::time::date_and_time;

use group::state::State;
use tether_lst::Role;

/// The configuration mirrored into each group's state (config leaves appear under `state` too).
#[derive(Debug, Clone, Default)]
pub struct GroupMirror {
    pub config: BTreeMap<GroupId, (GroupConfig, Option<String>)>,
}

/// Adds the leaves of `changes` to `out`.
pub fn changes(changes: &[StateChange], mirror: &GroupMirror, out: &mut StateBatch) {
    for change in changes {
        match change {
            StateChange::Group { state, .. } => group(state, mirror.config.get(&state.id), out),
            StateChange::Member { state, .. } => member(state, out),
            StateChange::GroupRemoved { group, .. } => out.deletes.push(paths::group(*group)),
            StateChange::MemberRemoved {
                group,
                role,
                interface,
                ..
            } => {
                out.deletes.push(paths::member(*group, *role, interface));
            }
        }
    }
}

/// Every leaf of one group's state.
pub fn group(s: &GroupState, config: Option<&(GroupConfig, Option<String>)>, out: &mut StateBatch) {
    let entry = paths::group(s.id);
    let leaf = |node: &'static str| paths::under(&entry, group::PATH, node);
    let mut set = |node: &'static str, value: String| out.updates.push((leaf(node), value));
    set(State::ID, s.id.to_string());
    set(State::ENABLED, s.enabled.to_string());
    if let Some((c, description)) = config {
        set(State::MIN_UPSTREAM_UP, c.min_upstream_up.to_string());
        set(State::UP_DELAY, c.up_delay.as_secs().to_string());
        set(State::DOWN_DELAY, c.down_delay.as_millis().to_string());
        if let Some(t) = c.threshold {
            let kind = match t.kind {
                ThresholdKind::Count => "count",
                ThresholdKind::Percentage => "percentage",
            };
            set(State::THRESHOLD_TYPE, kind.into());
            set(State::THRESHOLD_DOWN, t.down.to_string());
            set(State::THRESHOLD_UP, t.up.to_string());
        } else {
            set(State::THRESHOLD_TYPE, "count".into());
        }
        if let Some(n) = c.disable_links {
            set(State::DOWNSTREAM_DISABLE_LINKS, n.to_string());
        }
        set(State::AUTO_RECOVER, c.auto_recover.to_string());
        if let Some(d) = description {
            set(State::DESCRIPTION, d.clone());
        }
    }
    set(
        State::STATUS,
        match s.status {
            GroupStatus::Up => "up",
            GroupStatus::Down => "down",
        }
        .into(),
    );
    set(State::UPSTREAM_UP, s.upstream_up.to_string());
    set(State::UPSTREAM_TOTAL, s.upstream_total.to_string());
    set(
        State::DOWNSTREAM_DISABLED,
        s.downstream_disabled.to_string(),
    );
    set(State::AWAITING_CLEAR, s.awaiting_clear.to_string());
    set(State::LAST_CHANGE, date_and_time(s.last_change_ns));
    set(State::LAST_CHANGE_NS, s.last_change_ns.to_string());
    set(State::TRANSITIONS, s.transitions.to_string());
    set(
        State::PENDING_ACTION,
        match s.pending_action {
            PendingAction::None => "none",
            PendingAction::Disable => "disable",
            PendingAction::Enable => "enable",
        }
        .into(),
    );
    match s.pending_until_ns {
        Some(ns) => out
            .updates
            .push((leaf(State::PENDING_UNTIL), date_and_time(ns))),
        None => out.deletes.push(leaf(State::PENDING_UNTIL)),
    }
    if let Some((c, description)) = config {
        if description.is_none() {
            out.deletes.push(leaf(State::DESCRIPTION));
        }
        if c.threshold.is_none() {
            out.deletes.push(leaf(State::THRESHOLD_DOWN));
            out.deletes.push(leaf(State::THRESHOLD_UP));
        }
        if c.disable_links.is_none() {
            out.deletes.push(leaf(State::DOWNSTREAM_DISABLE_LINKS));
        }
    }
}

/// The member-state leaves of one side of a group: its list's schema path, then `name`,
/// `oper-status`, `disabled-by-group`, `last-change`, `last-change-ns`. The two sides are
/// separate lists in the YANG, so each has its own generated constants.
fn member_leaves(role: Role) -> (&'static str, [&'static str; 5]) {
    macro_rules! side {
        ($side:ident) => {{
            use group::$side::interfaces::interface::{PATH, state::State as M};
            let leaves = [
                M::NAME,
                M::OPER_STATUS,
                M::DISABLED_BY_GROUP,
                M::LAST_CHANGE,
                M::LAST_CHANGE_NS,
            ];
            (PATH, leaves)
        }};
    }
    match role {
        Role::Upstream => side!(upstream),
        Role::Downstream => side!(downstream),
    }
}

/// Every leaf of one member's state.
pub fn member(s: &MemberState, out: &mut StateBatch) {
    let entry = paths::member(s.group, s.role, &s.interface);
    let (
        list,
        [
            name,
            oper_status,
            disabled_by_group,
            last_change,
            last_change_ns,
        ],
    ) = member_leaves(s.role);
    let leaf = |node: &'static str| paths::under(&entry, list, node);
    let status = match s.status {
        MemberStatus::Up => "up",
        MemberStatus::Down => "down",
        MemberStatus::Disabled => "disabled",
    };
    out.updates.push((leaf(name), s.interface.clone()));
    out.updates.push((leaf(oper_status), status.into()));
    out.updates.push((
        leaf(disabled_by_group),
        (s.status == MemberStatus::Disabled).to_string(),
    ));
    out.updates
        .push((leaf(last_change), date_and_time(s.last_change_ns)));
    out.updates
        .push((leaf(last_change_ns), s.last_change_ns.to_string()));
}
