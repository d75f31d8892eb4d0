//! Tether's gNMI server (gNMI specification 0.10.0).
//!
//! What this crate is for: the northbound gRPC service every client reaches Tether through
//! — Capabilities, Get, Set and Subscribe — with the parts that make it speak gNMI the way
//! stock clients (gnmic, pygnmi, grpcio, oc-config-validate) expect:
//! - `path`: gNMI paths (origin, module-qualified or bare first element, keys, `*`, `...`)
//!   resolved against the schema into libyang data paths and XPath;
//! - `encoding`: JSON / JSON_IETF values in and out, pygnmi's unquoted strings;
//! - `view`: the data Get and Subscribe read — configuration, state, or both merged;
//! - `fanout` and `values`: commit and state events rendered once (typed RFC 7951 values
//!   straight from the schema type) and fanned out to the STREAM subscriptions an index of
//!   their paths selects;
//! - `extensions`, `depth` and `commit`: every request's gNMI extensions examined (none is
//!   ever dropped), the Depth extension, and the Commit extension's hook;
//! - `auth`: the users file with argon2 hashes and roles (TLS is terminated by tetherd,
//!   `tetherd/src/tls.rs`, so certificates reload on SIGHUP).
//!
//! What it is not for: storing or validating configuration (`tether-store`,
//! `tether-model`), producing state (`tether-worker` fills the `tether-telemetry` state
//! tree), or running a server (the `tetherd` binary owns listeners, signals and shutdown).

pub mod auth;
mod capabilities;
mod commit;
mod depth;
pub mod encoding;
mod error;
mod extensions;
mod fanout;
mod get;
pub mod limits;
mod output;
pub mod path;
mod proto_in;
mod service;
mod set;
mod subscribe;
mod values;
mod view;

pub use auth::{AuthOptions, Identity, Role, Users, UsersError};
pub use capabilities::GNMI_VERSION;
pub use commit::DEFAULT_ROLLBACK;
pub use error::GnmiError;
pub use extensions::CommitAction;
pub use limits::Limits;
pub use service::{DEFAULT_SUBSCRIBER_QUEUE, GnmiOptions, GnmiService};
pub use subscribe::{MIN_SAMPLE_INTERVAL, SubscribeStream};
