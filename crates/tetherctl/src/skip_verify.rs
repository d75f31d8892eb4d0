//! `--skip-verify`: TLS that does not check tetherd's certificate, as gnmic's flag (Go's
//! `InsecureSkipVerify`): the chain and the name are not checked, the handshake signature
//! still is, so the session is encrypted to whoever holds the key of the certificate shown.
//!
//! tonic's `ClientTlsConfig` always verifies, so this is a connector of its own: TCP, then
//! tokio-rustls (the TLS stack tonic already uses, on ring) with a verifier that accepts any
//! certificate, ALPN `h2` as gRPC needs.

use std::sync::Arc;

use anyhow::{Context, Result};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{self, CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint, Uri};

/// Accepts every certificate; checks the handshake signatures with the provider's algorithms.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The TLS client configuration: any server certificate, the client certificate and key
/// (PEM) for mutual TLS when given.
fn config(identity: Option<(&[u8], &[u8])>) -> Result<ClientConfig> {
    let provider = Arc::new(crypto::ring::default_provider());
    let verifier = Arc::new(AnyCertificate(provider.signature_verification_algorithms));
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider) as Arc<CryptoProvider>)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .context("--tls-cert: not a PEM certificate")?;
            let key =
                PrivateKeyDer::from_pem_slice(key).context("--tls-key: not a PEM private key")?;
            builder
                .with_client_auth_cert(chain, key)
                .context("--tls-cert/--tls-key")?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// A channel to `endpoint` (built on an `http://` URI: TLS is this connector's) over TLS with
/// no certificate check, the SNI name `server_name`.
pub async fn connect(
    endpoint: Endpoint,
    server_name: String,
    identity: Option<(&[u8], &[u8])>,
) -> Result<Channel> {
    let tls = TlsConnector::from(Arc::new(config(identity)?));
    let name = ServerName::try_from(server_name.clone())
        .with_context(|| format!("{server_name:?} is not a TLS server name"))?;
    let connector = tower::service_fn(move |uri: Uri| {
        let tls = tls.clone();
        let name = name.clone();
        async move {
            let host = uri
                .host()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_string();
            let port = uri.port_u16().unwrap_or(crate::cli::DEFAULT_PORT);
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let stream = tls.connect(name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(stream))
        }
    });
    Ok(endpoint.connect_with_connector(connector).await?)
}
