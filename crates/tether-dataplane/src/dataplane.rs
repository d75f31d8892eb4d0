//! The `Dataplane` trait: what the worker needs from a forwarding plane.

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::conntrack::ConnectionEntry;
use crate::counters::BypassCounters;
use crate::delta::ProgramDelta;
use crate::error::DataplaneError;
use crate::event::DataplaneEvent;
use crate::interface::InterfaceStatus;
use crate::program::BypassProgram;

/// A forwarding plane Tether configures: the in-process simulator or Linux (nft + netlink).
///
/// Methods are synchronous: the Linux implementation runs `nft` and blocking netlink requests, and the
/// worker calls the dataplane from a blocking context (`spawn_blocking` or its own thread). None of
/// them may be called while holding a lock an async task waits on. Object safe, so the daemon picks
/// the implementation at run time (`Arc<dyn Dataplane>`).
pub trait Dataplane: Send + Sync + 'static {
    fn kind(&self) -> DataplaneKind;

    /// Every interface, sorted by name.
    fn interfaces(&self) -> Result<Vec<InterfaceStatus>, DataplaneError>;

    /// One interface.
    fn interface(&self, name: &str) -> Result<InterfaceStatus, DataplaneError> {
        self.interfaces()?
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| DataplaneError::UnknownInterface(name.to_string()))
    }

    /// Events from now on. The channel is bounded: on `RecvError::Lagged` the receiver has missed
    /// events and must resynchronise from [`Dataplane::interfaces`] before using its state again.
    fn subscribe(&self) -> broadcast::Receiver<DataplaneEvent>;

    /// Sets or clears Tether's own disable of an interface (link state tracking's downstream
    /// action). Uses protodown where the interface supports it, else admin down; returns which, so
    /// the caller can record it and undo exactly that. Idempotent.
    fn set_tether_disabled(
        &self,
        name: &str,
        disabled: bool,
    ) -> Result<DisableMethod, DataplaneError>;

    /// Replaces the installed bypass program atomically (all or nothing, validated first) without
    /// resetting the idle timers of live connections: see the implementation for what happens to
    /// bypass entries whose class the new program drops.
    fn install_bypass(&self, program: &BypassProgram) -> Result<(), DataplaneError>;

    /// Installs `program`, which differs from the one installed last only where `delta` says:
    /// a dataplane that can re-render part of its program does so (the Linux one turns a
    /// one-entry change into one set-element update). Same outcome as
    /// [`Dataplane::install_bypass`], which is the default and the reference the incremental
    /// paths are tested against; a dataplane that has installed nothing yet must install all.
    fn update_bypass(
        &self,
        program: &BypassProgram,
        delta: &ProgramDelta,
    ) -> Result<(), DataplaneError> {
        let _ = delta;
        self.install_bypass(program)
    }

    fn bypass_counters(&self) -> Result<BypassCounters, DataplaneError>;

    /// The connection table (only bypass entries if `bypass_only`), sorted by id (= age).
    fn connections(&self, bypass_only: bool) -> Result<Vec<ConnectionEntry>, DataplaneError>;

    /// The dataplane's clock in ns since the Unix epoch: the wall clock on Linux, the simulated
    /// clock in the simulator. Timestamps in events and state use it.
    fn now_ns(&self) -> u64;

    /// Checks that what the dataplane holds is what Tether last installed, restoring it when
    /// something else changed or removed it (an operator's `nft flush ruleset`). `Ok(true)`
    /// when it repaired something. Dataplanes nothing else can touch keep the default.
    fn repair_drift(&self) -> Result<bool, DataplaneError> {
        Ok(false)
    }

    /// Whether this dataplane's interfaces are created from configuration
    /// (`/interfaces/interface/simulation`): true for the in-process one, which builds its lab
    /// topology that way. A dataplane whose interfaces exist on their own (Linux) keeps the
    /// default, the worker then leaves that configuration unused, and the three calls below
    /// keep their defaults, which refuse.
    fn builds_interfaces_from_config(&self) -> bool {
        false
    }

    /// Creates a configured lab interface (carrier up, admin up).
    fn create_interface(&self, name: &str) -> Result<(), DataplaneError> {
        let _ = name;
        Err(DataplaneError::Unsupported(
            "creating interfaces from configuration",
        ))
    }

    /// Removes a lab interface that left the configuration.
    fn remove_interface(&self, name: &str) -> Result<(), DataplaneError> {
        let _ = name;
        Err(DataplaneError::Unsupported("removing interfaces"))
    }

    /// Moves a lab interface's carrier (a lab cutting a cable).
    fn set_carrier(&self, name: &str, up: bool) -> Result<(), DataplaneError> {
        let _ = (name, up);
        Err(DataplaneError::Unsupported("setting a carrier"))
    }

    /// The bypass program the dataplane holds, where it can say so exactly: the worker
    /// compares it with what it installed to find drift. `None` (the default) for a
    /// dataplane that checks its own state in [`Dataplane::repair_drift`] instead.
    fn installed_program(&self) -> Option<BypassProgram> {
        None
    }

    /// Conditions of the host that defeat what Tether installs (e.g. strict `rp_filter` on an
    /// interface that receives asymmetric return traffic), in words for an operator.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataplaneKind {
    Sim,
    Linux,
}

/// How Tether disabled an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DisableMethod {
    /// A flag separate from the admin state (`IFLA_PROTO_DOWN`): the operator's state is untouched.
    Protodown,
    /// Admin down, for drivers without protodown; Tether must remember it did this.
    AdminDown,
}
