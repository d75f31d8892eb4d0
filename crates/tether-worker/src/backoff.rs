//! Retry with exponential backoff for applies that failed (a dataplane that refused a
//! program, an interface whose disable could not be changed).

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What is being retried.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RetryKey {
    /// Installing the bypass program.
    Program,
    /// Setting or clearing Tether's disable of one interface.
    Interface(String),
}

/// First retry after this long; doubles up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_millis(500);
pub const MAX_DELAY: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Backoff {
    failing: HashMap<RetryKey, (u32, Instant)>,
}

impl Backoff {
    /// Whether `key` may be tried now (never failed, or its delay has passed).
    pub fn due(&self, key: &RetryKey, now: Instant) -> bool {
        self.failing.get(key).is_none_or(|(_, next)| *next <= now)
    }

    /// Records a failure; returns the delay before the next try.
    pub fn failed(&mut self, key: RetryKey, now: Instant) -> Duration {
        let entry = self.failing.entry(key).or_insert((0, now));
        let delay = delay_after(entry.0);
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now + delay;
        delay
    }

    pub fn succeeded(&mut self, key: &RetryKey) {
        self.failing.remove(key);
    }
}

/// The delay after `failures` earlier failures.
fn delay_after(failures: u32) -> Duration {
    FIRST_DELAY
        .saturating_mul(1u32.checked_shl(failures.min(16)).unwrap_or(u32::MAX))
        .min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let mut b = Backoff::default();
        let t0 = Instant::now();
        let k = RetryKey::Program;
        let delays: Vec<u64> = (0..9)
            .map(|_| b.failed(k.clone(), t0).as_millis() as u64)
            .collect();
        assert_eq!(
            delays,
            vec![500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        assert!(!b.due(&k, t0));
        assert!(b.due(&k, t0 + MAX_DELAY));
        b.succeeded(&k);
        assert!(b.due(&k, t0));
    }
}
