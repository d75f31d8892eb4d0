//! The worker task: what it owns, and the loop that orders every input (shutdown, requests,
//! commits, dataplane events, the dataplane clock, the reconcile tick) and hands each to the
//! feature that handles it.
//!
//! One thread owning all the state needs no locks, and handling one input at a time is what
//! makes the persistence order of `link_state::apply` hold.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tether_dataplane::{BypassProgram, Dataplane, DataplaneEvent};
use tether_lst::{Engine, GroupId};
use tether_model::Datastore;
use tether_store::{CommitRecord, Store};
use tether_telemetry::{StateBatch, StateTree};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tracing::{error, info, info_span, warn};

use crate::applied::AppliedCommit;
use crate::backoff::Backoff;
use crate::drift::RECONCILE_INTERVAL;
use crate::handle::Request;
use crate::link_state::state::GroupMirror;

/// While an LST delay runs, how often the dataplane clock is read (a manual simulator clock moves
/// only when told; [`WorkerHandle::clock_advanced`](crate::WorkerHandle::clock_advanced) wakes
/// the worker at once).
pub const CLOCK_POLL: Duration = Duration::from_millis(10);

/// At most this many queued dataplane events are folded into one state batch.
const MAX_COALESCED: usize = 8192;

/// Starts workers (see [`Worker::start`]); once started, the state of the worker task.
pub struct Worker {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) dataplane: Arc<dyn Dataplane>,
    pub(crate) state: Arc<StateTree>,
    pub(crate) engine: Engine,
    pub(crate) mirror: GroupMirror,
    /// What the store holds under [`DISABLED_PREFIX`](crate::DISABLED_PREFIX).
    pub(crate) persisted: BTreeMap<String, GroupId>,
    /// The program the configuration compiles to, and the one known to be installed.
    pub(crate) desired_program: BypassProgram,
    pub(crate) installed_program: Option<BypassProgram>,
    /// The program whose state leaves are published (to delete those of removed objects).
    pub(crate) published_program: BypassProgram,
    pub(crate) program_error: Option<String>,
    /// Whether `desired_program` is what the configuration compiles to (false after a
    /// compile error: the next commit compiles everything instead of patching it).
    pub(crate) program_compiled: bool,
    /// The newest commit handled: (id, time in ns).
    pub(crate) last_commit: Option<(u64, u64)>,
    pub(crate) bypass_applied: AppliedCommit,
    pub(crate) link_state_applied: AppliedCommit,
    /// Interfaces that exist in the dataplane as far as the worker has heard.
    pub(crate) known_interfaces: BTreeSet<String>,
    /// Interfaces in the `tether-interfaces` configuration.
    pub(crate) configured_interfaces: BTreeSet<String>,
    /// Simulated interfaces driven by configuration, with the carrier last applied.
    pub(crate) sim_carrier: BTreeMap<String, bool>,
    pub(crate) backoff: Backoff,
    /// While a burst of dataplane events is handled, the state changes it produces (one
    /// batch instead of one per event).
    pub(crate) coalesce: Option<StateBatch>,
    /// The typed configuration as of the last commit handled (modules re-read when touched).
    pub(crate) typed: Datastore,
    /// Drift repairs so far (state counters).
    pub(crate) program_repairs: u64,
    pub(crate) disable_repairs: u64,
    /// The dataplane's host warnings last published.
    pub(crate) warnings: Vec<String>,
    /// Conditional bypass: each class's arming (`bypass::arming`).
    pub(crate) arming: crate::bypass::arming::Arming,
    /// Whether each interface the dataplane reported is operationally up (trigger levels).
    pub(crate) interface_up: BTreeMap<String, bool>,
}

/// Everything the loop waits on. Subscribed before the worker reads anything, so nothing that
/// happens during boot is missed.
pub(crate) struct Inputs {
    pub(crate) commits: broadcast::Receiver<Arc<CommitRecord>>,
    pub(crate) events: broadcast::Receiver<DataplaneEvent>,
    pub(crate) requests: mpsc::Receiver<Request>,
    pub(crate) clock: Arc<Notify>,
    pub(crate) shutdown: oneshot::Receiver<()>,
}

