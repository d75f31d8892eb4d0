//! What a dataplane reports about an interface.

use serde::{Deserialize, Serialize};

/// A snapshot of one interface.
///
/// Three independent inputs decide whether it forwards: the operator's admin state, the carrier
/// (lower layer), and Tether's own disable (protodown). Keeping Tether's flag separate is what lets a
/// restart re-enable exactly what Tether shut and never an interface an operator shut by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceStatus {
    pub name: String,
    pub ifindex: u32,
    /// The operator's administrative state (`shutdown` / `no shutdown`).
    pub admin_up: bool,
    /// The lower layer is up (cable, peer, `IFF_LOWER_UP`).
    pub carrier: bool,
    /// Disabled by Tether (link state tracking), by protodown or, where that is missing, admin down.
    pub disabled_by_tether: bool,
    /// `admin_up && carrier && !disabled_by_tether`.
    pub oper_up: bool,
    /// When `oper_up` last changed (or the interface appeared), ns since the Unix epoch on the
    /// dataplane's clock.
    pub last_change_ns: u64,
    /// How many times the carrier went up or down.
    pub carrier_transitions: u64,
    pub counters: InterfaceCounters,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceCounters {
    pub in_packets: u64,
    pub in_bytes: u64,
    pub out_packets: u64,
    pub out_bytes: u64,
    pub in_dropped: u64,
}

/// The `oper-status` of the YANG models: `disabled` is kept apart from `down` so that an engineer
/// sees Tether's action (Cisco's `(Dis)`) rather than a link fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OperStatus {
    Up,
    Down,
    Disabled,
}

impl OperStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            OperStatus::Up => "up",
            OperStatus::Down => "down",
            OperStatus::Disabled => "disabled",
        }
    }
}

impl InterfaceStatus {
    /// `oper_up` from its three inputs; the one place the rule is written.
    pub fn derive_oper_up(admin_up: bool, carrier: bool, disabled_by_tether: bool) -> bool {
        admin_up && carrier && !disabled_by_tether
    }

    /// `Disabled` whenever Tether has disabled the interface, even if it is also down for another
    /// reason: the engineer must know Tether holds it.
    pub fn oper_status(&self) -> OperStatus {
        if self.disabled_by_tether {
            OperStatus::Disabled
        } else if self.oper_up {
            OperStatus::Up
        } else {
            OperStatus::Down
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oper_status_derivation() {
        use OperStatus::*;
        // (admin_up, carrier, disabled_by_tether) -> (oper_up, oper_status)
        let cases = [
            ((true, true, false), (true, Up)),
            ((false, true, false), (false, Down)),
            ((true, false, false), (false, Down)),
            ((true, true, true), (false, Disabled)),
            ((false, false, true), (false, Disabled)),
            ((false, false, false), (false, Down)),
        ];
        for ((admin, carrier, disabled), (up, status)) in cases {
            let oper_up = InterfaceStatus::derive_oper_up(admin, carrier, disabled);
            let s = InterfaceStatus {
                name: "x".into(),
                ifindex: 1,
                admin_up: admin,
                carrier,
                disabled_by_tether: disabled,
                oper_up,
                last_change_ns: 0,
                carrier_transitions: 0,
                counters: InterfaceCounters::default(),
            };
            assert_eq!(
                (s.oper_up, s.oper_status()),
                (up, status),
                "{admin} {carrier} {disabled}"
            );
        }
    }
}
