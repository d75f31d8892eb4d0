//! Link state tracking: `tether-link-state` configuration in, the LST engine's decisions out as
//! disabled downstreams and state.
//!
//! - [`config`]: typed configuration → the engine's groups (pure);
//! - `state`: the engine's state changes → state leaves (pure);
//! - `apply`: the worker's side — feed the engine, persist what Tether disabled, act on the
//!   dataplane, in the order that survives a crash.
//!
//! The decisions themselves live in `tether-lst`.

mod apply;
pub mod config;
pub(crate) mod state;

pub use apply::DISABLED_PREFIX;