// ===== the loop =====

impl Worker {
    /// A worker that knows nothing yet: boot fills it from the store and the dataplane.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        dataplane: Arc<dyn Dataplane>,
        state: Arc<StateTree>,
    ) -> Worker {
        Worker {
            store,
            dataplane,
            state,
            engine: Engine::new(),
            mirror: GroupMirror::default(),
            persisted: BTreeMap::new(),
            desired_program: BypassProgram::default(),
            installed_program: None,
            published_program: BypassProgram::default(),
            program_error: None,
            program_compiled: false,
            last_commit: None,
            bypass_applied: AppliedCommit::default(),
            link_state_applied: AppliedCommit::default(),
            known_interfaces: BTreeSet::new(),
            configured_interfaces: BTreeSet::new(),
            sim_carrier: BTreeMap::new(),
            backoff: Backoff::default(),
            coalesce: None,
            typed: Datastore::default(),
            program_repairs: 0,
            disable_repairs: 0,
            warnings: Vec::new(),
            arming: Default::default(),
            interface_up: BTreeMap::new(),
        }
    }

    pub(crate) async fn run(mut self, mut inputs: Inputs) {
        self.boot(&mut inputs.events);
        let mut periodic = tokio::time::interval(RECONCILE_INTERVAL);
        periodic.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        periodic.tick().await;
        let (mut commits_open, mut events_open) = (true, true);
        loop {
            let deadline = match (self.engine.next_deadline(), self.arming.next_deadline()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let clock_wait = deadline.map(|deadline| {
                Duration::from_nanos(deadline.saturating_sub(self.dataplane.now_ns()))
                    .min(CLOCK_POLL)
            });
            tokio::select! {
                biased;
                _ = &mut inputs.shutdown => break,
                request = inputs.requests.recv() => match request {
                    Some(r) => self.request(r, &mut inputs),
                    None => break,
                },
                commit = inputs.commits.recv(), if commits_open => match commit {
                    Ok(record) => self.commit(Some(&record)),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!(missed = n, "worker lagged behind commits; re-reading the configuration");
                        self.commit(None);
                    }
                    Err(broadcast::error::RecvError::Closed) => commits_open = false,
                },
                event = inputs.events.recv(), if events_open => match event {
                    Ok(event) => {
                        // A burst (1,000 downstreams disabled at once) becomes one state
                        // batch, so subscribers get one notification, not 1,000.
                        self.coalesce = Some(StateBatch::default());
                        self.event(event);
                        for _ in 0..MAX_COALESCED {
                            match try_recv(&mut inputs.events) {
                                Some(Some(e)) => self.event(e),
                                Some(None) => self.resync_interfaces(),
                                None => break,
                            }
                        }
                        self.flush_coalesced();
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!(missed = n, "worker lagged behind dataplane events; resynchronising");
                        self.resync_interfaces();
                    }
                    Err(broadcast::error::RecvError::Closed) => events_open = false,
                },
                _ = inputs.clock.notified() => {
                    self.clock();
                    self.publish_counters();
                }
                _ = tokio::time::sleep(clock_wait.unwrap_or(CLOCK_POLL)), if clock_wait.is_some() => self.clock(),
                _ = periodic.tick() => self.reconcile(),
            }
        }
        info!("worker stopped");
    }

    fn request(&mut self, request: Request, inputs: &mut Inputs) {
        match request {
            Request::Settle(reply) => {
                loop {
                    let mut idle = true;
                    while let Some(commit) = try_recv(&mut inputs.commits) {
                        idle = false;
                        match commit {
                            Some(record) => self.commit(Some(&record)),
                            None => self.commit(None),
                        }
                    }
                    while let Some(event) = try_recv(&mut inputs.events) {
                        idle = false;
                        match event {
                            Some(event) => self.event(event),
                            None => self.resync_interfaces(),
                        }
                    }
                    if idle {
                        break;
                    }
                }
                self.clock();
                self.publish_counters();
                let _ = reply.send(());
            }
            Request::GroupDetail(id, reply) => {
                let _ = reply.send(self.engine.group_detail(id));
            }
            Request::ClearGroup(id, reply) => {
                let _ = reply.send(self.clear_link_state_group(id));
            }
            Request::Alive(reply) => {
                let _ = reply.send(());
            }
        }
    }
}

