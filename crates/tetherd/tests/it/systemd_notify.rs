//! systemd's notification protocol as a unit with `Type=notify` and `WatchdogSec=` sees it:
//! the test binds `$NOTIFY_SOCKET` itself and reads what tetherd sends.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::common::*;

/// The messages received within `within`, until `stop` matches one (included).
fn read_until(sock: &UnixDatagram, within: Duration, stop: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        let Ok(n) = sock.recv(&mut buf) else { break };
        let m = String::from_utf8_lossy(&buf[..n]).into_owned();
        let done = stop(&m);
        got.push(m);
        if done {
            break;
        }
    }
    got
}

#[tokio::test]
async fn ready_watchdog_reloading_and_stopping_reach_the_notify_socket() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let d = Daemon::start_env(
        &dir.path().join("data"),
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            // 300 ms: a WATCHDOG=1 every 150 ms while the worker loop answers.
            ("WATCHDOG_USEC", "300000"),
        ],
    )
    .unwrap();
    let first = read_until(&sock, Duration::from_secs(10), |_| true);
    assert_eq!(
        first,
        vec![format!("READY=1\nSTATUS=listening on {}\n", d.addr)],
        "READY=1 comes once the port is bound (store and worker are up before it)"
    );
    let pings = read_until(&sock, Duration::from_millis(1_000), |_| false);
    let n = pings.iter().filter(|m| *m == "WATCHDOG=1\n").count();
    assert!(
        n >= 4,
        "about 6 WATCHDOG=1 in a second at a 300 ms watchdog, got {pings:?}"
    );

    d.signal("HUP");
    let reload = read_until(&sock, Duration::from_secs(10), |m| m.starts_with("READY=1"));
    let reload: Vec<&String> = reload.iter().filter(|m| *m != "WATCHDOG=1\n").collect();
    assert_eq!(
        reload,
        vec![
            "RELOADING=1\n",
            &format!("READY=1\nSTATUS=listening on {}\n", d.addr)
        ]
    );

    let log = d.log.clone();
    let status = sigterm(d).await;
    assert!(status.success(), "{status:?}");
    let rest = read_until(&sock, Duration::from_secs(2), |m| m == "STOPPING=1\n");
    assert_eq!(
        rest.last().map(String::as_str),
        Some("STOPPING=1\n"),
        "{rest:?}"
    );
    assert!(
        log.lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("systemd watchdog on"))
    );
}

#[tokio::test]
async fn a_watchdog_meant_for_another_process_is_not_fed() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    let _d = Daemon::start_env(
        &dir.path().join("data"),
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
            // systemd sets WATCHDOG_PID to the main process; a child that inherited the
            // environment must not ping for it.
            ("WATCHDOG_PID", "1"),
        ],
    )
    .unwrap();
    let got = read_until(&sock, Duration::from_millis(800), |_| false);
    assert_eq!(got.len(), 1, "READY=1 only: {got:?}");
    assert!(got[0].starts_with("READY=1\n"));
}
