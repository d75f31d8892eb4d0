//! TCP state bypass: `tether-conntrack-bypass` configuration in, a dataplane program and its
//! state out.
//!
//! - [`arming`]: which conditional classes are armed, from their triggers and a clock (pure);
//! - [`compile`]: typed configuration → [`tether_dataplane::BypassProgram`] (pure);
//! - `state`: whether the program is applied, its counters and the host's warnings → state
//!   leaves (pure);
//! - `install`: the worker's side — install the program, retry with backoff, report the result.

pub mod arming;
pub mod compile;
pub mod incremental;
mod install;
pub(crate) mod state;
