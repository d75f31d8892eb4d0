//! Credentials for the tests: users files, gNMI metadata, TLS clients.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, SaltString};
use tether_proto::gnmi::g_nmi_client::GNmiClient;
use tonic::Request;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use super::Daemon;

/// The TOML of a users file with these (name, password, role) entries.
pub fn users_toml(entries: &[(&str, &str, &str)]) -> String {
    let salt = SaltString::from_b64("dGV0aGVydGVzdHNhbHQ").unwrap();
    entries
        .iter()
        .map(|(name, pw, role)| {
            let h = Argon2::default()
                .hash_password(pw.as_bytes(), &salt)
                .unwrap();
            format!("[[user]]\nname = \"{name}\"\npassword_hash = \"{h}\"\nrole = \"{role}\"\n\n")
        })
        .collect()
}

/// `msg` with gNMI's username/password metadata.
pub fn with_user<T>(msg: T, user: &str, password: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut().insert("username", user.parse().unwrap());
    r.metadata_mut()
        .insert("password", password.parse().unwrap());
    r
}

/// A TLS client of `d` for the name `localhost`, trusting `ca_pem`, presenting the client
/// certificate and key `identity` when given.
pub async fn tls_client(
    d: &Daemon,
    ca_pem: &str,
    identity: Option<(&str, &str)>,
) -> Result<GNmiClient<Channel>, tonic::transport::Error> {
    let port = d.addr.rsplit(':').next().unwrap();
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca_pem))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let channel = Channel::from_shared(format!("https://localhost:{port}"))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(GNmiClient::new(channel))
}
