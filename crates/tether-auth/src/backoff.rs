//! Failed logins slow down the next attempt, per user and per peer.
//!
//! Why: without it a script could try passwords as fast as argon2 lets it. After the n-th
//! failure in a row for a user (or from a peer address), the next attempt for that user (or
//! from that peer) waits `base × 2^(n-1)`, capped at `max`, before its password is even
//! checked. Unknown user names are tracked like known ones, so the delay says nothing about
//! which names exist. A success resets the user's count (not the peer's: one good account
//! must not reset a peer's guessing of others); a record with no failure for `FORGET` is
//! dropped. Both tables are bounded ([`MAX_TRACKED`]): user names are kept as keyed
//! hashes, never as the (possibly huge) strings a client sent.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The first delay when none is configured.
pub const DEFAULT_BASE: Duration = Duration::from_millis(100);
/// The longest delay when none is configured.
pub const DEFAULT_MAX: Duration = Duration::from_secs(10);
/// Records kept per table; past it, expired ones go first, then the oldest.
pub const MAX_TRACKED: usize = 10_000;
/// A record with no new failure for this long is forgotten.
const FORGET: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    /// No attempt is checked before this.
    until: Instant,
    last: Instant,
}

#[derive(Debug)]
struct Table<K> {
    records: HashMap<K, Record>,
}

impl<K: Hash + Eq + Clone> Table<K> {
    fn new() -> Self {
        Table {
            records: HashMap::new(),
        }
    }

    fn until(&self, key: &K, now: Instant) -> Option<Instant> {
        self.records
            .get(key)
            .filter(|r| now.duration_since(r.last) < FORGET)
            .map(|r| r.until)
    }

    /// Counts a failure; returns the delay the next attempt will wait.
    fn fail(&mut self, key: &K, now: Instant, base: Duration, max: Duration) -> Duration {
        if !self.records.contains_key(key) && self.records.len() >= MAX_TRACKED {
            self.records
                .retain(|_, r| now.duration_since(r.last) < FORGET);
            if self.records.len() >= MAX_TRACKED
                && let Some(oldest) = self
                    .records
                    .iter()
                    .min_by_key(|(_, r)| r.last)
                    .map(|(k, _)| k.clone())
            {
                self.records.remove(&oldest);
            }
        }
        let record = self.records.entry(key.clone()).or_insert(Record {
            failures: 0,
            until: now,
            last: now,
        });
        if now.duration_since(record.last) >= FORGET {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        let delay = delay(record.failures, base, max);
        record.until = now + delay;
        delay
    }

    fn forget(&mut self, key: &K) {
        self.records.remove(key);
    }

    fn len(&self) -> usize {
        self.records.len()
    }
}

/// `base × 2^(failures-1)`, capped at `max`.
pub fn delay(failures: u32, base: Duration, max: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// The two tables and their settings.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    names: RandomState,
    users: Mutex<Table<u64>>,
    peers: Mutex<Table<IpAddr>>,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base,
            max: max.max(base),
            names: RandomState::new(),
            users: Mutex::new(Table::new()),
            peers: Mutex::new(Table::new()),
        }
    }

    fn user_key(&self, user: &str) -> u64 {
        self.names.hash_one(user)
    }

    /// How long an attempt for `user` from `peer` must wait before it is checked.
    pub fn wait(&self, user: &str, peer: Option<IpAddr>, now: Instant) -> Duration {
        let key = self.user_key(user);
        let by_user = lock(&self.users).until(&key, now);
        let by_peer = peer.and_then(|p| lock(&self.peers).until(&p, now));
        by_user
            .into_iter()
            .chain(by_peer)
            .max()
            .map_or(Duration::ZERO, |until| until.saturating_duration_since(now))
    }

    /// Counts a failed attempt; returns the delay the next one (for this user or from this
    /// peer, whichever is longer) will wait.
    pub fn failed(&self, user: &str, peer: Option<IpAddr>, now: Instant) -> Duration {
        let key = self.user_key(user);
        let by_user = lock(&self.users).fail(&key, now, self.base, self.max);
        let by_peer = peer.map_or(Duration::ZERO, |p| {
            lock(&self.peers).fail(&p, now, self.base, self.max)
        });
        by_user.max(by_peer)
    }

    /// A success: the user's count starts again.
    pub fn succeeded(&self, user: &str) {
        let key = self.user_key(user);
        lock(&self.users).forget(&key);
    }

    /// Records held (users, peers): bounded by [`MAX_TRACKED`] each.
    pub fn tracked(&self) -> (usize, usize) {
        (lock(&self.users).len(), lock(&self.peers).len())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn exponential_and_capped() {
        let d: Vec<_> = (0..8).map(|n| delay(n, 100 * MS, 1000 * MS)).collect();
        assert_eq!(
            d,
            [0, 100, 200, 400, 800, 1000, 1000, 1000].map(|ms| ms * MS)
        );
        assert_eq!(
            delay(200, MS, Duration::from_secs(10)),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn per_user_and_per_peer() {
        let b = Backoff::new(100 * MS, 1000 * MS);
        let t0 = Instant::now();
        let p1: IpAddr = "198.18.0.1".parse().unwrap();
        let p2: IpAddr = "198.18.0.2".parse().unwrap();
        assert_eq!(b.wait("alice", Some(p1), t0), Duration::ZERO);
        assert_eq!(b.failed("alice", Some(p1), t0), 100 * MS);
        assert_eq!(b.failed("alice", Some(p1), t0), 200 * MS);
        // Another user from the same peer waits for the peer.
        assert_eq!(b.wait("bob", Some(p1), t0), 200 * MS);
        // Alice from another peer waits for alice.
        assert_eq!(b.wait("alice", Some(p2), t0), 200 * MS);
        // Bob from elsewhere waits for nobody.
        assert_eq!(b.wait("bob", Some(p2), t0), Duration::ZERO);
        // Time passes the delay.
        assert_eq!(b.wait("alice", Some(p1), t0 + 300 * MS), Duration::ZERO);
        // Success resets the user, not the peer.
        b.succeeded("alice");
        assert_eq!(b.wait("alice", None, t0), Duration::ZERO);
        assert_eq!(b.wait("carol", Some(p1), t0), 200 * MS);
        // Forgotten after a quiet while.
        assert_eq!(b.wait("carol", Some(p1), t0 + FORGET), Duration::ZERO);
        assert_eq!(b.failed("carol", Some(p1), t0 + FORGET), 100 * MS);
    }

    #[test]
    fn tables_are_bounded() {
        let b = Backoff::new(MS, MS);
        let t0 = Instant::now();
        for i in 0..(MAX_TRACKED + 500) {
            b.failed(&format!("user{i}"), None, t0 + MS * i as u32);
        }
        assert_eq!(b.tracked(), (MAX_TRACKED, 0));
    }
}
