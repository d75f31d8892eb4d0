//! Time as a dataplane sees it: nanoseconds since the Unix epoch.

use std::time::{Duration, Instant};

use crate::conntrack::duration_ns;

/// The wall clock in ns since the epoch (what the Linux dataplane reports).
pub use tether_syntax::time::wall_clock_ns;

/// How the simulator's clock moves between explicit steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// It runs at real time, so up-delay, down-delay, idle timeouts and `last-change` behave as on
    /// Linux; a step (`advance`) jumps it ahead on top of that. The daemon's default.
    #[default]
    Real,
    /// It stands still until told to move: deterministic tests and demos, which never sleep.
    Manual,
}

/// The simulator's clock: starts at the wall clock (or a given time) so its timestamps look real
/// in telemetry, then runs at real time or moves only when told, per its [`ClockMode`].
///
/// Real mode reads a monotonic [`Instant`] rather than the wall clock, so a host clock step
/// (NTP, an operator's `date`) never makes simulated time go backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimClock {
    mode: ClockMode,
    start_ns: u64,
    started: Instant,
    /// The sum of every explicit step.
    skipped_ns: u64,
}

impl SimClock {
    /// A clock that runs at real time from the wall clock's present reading.
    pub fn real() -> Self {
        Self::new(ClockMode::Real, wall_clock_ns())
    }

    /// A clock frozen at the wall clock's present reading.
    pub fn manual() -> Self {
        Self::new(ClockMode::Manual, wall_clock_ns())
    }

    /// A clock frozen at `now_ns` (tests that want fixed timestamps).
    pub fn starting_at(now_ns: u64) -> Self {
        Self::new(ClockMode::Manual, now_ns)
    }

    /// A clock of `mode` reading `start_ns` now.
    pub fn new(mode: ClockMode, start_ns: u64) -> Self {
        Self {
            mode,
            start_ns,
            started: Instant::now(),
            skipped_ns: 0,
        }
    }

    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    pub fn now_ns(&self) -> u64 {
        let run = match self.mode {
            ClockMode::Real => duration_ns(self.started.elapsed()),
            ClockMode::Manual => 0,
        };
        self.start_ns
            .saturating_add(run)
            .saturating_add(self.skipped_ns)
    }

    /// Jumps ahead by `by`; returns the new time.
    pub fn advance(&mut self, by: Duration) -> u64 {
        self.skipped_ns = self.skipped_ns.saturating_add(duration_ns(by));
        self.now_ns()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_stands_still_and_steps_exactly() {
        let mut c = SimClock::starting_at(1_000);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.now_ns(), 1_000);
        assert_eq!(c.advance(Duration::from_nanos(500)), 1_500);
        assert_eq!(c.now_ns(), 1_500);
        assert_eq!(c.mode(), ClockMode::Manual);
    }

    #[test]
    fn real_runs_and_a_step_jumps_ahead() {
        let mut c = SimClock::new(ClockMode::Real, 1_000);
        std::thread::sleep(Duration::from_millis(20));
        let ran = c.now_ns() - 1_000;
        assert!(ran >= 20_000_000, "ran {ran} ns");
        let after = c.advance(Duration::from_secs(60));
        assert!(after >= 1_000 + 60_000_000_000 + ran);
        assert!(c.now_ns() >= after);
    }
}
