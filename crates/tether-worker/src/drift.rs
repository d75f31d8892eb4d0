//! Drift: the dataplane changed behind Tether's back (an operator ran `ip link set up` on an
//! interface Tether holds down, `nft flush ruleset`, a failed apply). Every
//! [`RECONCILE_INTERVAL`] the worker compares what it wants with what the dataplane holds,
//! repairs the difference, retries failed applies with backoff and counts repairs in state, so
//! an operator sees that something keeps undoing Tether's work.

use std::time::{Duration, Instant};

use tether_telemetry::StateBatch;
use tracing::{Span, info_span, warn};

use crate::backoff::RetryKey;
use crate::event_loop::Worker;
use crate::paths;
use crate::time::{date_and_time, wall_clock_ns};

/// How often state is compared with the dataplane and counters are published.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(1);

impl Worker {
    /// Compares the dataplane with what Tether wants and repairs the difference: interfaces
    /// Tether must hold disabled (and only those), the installed program, the persisted records.
    /// Failed repairs are retried with backoff; program failures are reported in state.
    pub(crate) fn reconcile(&mut self) {
        let span = info_span!("worker.reconcile", trigger = "periodic");
        let _guard = span.enter();
        self.resync_interfaces();
        let now = Instant::now();
        self.repair_disables(now);
        self.persist_disabled_before();
        self.persist_disabled_after();
        self.repair_program();
        self.publish_warnings();
        if self.installed_program.as_ref() != Some(&self.desired_program)
            && self.backoff.due(&RetryKey::Program, now)
        {
            self.install_program();
        }
        self.publish_counters();
    }

    /// Interfaces whose Tether disable differs from what the engine holds.
    fn repair_disables(&mut self, now: Instant) {
        let Ok(interfaces) = self.dataplane.interfaces() else {
            return;
        };
        for s in interfaces {
            let want = self.engine.disabled_by(&s.name).is_some();
            let key = RetryKey::Interface(s.name.clone());
            if s.disabled_by_tether != want && self.backoff.due(&key, now) {
                warn!(
                    interface = s.name,
                    want_disabled = want,
                    "repairing drift of Tether's disable"
                );
                let _apply =
                    info_span!(parent: &Span::current(), "dataplane.apply", op = "repair-disable")
                        .entered();
                self.set_disabled(&s.name, want);
                self.disable_repairs += 1;
                let count = self.disable_repairs;
                self.publish_repair(
                    paths::LINK_STATE_REPAIRS,
                    paths::LINK_STATE_LAST_REPAIR,
                    count,
                );
            }
        }
    }

    /// The installed bypass program: one the dataplane can report is compared directly; drift only the
    /// dataplane can see (a flushed nft table) it restores itself when asked.
    fn repair_program(&mut self) {
        let drifted = self.installed_program.is_some()
            && self
                .dataplane
                .installed_program()
                .is_some_and(|held| held != self.desired_program);
        if drifted {
            warn!("the installed bypass program differs from the configuration; reinstalling");
            self.installed_program = None;
        }
        if self.installed_program.is_none() {
            return;
        }
        let _apply = info_span!("dataplane.apply", op = "repair-program").entered();
        match self.dataplane.repair_drift() {
            Ok(false) => {}
            Ok(true) => {
                warn!("the dataplane's bypass program had been changed or removed; restored");
                self.program_repairs += 1;
                let count = self.program_repairs;
                self.publish_repair(paths::BYPASS_REPAIRS, paths::BYPASS_LAST_REPAIR, count);
            }
            Err(e) => {
                warn!(error = %e, "cannot check the installed bypass program; reinstalling");
                self.installed_program = None;
            }
        }
    }

    /// A repair counter and the time of its last repair.
    fn publish_repair(&mut self, count_path: &str, last_path: &str, count: u64) {
        self.publish(StateBatch {
            updates: vec![
                (count_path.to_string(), count.to_string()),
                (last_path.to_string(), date_and_time(wall_clock_ns())),
            ],
            ..Default::default()
        });
    }
}
