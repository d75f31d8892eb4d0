//! Datastore locks that hold across northbounds (RFC 6241 §7.5): while a NETCONF session
//! holds the running lock, gNMI Sets and other sessions' edits of running are refused, and
//! the refusal names the holder. A lock dies with its session (the session releases it).
//!
//! The registry lives in the store crate because it guards the store for every protocol;
//! it knows sessions only as numbers and a printable owner.

use std::collections::HashMap;
use std::sync::Mutex;

/// A lockable datastore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Datastore {
    Running,
    Candidate,
}

impl Datastore {
    pub fn name(self) -> &'static str {
        match self {
            Datastore::Running => "running",
            Datastore::Candidate => "candidate",
        }
    }
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The NETCONF session id.
    pub session: u32,
    /// For messages: "NETCONF session 3 (user alice)".
    pub owner: String,
}

/// The lock registry, one per daemon.
#[derive(Debug, Default)]
pub struct Locks {
    held: Mutex<HashMap<Datastore, Holder>>,
}

impl Locks {
    pub fn new() -> Self {
        Locks::default()
    }

    /// Takes `ds` for `holder`; when someone holds it already, that holder.
    pub fn lock(&self, ds: Datastore, holder: Holder) -> Result<(), Holder> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.get(&ds) {
            Some(h) => Err(h.clone()),
            None => {
                held.insert(ds, holder);
                Ok(())
            }
        }
    }

    /// Releases `ds` if `session` holds it; otherwise the holder (None: nobody held it).
    pub fn unlock(&self, ds: Datastore, session: u32) -> Result<(), Option<Holder>> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        match held.get(&ds) {
            Some(h) if h.session == session => {
                held.remove(&ds);
                Ok(())
            }
            other => Err(other.cloned()),
        }
    }

    /// Releases everything `session` holds (its end).
    pub fn release_session(&self, session: u32) {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|_, h| h.session != session);
    }

    /// Who holds `ds`.
    pub fn holder(&self, ds: Datastore) -> Option<Holder> {
        self.held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&ds)
            .cloned()
    }

    /// May `session` (None: a gNMI client, which cannot hold locks) write `ds`? When not,
    /// the holder.
    pub fn check_write(&self, ds: Datastore, session: Option<u32>) -> Result<(), Holder> {
        match self.holder(ds) {
            Some(h) if Some(h.session) != session => Err(h),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: u32) -> Holder {
        Holder {
            session: s,
            owner: format!("session {s}"),
        }
    }

    #[test]
    fn lock_rules() {
        let l = Locks::new();
        assert!(l.lock(Datastore::Running, h(1)).is_ok());
        assert_eq!(l.lock(Datastore::Running, h(2)), Err(h(1)));
        assert!(l.lock(Datastore::Candidate, h(2)).is_ok());
        assert_eq!(l.check_write(Datastore::Running, None), Err(h(1)));
        assert_eq!(l.check_write(Datastore::Running, Some(2)), Err(h(1)));
        assert!(l.check_write(Datastore::Running, Some(1)).is_ok());
        assert_eq!(l.unlock(Datastore::Running, 2), Err(Some(h(1))));
        l.release_session(1);
        assert!(l.check_write(Datastore::Running, None).is_ok());
        assert_eq!(l.unlock(Datastore::Running, 1), Err(None));
        assert_eq!(l.holder(Datastore::Candidate), Some(h(2)));
    }
}
