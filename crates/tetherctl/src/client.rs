//! The gRPC channel to tetherd: plaintext or TLS / mutual TLS, and the `username` /
//! `password` metadata on every call.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tether_proto::admin::datastore_client::DatastoreClient;
use tether_proto::admin::link_state_client::LinkStateClient;
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tether_proto::sim::simulator_client::SimulatorClient;
use tonic::metadata::MetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use crate::cli::Connection;

/// Get responses of a large configuration exceed tonic's default 4 MiB.
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// Adds the credentials to each request.
#[derive(Clone)]
pub struct Credentials {
    username: Option<MetadataValue<tonic::metadata::Ascii>>,
    password: Option<MetadataValue<tonic::metadata::Ascii>>,
}

impl Interceptor for Credentials {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(u) = &self.username {
            request.metadata_mut().insert("username", u.clone());
        }
        if let Some(p) = &self.password {
            request.metadata_mut().insert("password", p.clone());
        }
        Ok(request)
    }
}

pub type Svc = InterceptedService<Channel, Credentials>;

/// Connected clients of the services tetherd serves on one port.
pub struct Clients {
    channel: Channel,
    credentials: Credentials,
    pub target: String,
}

impl Clients {
    pub fn gnmi(&self) -> GNmiClient<Svc> {
        GNmiClient::with_interceptor(self.channel.clone(), self.credentials.clone())
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    pub fn admin(&self) -> DatastoreClient<Svc> {
        DatastoreClient::with_interceptor(self.channel.clone(), self.credentials.clone())
            .max_decoding_message_size(MAX_MESSAGE)
    }

    /// The link-state actions (`tetherctl clear link-state group N`).
    pub fn link_state(&self) -> LinkStateClient<Svc> {
        LinkStateClient::with_interceptor(self.channel.clone(), self.credentials.clone())
    }

    pub fn simulator(&self) -> SimulatorClient<Svc> {
        SimulatorClient::with_interceptor(self.channel.clone(), self.credentials.clone())
            .max_decoding_message_size(MAX_MESSAGE)
    }
}

/// The host part of `ADDR:PORT` (`[::1]:57400` → `::1`).
pub fn host_of(target: &str) -> &str {
    if let Some(rest) = target.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match target.rsplit_once(':') {
        Some((host, _)) => host,
        None => target,
    }
}

/// Whether the target is this machine (plaintext is then the default, as tetherd binds
/// plaintext to loopback only).
pub fn is_loopback(target: &str) -> bool {
    let host = host_of(target);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether to use plaintext: `--insecure`, or a loopback target with no TLS option
/// (`--skip-verify` is one).
pub fn plaintext(c: &Connection) -> bool {
    c.insecure
        || (c.tls_ca.is_none() && c.tls_cert.is_none() && !c.skip_verify && is_loopback(&c.target))
}

fn metadata(
    what: &str,
    v: &Option<String>,
) -> Result<Option<MetadataValue<tonic::metadata::Ascii>>> {
    v.as_deref()
        .map(|s| {
            MetadataValue::try_from(s)
                .with_context(|| format!("the {what} must be printable ASCII (gRPC metadata)"))
        })
        .transpose()
}

/// Connects to tetherd.
pub async fn connect(c: &Connection) -> Result<Clients> {
    let credentials = Credentials {
        username: metadata("username", &c.username)?,
        password: metadata("password", &c.password)?,
    };
    if c.target.contains("://") {
        bail!(
            "--target is ADDR:PORT (e.g. 127.0.0.1:57400), not a URL: {}",
            c.target
        );
    }
    let plain = plaintext(c);
    let scheme = if plain { "http" } else { "https" };
    let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}", c.target))
        .with_context(|| format!("--target {} is not ADDR:PORT", c.target))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    let server_name = c
        .tls_server_name
        .clone()
        .unwrap_or_else(|| host_of(&c.target).to_string());
    if c.skip_verify {
        let identity = match (&c.tls_cert, &c.tls_key) {
            (Some(cert), Some(key)) => Some((
                std::fs::read(cert)
                    .with_context(|| format!("reading --tls-cert {}", cert.display()))?,
                std::fs::read(key)
                    .with_context(|| format!("reading --tls-key {}", key.display()))?,
            )),
            _ => None,
        };
        let endpoint = Endpoint::from_shared(format!("http://{}", c.target))
            .with_context(|| format!("--target {} is not ADDR:PORT", c.target))?
            .connect_timeout(Duration::from_secs(5));
        let ident = identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice()));
        let channel = crate::skip_verify::connect(endpoint, server_name, ident)
            .await
            .with_context(|| {
                format!(
                    "cannot reach tetherd at {} (TLS, certificate not verified); is it running with TLS?",
                    c.target
                )
            })?;
        return Ok(Clients {
            channel,
            credentials,
            target: c.target.clone(),
        });
    }
    if !plain {
        let mut tls = ClientTlsConfig::new().domain_name(server_name);
        match &c.tls_ca {
            Some(ca) => {
                let pem = std::fs::read(ca)
                    .with_context(|| format!("reading --tls-ca {}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            None => bail!(
                "{} is not a loopback address, so TLS is on: give --tls-ca FILE (the CA that \
                 signed tetherd's certificate), --skip-verify to not check it, or --insecure for \
                 a plaintext lab daemon",
                c.target
            ),
        }
        if let (Some(cert), Some(key)) = (&c.tls_cert, &c.tls_key) {
            let cert = std::fs::read(cert)
                .with_context(|| format!("reading --tls-cert {}", cert.display()))?;
            let key = std::fs::read(key)
                .with_context(|| format!("reading --tls-key {}", key.display()))?;
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        endpoint = endpoint.tls_config(tls).context("TLS configuration")?;
    }
    let channel = endpoint.connect().await.with_context(|| {
        format!(
            "cannot reach tetherd at {} ({}); is it running? (deploy/dev-run.sh starts one on 127.0.0.1:57400)",
            c.target,
            if plain { "plaintext" } else { "TLS" }
        )
    })?;
    Ok(Clients {
        channel,
        credentials,
        target: c.target.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_loopback_targets() {
        for t in [
            "127.0.0.1:57400",
            "localhost:57400",
            "[::1]:57400",
            "127.1.2.3:1",
        ] {
            assert!(is_loopback(t), "{t}");
        }
        for t in [
            "198.18.0.1:57400",
            "tether.example:57400",
            "[2001:db8::1]:57400",
        ] {
            assert!(!is_loopback(t), "{t}");
        }
        assert_eq!(host_of("[2001:db8::1]:57400"), "2001:db8::1");
        assert_eq!(host_of("tether.example:57400"), "tether.example");
    }
}
