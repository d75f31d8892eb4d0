//! The worker's clock and its `yang:date-and-time` text, from the one implementation in
//! tether-syntax (kept under the names the worker and its users already call).
//!
//! The wall clock stamps telemetry notifications (gNMI §2.2.1 wants the time the event was
//! seen). The sim dataplane's clock may stand still (`--sim-clock manual`) or have been stepped
//! ahead, so it stamps the state leaves (`last-change`) but not notifications.

pub use tether_syntax::time::{rfc3339 as date_and_time, wall_clock_ns};
