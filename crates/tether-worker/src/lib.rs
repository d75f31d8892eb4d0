//! Tether's worker: committed intent becomes dataplane behaviour, and behaviour becomes state.
//!
//! What this crate is for:
//! - the **bypass compiler** ([`bypass_compiler`]): typed `tether-conntrack-bypass` config →
//!   [`tether_dataplane::BypassProgram`], pure;
//! - the **link-state config** ([`lst_config`]): typed `tether-link-state` config → the LST
//!   engine's groups, pure;
//! - the **worker** ([`Worker`], [`WorkerHandle`]): one task that follows store commits,
//!   dataplane events and the dataplane clock; drives the LST engine and applies its actions;
//!   installs the bypass program; persists what Tether disabled (so a restart neither flaps nor
//!   forgets); every second compares the dataplane with what it wants, repairs drift with
//!   backoff and reports apply errors into state; and writes every state leaf of the three
//!   modules into the [`tether_telemetry::StateTree`] (ON_CHANGE batches stamped with the
//!   dataplane clock, counters as SAMPLE batches).
//!
//! What it is not for: protocols (it never sees gNMI), storage (it reads the store and keeps a
//! few runtime records there), or the LST decisions themselves (`tether-lst`).
//!
//! Files by concern: `*_config.rs`/`bypass_compiler.rs` read configuration, `*_state.rs` write
//! state, `worker.rs` holds the event loop and the reconciler, `backoff.rs` the retry policy.

mod backoff;
pub mod bypass_compiler;
mod bypass_state;
mod error;
mod interface_state;
pub mod lst_config;
mod lst_state;
pub mod paths;
mod time;
mod worker;

pub use error::WorkerError;
pub use time::{date_and_time, wall_clock_ns};
pub use worker::{CLOCK_POLL, DISABLED_PREFIX, RECONCILE_INTERVAL, Worker, WorkerHandle};
