//! `/tether-interfaces:interfaces/interface[name]/state`: what the dataplane reports, plus who
//! keeps an interface down.

use tether_dataplane::InterfaceStatus;
use tether_lst::GroupId;
use tether_model::tether_interfaces::interfaces::interface::{self, state};
use tether_telemetry::StateBatch;

use crate::paths;
use crate::time::date_and_time;

use state::State;
use state::counters::Counters;

/// The ON_CHANGE leaves of one interface. `disabled_by_group`: the group Tether disabled it for.
pub fn status(s: &InterfaceStatus, disabled_by_group: Option<GroupId>, out: &mut StateBatch) {
    let entry = paths::interface(&s.name);
    let leaf = |node: &'static str| paths::under(&entry, interface::PATH, node);
    let oper = if s.oper_up {
        "up"
    } else if s.admin_up && !s.carrier && !s.disabled_by_tether {
        "lower-layer-down"
    } else {
        "down"
    };
    let disabled_by = if s.disabled_by_tether {
        "link-state-group"
    } else if !s.admin_up {
        "operator"
    } else {
        "none"
    };
    let mut set = |node: &'static str, value: String| out.updates.push((leaf(node), value));
    set(State::NAME, s.name.clone());
    set(
        State::ADMIN_STATUS,
        if s.admin_up { "up" } else { "down" }.into(),
    );
    set(State::OPER_STATUS, oper.into());
    set(State::CARRIER, s.carrier.to_string());
    set(State::DISABLED_BY, disabled_by.into());
    set(State::LAST_CHANGE, date_and_time(s.last_change_ns));
    set(State::LAST_CHANGE_NS, s.last_change_ns.to_string());
    set(
        State::CARRIER_TRANSITIONS,
        s.carrier_transitions.to_string(),
    );
    if s.ifindex > 0 {
        set(State::IFINDEX, s.ifindex.to_string());
    }
    match disabled_by_group.filter(|_| s.disabled_by_tether) {
        Some(g) => out
            .updates
            .push((leaf(State::DISABLED_BY_GROUP), g.to_string())),
        None => out.deletes.push(leaf(State::DISABLED_BY_GROUP)),
    }
}

/// The SAMPLE counters of one interface.
pub fn counters(s: &InterfaceStatus, out: &mut StateBatch) {
    let entry = paths::interface(&s.name);
    let c = &s.counters;
    for (node, v) in [
        (Counters::IN_PACKETS, c.in_packets),
        (Counters::IN_BYTES, c.in_bytes),
        (Counters::OUT_PACKETS, c.out_packets),
        (Counters::OUT_BYTES, c.out_bytes),
        (Counters::IN_DROPPED, c.in_dropped),
    ] {
        out.updates
            .push((paths::under(&entry, interface::PATH, node), v.to_string()));
    }
}

/// The interface left the dataplane: its state goes; a configured one stays as `not-present`
/// (so a client sees that an interface it configured is missing, not that it vanished).
pub fn removed(name: &str, configured: bool, out: &mut StateBatch) {
    let entry = paths::interface(name);
    let leaf = |node: &'static str| paths::under(&entry, interface::PATH, node);
    out.deletes.push(leaf(state::PATH));
    if configured {
        out.updates.push((leaf(State::NAME), name.to_string()));
        out.updates
            .push((leaf(State::OPER_STATUS), "not-present".into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_dataplane::InterfaceCounters;

    fn iface(admin_up: bool, carrier: bool, disabled: bool) -> InterfaceStatus {
        InterfaceStatus {
            name: "Gi1/1".into(),
            ifindex: 3,
            admin_up,
            carrier,
            disabled_by_tether: disabled,
            oper_up: InterfaceStatus::derive_oper_up(admin_up, carrier, disabled),
            last_change_ns: 1_000_000_001,
            carrier_transitions: 2,
            counters: InterfaceCounters::default(),
        }
    }

    #[test]
    fn who_keeps_an_interface_down() {
        // (admin, carrier, tether, group) -> (oper-status, disabled-by, disabled-by-group)
        let cases = [
            ((true, true, false, None), ("up", "none", None)),
            (
                (true, false, false, None),
                ("lower-layer-down", "none", None),
            ),
            ((false, true, false, None), ("down", "operator", None)),
            (
                (true, true, true, Some(1)),
                ("down", "link-state-group", Some("1")),
            ),
            (
                (false, false, true, Some(7)),
                ("down", "link-state-group", Some("7")),
            ),
        ];
        for ((admin, carrier, tether, group), (oper, by, by_group)) in cases {
            let mut b = StateBatch::default();
            status(&iface(admin, carrier, tether), group, &mut b);
            let get = |leaf: &str| {
                b.updates
                    .iter()
                    .find(|(p, _)| p.ends_with(&format!("/state/{leaf}")))
                    .map(|(_, v)| v.as_str())
            };
            assert_eq!(
                (
                    get("oper-status"),
                    get("disabled-by"),
                    get("disabled-by-group")
                ),
                (Some(oper), Some(by), by_group),
                "{admin} {carrier} {tether}"
            );
        }
    }
}
