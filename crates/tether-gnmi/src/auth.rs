//! Username/password authentication from gRPC metadata (`username`, `password`) against
//! the users file of `tether-auth` (shared with NETCONF), mapped to gRPC statuses.
//!
//! Without a users file every caller is accepted with the read-write role.

use std::net::SocketAddr;
use std::sync::Arc;

use tether_auth::{AuthError, Origin};
use tonic::metadata::MetadataMap;

use crate::error::GnmiError;

pub use tether_auth::{AuthOptions, Identity, Role, Users, UsersError};

/// Checks the credentials in `metadata`, sent by `peer`. A refused login answers
/// UNAUTHENTICATED and says how long the next attempt will be held (the backoff of
/// `tether-auth`); a full pool of password checks answers RESOURCE_EXHAUSTED.
pub async fn authenticate(
    users: &Arc<Users>,
    metadata: &MetadataMap,
    peer: Option<SocketAddr>,
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
    users
        .verify_password_from(&user, &password, Origin::new("gnmi", peer))
        .await
        .map_err(|e| match e {
            AuthError::Denied { user, retry_after } => GnmiError::Unauthenticated(format!(
                "bad username or password for {user:?}; the next attempt for this user or from \
                 this address is held {} ms",
                retry_after.as_millis()
            )),
            e @ AuthError::Busy { .. } => GnmiError::ResourceExhausted(format!(
                "authentication: {e} (limit --auth-workers + --auth-queue)"
            )),
        })
}

/// Refuses a write by a read-only user.
pub fn require_write(identity: &Identity) -> Result<(), GnmiError> {
    if identity.may_write() {
        Ok(())
    } else {
        Err(GnmiError::PermissionDenied(format!(
            "user {} is read-only and may not Set",
            identity.user
        )))
    }
}

/// The identity of a caller when authentication is off: whatever name it gives, read-write.
pub fn anonymous(metadata: &MetadataMap) -> Identity {
    Identity::anonymous(
        metadata
            .get("username")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::Argon2;
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
    async fn metadata_to_statuses() {
        let text = format!(
            "[[user]]\nname = \"ro\"\npassword_hash = \"{}\"\nrole = \"read-only\"\n",
            hash("ro-pass")
        );
        let users = Arc::new(Users::parse(&text).unwrap());
        let ro = authenticate(&users, &md("ro", "ro-pass"), None)
            .await
            .unwrap();
        assert_eq!(
            require_write(&ro).unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
        for m in [md("ro", "nope"), md("who", "x"), MetadataMap::new()] {
            assert_eq!(
                authenticate(&users, &m, None).await.unwrap_err().code(),
                tonic::Code::Unauthenticated
            );
        }
        assert!(require_write(&anonymous(&md("x", "y"))).is_ok());
    }
}
