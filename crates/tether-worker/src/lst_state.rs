//! `/tether-link-state:link-state/groups/group[id]/...state`: the LST engine's state changes
//! as state leaves. One engine [`Outcome`](tether_lst::Outcome) becomes one batch, so a
//! subscriber sees a group and its 40 members change in one notification.

use std::collections::BTreeMap;

use tether_lst::{
    GroupConfig, GroupId, GroupState, GroupStatus, MemberState, MemberStatus, PendingAction,
    StateChange,
};
use tether_telemetry::StateBatch;

use crate::paths;
use crate::time::date_and_time;

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
    let base = format!("{}/state", paths::group(s.id));
    let mut set = |leaf: &str, value: String| out.updates.push((format!("{base}/{leaf}"), value));
    set("id", s.id.to_string());
    set("enabled", s.enabled.to_string());
    if let Some((c, description)) = config {
        set("min-upstream-up", c.min_upstream_up.to_string());
        set("up-delay", c.up_delay.as_secs().to_string());
        set("down-delay", c.down_delay.as_millis().to_string());
        if let Some(d) = description {
            set("description", d.clone());
        }
    }
    set(
        "status",
        match s.status {
            GroupStatus::Up => "up",
            GroupStatus::Down => "down",
        }
        .into(),
    );
    set("upstream-up", s.upstream_up.to_string());
    set("upstream-total", s.upstream_total.to_string());
    set("downstream-disabled", s.downstream_disabled.to_string());
    set("last-change", date_and_time(s.last_change_ns));
    set("last-change-ns", s.last_change_ns.to_string());
    set("transitions", s.transitions.to_string());
    set(
        "pending-action",
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
            .push((format!("{base}/pending-until"), date_and_time(ns))),
        None => out.deletes.push(format!("{base}/pending-until")),
    }
    if config.is_some_and(|(_, d)| d.is_none()) {
        out.deletes.push(format!("{base}/description"));
    }
}

/// Every leaf of one member's state.
pub fn member(s: &MemberState, out: &mut StateBatch) {
    let base = format!("{}/state", paths::member(s.group, s.role, &s.interface));
    let status = match s.status {
        MemberStatus::Up => "up",
        MemberStatus::Down => "down",
        MemberStatus::Disabled => "disabled",
    };
    out.updates
        .push((format!("{base}/name"), s.interface.clone()));
    out.updates
        .push((format!("{base}/oper-status"), status.into()));
    out.updates.push((
        format!("{base}/disabled-by-group"),
        (s.status == MemberStatus::Disabled).to_string(),
    ));
    out.updates.push((
        format!("{base}/last-change"),
        date_and_time(s.last_change_ns),
    ));
    out.updates.push((
        format!("{base}/last-change-ns"),
        s.last_change_ns.to_string(),
    ));
}
