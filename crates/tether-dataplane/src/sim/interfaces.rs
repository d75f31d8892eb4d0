//! Interface table operations of the simulator.

use std::sync::Arc;

use tracing::debug;

use super::{SimInterface, SimState};
use crate::error::DataplaneError;
use crate::event::DataplaneEvent;
use crate::interface::{InterfaceCounters, InterfaceStatus};

impl SimState {
    pub(super) fn create_interface(
        &mut self,
        name: &str,
    ) -> Result<InterfaceStatus, DataplaneError> {
        if self.interfaces.contains_key(name) {
            return Err(DataplaneError::InterfaceExists(name.to_string()));
        }
        // Like the kernel, never reuse an ifindex, so a recreated interface is recognisably new.
        let ifindex = self.next_ifindex;
        self.next_ifindex += 1;
        let status = InterfaceStatus {
            name: name.to_string(),
            ifindex,
            admin_up: true,
            carrier: true,
            disabled_by_tether: false,
            oper_up: true,
            last_change_ns: self.clock.now_ns(),
            carrier_transitions: 0,
            counters: InterfaceCounters::default(),
        };
        let policy = self.program.policy_for(name);
        self.interfaces.insert(
            name.to_string(),
            SimInterface {
                status: status.clone(),
                name: Arc::from(name),
                policy,
            },
        );
        debug!(interface = name, ifindex, "sim interface created");
        self.emit(DataplaneEvent::InterfaceAdded(status.clone()));
        Ok(status)
    }

    pub(super) fn remove_interface(&mut self, name: &str) -> Result<(), DataplaneError> {
        let removed = self
            .interfaces
            .remove(name)
            .ok_or_else(|| DataplaneError::UnknownInterface(name.to_string()))?;
        debug!(interface = name, "sim interface removed");
        self.emit(DataplaneEvent::InterfaceRemoved {
            name: name.to_string(),
            ifindex: removed.status.ifindex,
            at_ns: self.clock.now_ns(),
        });
        Ok(())
    }

    /// Applies `change` to one of the three inputs, derives the rest, and emits `InterfaceChanged`
    /// if anything changed (setting a value it already has is a no-op, so callers may repeat).
    pub(super) fn update_interface(
        &mut self,
        name: &str,
        change: impl FnOnce(&mut InterfaceStatus),
    ) -> Result<InterfaceStatus, DataplaneError> {
        let now = self.clock.now_ns();
        let iface = self
            .interfaces
            .get_mut(name)
            .ok_or_else(|| DataplaneError::UnknownInterface(name.to_string()))?;
        let before = iface.status.clone();
        let s = &mut iface.status;
        change(s);
        s.oper_up = InterfaceStatus::derive_oper_up(s.admin_up, s.carrier, s.disabled_by_tether);
        if s.carrier != before.carrier {
            s.carrier_transitions += 1;
        }
        if s.oper_up != before.oper_up {
            s.last_change_ns = now;
        }
        let after = s.clone();
        if after != before {
            debug!(
                interface = name,
                admin_up = after.admin_up,
                carrier = after.carrier,
                disabled_by_tether = after.disabled_by_tether,
                oper_up = after.oper_up,
                "sim interface changed"
            );
            self.emit(DataplaneEvent::InterfaceChanged(after.clone()));
        }
        Ok(after)
    }
}
