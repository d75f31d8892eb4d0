//! The in-process dataplane's interfaces, driven by configuration
//! (`/interfaces/interface[name]/simulation`), so a lab or a test builds its topology with a
//! gNMI Set instead of a side channel. Only used when the dataplane says it
//! [builds its interfaces from configuration](tether_dataplane::Dataplane::builds_interfaces_from_config); against
//! one whose interfaces exist on their own (Linux) this module does nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use tether_model::Datastore;
use tether_model::tether_interfaces::interfaces::interface::simulation::config::Config;
use tether_store::CommitRecord;
use tracing::{debug, info_span, warn};

use crate::event_loop::Worker;

impl Worker {
    /// A commit that only moves simulated carriers of existing interfaces (a lab cutting a
    /// link) is applied directly: re-reading the whole typed configuration for it would cost
    /// time proportional to everything configured. Returns false when the commit is anything
    /// else, and the caller reconciles the whole configuration.
    pub(crate) fn carrier_only(&mut self, record: &CommitRecord) -> bool {
        if !self.dataplane.builds_interfaces_from_config() {
            return false;
        }
        let mut carriers = Vec::with_capacity(record.changes.len());
        for c in &record.changes {
            let Some(name) = sim_carrier_leaf(&c.path) else {
                return false;
            };
            if !self.sim_carrier.contains_key(&name) {
                return false;
            }
            // A removed leaf means the default: carrier up.
            let up = c.new.as_deref().is_none_or(|v| v == "true");
            carriers.push((name, up));
        }
        let span = info_span!(
            "dataplane.apply",
            op = "sim-carrier",
            interfaces = carriers.len()
        );
        let _guard = span.enter();
        for (name, up) in carriers {
            if let Err(e) = self.dataplane.set_carrier(&name, up) {
                warn!(interface = name, error = %e, "cannot set the simulated carrier");
            }
            self.sim_carrier.insert(name, up);
        }
        true
    }

    /// Makes the simulator's interfaces follow `/interfaces/interface[name]/simulation`: a
    /// configured interface that does not exist is created, its carrier follows the config
    /// (applied when the config changes, so the Simulator service and tests can still cut a
    /// link directly), and one removed from the config is removed.
    /// Returns whether it changed the dataplane.
    pub(crate) fn sync_sim_interfaces(&mut self, typed: &Datastore) -> bool {
        if !self.dataplane.builds_interfaces_from_config() {
            return false;
        }
        let sim = Arc::clone(&self.dataplane);
        let desired = sim_carriers(typed);
        let mut changed = false;
        for (name, carrier) in &desired {
            let existing = sim.interface(name).ok();
            if existing.is_none()
                && let Err(e) = sim.create_interface(name)
            {
                warn!(interface = name, error = %e, "cannot create the simulated interface");
                continue;
            }
            let created = existing.is_none();
            changed |= created;
            let config_changed = created || self.sim_carrier.get(name) != Some(carrier);
            let current = existing.is_none_or(|s| s.carrier);
            if config_changed && current != *carrier {
                changed = true;
                if let Err(e) = sim.set_carrier(name, *carrier) {
                    warn!(interface = name, error = %e, "cannot set the simulated carrier");
                }
            }
        }
        for gone in self
            .sim_carrier
            .keys()
            .filter(|n| !desired.contains_key(*n))
        {
            changed = true;
            if let Err(e) = sim.remove_interface(gone) {
                debug!(interface = gone, error = %e, "simulated interface already gone");
            }
        }
        self.sim_carrier = desired;
        changed
    }
}

/// The interface name when `path` is `/tether-interfaces:interfaces/interface[name='X']/simulation/config/carrier`.
fn sim_carrier_leaf(path: &str) -> Option<String> {
    use tether_model::path::{last_keys, schema_path, segments};
    if schema_path(path) != Config::CARRIER {
        return None;
    }
    // The schema path matched, so the second segment is the `interface[name=…]` entry.
    let entry = *segments(path).get(1)?;
    last_keys(entry)
        .into_iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v)
}

fn sim_carriers(typed: &Datastore) -> BTreeMap<String, bool> {
    let Some(interfaces) = &typed.tether_interfaces.interfaces else {
        return BTreeMap::new();
    };
    interfaces
        .interface
        .iter()
        .map(|i| {
            let carrier = i
                .simulation
                .as_ref()
                .and_then(|s| s.config.as_ref())
                .and_then(|c| c.carrier);
            (i.name.as_str().to_string(), carrier.unwrap_or(true))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::sim_carrier_leaf;

    #[test]
    fn carrier_leaf_paths() {
        for (path, want) in [
            (
                "/tether-interfaces:interfaces/interface[name='Po11']/simulation/config/carrier",
                Some("Po11"),
            ),
            (
                "/tether-interfaces:interfaces/interface[name=\"Gi1/1\"]/simulation/config/carrier",
                Some("Gi1/1"),
            ),
            (
                "/tether-interfaces:interfaces/interface[name='Po11']/config/description",
                None,
            ),
            (
                "/tether-interfaces:interfaces/interface[name='Po11']/simulation/config/carrierX",
                None,
            ),
            (
                "/tether-link-state:link-state/groups/group[id='1']/config/id",
                None,
            ),
        ] {
            assert_eq!(sim_carrier_leaf(path).as_deref(), want, "{path}");
        }
    }
}
