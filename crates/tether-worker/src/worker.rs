//! The worker task: owns the LST engine and the desired bypass program, and turns commits,
//! dataplane events and the clock into dataplane calls and state.
//!
//! It runs on its own thread with a single-threaded tokio runtime: the [`Dataplane`] API is
//! synchronous (the Linux one runs `nft` and netlink requests) and `runtime_put` waits for
//! `fdatasync`, so keeping them off the daemon's runtime keeps gNMI responsive, and one thread
//! owning all the state needs no locks and orders every input.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tether_dataplane::{
    BypassProgram, Dataplane, DataplaneError, DataplaneEvent, InterfaceStatus, SimDataplane,
};
use tether_lst::{Action, Engine, GroupDetail, GroupId, InterfaceObservation, Outcome};
use tether_model::Datastore;
use tether_store::{CommitRecord, Store};
use tether_telemetry::{StateBatch, StateTree};
use tokio::sync::{Notify, broadcast, mpsc, oneshot};
use tracing::{Span, debug, error, info, info_span, warn};

use crate::backoff::{Backoff, RetryKey};
use crate::bypass_compiler;
use crate::lst_state::{self, GroupMirror};
use crate::time::date_and_time;
use crate::{WorkerError, bypass_state, interface_state, lst_config, paths};

/// Runtime-record prefix of the interfaces Tether disabled: `lst/disabled/<interface>` → group
/// id as decimal text.
pub const DISABLED_PREFIX: &str = "lst/disabled/";
/// How often state is compared with the dataplane and counters are published.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(1);
/// While an LST delay runs, how often the dataplane clock is read (the simulator's clock moves
/// only when told; [`WorkerHandle::clock_advanced`] wakes the worker at once).
pub const CLOCK_POLL: Duration = Duration::from_millis(10);

/// Starts workers. See [`Worker::start`].
pub struct Worker {
    store: Arc<dyn Store>,
    dataplane: Arc<dyn Dataplane>,
    state: Arc<StateTree>,
    sim: Option<Arc<SimDataplane>>,
    engine: Engine,
    mirror: GroupMirror,
    /// What the store holds under [`DISABLED_PREFIX`].
    persisted: BTreeMap<String, GroupId>,
    /// The program the configuration compiles to, and the one known to be installed.
    desired_program: BypassProgram,
    installed_program: Option<BypassProgram>,
    /// The program whose state leaves are published (to delete those of removed objects).
    published_program: BypassProgram,
    program_error: Option<String>,
    /// Interfaces that exist in the dataplane as far as the worker has heard.
    known_interfaces: BTreeSet<String>,
    /// Interfaces in the `tether-interfaces` configuration.
    configured_interfaces: BTreeSet<String>,
    /// Simulated interfaces driven by configuration, with the carrier last applied.
    sim_carrier: BTreeMap<String, bool>,
    backoff: Backoff,
    /// While a burst of dataplane events is handled, the state changes it produces (one
    /// batch instead of one per event).
    coalesce: Option<StateBatch>,
    /// The typed configuration as of the last commit handled (modules re-read when touched).
    typed: Datastore,
    /// Drift repairs so far (state counters).
    program_repairs: u64,
    disable_repairs: u64,
    /// The dataplane's host warnings last published.
    warnings: Vec<String>,
}

enum Request {
    Settle(oneshot::Sender<()>),
    GroupDetail(GroupId, oneshot::Sender<Option<GroupDetail>>),
}

/// The running worker. Dropping it stops the worker and waits for its thread.
pub struct WorkerHandle {
    requests: mpsc::Sender<Request>,
    clock: Arc<Notify>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl WorkerHandle {
    /// Tells the worker the dataplane clock moved (the simulator's `advance`): LST delays that
    /// expired fire now, and counters are published, without waiting for the next poll.
    pub fn clock_advanced(&self) {
        self.clock.notify_one();
    }

    /// Returns once the worker has handled every commit and dataplane event sent before the
    /// call, fired the expired delays and published counters. For tests, the simulator service
    /// and anything that must read state "after" an action.
    pub async fn settle(&self) -> Result<(), WorkerError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Settle(tx))
            .await
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Stopped)
    }

    /// `show link state group N detail`.
    pub async fn group_detail(&self, id: GroupId) -> Result<Option<GroupDetail>, WorkerError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::GroupDetail(id, tx))
            .await
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Stopped)
    }

    /// Stops the worker and waits until it has finished what it was doing.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            error!("the worker thread panicked");
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

