//! Time as a dataplane sees it: nanoseconds since the Unix epoch.

use std::time::Duration;

use crate::conntrack::duration_ns;

/// The wall clock in ns since the epoch (what the Linux dataplane reports).
pub use tether_syntax::time::wall_clock_ns;

/// The simulator's clock: starts at the wall clock so its timestamps look real in telemetry, then
/// moves only when told, so timeout tests are exact and never sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimClock {
    now_ns: u64,
}

impl SimClock {
    pub fn starting_now() -> Self {
        Self {
            now_ns: wall_clock_ns(),
        }
    }

    pub fn starting_at(now_ns: u64) -> Self {
        Self { now_ns }
    }

    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    pub fn advance(&mut self, by: Duration) -> u64 {
        self.now_ns = self.now_ns.saturating_add(duration_ns(by));
        self.now_ns
    }
}
