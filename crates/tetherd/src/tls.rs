//! TLS for the gRPC port with certificates that can be replaced while the daemon runs.
//!
//! tonic's own `ServerTlsConfig` is fixed when the server starts, so tetherd terminates TLS
//! itself (tokio-rustls, the same rustls and ring provider tonic uses) and hands tonic the
//! established streams: each handshake takes the configuration in force at that moment, so
//! after a SIGHUP ([`ReloadableTls::reload`]) new connections present the new certificate
//! and check clients against the new CA, while connections already open — a long Subscribe —
//! keep the session they negotiated.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;
use tracing::debug;

/// A client gets this long to finish its handshake; a slower one is dropped, so idle sockets
/// cannot pile up in the accept path.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for tonic to take them.
const ACCEPT_QUEUE: usize = 64;

/// The PEM files of the server's TLS setup, re-read on every reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server certificate chain.
    pub cert: PathBuf,
    /// The server private key.
    pub key: PathBuf,
    /// The CA that signs client certificates: when given, clients must present one (mutual
    /// TLS).
    pub client_ca: Option<PathBuf>,
}

/// The configuration new handshakes use, replaceable.
#[derive(Debug)]
pub struct ReloadableTls {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
}

impl ReloadableTls {
    /// Reads the files; fails with the file and the reason when one is unusable.
    pub fn load(files: TlsFiles) -> anyhow::Result<ReloadableTls> {
        let config = server_config(&files)?;
        Ok(ReloadableTls {
            files,
            current: RwLock::new(Arc::new(config)),
        })
    }

    /// Re-reads the files; new handshakes use them from now on. When a file is unusable the
    /// configuration in force stays (the error says which file and why).
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

fn certs(path: &Path, what: &str) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading TLS {what} {}", path.display()))?;
    if certs.is_empty() {
        bail!("TLS {what} {}: no PEM certificate in it", path.display());
    }
    Ok(certs)
}

/// The rustls configuration of `files`, as tonic builds it: HTTP/2 by ALPN, client
/// certificates required and checked against the CA when one is given.
fn server_config(files: &TlsFiles) -> anyhow::Result<ServerConfig> {
    let chain = certs(&files.cert, "certificate")?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading TLS key {}", files.key.display()))?;
    let builder = ServerConfig::builder();
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs(ca, "client CA")? {
                roots
                    .add(c)
                    .with_context(|| format!("TLS client CA {}", ca.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder(roots.into())
                .build()
                .with_context(|| format!("TLS client CA {}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key).with_context(|| {
        format!(
            "TLS certificate {} with key {}",
            files.cert.display(),
            files.key.display()
        )
    })?;
    config.alpn_protocols.push(b"h2".to_vec());
    Ok(config)
}

/// The TLS connections of `listener`, for tonic's `serve_with_incoming_shutdown`. Each
/// handshake runs in a task of its own (a slow client never holds up the next one) with the
/// configuration in force when its TCP connection arrived; failed handshakes are logged at
/// debug and dropped. Accepting stops when tonic drops the stream.
pub fn incoming(
    listener: TcpListener,
    tls: Arc<ReloadableTls>,
) -> ReceiverStream<Result<TlsStream<TcpStream>, std::io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel(ACCEPT_QUEUE);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = tx.closed() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and the like: back off a little instead of spinning.
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = tls.acceptor();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(stream)) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => debug!(%peer, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}
