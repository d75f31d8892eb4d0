//! The link state tracking engine of Tether, as a pure state machine.
//!
//! Cisco's `link state track N` with `link state group N upstream|downstream`, plus what Arista,
//! Juniper, Dell and SONiC add (a minimum number of upstreams, count or percentage thresholds with
//! separate down and up limits, up and down delays, an enable switch, `downstream disable links
//! N`, manual recovery with a clear, an interface in several groups): when a
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
//!   through [`Engine::restore_disabled`]), for the group it was last attributed to.
//! - An interface is disabled exactly while some group holds it, and is attributed to the lowest
//!   such group (SONiC: an interface downstream of several groups is down while any is down).
//! - Each group holds at least the first N eligible downstreams its status calls for (all while
//!   down; `disable_links` per failed upstream while up); with automatic recovery exactly those,
//!   with manual recovery also what it held before, until [`Engine::clear`].
//! - Once no delay is pending, a group's status is one its thresholds allow: an up group meets the
//!   down threshold, a down group misses the up threshold.
//! - A group with no upstream member, or not enabled, disables nothing.
//! - A group that was never up since it was created comes up without its up delay (SONiC).
//! - All of these are checked by the model-based test in `engine/proptests.rs`, with restarts.

mod config;
mod engine;
mod state;

pub use config::{ConfigError, GROUP_ID_MAX, GROUP_ID_MIN, GroupConfig, Threshold, ThresholdKind};
pub use engine::Engine;
pub use state::{
    Action, GroupDetail, GroupId, GroupState, GroupStatus, InterfaceObservation, MemberState,
    MemberStatus, Outcome, PendingAction, Role, StateChange,
};
