//! Boot: from what the store and the dataplane hold to a worker that can follow changes.
//!
//! The order matters (see `tether-lst`): what Tether disabled before is restored first, so the
//! engine starts out holding those interfaces down instead of enabling them and disabling them
//! again (a flap a restart must never cause); simulated interfaces are created before they are
//! observed, and observed before the groups that name them are configured, so no group sees
//! its upstream missing for an instant.

use tether_dataplane::DataplaneEvent;
use tether_telemetry::StateBatch;
use tokio::sync::broadcast;
use tracing::{info, info_span};

use crate::event_loop::{Worker, try_recv};
use crate::paths;

impl Worker {
    pub(crate) fn boot(&mut self, events: &mut broadcast::Receiver<DataplaneEvent>) {
        let _span = info_span!("worker.boot").entered();
        let now = self.dataplane.now_ns();
        self.read_persisted_disables();
        info!(
            restored = self.persisted.len(),
            "restoring what link state tracking had disabled"
        );
        let restored = self
            .persisted
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect::<Vec<_>>();
        let _ = self.engine.restore_disabled(restored, now);

        self.last_commit = self
            .store
            .commits(1)
            .ok()
            .and_then(|c| c.first().map(|r| (r.id, r.time_ns)));
        let typed = self.typed_config();
        if let Some(typed) = &typed {
            self.sync_sim_interfaces(typed);
        }
        // Observe everything as it is now; queued events would only repeat it.
        while try_recv(events).is_some() {}
        self.resync_interfaces();
        if let Some(typed) = typed {
            self.apply_config(&typed, None);
            self.typed = typed;
        }
        self.publish_applied_commits();
        // The repair counters read 0 until something needs repairing (not "no data").
        self.publish(StateBatch {
            updates: vec![
                (paths::BYPASS_REPAIRS.to_string(), "0".to_string()),
                (paths::LINK_STATE_REPAIRS.to_string(), "0".to_string()),
            ],
            ..Default::default()
        });
        self.reconcile();
    }
}
