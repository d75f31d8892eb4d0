//! SSH transport (RFC 6242) with russh: the host key kept in the data directory, password
//! and public-key authentication against the shared users file, and the `netconf`
//! subsystem, whose channel becomes one NETCONF session.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tether_auth::Identity;
use tracing::{debug, info};

use crate::server::{NetconfError, NetconfOptions, Shared};

/// The russh configuration: our host key, password and public-key methods.
pub(crate) fn config(options: &NetconfOptions) -> Result<russh::server::Config, NetconfError> {
    let key = host_key(&options.host_key)?;
    Ok(russh::server::Config {
        server_id: russh::SshId::Standard("SSH-2.0-tetherd".into()),
        methods: MethodSet::from(&[MethodKind::Password, MethodKind::PublicKey][..]),
        auth_rejection_time: std::time::Duration::from_millis(300),
        auth_rejection_time_initial: Some(std::time::Duration::ZERO),
        keys: vec![key],
        inactivity_timeout: Some(options.idle_timeout),
        nodelay: true,
        ..Default::default()
    })
}

/// Loads the host key, or creates it on first start (Ed25519, OpenSSH format, mode 0600):
/// clients pin it in known_hosts, so it must survive restarts.
pub fn host_key(path: &Path) -> Result<PrivateKey, NetconfError> {
    let err = |message: String| NetconfError::HostKey {
        path: path.display().to_string(),
        message,
    };
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        return PrivateKey::from_openssh(text.as_bytes()).map_err(|e| err(e.to_string()));
    }
    let mut seed = [0u8; 32];
    {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut seed))
            .map_err(|e| err(format!("reading /dev/urandom: {e}")))?;
    }
    let pair = Ed25519Keypair::from_seed(&seed);
    let key = PrivateKey::new(KeypairData::Ed25519(pair), "tetherd netconf host key")
        .map_err(|e| err(e.to_string()))?;
    let text = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| err(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    }
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| err(e.to_string()))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| err(e.to_string()))?;
    }
    info!(path = %path.display(), fingerprint = %key.public_key().fingerprint(Default::default()), "created the NETCONF SSH host key");
    Ok(key)
}

/// One SSH connection.
pub(crate) struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    identity: Option<Identity>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl Connection {
    pub fn new(shared: Arc<Shared>, peer: SocketAddr) -> Self {
        Connection {
            shared,
            peer,
            identity: None,
            channels: HashMap::new(),
        }
    }

    fn key_identity(&self, user: &str, key: &PublicKey) -> Option<Identity> {
        let users = self.shared.options.users.as_ref()?;
        let text = key.to_openssh().ok()?;
        users.verify_key(user, &text).ok()
    }
}

impl Handler for Connection {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        let identity = match &self.shared.options.users {
            Some(users) => users
                .verify_password_from(
                    user,
                    password,
                    tether_auth::Origin::new("netconf", Some(self.peer)),
                )
                .await
                .ok(),
            // No users file: as gNMI, anyone may come in, but only from this host.
            None => self
                .peer
                .ip()
                .is_loopback()
                .then(|| Identity::anonymous(user)),
        };
        match identity {
            Some(id) => {
                self.identity = Some(id);
                Ok(Auth::Accept)
            }
            None => {
                debug!(peer = %self.peer, user, "NETCONF password refused");
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(match self.key_identity(user, offer.public_key) {
            Some(_) => Auth::Accept,
            None => Auth::reject(),
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        match self.key_identity(user, key.public_key) {
            Some(id) => {
                self.identity = Some(id);
                Ok(Auth::Accept)
            }
            None => Ok(Auth::reject()),
        }
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some(identity), true) = (self.identity.clone(), name == "netconf") else {
            return session.channel_failure(channel);
        };
        let Some(ch) = self.channels.remove(&channel) else {
            return session.channel_failure(channel);
        };
        let peer = self.peer.to_string();
        let Some((id, kill)) = self.shared.register(&identity.user, &peer) else {
            info!(
                peer,
                limit = self.shared.options.max_sessions,
                "NETCONF session refused: session limit reached"
            );
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            crate::session::run(shared, ch.into_stream(), id, identity, peer, kill).await;
        });
        Ok(())
    }
}
