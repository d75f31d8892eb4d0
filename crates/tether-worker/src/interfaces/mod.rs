//! Interfaces: what the dataplane reports about them, fed to the LST engine and published as
//! `tether-interfaces` state.
//!
//! - `state`: an interface's status and counters → state leaves (pure);
//! - `simulation`: the in-process dataplane's interfaces created and driven from configuration.

mod simulation;
pub(crate) mod state;

use std::collections::BTreeSet;

use tether_dataplane::{DataplaneEvent, InterfaceStatus};
use tether_lst::InterfaceObservation;
use tether_model::Datastore;
use tether_telemetry::StateBatch;
use tracing::warn;

use crate::event_loop::Worker;

impl Worker {
    pub(crate) fn event(&mut self, event: DataplaneEvent) {
        let now = self.dataplane.now_ns();
        match event {
            DataplaneEvent::InterfaceAdded(s) | DataplaneEvent::InterfaceChanged(s) => {
                self.observe(&s, now)
            }
            DataplaneEvent::InterfaceRemoved { name, at_ns, .. } => {
                self.known_interfaces.remove(&name);
                self.interface_up.remove(&name);
                let outcome = self.engine.remove_interface(&name, at_ns);
                let mut batch = StateBatch::default();
                state::removed(
                    &name,
                    self.configured_interfaces.contains(&name),
                    &mut batch,
                );
                self.apply_outcome(outcome, at_ns, batch);
            }
            // Counters are published on the next clock step or reconcile.
            _ => {}
        }
        self.clock();
    }

    fn observe(&mut self, s: &InterfaceStatus, now: u64) {
        self.known_interfaces.insert(s.name.clone());
        self.interface_up.insert(s.name.clone(), s.oper_up);
        let outcome = self.engine.observe(observation(s), now);
        let mut batch = StateBatch::default();
        state::status(s, self.engine.disabled_by(&s.name), &mut batch);
        self.apply_outcome(outcome, now, batch);
    }

    /// Observes every interface again (after lagging, and at every reconcile).
    pub(crate) fn resync_interfaces(&mut self) {
        let interfaces = match self.dataplane.interfaces() {
            Ok(i) => i,
            Err(e) => {
                warn!(error = %e, "cannot list the dataplane's interfaces");
                return;
            }
        };
        let now = self.dataplane.now_ns();
        let present: BTreeSet<String> = interfaces.iter().map(|s| s.name.clone()).collect();
        for gone in self
            .known_interfaces
            .difference(&present)
            .cloned()
            .collect::<Vec<_>>()
        {
            self.event(DataplaneEvent::InterfaceRemoved {
                name: gone,
                ifindex: 0,
                at_ns: now,
            });
        }
        for s in &interfaces {
            self.observe(s, now);
        }
    }
}

/// The interfaces in the `tether-interfaces` configuration: a configured interface missing
/// from the dataplane is published as `not-present` instead of vanishing.
pub(crate) fn configured(typed: &Datastore) -> BTreeSet<String> {
    let Some(interfaces) = &typed.tether_interfaces.interfaces else {
        return BTreeSet::new();
    };
    interfaces
        .interface
        .iter()
        .map(|i| i.name.as_str().to_string())
        .collect()
}

fn observation(s: &InterfaceStatus) -> InterfaceObservation {
    InterfaceObservation {
        name: s.name.clone(),
        exists: true,
        admin_up: s.admin_up,
        carrier: s.carrier,
        disabled_by_tether: s.disabled_by_tether,
    }
}
