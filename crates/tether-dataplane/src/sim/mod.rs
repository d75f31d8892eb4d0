//! `SimDataplane`: a faithful in-process dataplane for `tetherd --dataplane sim`, tests and demos.
//!
//! It models what the reference scenario needs and no more: interfaces with admin state, carrier and
//! a separate protodown flag; a stateful firewall with an ASA-like connection table (normal TCP
//! entries closed by FIN/RST, bypass entries closed only by their idle timeout); the bypass program
//! with an indexed classifier; and a clock that either runs at real time (the daemon's default, so
//! delays and idle timeouts behave as on Linux) or moves only when told, so every timeout is exact
//! ([`ClockMode`]). On real time, expired connections leave the table when [`SimDataplane::expire_due`]
//! runs (the daemon calls it on a short tick) and before every read of the table or counters.
//!
//! Installing a program never resets a live connection's idle timer. Bypass entries whose class
//! would no longer build them are flushed (see `install_bypass`): removing a bypass stops it at once.
//!
//! Packets are injected one at a time and the verdict returned; nothing is forwarded, so the
//! interfaces' `out_*` counters stay 0 (there is no egress in this model).
//!
//! All state sits behind one `Mutex`: every operation is short, there is no async code inside, and
//! a single lock makes each packet, install or clock step atomic with the events it emits.

mod firewall;
mod interfaces;
mod program;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::broadcast;

use crate::clock::{ClockMode, SimClock};
use crate::conntrack::{ConnectionEntry, FlowKey};
use crate::counters::BypassCounters;
use crate::dataplane::{Dataplane, DataplaneKind, DisableMethod};
use crate::error::DataplaneError;
use crate::event::DataplaneEvent;
use crate::hash::FastMap;
use crate::interface::InterfaceStatus;
use crate::packet::{InjectResult, Packet};
use crate::program::BypassProgram;

use self::program::{ClassRef, CompiledProgram};

/// Events buffered per subscriber before it lags (and must resync from `interfaces()`).
pub const EVENT_CHANNEL_CAPACITY: usize = 4096;

/// The in-process dataplane. Share it as `Arc<SimDataplane>` (or `Arc<dyn Dataplane>`).
pub struct SimDataplane {
    state: Mutex<SimState>,
    events: broadcast::Sender<DataplaneEvent>,
}

struct SimState {
    clock: SimClock,
    interfaces: BTreeMap<String, SimInterface>,
    next_ifindex: u32,
    program: CompiledProgram,
    connections: FastMap<FlowKey, Connection>,
    /// The most entries `connections` has held at once (the ASA's `most used`).
    most_used: usize,
    next_connection_id: u64,
    flushed_total: u64,
    events: broadcast::Sender<DataplaneEvent>,
}

struct SimInterface {
    status: InterfaceStatus,
    /// Shared with the connection entries built on this interface.
    name: Arc<str>,
    /// The policy for packets entering here, resolved at install (service-policy, else global).
    policy: Option<usize>,
}

struct Connection {
    entry: ConnectionEntry,
    /// The class that built it, as a position in the installed program.
    class: Option<ClassRef>,
}

impl SimState {
    /// On real time, a read must not show what has already timed out (the manual clock keeps
    /// today's behaviour: entries go at a step).
    fn expire_if_running(&mut self) {
        if self.clock.mode() == ClockMode::Real {
            self.expire_due();
        }
    }

    fn emit(&self, event: DataplaneEvent) {
        // An error only means nobody is subscribed, which is fine.
        let _ = self.events.send(event);
    }
}

impl SimDataplane {
    /// A simulator whose clock starts at the current wall-clock time and runs at real time.
    pub fn new() -> Self {
        Self::with_clock(SimClock::real())
    }

    /// A simulator whose clock starts at the current wall-clock time and runs per `mode`.
    pub fn with_mode(mode: ClockMode) -> Self {
        Self::with_clock(SimClock::new(mode, crate::clock::wall_clock_ns()))
    }

    /// The connection table's usage, as the ASA's `show conn` heads it: entries in use now
    /// (what has timed out removed first, as every read does) and the most there have been at
    /// once since this simulator started.
    pub fn connection_usage(&self) -> (usize, usize) {
        let mut state = self.lock();
        state.expire_if_running();
        (state.connections.len(), state.most_used)
    }

    /// How the clock moves between steps.
    pub fn clock_mode(&self) -> ClockMode {
        self.lock().clock.mode()
    }

