//! Tether's operational state and its change bus.
//!
//! What this crate is for: the **state tree** every `config false` leaf of the YANG modules
//! is read from (gNMI Get with type STATE/ALL, NETCONF `<get>`), and the **change bus** gNMI
//! Subscribe listens to. The worker writes state here; northbound protocols only read it.
//! (OpenTelemetry setup lives here too, as it is shared by every binary.)
//!
//! What it is not for: configuration (that is `tether-store`) or deciding anything.
//!
//! The tree is keyed by libyang data paths
//! (`/tether-link-state:link-state/groups/group[id='1']/state/status`) holding canonical
//! YANG values, so the gNMI layer can merge state into configuration with libyang and print
//! either encoding without knowing any module.

pub mod otel;
mod state;

pub use state::{StateBatch, StateLeaf, StateTree};
