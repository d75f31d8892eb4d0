//! TLS and mutual TLS for the gNMI server, from PEM files.

use std::path::{Path, PathBuf};

use thiserror::Error;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// The PEM files of the server's TLS setup.
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

/// A TLS file could not be read.
#[derive(Debug, Error)]
#[error("reading TLS {what} {path}: {source}")]
pub struct TlsError {
    what: &'static str,
    path: String,
    source: std::io::Error,
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError {
        what,
        path: path.display().to_string(),
        source,
    })
}

impl TlsFiles {
    /// The tonic server TLS configuration.
    pub fn server_config(&self) -> Result<ServerTlsConfig, TlsError> {
        let cert = read("certificate", &self.cert)?;
        let key = read("key", &self.key)?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca) = &self.client_ca {
            config = config.client_ca_root(Certificate::from_pem(read("client CA", ca)?));
        }
        Ok(config)
    }
}
