//! Passwords that verified, remembered without the passwords.
//!
//! Why: argon2 is deliberately slow and must not be paid on every RPC (a gNMI client sends
//! its credentials with each call). What is kept per user is a BLAKE2b MAC, under a key
//! drawn at start and never written anywhere, of the user name, the PHC string the password
//! verified against and the password. So a changed password, or a users file that gives the
//! user another hash, no longer matches; a memory dump holds no password and nothing an
//! attacker can test guesses against offline without the key. One entry per known user:
//! the cache cannot grow with what clients send.

use std::collections::HashMap;
use std::sync::Mutex;

use blake2::Blake2bMac;
use blake2::digest::consts::U32;
use blake2::digest::{Key, KeyInit, Mac};

type Tag = [u8; 32];

#[derive(Debug)]
pub struct Verified {
    key: [u8; 64],
    tags: Mutex<HashMap<String, Tag>>,
}

impl Verified {
    pub fn new() -> Verified {
        let mut key = [0u8; 64];
        rand::fill(&mut key);
        Verified {
            key,
            tags: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, user: &str, phc: &str, password: &str) -> Tag {
        // The key is BLAKE2b's full 64 bytes, so this constructor cannot fail.
        let mut mac =
            <Blake2bMac<U32> as KeyInit>::new(Key::<Blake2bMac<U32>>::from_slice(&self.key));
        // Length-prefixed, so no two (user, phc, password) triples feed the same bytes.
        for part in [user, phc, password] {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether `password` is the one that last verified for `user` against `phc`.
    pub fn contains(&self, user: &str, phc: &str, password: &str) -> bool {
        let tag = self.tag(user, phc, password);
        let tags = self.tags.lock().unwrap_or_else(|e| e.into_inner());
        tags.get(user).is_some_and(|t| same(t, &tag))
    }

    /// Remembers that `password` verified for `user` against `phc`.
    pub fn insert(&self, user: &str, phc: &str, password: &str) {
        let tag = self.tag(user, phc, password);
        self.tags
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user.to_string(), tag);
    }
}

impl Verified {
    /// Forgets every entry (after a reload: the users who are gone).
    pub fn clear(&self) {
        self.tags.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl Default for Verified {
    fn default() -> Self {
        Verified::new()
    }
}

/// Constant-time equality (no early exit on the first differing byte).
fn same(a: &Tag, b: &Tag) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_on_user_hash_and_password() {
        let c = Verified::new();
        c.insert("alice", "$argon2id$one", "pw");
        assert!(c.contains("alice", "$argon2id$one", "pw"));
        assert!(!c.contains("alice", "$argon2id$one", "pw2"));
        assert!(!c.contains("alice", "$argon2id$two", "pw"));
        assert!(!c.contains("bob", "$argon2id$one", "pw"));
        // Length prefixes: moving bytes between the parts changes the tag.
        c.insert("ab", "c", "d");
        assert!(!c.contains("ab", "cd", ""));
        // Another process (another key) does not share tags.
        assert_ne!(
            c.tag("alice", "h", "pw"),
            Verified::new().tag("alice", "h", "pw")
        );
    }
}
