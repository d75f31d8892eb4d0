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

mod audit;
mod backoff;
mod cache;
mod pool;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Deserialize;
use thiserror::Error;

pub use audit::{Audit, Event, clip};
pub use backoff::{DEFAULT_BASE as DEFAULT_BACKOFF_BASE, DEFAULT_MAX as DEFAULT_BACKOFF_MAX};
pub use pool::{DEFAULT_QUEUE, DEFAULT_WORKERS};

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

/// Credentials were refused, or could not be checked now. The message names the user (cut
/// to [`audit::FIELD_MAX`] characters), never the secret.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    /// Wrong name or secret. `retry_after` is how long the next attempt for this user or
    /// from this peer will be held before it is checked.
    #[error("bad username or credentials for {user:?}")]
    Denied { user: String, retry_after: Duration },
    /// The pool of password checks is full: `limit` are running or waiting.
    #[error("{limit} password checks are running or waiting (the limit): try again later")]
    Busy { limit: usize },
}

impl AuthError {
    fn denied(user: &str, retry_after: Duration) -> AuthError {
        AuthError::Denied {
            user: clip(user),
            retry_after,
        }
    }
}

/// How logins are checked: the bounded argon2 pool and the backoff of failed attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthOptions {
    /// Password checks running at once.
    pub workers: usize,
    /// Password checks that may wait for a worker; one more is refused (`Busy`).
    pub queue: usize,
    /// Delay after the first failure in a row (doubling with each further one).
    pub backoff_base: Duration,
    /// The longest delay.
    pub backoff_max: Duration,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            workers: DEFAULT_WORKERS,
            queue: DEFAULT_QUEUE,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_max: DEFAULT_BACKOFF_MAX,
        }
    }
}

/// Where a login attempt comes from: the protocol (for the audit line) and the peer.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub protocol: &'static str,
    pub peer: Option<SocketAddr>,
}

impl Origin {
    pub fn new(protocol: &'static str, peer: Option<SocketAddr>) -> Origin {
        Origin { protocol, peer }
    }
}

/// Counters of the login gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateStats {
    /// Password checks running or waiting.
    pub checks_admitted: usize,
    /// Names and peers with failures on record.
    pub users_tracked: usize,
    pub peers_tracked: usize,
}

/// What outlives one users file: the pool, the backoff tables, the audit limiter and the
/// verified cache (keyed on the hash, so a reloaded file cannot reuse a stale entry). A
/// reload ([`Users::reload`]) keeps it, so waiting for a reload resets no attacker's delay.
#[derive(Debug)]
struct Gate {
    pool: pool::Pool,
    backoff: backoff::Backoff,
    audit: Arc<Audit>,
    verified: cache::Verified,
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

/// The users allowed in, and the gate every password goes through: argon2 is deliberately
/// slow (tens of ms, megabytes each), so checks run on a bounded pool, successes are cached
/// (`cache.rs`), failures slow the next attempt (`backoff.rs`), and a name that is not in the
/// file costs a check against a dummy hash with the file's parameters, so the time of an
/// answer does not tell which names exist.
///
/// The accounts can be replaced while the daemon runs ([`Users::reload`], tetherd's SIGHUP):
/// every check after the swap sees the new file, a check already running finishes against
/// the account it started with. The gate stays: a reload resets no attacker's delay. A cached
/// verification is keyed by the password *and* the account's hash, so it never lets in a
/// password the new file no longer accepts.
#[derive(Debug)]
pub struct Users {
    accounts: RwLock<Arc<Accounts>>,
    gate: Gate,
}

/// One users file's accounts.
#[derive(Debug)]
struct Accounts {
    users: HashMap<String, Account>,
    /// The PHC string unknown names are checked against.
    dummy: String,
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
fn accounts(text: &str) -> Result<Accounts, String> {
    let file: UsersFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut users = HashMap::new();
    let first = file.user.first().map(|u| u.password_hash.clone());
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
    let dummy = dummy_hash(first.as_deref())?;
    Ok(Accounts { users, dummy })
}

/// Reads and parses a users file.
fn read(path: &Path) -> Result<Accounts, UsersError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| UsersError::Read {
        path: shown.clone(),
        source,
    })?;
    accounts(&text).map_err(|message| UsersError::Invalid {
        path: shown,
        message,
    })
}