    /// A simulator whose clock starts at `clock` (tests that want fixed timestamps).
    pub fn with_clock(clock: SimClock) -> Self {
        let (events, _) = broadcast::channel(EVENT_CHANNEL_CAPACITY);
        let state = SimState {
            clock,
            interfaces: BTreeMap::new(),
            next_ifindex: 1,
            program: CompiledProgram::default(),
            connections: FastMap::default(),
            most_used: 0,
            next_connection_id: 1,
            flushed_total: 0,
            events: events.clone(),
        };
        Self {
            state: Mutex::new(state),
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, SimState> {
        // A panic while holding the lock cannot leave the tables half-updated in a way later calls
        // could misread more than a crash would, and the simulator must keep answering: recover.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates an interface, admin up with carrier, so it forwards at once (like plugging a cable).
    pub fn create_interface(&self, name: &str) -> Result<InterfaceStatus, DataplaneError> {
        self.lock().create_interface(name)
    }

    /// Removes an interface. Connections built on it stay until they time out.
    pub fn remove_interface(&self, name: &str) -> Result<(), DataplaneError> {
        self.lock().remove_interface(name)
    }

    /// Cuts or restores the simulated link.
    pub fn set_carrier(
        &self,
        name: &str,
        carrier: bool,
    ) -> Result<InterfaceStatus, DataplaneError> {
        self.lock().update_interface(name, |s| s.carrier = carrier)
    }

    /// The operator's `shutdown` / `no shutdown`; independent of Tether's disable.
    pub fn set_admin(&self, name: &str, admin_up: bool) -> Result<InterfaceStatus, DataplaneError> {
        self.lock()
            .update_interface(name, |s| s.admin_up = admin_up)
    }

    /// Moves the clock forward and expires every connection idle for its full timeout by then,
    /// emitting `ConnectionClosed` for each. Returns the new time.
    pub fn advance(&self, by: Duration) -> u64 {
        self.lock().advance(by)
    }

    /// Expires every connection whose idle timeout has passed by now, emitting `ConnectionClosed`
    /// for each; returns how many left. With a manual clock nothing passes without a step, so this
    /// only matters on real time.
    pub fn expire_due(&self) -> usize {
        self.lock().expire_due()
    }

    /// Runs one packet through the firewall.
    pub fn inject(&self, packet: &Packet) -> InjectResult {
        self.lock().inject(packet)
    }

    /// The program installed last (empty before the first install).
    pub fn installed_program(&self) -> BypassProgram {
        self.lock().program.source.clone()
    }
}

impl Default for SimDataplane {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for SimDataplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("SimDataplane")
            .field("now_ns", &state.clock.now_ns())
            .field("interfaces", &state.interfaces.len())
            .field("connections", &state.connections.len())
            .finish()
    }
}

impl Dataplane for SimDataplane {
    fn kind(&self) -> DataplaneKind {
        DataplaneKind::Sim
    }

    fn interfaces(&self) -> Result<Vec<InterfaceStatus>, DataplaneError> {
        Ok(self
            .lock()
            .interfaces
            .values()
            .map(|i| i.status.clone())
            .collect())
    }

    fn interface(&self, name: &str) -> Result<InterfaceStatus, DataplaneError> {
        let state = self.lock();
        let i = state
            .interfaces
            .get(name)
            .ok_or_else(|| DataplaneError::UnknownInterface(name.to_string()))?;
        Ok(i.status.clone())
    }

    fn subscribe(&self) -> broadcast::Receiver<DataplaneEvent> {
        self.events.subscribe()
    }

    /// Always protodown: the simulator keeps it as its own flag, so an operator's admin-down is
    /// never mistaken for Tether's.
    fn set_tether_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<DisableMethod, DataplaneError> {
        self.lock()
            .update_interface(name, |s| s.disabled_by_tether = disabled)?;
        Ok(DisableMethod::Protodown)
    }

    /// Validates, compiles and swaps the program under the lock. Live connections keep their
    /// entries and idle timers (`last_seen_ns` is untouched); a bypass entry is kept only if its first
    /// packet, classified again on its ingress interface, would still build it with the same class
    /// (its timeout becomes the class's new one). Any other bypass entry is flushed — counted as torn
    /// down `flushed` and announced — because a removed bypass must stop bypassing at once, not an
    /// idle timeout later. Normal entries never depend on the program and always stay.
    fn install_bypass(&self, program: &BypassProgram) -> Result<(), DataplaneError> {
        program.validate()?;
        self.lock().install(program);
        Ok(())
    }

    fn bypass_counters(&self) -> Result<BypassCounters, DataplaneError> {
        let mut state = self.lock();
        state.expire_if_running();
        Ok(state.bypass_counters())
    }

    fn connections(&self, bypass_only: bool) -> Result<Vec<ConnectionEntry>, DataplaneError> {
        let mut state = self.lock();
        state.expire_if_running();
        let mut out: Vec<ConnectionEntry> = state
            .connections
            .values()
            .filter(|c| !bypass_only || c.entry.bypass)
            .map(|c| c.entry.clone())
            .collect();
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    fn now_ns(&self) -> u64 {
        self.lock().clock.now_ns()
    }
    fn builds_interfaces_from_config(&self) -> bool {
        true
    }

    fn create_interface(&self, name: &str) -> Result<(), DataplaneError> {
        SimDataplane::create_interface(self, name).map(|_| ())
    }

    fn remove_interface(&self, name: &str) -> Result<(), DataplaneError> {
        SimDataplane::remove_interface(self, name)
    }

    fn set_carrier(&self, name: &str, up: bool) -> Result<(), DataplaneError> {
        SimDataplane::set_carrier(self, name, up).map(|_| ())
    }

    fn installed_program(&self) -> Option<BypassProgram> {
        Some(SimDataplane::installed_program(self))
    }
}
