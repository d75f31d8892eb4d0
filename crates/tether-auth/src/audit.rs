//! Audit log lines: failed logins, refused writes, cut subscribers, with the user and peer.
//!
//! Why rate-limited: a client that fails on purpose must not be able to fill the disk or
//! drown the other lines. Lines go through `tracing` (target `tether::audit`, WARN) from a
//! token bucket: a burst of [`BURST`] lines, then [`PER_SECOND`] a second; what the bucket
//! drops is counted and the next line that passes says how many were suppressed. Fields
//! that come from the client (user names, paths) are cut to [`FIELD_MAX`] characters.

use std::sync::Mutex;
use std::time::Instant;

/// Lines that may be written at once after a quiet time.
pub const BURST: u32 = 20;
/// Lines a second after the burst.
pub const PER_SECOND: u32 = 5;
/// Longest client-supplied field in a line (characters).
pub const FIELD_MAX: usize = 64;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    suppressed: u64,
}

/// The rate limiter in front of the audit lines.
#[derive(Debug)]
pub struct Audit {
    bucket: Mutex<Bucket>,
}

impl Default for Audit {
    fn default() -> Self {
        Audit::new()
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// Credentials were refused.
    LoginFailed,
    /// A configuration change was refused (role, lock, validation, limits).
    WriteRefused,
    /// A subscriber too slow to keep up was ended.
    SubscriberCut,
}

impl Event {
    fn as_str(self) -> &'static str {
        match self {
            Event::LoginFailed => "login-failed",
            Event::WriteRefused => "write-refused",
            Event::SubscriberCut => "subscriber-cut",
        }
    }
}

/// `text` cut to [`FIELD_MAX`] characters (an ellipsis marks the cut).
pub fn clip(text: &str) -> String {
    clip_to(text, FIELD_MAX)
}

/// Details (an error message) are ours but may quote client text: at most 256 characters.
fn clip_detail(detail: &str) -> String {
    clip_to(detail, 256)
}

fn clip_to(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

impl Audit {
    pub fn new() -> Audit {
        Audit {
            bucket: Mutex::new(Bucket {
                tokens: f64::from(BURST),
                at: Instant::now(),
                suppressed: 0,
            }),
        }
    }

    /// Takes a token; `Some(suppressed so far)` when the line may be written.
    fn admit(&self, now: Instant) -> Option<u64> {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let refill = now.saturating_duration_since(b.at).as_secs_f64() * f64::from(PER_SECOND);
        b.tokens = (b.tokens + refill).min(f64::from(BURST));
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(std::mem::take(&mut b.suppressed))
        } else {
            b.suppressed += 1;
            None
        }
    }

    /// Writes one audit line, unless the rate limit drops it. Returns whether it was written.
    pub fn record(
        &self,
        event: Event,
        protocol: &str,
        user: &str,
        peer: &str,
        detail: &str,
    ) -> bool {
        let Some(suppressed) = self.admit(Instant::now()) else {
            return false;
        };
        tracing::warn!(
            target: "tether::audit",
            event = event.as_str(),
            protocol,
            user = %clip(user),
            peer,
            suppressed,
            "{}",
            clip_detail(detail)
        );
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_rate_then_suppressed_count() {
        let a = Audit::new();
        let t0 = Instant::now();
        let passed = (0..100).filter(|_| a.admit(t0).is_some()).count();
        assert_eq!(passed, BURST as usize);
        // One second later: PER_SECOND more, the first says how many were dropped.
        let later = t0 + Duration::from_secs(1);
        assert_eq!(a.admit(later), Some(100 - u64::from(BURST)));
        let more = (1..100).filter(|_| a.admit(later).is_some()).count();
        assert_eq!(more, PER_SECOND as usize - 1);
    }

    #[test]
    fn fields_are_clipped() {
        let long = "x".repeat(10_000);
        assert_eq!(clip(&long).chars().count(), FIELD_MAX + 1);
        assert_eq!(clip("alice"), "alice");
        assert_eq!(clip_detail(&long).chars().count(), 257);
    }
}