impl Users {
    /// Reads and checks a users file (default [`AuthOptions`]).
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        Users::load_with(path, AuthOptions::default())
    }

    /// Reads and checks a users file.
    pub fn load_with(path: &Path, options: AuthOptions) -> Result<Users, UsersError> {
        Ok(Users::new(read(path)?, options))
    }

    /// Parses the TOML text of a users file (default [`AuthOptions`]).
    pub fn parse(text: &str) -> Result<Users, String> {
        Users::parse_with(text, AuthOptions::default())
    }

    /// Parses the TOML text of a users file.
    pub fn parse_with(text: &str, options: AuthOptions) -> Result<Users, String> {
        Ok(Users::new(accounts(text)?, options))
    }

    fn new(accounts: Accounts, options: AuthOptions) -> Users {
        Users {
            accounts: RwLock::new(Arc::new(accounts)),
            gate: Gate::new(options),
        }
    }

    /// Replaces the accounts with those of the file at `path` and returns how many it holds.
    /// A file that cannot be read or is invalid changes nothing (the error says why). The
    /// pool, the backoff tables and the audit limiter stay.
    pub fn reload(&self, path: &Path) -> Result<usize, UsersError> {
        let fresh = Arc::new(read(path)?);
        let n = fresh.users.len();
        *self.accounts.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        // Not needed for safety (a cache entry only matches the hash it verified), only to
        // forget the users who are gone.
        self.gate.verified.clear();
        Ok(n)
    }

    /// The accounts in force now.
    fn accounts(&self) -> Arc<Accounts> {
        Arc::clone(&self.accounts.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// How many users the file holds.
    pub fn len(&self) -> usize {
        self.accounts().users.len()
    }

    /// Whether the file holds no users (then nobody gets in).
    pub fn is_empty(&self) -> bool {
        self.accounts().users.is_empty()
    }

    /// Checks a name and password from an unknown origin.
    pub async fn verify_password(&self, user: &str, password: &str) -> Result<Identity, AuthError> {
        self.verify_password_from(user, password, Origin::new("-", None))
            .await
    }

    /// Checks a name and password: the cache first (a password that verified before, for
    /// this user and this hash, costs no argon2 and waits for no backoff), then the backoff
    /// delay of this user and peer, then argon2 on the pool. Unknown names are checked
    /// against the dummy hash, so they cost what known ones do.
    pub async fn verify_password_from(
        &self,
        user: &str,
        password: &str,
        origin: Origin,
    ) -> Result<Identity, AuthError> {
        let gate = &self.gate;
        let accounts = self.accounts();
        let account = accounts.users.get(user);
        if let Some(a) = account
            && gate.verified.contains(user, &a.hash, password)
        {
            return Ok(Identity {
                user: user.to_string(),
                role: a.role,
            });
        }
        let ip = origin.peer.map(|p| p.ip());
        let wait = gate.backoff.wait(user, ip, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let phc = account.map_or_else(|| accounts.dummy.clone(), |a| a.hash.clone());
        let secret = password.to_string();
        let checked = gate.pool.run(move || check(&phc, &secret)).await;
        let peer = origin
            .peer
            .map_or_else(|| "-".to_string(), |p| p.to_string());
        let ok = match checked {
            Ok(ok) => ok,
            Err(busy) => {
                gate.audit.record(
                    Event::LoginFailed,
                    origin.protocol,
                    user,
                    &peer,
                    "password check pool full",
                );
                return Err(AuthError::Busy { limit: busy.limit });
            }
        };
        match account {
            Some(a) if ok => {
                gate.verified.insert(user, &a.hash, password);
                gate.backoff.succeeded(user);
                Ok(Identity {
                    user: user.to_string(),
                    role: a.role,
                })
            }
            _ => {
                let next = gate.backoff.failed(user, ip, Instant::now());
                gate.audit.record(
                    Event::LoginFailed,
                    origin.protocol,
                    user,
                    &peer,
                    &format!(
                        "bad username or password; next attempt held {} ms",
                        next.as_millis()
                    ),
                );
                Err(AuthError::denied(user, next))
            }
        }
    }

    /// What the gate holds now: bounded whatever the clients send.
    pub fn gate_stats(&self) -> GateStats {
        let (users_tracked, peers_tracked) = self.gate.backoff.tracked();
        GateStats {
            checks_admitted: self.gate.pool.admitted(),
            users_tracked,
            peers_tracked,
        }
    }

    /// The audit limiter, for the northbounds' own audit lines (refused writes, cuts).
    pub fn audit(&self) -> Arc<Audit> {
        self.gate.audit.clone()
    }

    /// Checks a name and an OpenSSH public key (`algorithm base64 [comment]`) the client
    /// proved it holds.
    pub fn verify_key(&self, user: &str, openssh: &str) -> Result<Identity, AuthError> {
        let denied = || AuthError::denied(user, Duration::ZERO);
        let accounts = self.accounts();
        let account = accounts.users.get(user).ok_or_else(denied)?;
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

impl Gate {
    fn new(o: AuthOptions) -> Gate {
        Gate {
            pool: pool::Pool::new(o.workers, o.queue),
            backoff: backoff::Backoff::new(o.backoff_base, o.backoff_max),
            audit: Arc::new(Audit::new()),
            verified: cache::Verified::new(),
        }
    }
}

/// Whether `password` verifies against the PHC string `phc` (argon2, parameters from `phc`).
fn check(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of a random password with the parameters of `like` (the file's first user), or
/// the argon2 defaults: what an unknown name is checked against, at the same cost.
fn dummy_hash(like: Option<&str>) -> Result<String, String> {
    let (algorithm, version, params) = match like.map(PasswordHash::new) {
        Some(Ok(h)) => (
            Algorithm::try_from(h.algorithm).unwrap_or_default(),
            h.version
                .and_then(|v| Version::try_from(v).ok())
                .unwrap_or_default(),
            Params::try_from(&h).unwrap_or_default(),
        ),
        _ => Default::default(),
    };
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| format!("dummy hash salt: {e}"))?;
    let password = rand::random::<[u8; 16]>();
    Argon2::new(algorithm, version, params)
        .hash_password(&password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("dummy hash: {e}"))
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
        let users = Arc::new(Users::parse_with(&text, quick()).unwrap());
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

    /// Short delays so the tests do not sleep long.
    fn quick() -> AuthOptions {
        AuthOptions {
            backoff_base: Duration::from_millis(1),
            backoff_max: Duration::from_millis(4),
            ..AuthOptions::default()
        }
    }

    fn one_user(name: &str, password: &str) -> String {
        format!(
            "[[user]]\nname = \"{name}\"\npassword_hash = \"{}\"\nrole = \"read-write\"\n",
            hash(password)
        )
    }

    fn peer(last: u8) -> Origin {
        Origin::new("test", Some(SocketAddr::from(([198, 18, 0, last], 4000))))
    }

    #[tokio::test]
    async fn failures_report_the_growing_capped_delay() {
        let users = Users::parse_with(&one_user("alice", "pw"), quick()).unwrap();
        let mut delays = Vec::new();
        for _ in 0..5 {
            match users.verify_password_from("alice", "wrong", peer(1)).await {
                Err(AuthError::Denied { retry_after, .. }) => delays.push(retry_after.as_millis()),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(delays, [1, 2, 4, 4, 4]);
        // The right password still gets in (after the delay), and resets the user.
        assert!(
            users
                .verify_password_from("alice", "pw", peer(1))
                .await
                .is_ok()
        );
        // An unknown name is tracked the same way.
        let err = users.verify_password_from("mallory", "x", peer(2)).await;
        assert_eq!(
            err,
            Err(AuthError::Denied {
                user: "mallory".into(),
                retry_after: Duration::from_millis(1)
            })
        );
        // A huge name is cut in the error.
        let long = "u".repeat(100_000);
        let Err(AuthError::Denied { user, .. }) =
            users.verify_password_from(&long, "x", peer(3)).await
        else {
            panic!("accepted")
        };
        assert!(user.len() < 100, "{}", user.len());
        assert_eq!(
            users.gate_stats().users_tracked,
            2,
            "alice was reset by her success"
        );
    }

    #[tokio::test]
    async fn the_cache_follows_the_file() {
        let dir = std::env::temp_dir().join(format!("tether-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("users.toml");
        std::fs::write(&file, one_user("alice", "old")).unwrap();
        let users = Users::load_with(&file, quick()).unwrap();
        assert!(users.verify_password("alice", "old").await.is_ok());
        // The password changes in the file: the cached verification no longer counts.
        std::fs::write(&file, one_user("alice", "new")).unwrap();
        assert_eq!(users.reload(&file).unwrap(), 1);
        assert!(users.verify_password("alice", "old").await.is_err());
        // The gate outlives the reload: the failure is on record.
        assert_eq!(users.gate_stats().users_tracked, 1);
        users.reload(&file).unwrap();
        assert_eq!(users.gate_stats().users_tracked, 1);
        assert!(users.verify_password("alice", "new").await.is_ok());
        assert_eq!(
            users.gate_stats().users_tracked,
            0,
            "a success resets the user"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_full_pool_answers_busy() {
        let options = AuthOptions {
            workers: 1,
            queue: 1,
            ..quick()
        };
        let users = Arc::new(Users::parse_with(&one_user("alice", "pw"), options).unwrap());
        let tries: Vec<_> = (0..8u8)
            .map(|i| {
                let users = users.clone();
                tokio::spawn(async move {
                    users
                        .verify_password_from("alice", "wrong", peer(10 + i))
                        .await
                })
            })
            .collect();
        let mut busy = 0;
        for t in tries {
            if let Err(AuthError::Busy { limit }) = t.await.unwrap() {
                assert_eq!(limit, 2);
                busy += 1;
            }
        }
        assert!(
            busy > 0,
            "8 concurrent checks on a pool of 1 + 1 queued: some must be refused"
        );
        assert_eq!(users.gate_stats().checks_admitted, 0);
    }

    /// Prints the time of a wrong password for a known and an unknown name (no assertion:
    /// a timing bound would be flaky; the numbers go to docs/reliability.md).
    #[tokio::test]
    async fn unknown_and_known_names_cost_the_same() {
        let users = Users::parse_with(&one_user("alice", "pw"), quick()).unwrap();
        let mut known = Duration::ZERO;
        let mut unknown = Duration::ZERO;
        for i in 0..6u8 {
            // A fresh peer and name each round, so no backoff enters the numbers.
            let t = Instant::now();
            let _ = users
                .verify_password_from("alice", "wrong", peer(100 + i))
                .await;
            known += t.elapsed();
            users.gate.backoff.succeeded("alice");
            let t = Instant::now();
            let _ = users
                .verify_password_from(&format!("nobody{i}"), "wrong", peer(200 + i))
                .await;
            unknown += t.elapsed();
        }
        println!(
            "wrong password, mean of 6: known user {:.1} ms, unknown user {:.1} ms",
            known.as_secs_f64() * 1000.0 / 6.0,
            unknown.as_secs_f64() * 1000.0 / 6.0
        );
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