/// `Some(Some(x))` a message, `Some(None)` lagged (resynchronise), `None` nothing queued.
pub(crate) fn try_recv<T: Clone>(rx: &mut broadcast::Receiver<T>) -> Option<Option<T>> {
    match rx.try_recv() {
        Ok(x) => Some(Some(x)),
        Err(broadcast::error::TryRecvError::Lagged(_)) => Some(None),
        Err(_) => None,
    }
}

// ===== commits and the clock =====

impl Worker {
    pub(crate) fn typed_config(&self) -> Option<Datastore> {
        let typed = self.store.config().typed();
        typed
            .map_err(|e| error!(error = %e, "cannot read the typed configuration"))
            .ok()
    }

    /// A commit (or, after lagging, whatever the configuration now is).
    fn commit(&mut self, record: Option<&CommitRecord>) {
        let span = info_span!(
            "worker.reconcile",
            commit = record.map(|r| r.id),
            trigger = "commit"
        );
        if let Some(tp) = record.and_then(|r| r.meta.traceparent.as_deref()) {
            tether_telemetry::otel::set_parent(&span, tp);
        }
        let _guard = span.enter();
        if let Some(record) = record {
            self.last_commit = Some((record.id, record.time_ns));
            if self.carrier_only(record) {
                self.publish_applied_commits();
                return;
            }
        }
        let Some(record) = record else {
            if let Some(typed) = self.typed_config() {
                self.typed = typed;
                let typed = std::mem::take(&mut self.typed);
                self.apply_config(&typed, None);
                self.typed = typed;
            }
            return;
        };
        // Re-read only the modules the commit touched: with 10,000 access-list entries a full
        // re-read costs tens of milliseconds for a one-leaf link-state change.
        let mut touched: BTreeSet<String> = record
            .changes
            .iter()
            .filter_map(|c| tether_model::path::top_module(&c.path).map(str::to_string))
            .collect();
        // The bypass module is followed entry by entry (`bypass::incremental`), not re-read.
        let bypass = touched.remove(tether_model::tether_conntrack_bypass::NAME);
        let names: Vec<&str> = touched.iter().map(String::as_str).collect();
        let fresh = self.store.config().typed_modules(&names);
        match fresh {
            Ok(fresh) => {
                if touched.contains(tether_model::tether_interfaces::NAME) {
                    self.typed.tether_interfaces = fresh.tether_interfaces;
                }
                if touched.contains(tether_model::tether_link_state::NAME) {
                    self.typed.tether_link_state = fresh.tether_link_state;
                }
                let typed = std::mem::take(&mut self.typed);
                // Interfaces first (see `apply_config`), then link state, then bypass.
                let interfaces: BTreeSet<String> = touched
                    .iter()
                    .filter(|m| m.as_str() == tether_model::tether_interfaces::NAME)
                    .cloned()
                    .collect();
                self.apply_config(&typed, Some(&interfaces));
                touched.retain(|m| m.as_str() != tether_model::tether_interfaces::NAME);
                self.apply_config(&typed, Some(&touched));
                // Bypass after link state, so a class whose trigger group this commit creates
                // is judged against the group's status, not as absent (armed for an instant).
                if bypass {
                    self.apply_bypass_commit(record);
                }
                self.typed = typed;
            }
            Err(e) => error!(error = %e, "cannot read the typed configuration"),
        }
        self.publish_applied_commits();
    }

