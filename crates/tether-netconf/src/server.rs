//! The NETCONF server: what every session shares (schema, store, state tree, users, the
//! lock registry, the candidate datastore, the session table) and the accept loop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tether_auth::Users;
use tether_model::{Actions, Schema};

use crate::candidate::{Candidate, CandidateGuard};
use tether_store::{Locks, Store};
use tether_telemetry::StateTree;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

/// Default limit on one message (bytes).
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;
/// Default limit on concurrent sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 256;

/// How the server runs.
#[derive(Clone)]
pub struct NetconfOptions {
    /// Users and roles; `None`: any name and password from a loopback peer, read-write.
    pub users: Option<Arc<Users>>,
    /// Where the SSH host key is kept (created on first start).
    pub host_key: PathBuf,
    /// Largest message accepted; a bigger one closes the session.
    pub max_message: usize,
    /// Concurrent sessions; more are refused at channel open.
    pub max_sessions: usize,
    /// An SSH connection with no traffic for this long is closed.
    pub idle_timeout: Duration,
    /// Who performs YANG actions (`<action>`); `None`: every action is `operation-not-supported`.
    pub actions: Option<Arc<dyn Actions>>,
}

impl std::fmt::Debug for NetconfOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetconfOptions")
            .field("users", &self.users)
            .field("host_key", &self.host_key)
            .field("max_message", &self.max_message)
            .field("max_sessions", &self.max_sessions)
            .field("idle_timeout", &self.idle_timeout)
            .field("actions", &self.actions.is_some())
            .finish()
    }
}

impl NetconfOptions {
    pub fn new(host_key: impl Into<PathBuf>) -> Self {
        NetconfOptions {
            users: None,
            host_key: host_key.into(),
            max_message: DEFAULT_MAX_MESSAGE,
            max_sessions: DEFAULT_MAX_SESSIONS,
            idle_timeout: Duration::from_secs(3600),
            actions: None,
        }
    }
}

/// The server could not start.
#[derive(Debug, Error)]
pub enum NetconfError {
    #[error("SSH host key {path}: {message}")]
    HostKey { path: String, message: String },
    #[error("NETCONF listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A live session, as other sessions see it (kill-session, monitoring).
pub(crate) struct SessionEntry {
    pub user: String,
    pub peer: String,
    pub kill: watch::Sender<bool>,
}

/// What all sessions share.
pub(crate) struct Shared {
    pub schema: &'static Schema,
    pub store: Arc<dyn Store>,
    pub state: Arc<StateTree>,
    pub locks: Arc<Locks>,
    pub options: NetconfOptions,
    pub sessions: Mutex<HashMap<u32, SessionEntry>>,
    next_id: AtomicU32,
    /// The candidate datastore (one per server, RFC 6241 §8.3): see `candidate.rs`.
    candidate: Candidate,
}

impl Shared {
    /// The candidate, locked (reset first if a confirmed commit was reverted).
    pub async fn candidate(&self) -> CandidateGuard<'_> {
        self.candidate.lock(self.store.as_ref()).await
    }

    /// The candidate if no other session holds it now.
    pub fn try_candidate(&self) -> Option<CandidateGuard<'_>> {
        self.candidate.try_lock(self.store.as_ref())
    }

    /// A new session id and its kill switch; `None` when the session limit is reached.
    pub fn register(&self, user: &str, peer: &str) -> Option<(u32, watch::Receiver<bool>)> {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        if s.len() >= self.options.max_sessions {
            return None;
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (kill, rx) = watch::channel(false);
        s.insert(
            id,
            SessionEntry {
                user: user.to_string(),
                peer: peer.to_string(),
                kill,
            },
        );
        Some((id, rx))
    }

    pub fn unregister(&self, id: u32) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        self.locks.release_session(id);
    }

    pub fn session_count(&self) -> usize {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

/// The NETCONF server.
#[derive(Clone)]
pub struct NetconfServer {
    pub(crate) shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl NetconfServer {
    pub fn new(
        schema: &'static Schema,
        store: Arc<dyn Store>,
        state: Arc<StateTree>,
        locks: Arc<Locks>,
        options: NetconfOptions,
    ) -> Self {
        let (stop, _) = watch::channel(false);
        let candidate = Candidate::new(store.as_ref());
        NetconfServer {
            shared: Arc::new(Shared {
                schema,
                store,
                state,
                locks,
                options,
                sessions: Mutex::new(HashMap::new()),
                next_id: AtomicU32::new(1),
                candidate,
            }),
            stop,
        }
    }

    /// Serves SSH connections from `listener` until [`NetconfServer::shutdown`].
    pub async fn serve(&self, listener: TcpListener) -> Result<(), NetconfError> {
        let config = Arc::new(crate::ssh::config(&self.shared.options)?);
        let mut stop = self.stop.subscribe();
        let local = listener.local_addr()?;
        info!(address = %local, "NETCONF over SSH serving on {local}");
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (tcp, peer) = match accepted {
                        Ok(x) => x,
                        Err(e) => {
                            warn!("NETCONF accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = tcp.set_nodelay(true);
                    self.connection(Arc::clone(&config), tcp, peer);
                }
                _ = stop.changed() => break,
            }
        }
        // Sessions end with the listener: each is told to stop.
        for s in self
            .shared
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            let _ = s.kill.send(true);
        }
        Ok(())
    }

    fn connection(
        &self,
        config: Arc<russh::server::Config>,
        tcp: tokio::net::TcpStream,
        peer: SocketAddr,
    ) {
        let handler = crate::ssh::Connection::new(Arc::clone(&self.shared), peer);
        tokio::spawn(async move {
            match russh::server::run_stream(config, tcp, handler).await {
                Ok(session) => {
                    if let Err(e) = session.await {
                        tracing::debug!(%peer, "SSH connection ended: {e}");
                    }
                }
                Err(e) => tracing::debug!(%peer, "SSH handshake failed: {e}"),
            }
        });
    }

    /// Stops accepting and ends every session.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Live sessions.
    pub fn session_count(&self) -> usize {
        self.shared.session_count()
    }
}
