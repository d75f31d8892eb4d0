//! Tether's users file and the two roles, shared by every northbound (gNMI, NETCONF).
//!
//! ```toml
//! [[user]]
//! name = "alice"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$...$..."
//! role = "read-write"        # or "read-only"
//! # Optional: OpenSSH public keys that log this user in over NETCONF/SSH.
//! authorized_keys = ["ssh-ed25519 AAAAC3Nza... alice@laptop"]
//! ```
//!
//! What this crate is for: reading the file and answering "who is this, with which role"
//! for a name and password or a name and public key, the same way for every protocol.
//! What it is not for: carrying credentials (gRPC metadata, SSH): each northbound takes
//! them off its own wire and maps [`AuthError`] to its own status.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use serde::Deserialize;
use thiserror::Error;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Read only: gNMI Capabilities/Get/Subscribe, NETCONF get/get-config/subscriptions.
    ReadOnly,
    /// Also writes: gNMI Set, NETCONF edit-config/commit/lock.
    ReadWrite,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name (as sent, when authentication is off; may be empty).
    pub user: String,
    pub role: Role,
}

impl Identity {
    /// The identity of a caller when authentication is off: whatever name it gives,
    /// read-write.
    pub fn anonymous(user: impl Into<String>) -> Identity {
        Identity {
            user: user.into(),
            role: Role::ReadWrite,
        }
    }

    /// Whether the caller may change the configuration.
    pub fn may_write(&self) -> bool {
        self.role == Role::ReadWrite
    }
}