    /// Advances each feature's `applied-commit` to the newest commit handled (bypass only
    /// while its configuration is installed).
    pub(crate) fn publish_applied_commits(&mut self) {
        let mut batch = StateBatch::default();
        if self.program_error.is_none() {
            self.bypass_applied.advance(
                self.last_commit,
                &crate::paths::BYPASS_APPLIED,
                &mut batch,
            );
        }
        self.link_state_applied.advance(
            self.last_commit,
            &crate::paths::LINK_STATE_APPLIED,
            &mut batch,
        );
        self.publish(batch);
    }

    /// Applies the configuration; `touched`: only these modules changed (None: all may have).
    pub(crate) fn apply_config(&mut self, typed: &Datastore, touched: Option<&BTreeSet<String>>) {
        let changed = |m: &str| touched.is_none_or(|t| t.contains(m));
        if changed(tether_model::tether_interfaces::NAME) {
            self.configured_interfaces = crate::interfaces::configured(typed);
            // Observe interfaces the commit created before the groups that name them are
            // configured: otherwise a group would first see its upstream missing and flap.
            if self.sync_sim_interfaces(typed) {
                self.resync_interfaces();
            }
        }
        // Link state before bypass: a conditional class's trigger group must exist in the
        // engine when the class is first judged (boot, after lagging), or it would be armed
        // for an instant as "absent".
        if changed(tether_model::tether_link_state::NAME) {
            self.apply_link_state(typed);
        }
        if changed(tether_model::tether_conntrack_bypass::NAME) {
            self.apply_bypass(typed);
        }
    }

    /// Fires the LST delays that expired on the dataplane clock.
    pub(crate) fn clock(&mut self) {
        let now = self.dataplane.now_ns();
        if self.engine.next_deadline().is_some_and(|d| d <= now) {
            let outcome = self.engine.tick(now);
            self.apply_outcome(outcome, now, StateBatch::default());
        }
        if self.arming.next_deadline().is_some_and(|d| d <= now) {
            self.rearm(now);
        }
    }
}

// ===== publishing state =====

impl Worker {
    /// Publishes an ON_CHANGE batch, or adds it to the burst being coalesced.
    pub(crate) fn publish(&mut self, mut batch: StateBatch) {
        if batch.updates.is_empty() && batch.deletes.is_empty() {
            return;
        }
        if let Some(pending) = &mut self.coalesce {
            // The state tree applies a batch's deletes before its updates: a delete must not
            // overtake an earlier update of the same burst, so it starts a new batch.
            if !batch.deletes.is_empty() && !pending.updates.is_empty() {
                let earlier = std::mem::take(pending);
                self.send(earlier);
                if let Some(p) = &mut self.coalesce {
                    *p = batch;
                }
                return;
            }
            pending.updates.append(&mut batch.updates);
            pending.deletes.append(&mut batch.deletes);
            return;
        }
        self.send(batch);
    }

    fn flush_coalesced(&mut self) {
        if let Some(batch) = self.coalesce.take() {
            self.send(batch);
        }
    }

    /// Stamps a batch with the wall clock (gNMI wants the time the change was seen) and hands
    /// it to the state tree; an empty batch would only wake subscribers for nothing.
    pub(crate) fn send(&self, mut batch: StateBatch) {
        if batch.updates.is_empty() && batch.deletes.is_empty() {
            return;
        }
        batch.timestamp_ns = crate::time::wall_clock_ns();
        self.state.apply(batch);
    }

    /// The SAMPLE batch of every counter: the bypass program's and the interfaces'.
    pub(crate) fn publish_counters(&mut self) {
        let mut batch = StateBatch {
            timestamp_ns: crate::time::wall_clock_ns(),
            counters: true,
            ..Default::default()
        };
        match self.dataplane.bypass_counters() {
            Ok(c) => crate::bypass::state::counters(&c, &mut batch),
            Err(e) => warn!(error = %e, "cannot read bypass counters"),
        }
        match self.dataplane.interfaces() {
            Ok(list) => list
                .iter()
                .for_each(|s| crate::interfaces::state::counters(s, &mut batch)),
            Err(e) => warn!(error = %e, "cannot read interface counters"),
        }
        self.state.apply(batch);
    }
}