impl Worker {
    /// Starts the worker on its own thread. Boot order (see `tether-lst`): restore what Tether
    /// disabled before (`lst/disabled/` records), create configured simulated interfaces,
    /// observe every interface, compile and install the configuration, then repair drift; then
    /// it follows commits, dataplane events and the clock until the handle is dropped.
    ///
    /// `sim`: the in-process dataplane when that is what `dataplane` is, so configuration can
    /// create simulated interfaces and drive their carrier.
    pub fn start(
        store: Arc<dyn Store>,
        dataplane: Arc<dyn Dataplane>,
        state: Arc<StateTree>,
        sim: Option<Arc<SimDataplane>>,
    ) -> Result<WorkerHandle, WorkerError> {
        // Subscribe before reading anything, so nothing that happens during boot is missed.
        let commits = store.subscribe();
        let events = dataplane.subscribe();
        let (requests_tx, requests) = mpsc::channel(64);
        let (shutdown_tx, shutdown) = oneshot::channel();
        let clock = Arc::new(Notify::new());
        let worker = Worker {
            store,
            dataplane,
            state,
            sim,
            engine: Engine::new(),
            mirror: GroupMirror::default(),
            persisted: BTreeMap::new(),
            desired_program: BypassProgram::default(),
            installed_program: None,
            published_program: BypassProgram::default(),
            program_error: None,
            known_interfaces: BTreeSet::new(),
            configured_interfaces: BTreeSet::new(),
            sim_carrier: BTreeMap::new(),
            backoff: Backoff::default(),
            coalesce: None,
            typed: Datastore::default(),
            program_repairs: 0,
            disable_repairs: 0,
            warnings: Vec::new(),
        };
        let inputs = Inputs {
            commits,
            events,
            requests,
            clock: Arc::clone(&clock),
            shutdown,
        };
        let thread = std::thread::Builder::new()
            .name("tether-worker".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build();
                match runtime {
                    Ok(rt) => rt.block_on(worker.run(inputs)),
                    Err(e) => error!(error = %e, "cannot start the worker runtime"),
                }
            })
            .map_err(WorkerError::Spawn)?;
        Ok(WorkerHandle {
            requests: requests_tx,
            clock,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }
}

struct Inputs {
    commits: broadcast::Receiver<Arc<CommitRecord>>,
    events: broadcast::Receiver<DataplaneEvent>,
    requests: mpsc::Receiver<Request>,
    clock: Arc<Notify>,
    shutdown: oneshot::Receiver<()>,
}

/// At most this many queued dataplane events are folded into one state batch.
const MAX_COALESCED: usize = 8192;

// ===== the loop =====

impl Worker {
    async fn run(mut self, mut inputs: Inputs) {
        self.boot(&mut inputs.events);
        let mut periodic = tokio::time::interval(RECONCILE_INTERVAL);
        periodic.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        periodic.tick().await;
        let (mut commits_open, mut events_open) = (true, true);
        loop {
            let clock_wait = self.engine.next_deadline().map(|deadline| {
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
        }
    }
}

/// `Some(Some(x))` a message, `Some(None)` lagged (resynchronise), `None` nothing queued.
fn try_recv<T: Clone>(rx: &mut broadcast::Receiver<T>) -> Option<Option<T>> {
    match rx.try_recv() {
        Ok(x) => Some(Some(x)),
        Err(broadcast::error::TryRecvError::Lagged(_)) => Some(None),
        Err(_) => None,
    }
}

// ===== boot, commits, events, clock =====

impl Worker {
    fn boot(&mut self, events: &mut broadcast::Receiver<DataplaneEvent>) {
        let _span = info_span!("worker.boot").entered();
        let now = self.dataplane.now_ns();
        match self.store.runtime_scan(DISABLED_PREFIX) {
            Ok(records) => {
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
            Err(e) => error!(error = %e, "cannot read the disabled-by-Tether records"),
        }
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

    fn typed_config(&self) -> Option<Datastore> {
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
        if let Some(record) = record
            && self.carrier_only(record)
        {
            return;
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
        let touched: BTreeSet<String> = record
            .changes
            .iter()
            .filter_map(|c| tether_model::path::top_module(&c.path).map(str::to_string))
            .collect();
        let names: Vec<&str> = touched.iter().map(String::as_str).collect();
        let fresh = self.store.config().typed_modules(&names);
        match fresh {
            Ok(fresh) => {
                if touched.contains(tether_model::tether_interfaces::NAME) {
                    self.typed.tether_interfaces = fresh.tether_interfaces;
                }
                if touched.contains(tether_model::tether_conntrack_bypass::NAME) {
                    self.typed.tether_conntrack_bypass = fresh.tether_conntrack_bypass;
                }
                if touched.contains(tether_model::tether_link_state::NAME) {
                    self.typed.tether_link_state = fresh.tether_link_state;
                }
                let typed = std::mem::take(&mut self.typed);
                self.apply_config(&typed, Some(&touched));
                self.typed = typed;
            }
            Err(e) => error!(error = %e, "cannot read the typed configuration"),
        }
    }

    /// A commit that only moves simulated carriers of existing interfaces (a lab cutting a
    /// link) is applied directly: re-reading the whole typed configuration for it would cost
    /// time proportional to everything configured. Returns false when the commit is anything
    /// else, and the caller reconciles the whole configuration.
    fn carrier_only(&mut self, record: &CommitRecord) -> bool {
        let Some(sim) = self.sim.clone() else {
            return false;
        };
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
            if let Err(e) = sim.set_carrier(&name, up) {
                warn!(interface = name, error = %e, "cannot set the simulated carrier");
            }
            self.sim_carrier.insert(name, up);
        }
        true
    }

    /// Applies the configuration; `touched`: only these modules changed (None: all may have).
    fn apply_config(&mut self, typed: &Datastore, touched: Option<&BTreeSet<String>>) {
        let changed = |m: &str| touched.is_none_or(|t| t.contains(m));
        if changed(tether_model::tether_interfaces::NAME) {
            self.configured_interfaces = configured_interfaces(typed);
            // Observe interfaces the commit created before the groups that name them are
            // configured: otherwise a group would first see its upstream missing and flap.
            if self.sync_sim_interfaces(typed) {
                self.resync_interfaces();
            }
        }
        if changed(tether_model::tether_conntrack_bypass::NAME) {
            self.apply_bypass(typed);
        }
        if changed(tether_model::tether_link_state::NAME) {
            self.apply_link_state(typed);
        }
    }

    fn apply_bypass(&mut self, typed: &Datastore) {
        match bypass_compiler::compile(typed) {
            Ok(program) => {
                self.desired_program = program;
                self.program_error = None;
                if self.installed_program.as_ref() != Some(&self.desired_program) {
                    self.backoff.succeeded(&RetryKey::Program);
                    self.install_program();
                }
            }
            Err(e) => {
                error!(error = %e, "the bypass configuration does not compile; the installed program stays");
                self.program_error = Some(e.to_string());
                self.publish_applied();
            }
        }
    }

    fn apply_link_state(&mut self, typed: &Datastore) {
        let groups = lst_config::groups(typed);
        self.mirror.config = groups
            .iter()
            .map(|g| (g.id, (g.clone(), lst_config::description(typed, g.id))))
            .collect();
        let now = self.dataplane.now_ns();
        match self.engine.set_config(groups, now) {
            Ok(outcome) => {
                // Mirror edited config leaves of groups whose state did not change.
                let mut batch = StateBatch::default();
                for s in self.engine.groups_state() {
                    lst_state::group(&s, self.mirror.config.get(&s.id), &mut batch);
                }
                self.apply_outcome(outcome, now, batch);
            }
            Err(e) => error!(error = %e, "link state configuration refused by the engine"),
        }
    }

    fn event(&mut self, event: DataplaneEvent) {
        let now = self.dataplane.now_ns();
        match event {
            DataplaneEvent::InterfaceAdded(s) | DataplaneEvent::InterfaceChanged(s) => {
                self.observe(&s, now)
            }
            DataplaneEvent::InterfaceRemoved { name, at_ns, .. } => {
                self.known_interfaces.remove(&name);
                let outcome = self.engine.remove_interface(&name, at_ns);
                let mut batch = StateBatch::default();
                interface_state::removed(
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
        let outcome = self.engine.observe(observation(s), now);
        let mut batch = StateBatch::default();
        interface_state::status(s, self.engine.disabled_by(&s.name), &mut batch);
        self.apply_outcome(outcome, now, batch);
    }

    /// Observes every interface again (after lagging, and at every reconcile).
    fn resync_interfaces(&mut self) {
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

    /// Fires the LST delays that expired on the dataplane clock.
    fn clock(&mut self) {
        let now = self.dataplane.now_ns();
        if self.engine.next_deadline().is_some_and(|d| d <= now) {
            let outcome = self.engine.tick(now);
            self.apply_outcome(outcome, now, StateBatch::default());
        }
    }
}

// ===== applying =====

impl Worker {
    /// Persists, acts, persists, publishes — in that order, so a restart never loses a disable
    /// and never flaps: a record is written *before* Tether disables an interface (a crash in
    /// between leaves a record for an interface that is still up, which the boot reconcile
    /// disables if its group is still down, or enables, a no-op, if not) and removed only
    /// *after* Tether enabled it (a crash in between leaves a record the next boot enables
    /// again, a no-op). The reverse order could leave an interface disabled with no record,
    /// which nothing would ever re-enable.
    fn apply_outcome(&mut self, outcome: Outcome, now: u64, mut batch: StateBatch) {
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
        lst_state::changes(&outcome.changes, &self.mirror, &mut batch);
        let _ = now;
        self.publish(batch);
    }

    /// Publishes an ON_CHANGE batch, or adds it to the burst being coalesced.
    fn publish(&mut self, mut batch: StateBatch) {
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

    /// Host conditions that defeat bypass, as `bypass/state/warnings` (and a log line when
    /// they change).
    fn publish_warnings(&mut self) {
        let warnings = self.dataplane.warnings();
        if warnings == self.warnings {
            return;
        }
        for w in &warnings {
            warn!("{w}");
        }
        let mut batch = StateBatch {
            deletes: vec![paths::BYPASS_WARNINGS.to_string()],
            ..Default::default()
        };
        self.send(std::mem::take(&mut batch));
        let updates = warnings
            .iter()
            .map(|w| {
                (
                    format!("{}[.='{}']", paths::BYPASS_WARNINGS, w.replace('\'', "")),
                    w.replace('\'', ""),
                )
            })
            .collect();
        self.send(StateBatch {
            updates,
            ..Default::default()
        });
        self.warnings = warnings;
    }

    fn flush_coalesced(&mut self) {
        if let Some(batch) = self.coalesce.take() {
            self.send(batch);
        }
    }

    fn send(&self, mut batch: StateBatch) {
        if batch.updates.is_empty() && batch.deletes.is_empty() {
            return;
        }
        batch.timestamp_ns = crate::time::wall_clock_ns();
        self.state.apply(batch);
    }

    fn set_disabled(&mut self, interface: &str, disable: bool) {
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
    fn persist_disabled_before(&mut self) {
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
    fn persist_disabled_after(&mut self) {
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

    fn install_program(&mut self) {
        let span = info_span!("dataplane.apply", op = "install-bypass");
        let _guard = span.enter();
        match self.dataplane.install_bypass(&self.desired_program) {
            Ok(()) => {
                info!(
                    access_lists = self.desired_program.access_lists.len(),
                    policies = self.desired_program.policies.len(),
                    "bypass program installed"
                );
                self.installed_program = Some(self.desired_program.clone());
                self.program_error = None;
                self.backoff.succeeded(&RetryKey::Program);
            }
            Err(e) => {
                let retry_in = self.backoff.failed(RetryKey::Program, Instant::now());
                error!(error = %e, ?retry_in, "cannot install the bypass program");
                self.program_error = Some(e.to_string());
            }
        }
        self.publish_applied();
    }

    fn publish_applied(&mut self) {
        let mut batch = StateBatch {
            timestamp_ns: crate::time::wall_clock_ns(),
            ..Default::default()
        };
        let program = if self.program_error.is_some()
            && self.installed_program.as_ref() != Some(&self.desired_program)
        {
            // Report the failure on what the configuration asks for.
            self.desired_program.clone()
        } else {
            self.installed_program.clone().unwrap_or_default()
        };
        bypass_state::applied(
            &program,
            &self.published_program,
            self.program_error.as_deref(),
            &mut batch,
        );
        self.published_program = program;
        self.state.apply(batch);
    }

    fn publish_counters(&mut self) {
        let mut batch = StateBatch {
            timestamp_ns: crate::time::wall_clock_ns(),
            counters: true,
            ..Default::default()
        };
        match self.dataplane.bypass_counters() {
            Ok(c) => bypass_state::counters(&c, &mut batch),
            Err(e) => warn!(error = %e, "cannot read bypass counters"),
        }
        match self.dataplane.interfaces() {
            Ok(list) => list
                .iter()
                .for_each(|s| interface_state::counters(s, &mut batch)),
            Err(e) => warn!(error = %e, "cannot read interface counters"),
        }
        self.state.apply(batch);
    }
}

// ===== drift =====

impl Worker {
    /// Compares the dataplane with what Tether wants and repairs the difference: interfaces
    /// Tether must hold disabled (and only those), the installed program, the persisted records.
    /// Failed repairs are retried with backoff; program failures are reported in state.
    fn reconcile(&mut self) {
        let span = info_span!("worker.reconcile", trigger = "periodic");
        let _guard = span.enter();
        self.resync_interfaces();
        let now = Instant::now();
        if let Ok(interfaces) = self.dataplane.interfaces() {
            for s in interfaces {
                let want = self.engine.disabled_by(&s.name).is_some();
                let key = RetryKey::Interface(s.name.clone());
                if s.disabled_by_tether != want && self.backoff.due(&key, now) {
                    warn!(
                        interface = s.name,
                        want_disabled = want,
                        "repairing drift of Tether's disable"
                    );
                    let _apply = info_span!(parent: &Span::current(), "dataplane.apply", op = "repair-disable").entered();
                    self.set_disabled(&s.name, want);
                    self.disable_repairs += 1;
                    self.publish(StateBatch {
                        updates: vec![
                            (
                                paths::LINK_STATE_REPAIRS.to_string(),
                                self.disable_repairs.to_string(),
                            ),
                            (
                                paths::LINK_STATE_LAST_REPAIR.to_string(),
                                date_and_time(crate::time::wall_clock_ns()),
                            ),
                        ],
                        ..Default::default()
                    });
                }
            }
        }
        self.persist_disabled_before();
        self.persist_disabled_after();
        let drifted = match &self.sim {
            Some(sim) => {
                self.installed_program.is_some() && sim.installed_program() != self.desired_program
            }
            None => false,
        };
        if drifted {
            warn!("the installed bypass program differs from the configuration; reinstalling");
            self.installed_program = None;
        }
        // Drift only the dataplane can see (a flushed nft table): it restores what it had.
        if self.installed_program.is_some() {
            let _apply = info_span!("dataplane.apply", op = "repair-program").entered();
            match self.dataplane.repair_drift() {
                Ok(false) => {}
                Ok(true) => {
                    warn!("the dataplane's bypass program had been changed or removed; restored");
                    self.program_repairs += 1;
                    self.publish(StateBatch {
                        updates: vec![
                            (
                                paths::BYPASS_REPAIRS.to_string(),
                                self.program_repairs.to_string(),
                            ),
                            (
                                paths::BYPASS_LAST_REPAIR.to_string(),
                                date_and_time(crate::time::wall_clock_ns()),
                            ),
                        ],
                        ..Default::default()
                    });
                }
                Err(e) => {
                    warn!(error = %e, "cannot check the installed bypass program; reinstalling");
                    self.installed_program = None;
                }
            }
        }
        self.publish_warnings();
        if self.installed_program.as_ref() != Some(&self.desired_program)
            && self.backoff.due(&RetryKey::Program, now)
        {
            self.install_program();
        }
        self.publish_counters();
    }
}

// ===== simulated interfaces =====

impl Worker {
    /// Makes the simulator's interfaces follow `/interfaces/interface[name]/simulation`: a
    /// configured interface that does not exist is created, its carrier follows the config
    /// (applied when the config changes, so the Simulator service and tests can still cut a
    /// link directly), and one removed from the config is removed.
    /// Returns whether it changed the dataplane.
    fn sync_sim_interfaces(&mut self, typed: &Datastore) -> bool {
        let Some(sim) = self.sim.clone() else {
            return false;
        };
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
    use tether_model::path::{last_keys, segment_name, segments};
    match segments(path).as_slice() {
        [
            "tether-interfaces:interfaces",
            entry,
            "simulation",
            "config",
            "carrier",
        ] if segment_name(entry) == "interface" => last_keys(entry)
            .into_iter()
            .find(|(k, _)| k == "name")
            .map(|(_, v)| v),
        _ => None,
    }
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

fn configured_interfaces(typed: &Datastore) -> BTreeSet<String> {
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
