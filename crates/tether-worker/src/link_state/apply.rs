//! The worker's link state side: configuration into the engine, the engine's actions onto the
//! dataplane, and the records of what Tether disabled into the store.

use std::time::Instant;

use tether_dataplane::DataplaneError;
use tether_lst::{Action, GroupId, Outcome};
use tether_model::Datastore;
use tether_telemetry::StateBatch;
use tracing::{debug, error, info, info_span, warn};

use super::{config, state};
use crate::backoff::RetryKey;
use crate::event_loop::Worker;

/// Runtime-record prefix of the interfaces Tether disabled: `lst/disabled/<interface>` → group
/// id as decimal text.
pub const DISABLED_PREFIX: &str = "lst/disabled/";

impl Worker {
    /// Reads the records of what Tether disabled before the restart into `persisted`, so the
    /// engine can start out holding those interfaces down. A corrupt record is logged and
    /// skipped rather than stopping the boot.
    pub(crate) fn read_persisted_disables(&mut self) {
        let records = match self.store.runtime_scan(DISABLED_PREFIX) {
            Ok(records) => records,
            Err(e) => {
                error!(error = %e, "cannot read the disabled-by-Tether records");
                return;
            }
        };
        for (key, value) in records {
            let name = key
                .strip_prefix(DISABLED_PREFIX)
                .unwrap_or(&key)
                .to_string();
            match std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.trim().parse::<GroupId>().ok())
            {
                Some(group) => {
                    self.persisted.insert(name, group);
                }
                None => warn!(key, "ignoring a corrupt disabled-by-Tether record"),
            }
        }
    }

    pub(crate) fn apply_link_state(&mut self, typed: &Datastore) {
        let groups = config::groups(typed);
        self.mirror.config = groups
            .iter()
            .map(|g| (g.id, (g.clone(), config::description(typed, g.id))))
            .collect();
        let now = self.dataplane.now_ns();
        match self.engine.set_config(groups, now) {
            Ok(outcome) => {
                // Mirror edited config leaves of groups whose state did not change.
                let mut batch = StateBatch::default();
                for s in self.engine.groups_state() {
                    state::group(&s, self.mirror.config.get(&s.id), &mut batch);
                }
                self.apply_outcome(outcome, now, batch);
            }
            Err(e) => error!(error = %e, "link state configuration refused by the engine"),
        }
    }

    /// Manual recovery of one group, applied like any outcome (records, dataplane, state).
    /// The interfaces it enabled; `None` for no such group.
    pub(crate) fn clear_link_state_group(&mut self, id: GroupId) -> Option<Vec<String>> {
        let now = self.dataplane.now_ns();
        let outcome = self.engine.clear(id, now)?;
        let enabled = (outcome.actions.iter())
            .filter(|action| matches!(action, Action::Enable { .. }))
            .map(|action| action.interface().to_string())
            .collect();
        info!(group = id, ?enabled, "link state group cleared");
        self.apply_outcome(outcome, now, StateBatch::default());
        Some(enabled)
    }

    /// Persists, acts, persists, publishes — in that order, so a restart never loses a disable
    /// and never flaps: a record is written *before* Tether disables an interface (a crash in
    /// between leaves a record for an interface that is still up, which the boot reconcile
    /// disables if its group is still down, or enables, a no-op, if not) and removed only
    /// *after* Tether enabled it (a crash in between leaves a record the next boot enables
    /// again, a no-op). The reverse order could leave an interface disabled with no record,
    /// which nothing would ever re-enable.
    pub(crate) fn apply_outcome(&mut self, outcome: Outcome, now: u64, mut batch: StateBatch) {
        if !outcome.actions.is_empty() {
            self.persist_disabled_before();
            let span = info_span!(
                "dataplane.apply",
                op = "link-state",
                actions = outcome.actions.len()
            );
            let _guard = span.enter();
            for action in &outcome.actions {
                let (interface, disable) = match action {
                    Action::Disable { interface, .. } => (interface, true),
                    Action::Enable { interface, .. } => (interface, false),
                };
                self.set_disabled(interface, disable);
            }
        }
        // The disabled set changes with actions, or silently when the engine forgets an
        // interface that vanished or that an operator shut (its size then differs from the
        // persisted records): only then is the persisted set compared, not on every event.
        if !outcome.actions.is_empty() || self.engine.disabled_len() != self.persisted.len() {
            self.persist_disabled_after();
        }
        state::changes(&outcome.changes, &self.mirror, &mut batch);
        self.publish(batch);
        // A group's status or an interface moved: conditional bypass follows.
        self.rearm(now);
    }

    /// Sets or clears Tether's disable of one interface; a failure is retried by the reconcile
    /// with backoff, so one stuck interface does not stall the others.
    pub(crate) fn set_disabled(&mut self, interface: &str, disable: bool) {
        let key = RetryKey::Interface(interface.to_string());
        match self.dataplane.set_tether_disabled(interface, disable) {
            Ok(method) => {
                debug!(interface, disable, ?method, "applied");
                self.backoff.succeeded(&key);
            }
            // Gone from the dataplane: the engine hears of it as a removal.
            Err(DataplaneError::UnknownInterface(_)) => self.backoff.succeeded(&key),
            Err(e) => {
                let retry_in = self.backoff.failed(key, Instant::now());
                warn!(interface, disable, error = %e, ?retry_in, "cannot change Tether's disable");
            }
        }
    }

    /// Writes the records of interfaces the engine now holds disabled (one durable batch).
    pub(crate) fn persist_disabled_before(&mut self) {
        let wanted: Vec<(String, GroupId)> = (self.engine.disabled())
            .filter(|(name, group)| self.persisted.get(*name) != Some(group))
            .map(|(name, group)| (name.to_string(), group))
            .collect();
        let records: Vec<(String, Option<Vec<u8>>)> = wanted
            .iter()
            .map(|(name, group)| {
                (
                    format!("{DISABLED_PREFIX}{name}"),
                    Some(group.to_string().into_bytes()),
                )
            })
            .collect();
        match self.store.runtime_batch(&records) {
            Ok(()) => self.persisted.extend(wanted),
            // Act anyway: the outage matters more than a later restart; retried at reconcile.
            Err(e) => {
                error!(records = records.len(), error = %e, "cannot persist disabled-by-Tether records")
            }
        }
    }

    /// Removes the records of interfaces the engine no longer holds disabled (one durable
    /// batch).
    pub(crate) fn persist_disabled_after(&mut self) {
        let stale: Vec<String> = (self.persisted.keys())
            .filter(|name| self.engine.disabled_by(name).is_none())
            .cloned()
            .collect();
        let records: Vec<(String, Option<Vec<u8>>)> = stale
            .iter()
            .map(|name| (format!("{DISABLED_PREFIX}{name}"), None))
            .collect();
        match self.store.runtime_batch(&records) {
            Ok(()) => stale.iter().for_each(|n| {
                self.persisted.remove(n);
            }),
            Err(e) => {
                error!(records = records.len(), error = %e, "cannot remove disabled-by-Tether records")
            }
        }
    }
}
