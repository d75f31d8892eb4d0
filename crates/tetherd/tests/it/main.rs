//! tetherd's integration tests, one binary: each module starts real `tetherd` processes
//! through `common`, so linking them once instead of ten times saves the largest part of a
//! clean build's link time, and `cargo test -p tetherd --test it <module>::` still runs one
//! area.

#[path = "../common/mod.rs"]
mod common;

mod auth_hostile;
mod bypass_limits;
mod daemon_lifecycle;
mod gnmi_commit_confirmed;
mod gnmi_encodings;
mod gnmi_extensions;
mod gnmi_get_set;
mod gnmi_paths;
mod gnmi_security;
mod gnmi_subscribe;
mod gnmi_subscribe_fanout;
mod limits;
mod link_state_knobs;
mod otel;
mod reload;
mod scenario_bypass;
mod scenario_conditional_bypass;
mod scenario_link_state;
mod sim_clock_real;
mod storage_faults;
mod store_integrity;
mod systemd_notify;
