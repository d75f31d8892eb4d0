//! The link state tracking engine of Tether, as a pure state machine.
//!
//! Cisco's `link state track N` with `link state group N upstream|downstream`, plus what Arista,
//! Juniper and Dell add (a minimum number of upstreams, up and down delays, an enable switch): when a
//! group loses its upstreams, Tether disables the group's downstreams so that the servers behind them
//! fail over to another switch; when the upstreams come back, it enables exactly what it disabled.
//!
//! **What it is for:** deciding. Observations of interfaces, the configuration and a clock go in;
//! [`Action`]s (disable or enable a downstream) and [`StateChange`]s (for ON_CHANGE telemetry) come
//! out, together in an [`Outcome`]. The state for `show link state group N detail` is read with
//! [`Engine::group_detail`].
//!
//! **What it is not for:** doing. It performs no I/O, reads no clock, spawns nothing and knows no
//! YANG, gNMI or netlink. The worker applies the actions to the dataplane, persists
//! [`Engine::disabled`], sleeps until [`Engine::next_deadline`] and calls [`Engine::tick`].
//!
//! # Contract with the caller
//! - Every call takes `now_ns`, a monotonic clock in nanoseconds; timestamps in the state are that
//!   clock's values.
//! - Observations tell the dataplane's truth, including whether Tether's own disable is in effect
//!   (`disabled_by_tether`). An interface seen admin down and *not* disabled by Tether is the
//!   operator's: the engine never disables it and, if it had disabled it, forgets it without an
//!   enable, so the operator's shutdown is never undone.
//! - At boot: [`Engine::restore_disabled`] with the persisted set, then [`Engine::observe`] every
//!   interface, then [`Engine::set_config`]. A group that is still down then adopts what was
//!   restored (no enable-then-disable flap); a group that is up enables exactly the restored
//!   interfaces. Configuring before observing would see every upstream as missing.
//! - After any outcome with actions, persist [`Engine::disabled`].
//!
//! # Invariants
//! - An [`Action::Enable`] names only an interface the engine disabled (or was told it had disabled
//!   through [`Engine::restore_disabled`]), for the group that disabled it.
//! - Once no delay is pending, the disabled set is exactly the downstreams of the groups that are
//!   down, less those missing or shut by the operator.
//! - A group with no upstream member, or not enabled, disables nothing.

mod config;
mod engine;
mod state;

pub use config::{ConfigError, GROUP_ID_MAX, GROUP_ID_MIN, GroupConfig};
pub use engine::Engine;
pub use state::{
    Action, GroupDetail, GroupId, GroupState, GroupStatus, InterfaceObservation, MemberState,
    MemberStatus, Outcome, PendingAction, Role, StateChange,
};
