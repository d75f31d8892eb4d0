//! Tether's NETCONF server over SSH (RFC 6241, RFC 6242).
//!
//! What this crate is for: the second northbound, a sibling of `tether-gnmi` on the same
//! store, model and state tree (it never imports tether-gnmi):
//! - `ssh`: russh server, host key in the data dir, password and public-key authentication
//!   against the shared users file (`tether-auth`), the `netconf` subsystem;
//! - `framing`: base:1.0 end-of-message and base:1.1 chunked framing, size-limited;
//! - `capabilities` and `session`: hello, one rpc at a time, locks dying with the session;
//! - `ops`, `edit`, `read`: the operations; every edit becomes `tether_model::Edit`s that go
//!   through the same prepare/install engine and store commit path as a gNMI Set; replies
//!   are printed as XML by libyang;
//! - `error`: `<rpc-error>` with type, tag, severity, app-tag, path and a capped message.
//!
//! What it is not for: storing or validating configuration (`tether-store`,
//! `tether-model`), or owning the listener's lifetime (`tetherd` starts and stops it).

mod action;
mod candidate;
mod capabilities;
mod confirmed;
mod edit;
mod error;
pub mod framing;
mod notifications;
mod ops;
mod read;
mod server;
mod session;
mod ssh;
mod xml;

pub use capabilities::{BASE_10, BASE_11, CONFIRMED_COMMIT};
pub use confirmed::DEFAULT_CONFIRM_TIMEOUT;
pub use error::{MESSAGE_CAP, RpcError};
pub use server::{
    DEFAULT_MAX_MESSAGE, DEFAULT_MAX_SESSIONS, NetconfError, NetconfOptions, NetconfServer,
};
pub use ssh::host_key;
