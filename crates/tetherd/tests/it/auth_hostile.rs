//! Authentication under attack, against a real tetherd: a flood of wrong passwords keeps
//! memory bounded (the argon2 pool), unknown and known names cost the same, failures slow the
//! next attempt per peer, reflection and health need a user, and failures are audit lines.
//! Numbers are printed (`--nocapture`), never asserted against a clock.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::time::{Duration, Instant};

use crate::common::*;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tether_proto::gnmi::GetRequest;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tonic::Code;
use tonic::transport::Channel;

/// argon2id at m = 64 MiB: the cost the issue measured (2 GB for 32 concurrent checks).
const M_KIB: u32 = 64 * 1024;

fn hash(p: &str) -> String {
    hash_at(p, M_KIB)
}

fn hash_at(p: &str, m_kib: u32) -> String {
    let salt = SaltString::from_b64("dGV0aGVydGVzdHNhbHQ").unwrap();
    let params = Params::new(m_kib, 1, 1, None).unwrap();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(p.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn users_file(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("users.toml");
    std::fs::write(
        &path,
        format!(
            "[[user]]\nname = \"admin\"\npassword_hash = \"{}\"\nrole = \"read-write\"\n",
            hash("admin-pw")
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

/// A field of /proc/PID/status in KiB (VmRSS now, VmHWM the peak).
fn status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn get_as(
    c: &mut GNmiClient<Channel>,
    user: &str,
    password: &str,
) -> Result<(), tonic::Status> {
    c.get(with_user(
        GetRequest {
            path: vec![path("/link-state")],
            ..Default::default()
        },
        user,
        password,
    ))
    .await
    .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_wrong_passwords_at_once_keep_memory_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(&dir);
    let d = Daemon::start_with(&[
        "--users",
        &users,
        "--auth-workers",
        "2",
        "--auth-queue",
        "16",
    ]);
    let mut c = d.client().await;
    // One good login first: its argon2 check (and the dummy hash made at load) are in the
    // baseline peak, and admin's password is cached from here on.
    get_as(&mut c, "admin", "admin-pw").await.unwrap();
    let base_rss = status_kib(d.pid(), "VmRSS:");
    let base_hwm = status_kib(d.pid(), "VmHWM:");

    let started = Instant::now();
    let tries: Vec<_> = (0..32)
        .map(|i| {
            let mut c = c.clone();
            tokio::spawn(async move {
                let user = if i % 2 == 0 {
                    "admin".to_string()
                } else {
                    format!("nobody{i}")
                };
                get_as(&mut c, &user, "wrong").await.unwrap_err().code()
            })
        })
        .collect();
    // While the flood runs, the cached admin is served without waiting for the pool.
    let t = Instant::now();
    get_as(&mut c, "admin", "admin-pw").await.unwrap();
    let cached_ms = t.elapsed().as_secs_f64() * 1000.0;
    let mut unauthenticated = 0;
    let mut exhausted = 0;
    for t in tries {
        match t.await.unwrap() {
            Code::Unauthenticated => unauthenticated += 1,
            Code::ResourceExhausted => exhausted += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let peak = status_kib(d.pid(), "VmHWM:");
    println!(
        "32 concurrent wrong passwords (argon2 m=64 MiB, 2 workers, queue 16): \
         {unauthenticated} UNAUTHENTICATED, {exhausted} RESOURCE_EXHAUSTED in {:.0} ms; \
         RSS before {} MiB, peak before {} MiB, peak after {} MiB; \
         a cached login during the flood took {cached_ms:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0,
        base_rss / 1024,
        base_hwm / 1024,
        peak / 1024,
    );
    assert_eq!(unauthenticated + exhausted, 32);
    assert!(
        exhausted > 0,
        "a queue of 16 behind 2 workers refuses some of 32"
    );
    // Two checks at a time, 64 MiB each, over a peak that already held one: unbounded, the
    // same flood took 2 GB.
    let bound = base_rss + 2 * u64::from(M_KIB) + 96 * 1024;
    assert!(
        peak < bound.max(base_hwm + u64::from(M_KIB) + 96 * 1024),
        "peak RSS {peak} KiB over the bound (baseline {base_rss} KiB)"
    );
}

#[tokio::test]
async fn unknown_and_known_names_cost_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(&dir);
    // No backoff to speak of: the numbers are the argon2 check alone.
    let d = Daemon::start_with(&[
        "--users",
        &users,
        "--auth-backoff-base-ms",
        "1",
        "--auth-backoff-max-ms",
        "1",
    ]);
    let mut c = d.client().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..5 {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let t = Instant::now();
        let e = get_as(&mut c, "admin", "wrong").await.unwrap_err();
        known.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(e.code(), Code::Unauthenticated);
        tokio::time::sleep(Duration::from_millis(2)).await;
        let t = Instant::now();
        let e2 = get_as(&mut c, &format!("nobody{i}"), "wrong")
            .await
            .unwrap_err();
        unknown.push(t.elapsed().as_secs_f64() * 1000.0);
        // Same code, and a message that differs only in the name.
        assert_eq!(e2.code(), Code::Unauthenticated);
        assert_eq!(
            e.message().replace("\"admin\"", "U"),
            e2.message().replace(&format!("\"nobody{i}\""), "U")
        );
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "wrong password through gNMI, mean of 5 (argon2 m=64 MiB): known user {:.1} ms, \
         unknown user {:.1} ms (known {known:.1?}, unknown {unknown:.1?})",
        mean(&known),
        mean(&unknown)
    );
}

/// The delay each refusal announces ("held N ms").
fn held_ms(status: &tonic::Status) -> u64 {
    let m = status.message();
    let at = m.find("held ").unwrap() + "held ".len();
    m[at..].split_whitespace().next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn failures_from_one_peer_back_off_exponentially_up_to_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let users = users_file(&dir);
    let d = Daemon::start_with(&[
        "--users",
        &users,
        "--auth-backoff-base-ms",
        "50",
        "--auth-backoff-max-ms",
        "400",
    ]);
    let mut c = d.client().await;
    let mut held = Vec::new();
    let mut took = Vec::new();
    // A different name each time: what slows them is the peer (127.0.0.1), not the name.
    for i in 0..6 {
        let t = Instant::now();
        let e = get_as(&mut c, &format!("guess{i}"), "wrong")
            .await
            .unwrap_err();
        took.push(t.elapsed().as_millis());
        assert_eq!(e.code(), Code::Unauthenticated, "{}", e.message());
        held.push(held_ms(&e));
    }
    println!("per-peer backoff: announced delays {held:?} ms, attempts took {took:?} ms");
    assert_eq!(held, [50, 100, 200, 400, 400, 400]);
    // The right password still gets in (after the peer's delay), and is cached after.
    get_as(&mut c, "admin", "admin-pw").await.unwrap();
    let t = Instant::now();
    get_as(&mut c, "admin", "admin-pw").await.unwrap();
    println!(
        "a cached login after the backoff: {:.1} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
}

#[tokio::test]
async fn reflection_and_health_need_a_user() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;

    let dir = tempfile::tempdir().unwrap();
    let users = users_file(&dir);
    let d = Daemon::start_with(&["--users", &users]);
    let channel = Channel::from_shared(format!("http://{}", d.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let check = || HealthCheckRequest {
        service: "gnmi.gNMI".into(),
    };
    let refused = health.check(check()).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let ok = health
        .check(with_user(check(), "admin", "admin-pw"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.status, 1, "SERVING");

    let mut reflection = ServerReflectionClient::new(channel);
    let list = || ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let refused = reflection
        .server_reflection_info(tokio_stream::iter([list()]))
        .await;
    assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    let mut answers = reflection
        .server_reflection_info(with_user(tokio_stream::iter([list()]), "admin", "admin-pw"))
        .await
        .unwrap()
        .into_inner();
    assert!(answers.message().await.unwrap().is_some());
}

/// Failed logins and refused Sets are audit lines with the user and the peer, and a flood of
/// them is rate-limited (a line says how many were suppressed).
#[tokio::test]
async fn failed_logins_and_refused_sets_are_audit_lines() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.toml");
    std::fs::write(
        &users,
        format!(
            "[[user]]\nname = \"admin\"\npassword_hash = \"{}\"\nrole = \"read-write\"\n\
             [[user]]\nname = \"viewer\"\npassword_hash = \"{}\"\nrole = \"read-only\"\n",
            // Cheap hashes: the flood must outrun the audit limiter (5 lines a second).
            hash_at("admin-pw", 64),
            hash_at("view-pw", 64)
        ),
    )
    .unwrap();
    let log = dir.path().join("tetherd.log");
    let d = LoggedDaemon::start(
        &dir,
        &log,
        &[
            "--users",
            users.to_str().unwrap(),
            "--auth-backoff-base-ms",
            "1",
            "--auth-backoff-max-ms",
            "1",
        ],
    );
    let mut c = GNmiClient::connect(format!("http://{}", d.addr))
        .await
        .unwrap();
    for i in 0..30 {
        let _ = get_as(&mut c, &format!("mallory{i}"), "x").await;
    }
    // Let the rate limiter refill: the refused Set's line reports the suppressed ones.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let set = tether_proto::gnmi::SetRequest {
        update: vec![update(
            "/link-state/groups/group[id=3]/config",
            serde_json::json!({"id": 3}),
        )],
        ..Default::default()
    };
    assert_eq!(
        c.set(with_user(set, "viewer", "view-pw"))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let _ = get_as(&mut c, "mallory-last", "x").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = std::fs::read_to_string(&log).unwrap();
    let audit: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("tether::audit"))
        .collect();
    let failed = audit.iter().filter(|l| l.contains("login-failed")).count();
    println!(
        "{} audit lines for 31 failed logins and 1 refused Set",
        audit.len()
    );
    assert!(failed < 31, "rate-limited: {failed} lines");
    assert!(
        audit.iter().any(|l| l.contains("login-failed")
            && l.contains("mallory0")
            && l.contains("127.0.0.1"))
    );
    assert!(
        audit
            .iter()
            .any(|l| l.contains("write-refused") && l.contains("viewer")),
        "{audit:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l.contains("suppressed=") && !l.contains("suppressed=0"))
    );
}

/// A tetherd whose log goes to a file the test reads.
struct LoggedDaemon {
    child: std::process::Child,
    addr: String,
}

impl LoggedDaemon {
    fn start(dir: &tempfile::TempDir, log: &std::path::Path, extra: &[&str]) -> LoggedDaemon {
        let out = std::fs::File::create(log).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_tetherd"))
            .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
            .args(["--listen", "127.0.0.1:0", "--netconf-listen", "127.0.0.1:0"])
            .args(["--sim-clock", "manual"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(out)
            .spawn()
            .unwrap();
        // Owned by the guard from here, so a failed start still kills and waits for it.
        let mut d = LoggedDaemon {
            child,
            addr: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(i) = text.find("listening on ") {
                let addr = text[i + "listening on ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .to_string();
                d.addr = addr;
                return d;
            }
            assert!(Instant::now() < deadline, "tetherd did not start: {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for LoggedDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