/// A users file could not be used.
#[derive(Debug, Error)]
pub enum UsersError {
    #[error("reading users file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("users file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Credentials were refused. The message names the user, never the secret.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("bad username or credentials for {user:?}")]
pub struct AuthError {
    pub user: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    #[serde(default)]
    user: Vec<UserEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    name: String,
    password_hash: String,
    role: Role,
    #[serde(default)]
    authorized_keys: Vec<String>,
}

#[derive(Debug, Clone)]
struct Account {
    hash: String,
    role: Role,
    /// `algorithm base64` of each authorized key (the comment dropped).
    keys: Vec<String>,
}

/// The users allowed in, with a cache of verified passwords: argon2 is deliberately slow
/// (tens of ms) and must not be paid on every RPC.
///
/// The accounts can be replaced while the daemon runs ([`Users::reload`], tetherd's SIGHUP):
/// every check after the swap sees the new file, a check already running finishes against
/// the account it started with. A cached verification is keyed by the password *and* the
/// account's hash, so it never lets in a password the new file no longer accepts.
#[derive(Debug)]
pub struct Users {
    users: RwLock<Arc<HashMap<String, Account>>>,
    /// user → keyed hash of the last (password, password_hash) that verified (never the
    /// password itself).
    verified: Mutex<HashMap<String, u64>>,
    keyed: RandomState,
}

/// An OpenSSH public key line reduced to `algorithm base64`, the part that identifies it.
pub fn key_identity(openssh: &str) -> Option<String> {
    let mut it = openssh.split_whitespace();
    let (Some(alg), Some(blob)) = (it.next(), it.next()) else {
        return None;
    };
    Some(format!("{alg} {blob}"))
}

/// The accounts of a users file's TOML text.
fn accounts(text: &str) -> Result<HashMap<String, Account>, String> {
    let file: UsersFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut users = HashMap::new();
    for u in file.user {
        if u.name.is_empty() {
            return Err("a user has an empty name".into());
        }
        PasswordHash::new(&u.password_hash)
            .map_err(|e| format!("user {}: password_hash is not a PHC string: {e}", u.name))?;
        let mut keys = Vec::new();
        for k in &u.authorized_keys {
            keys.push(key_identity(k).ok_or_else(|| {
                format!(
                    "user {}: an authorized key is not `algorithm base64 [comment]`",
                    u.name
                )
            })?);
        }
        let account = Account {
            hash: u.password_hash,
            role: u.role,
            keys,
        };
        if users.insert(u.name.clone(), account).is_some() {
            return Err(format!("user {} is listed twice", u.name));
        }
    }
    Ok(users)
}

impl Users {
    /// Reads and checks a users file.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
            path: shown.clone(),
            source,
        })?;
        Users::parse(&text).map_err(|message| UsersError::Invalid {
            path: shown,
            message,
        })
    }

    /// Parses the TOML text of a users file.
    pub fn parse(text: &str) -> Result<Users, String> {
        Ok(Users {
            users: RwLock::new(Arc::new(accounts(text)?)),
            verified: Mutex::new(HashMap::new()),
            keyed: RandomState::new(),
        })
    }

    /// Replaces the accounts with those of the file at `path` and returns how many it holds.
    /// A file that cannot be read or is invalid changes nothing (the error says why).
    pub fn reload(&self, path: &Path) -> Result<usize, UsersError> {
        let fresh = Users::load(path)?.accounts();
        let n = fresh.len();
        *self.users.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        // Not needed for safety (a cache entry only matches the hash it verified), only to
        // forget the users who are gone.
        self.verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        Ok(n)
    }

    /// The accounts in force now.
    fn accounts(&self) -> Arc<HashMap<String, Account>> {
        Arc::clone(&self.users.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// How many users the file holds.
    pub fn len(&self) -> usize {
        self.accounts().len()
    }

    /// Whether the file holds no users (then nobody gets in).
    pub fn is_empty(&self) -> bool {
        self.accounts().is_empty()
    }

    /// Checks a name and password.
    pub async fn verify_password(
        self: &Arc<Self>,
        user: &str,
        password: &str,
    ) -> Result<Identity, AuthError> {
        let denied = || AuthError {
            user: user.to_string(),
        };
        let Some(account) = self.accounts().get(user).cloned() else {
            return Err(denied());
        };
        let key = self.keyed.hash_one((password, &account.hash));
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user)
            == Some(&key);
        if !cached {
            let password = password.to_string();
            let hash = account.hash.clone();
            let ok = tokio::task::spawn_blocking(move || {
                PasswordHash::new(&hash).is_ok_and(|h| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &h)
                        .is_ok()
                })
            })
            .await
            .unwrap_or(false);
            if !ok {
                return Err(denied());
            }
            self.verified
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(user.to_string(), key);
        }
        Ok(Identity {
            user: user.to_string(),
            role: account.role,
        })
    }

    /// Checks a name and an OpenSSH public key (`algorithm base64 [comment]`) the client
    /// proved it holds.
    pub fn verify_key(&self, user: &str, openssh: &str) -> Result<Identity, AuthError> {
        let denied = || AuthError {
            user: user.to_string(),
        };
        let accounts = self.accounts();
        let account = accounts.get(user).ok_or_else(denied)?;
        let id = key_identity(openssh).ok_or_else(denied)?;
        if account.keys.contains(&id) {
            Ok(Identity {
                user: user.to_string(),
                role: account.role,
            })
        } else {
            Err(denied())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, SaltString};

    fn hash(p: &str) -> String {
        let salt = SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap();
        Argon2::default()
            .hash_password(p.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHdG";

    #[tokio::test]
    async fn passwords_keys_and_roles() {
        let text = format!(
            "[[user]]\nname = \"ro\"\npassword_hash = \"{}\"\nrole = \"read-only\"\nauthorized_keys = [\"{KEY} ro@host\"]\n\n[[user]]\nname = \"rw\"\npassword_hash = \"{}\"\nrole = \"read-write\"\n",
            hash("ro-pass"),
            hash("rw-pass")
        );
        let users = Arc::new(Users::parse(&text).unwrap());
        assert_eq!(users.len(), 2);
        let ro = users.verify_password("ro", "ro-pass").await.unwrap();
        assert!(!ro.may_write());
        let rw = users.verify_password("rw", "rw-pass").await.unwrap();
        assert!(rw.may_write());
        // Cached path, then a wrong password after a cached right one.
        assert!(users.verify_password("rw", "rw-pass").await.is_ok());
        assert!(users.verify_password("rw", "nope").await.is_err());
        assert!(users.verify_password("who", "x").await.is_err());
        // Keys: the comment does not matter, the user does.
        assert_eq!(users.verify_key("ro", KEY).unwrap().role, Role::ReadOnly);
        assert!(users.verify_key("rw", KEY).is_err());
        assert!(users.verify_key("ro", "ssh-ed25519 AAAAother").is_err());
        assert!(users.verify_key("ro", "garbage").is_err());
    }

    #[tokio::test]
    async fn reload_replaces_accounts_and_a_bad_file_changes_nothing() {
        let entry = |name: &str, pw: &str, role: &str| {
            format!(
                "[[user]]\nname = \"{name}\"\npassword_hash = \"{}\"\nrole = \"{role}\"\n",
                hash(pw)
            )
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.toml");
        std::fs::write(&file, entry("alice", "old", "read-write")).unwrap();
        let users = Arc::new(Users::load(&file).unwrap());
        // Cached: the next check of the same password is not paid again.
        assert!(users.verify_password("alice", "old").await.is_ok());

        std::fs::write(
            &file,
            entry("alice", "new", "read-only") + &entry("bob", "b", "read-write"),
        )
        .unwrap();
        assert_eq!(users.reload(&file).unwrap(), 2);
        assert!(
            users.verify_password("alice", "old").await.is_err(),
            "a password cached before the reload is not accepted after it"
        );
        let alice = users.verify_password("alice", "new").await.unwrap();
        assert_eq!(alice.role, Role::ReadOnly);
        assert!(users.verify_password("bob", "b").await.is_ok());

        // A broken file keeps the accounts in force.
        std::fs::write(&file, "[[user]]\nname = \"x\"\n").unwrap();
        assert!(matches!(
            users.reload(&file),
            Err(UsersError::Invalid { .. })
        ));
        std::fs::remove_file(&file).unwrap();
        assert!(matches!(users.reload(&file), Err(UsersError::Read { .. })));
        assert_eq!(users.len(), 2);
        assert!(users.verify_password("bob", "b").await.is_ok());
    }

    #[test]
    fn bad_files() {
        for text in [
            "[[user]]\nname = \"a\"\npassword_hash = \"plain\"\nrole = \"read-only\"\n",
            "[[user]]\nname = \"a\"\npassword_hash = \"x\"\nrole = \"admin\"\n",
        ] {
            assert!(Users::parse(text).is_err());
        }
        let dup = format!(
            "[[user]]\nname = \"a\"\npassword_hash = \"{h}\"\nrole = \"read-only\"\n[[user]]\nname = \"a\"\npassword_hash = \"{h}\"\nrole = \"read-only\"\n",
            h = hash("x")
        );
        assert!(Users::parse(&dup).is_err());
        let badkey = format!(
            "[[user]]\nname = \"a\"\npassword_hash = \"{}\"\nrole = \"read-only\"\nauthorized_keys = [\"onlyonefield\"]\n",
            hash("x")
        );
        assert!(Users::parse(&badkey).is_err());
    }
}
