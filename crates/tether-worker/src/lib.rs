//! Tether's worker: committed intent becomes dataplane behaviour, and behaviour becomes state.
//!
//! What this crate is for:
//! - the **bypass compiler** ([`bypass::compile`]): typed `tether-conntrack-bypass` config →
//!   [`tether_dataplane::BypassProgram`], pure;
//! - the **link-state config** ([`link_state::config`]): typed `tether-link-state` config → the
//!   LST engine's groups, pure;
//! - the **worker** ([`Worker`], [`WorkerHandle`]): one task that follows store commits,
//!   dataplane events and the dataplane clock; drives the LST engine and applies its actions;
//!   installs the bypass program; persists what Tether disabled (so a restart neither flaps nor
//!   forgets); every second compares the dataplane with what it wants, repairs drift with
//!   backoff and reports apply errors into state; and writes every state leaf of the three
//!   modules into the [`tether_telemetry::StateTree`] (ON_CHANGE batches stamped with the
//!   wall clock, counters as SAMPLE batches), at [`paths`] built from the generated schema.
//!
//! What it is not for: protocols (it never sees gNMI), storage (it reads the store and keeps a
//! few runtime records there), or the LST decisions themselves (`tether-lst`).
//!
//! Files by concern, one directory per feature, each with a pure `config`/`compile` side, a
//! pure `state` side and the worker's side that acts (`apply`/`install`):
//! - `handle.rs`: [`Worker::start`] and the [`WorkerHandle`];
//! - `event_loop.rs`: what the task owns, the loop over its inputs, commits, publishing;
//! - `boot.rs`: the boot order; `drift.rs`: the periodic reconcile and its repairs;
//! - `link_state/`, `bypass/`, `interfaces/`: the three YANG modules' features;
//! - `applied.rs`: each feature's `applied-commit`; `backoff.rs`: the retry policy; `paths.rs`: data paths of the state leaves.

mod applied;
mod backoff;
mod boot;
pub mod bypass;
mod drift;
mod error;
mod event_loop;
mod handle;
mod interfaces;
pub mod link_state;
pub mod paths;
mod time;

#[cfg(test)]
mod state_paths;

pub use drift::RECONCILE_INTERVAL;
pub use error::WorkerError;
pub use event_loop::{CLOCK_POLL, Worker};
pub use handle::WorkerHandle;
pub use link_state::DISABLED_PREFIX;
pub use time::{date_and_time, wall_clock_ns};
