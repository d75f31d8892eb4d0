//! The pure parts of `tetherctl`, Tether's command line.
//!
//! What this crate is for: turning what a network engineer types and reads into gNMI and back —
//! path strings ([`path`]), the Cisco-style `show` layouts ([`show`]), the translation of Cisco
//! ASA/IOS configuration text into one gNMI Set ([`import`]), and times as Cisco prints them
//! ([`timefmt`]). The binary (`src/main.rs`, with the commands in `src/cmd/`) adds the command
//! line and the gRPC calls.
//!
//! What it is not for: validation or storage. tetherctl is a gNMI client only; the daemon's
//! YANG model is the judge of what is valid, and tetherctl depends on `tether-model` for
//! module names and schema paths only.

pub mod export;
pub mod flat;
pub mod import;
pub mod order;
pub mod path;
pub mod show;
pub mod timefmt;
pub mod typed;
