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
use std::sync::{Arc, Mutex};

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
#[derive(Debug)]
pub struct Users {
    users: HashMap<String, Account>,
    /// user → keyed hash of the last password that verified (never the password itself).
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
        Ok(Users {
            users,
            verified: Mutex::new(HashMap::new()),
            keyed: RandomState::new(),
        })
    }

    /// How many users the file holds.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file holds no users (then nobody gets in).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
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
        let Some(account) = self.users.get(user).cloned() else {
            return Err(denied());
        };
        let key = self.keyed.hash_one(password);
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
        let account = self.users.get(user).ok_or_else(denied)?;
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
