//! The signals tetherd acts on: SIGTERM and SIGINT drain and stop, SIGHUP reloads the users
//! file and the TLS certificates (systemd's `ExecReload=`).

use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::warn;

/// What a received signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// SIGTERM or SIGINT (the name): drain and exit.
    Stop(&'static str),
    /// SIGHUP: re-read the users file and the TLS files.
    Reload,
}

/// The handlers, installed from the moment this is built: built before the server serves, so
/// a signal that arrives once a client could have seen the daemon answer is always handled,
/// never the default action (an immediate kill with acknowledged work in flight, or — for
/// SIGHUP — a kill where a reload was meant).
pub struct Signals {
    term: Option<Signal>,
    int: Option<Signal>,
    hup: Option<Signal>,
}

impl Signals {
    pub fn install() -> Signals {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind)
                .map_err(|e| warn!("cannot listen for {name}: {e}"))
                .ok()
        };
        Signals {
            term: listen(SignalKind::terminate(), "SIGTERM"),
            int: listen(SignalKind::interrupt(), "SIGINT"),
            hup: listen(SignalKind::hangup(), "SIGHUP"),
        }
    }

    /// The next signal; pending forever if none could be installed.
    pub async fn recv(&mut self) -> Asked {
        async fn next(s: &mut Option<Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.term) => Asked::Stop("SIGTERM"),
            _ = next(&mut self.int) => Asked::Stop("SIGINT"),
            _ = next(&mut self.hup) => Asked::Reload,
        }
    }
}
