//! systemd's service notifications (`Type=notify`, `WatchdogSec=`): `READY=1` once the
//! datastore, the worker and both listeners are up, `RELOADING=1`/`READY=1` around a SIGHUP
//! reload, `STOPPING=1` when draining, and `WATCHDOG=1` while the worker loop answers.
//!
//! The protocol is one datagram per message to the unix socket `$NOTIFY_SOCKET` (a path, or
//! an abstract name written `@name`; sd_notify(3)). It is written here instead of taken from a
//! crate (sd-notify, libsystemd) because it is these few lines, and the watchdog logic that
//! matters — *what* proves the daemon alive — is Tether's own either way.

use std::future::Future;
use std::time::Duration;

use tracing::{error, warn};

/// Sends `state` (newline-separated `KEY=value` lines) to systemd. Nothing without systemd
/// (no `$NOTIFY_SOCKET`); a failure to send is logged, never fatal.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = std::os::unix::net::UnixDatagram::unbound().and_then(|s| {
        if let Some(name) = path.as_encoded_bytes().strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            s.send_to_addr(state.as_bytes(), &addr)
        } else {
            s.send_to(state.as_bytes(), &path)
        }
    });
    if let Err(e) = sent {
        warn!("cannot notify systemd: {e}");
    }
}

/// The watchdog period systemd asks for (`WatchdogSec=` → `$WATCHDOG_USEC`), when it is
/// meant for this process (`$WATCHDOG_PID` absent or ours).
pub fn watchdog_period() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID")
        && pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(std::process::id())
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Sends `WATCHDOG=1` (through `send`) every half `period`, each time only after `alive()`
/// answered `true` within that half period. `alive` asks the worker loop to answer
/// (`WorkerHandle::alive`), so a loop stuck in a dataplane call, a dead worker thread or a
/// starved runtime all withhold the ping, and systemd restarts tetherd once `period` passes
/// without one (`Restart=on-failure`). Runs until the task is dropped.
pub async fn watchdog<A, F>(period: Duration, mut alive: A, send: impl Fn(&str))
where
    A: FnMut() -> F,
    F: Future<Output = bool>,
{
    let half = period / 2;
    let mut tick = tokio::time::interval(half);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match tokio::time::timeout(half, alive()).await {
            Ok(true) => send("WATCHDOG=1\n"),
            Ok(false) => error!(
                "the worker has stopped: WATCHDOG=1 withheld, systemd restarts tetherd within {period:?}"
            ),
            Err(_) => warn!(
                "the worker loop did not answer within {half:?}: WATCHDOG=1 withheld \
                 (systemd restarts tetherd if this lasts {period:?})"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::{Arc, Mutex};

    async fn pings_in(period: Duration, run: Duration, stuck_after: Option<usize>) -> usize {
        let sent = Arc::new(Mutex::new(0usize));
        let asked = Arc::new(Mutex::new(0usize));
        let (s, a) = (sent.clone(), asked.clone());
        let task = tokio::spawn(watchdog(
            period,
            move || {
                let a = a.clone();
                async move {
                    let n = {
                        let mut n = a.lock().unwrap();
                        *n += 1;
                        *n
                    };
                    if stuck_after.is_some_and(|k| n > k) {
                        std::future::pending::<()>().await;
                    }
                    true
                }
            },
            move |m| {
                assert_eq!(m, "WATCHDOG=1\n");
                *s.lock().unwrap() += 1;
            },
        ));
        tokio::time::sleep(run).await;
        task.abort();
        *sent.lock().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn pings_every_half_period_while_the_worker_answers() {
        // 10 s at a 2 s period: a ping at 0, 1, 2, ... 9 s (and 10 s on the boundary).
        let n = pings_in(Duration::from_secs(2), Duration::from_millis(9_500), None).await;
        assert_eq!(n, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_worker_gets_no_ping() {
        // Answers three times, then hangs: three pings, then none however long it waits.
        let n = pings_in(Duration::from_secs(2), Duration::from_secs(60), Some(3)).await;
        assert_eq!(n, 3);
    }
}
