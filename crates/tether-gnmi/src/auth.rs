//! Username/password authentication from gRPC metadata (`username`, `password`) against a
//! users file of argon2 password hashes, and the two roles.
//!
//! ```toml
//! [[user]]
//! name = "alice"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$...$..."
//! role = "read-write"        # or "read-only"
//! ```
//!
//! Without a users file every caller is accepted with the read-write role.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use serde::Deserialize;
use thiserror::Error;
use tonic::metadata::MetadataMap;

use crate::error::GnmiError;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Capabilities, Get, Subscribe.
    ReadOnly,
    /// Also Set.
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
    /// Refuses a write by a read-only user.
    pub fn require_write(&self) -> Result<(), GnmiError> {
        match self.role {
            Role::ReadWrite => Ok(()),
            Role::ReadOnly => Err(GnmiError::PermissionDenied(format!(
                "user {} is read-only and may not Set",
                self.user
            ))),
        }
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
}

/// The users allowed in, with a cache of verified passwords: argon2 is deliberately slow
/// (tens of ms) and must not be paid on every RPC.
#[derive(Debug)]
pub struct Users {
    users: HashMap<String, (String, Role)>,
    /// user → keyed hash of the last password that verified (never the password itself).
    verified: Mutex<HashMap<String, u64>>,
    keyed: RandomState,
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
            if users
                .insert(u.name.clone(), (u.password_hash, u.role))
                .is_some()
            {
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

    /// Checks the credentials in `metadata`.
    pub async fn authenticate(
        self: &Arc<Self>,
        metadata: &MetadataMap,
    ) -> Result<Identity, GnmiError> {
        let get = |k: &str| {
            metadata
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let (Some(user), Some(password)) = (get("username"), get("password")) else {
            return Err(GnmiError::Unauthenticated(
                "username and password metadata are required".into(),
            ));
        };
        let denied =
            || GnmiError::Unauthenticated(format!("bad username or password for {user:?}"));
        let Some((hash, role)) = self.users.get(&user).cloned() else {
            return Err(denied());
        };
        let key = self.keyed.hash_one(&password);
        let cached = self
            .verified
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            == Some(&key);
        if !cached {
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
                .insert(user.clone(), key);
        }
        Ok(Identity { user, role })
    }
}

/// The identity of a caller when authentication is off: whatever name it gives, read-write.
pub fn anonymous(metadata: &MetadataMap) -> Identity {
    let user = metadata
        .get("username")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    Identity {
        user,
        role: Role::ReadWrite,
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

    fn md(u: &str, p: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("username", u.parse().unwrap());
        m.insert("password", p.parse().unwrap());
        m
    }

    #[tokio::test]
    async fn roles_and_bad_passwords() {
        let text = format!(
            "[[user]]\nname = \"ro\"\npassword_hash = \"{}\"\nrole = \"read-only\"\n\n[[user]]\nname = \"rw\"\npassword_hash = \"{}\"\nrole = \"read-write\"\n",
            hash("ro-pass"),
            hash("rw-pass")
        );
        let users = Arc::new(Users::parse(&text).unwrap());
        assert_eq!(users.len(), 2);
        let ro = users.authenticate(&md("ro", "ro-pass")).await.unwrap();
        assert_eq!(
            ro.require_write().unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        let rw = users.authenticate(&md("rw", "rw-pass")).await.unwrap();
        assert!(rw.require_write().is_ok());
        // Cached path, then a wrong password after a cached right one.
        assert!(users.authenticate(&md("rw", "rw-pass")).await.is_ok());
        assert_eq!(
            users
                .authenticate(&md("rw", "nope"))
                .await
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            users
                .authenticate(&md("who", "x"))
                .await
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            users
                .authenticate(&MetadataMap::new())
                .await
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn bad_files() {
        assert!(
            Users::parse(
                "[[user]]\nname = \"a\"\npassword_hash = \"plain\"\nrole = \"read-only\"\n"
            )
            .is_err()
        );
        assert!(
            Users::parse("[[user]]\nname = \"a\"\npassword_hash = \"x\"\nrole = \"admin\"\n")
                .is_err()
        );
    }
}
