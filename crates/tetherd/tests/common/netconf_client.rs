//! A minimal NETCONF-over-SSH client (russh client, base:1.0 end-of-message framing), shared
//! by the integration tests (`common::netconf`) and the NETCONF benchmark
//! (`benches/netconf.rs`, which includes this file by path): enough to drive tetherd — or
//! another NETCONF server, such as netopeer2 for the side-by-side numbers — beside gNMI.
//! It knows no tetherd process, so a benchmark can point it at any address.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};

pub struct AcceptAnyHostKey;

impl client::Handler for AcceptAnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// How a session logs in.
#[derive(Debug, Clone)]
pub enum Login {
    Password {
        user: String,
        password: String,
    },
    /// An OpenSSH private key file (no passphrase).
    Key {
        user: String,
        key: PathBuf,
    },
}

impl Default for Login {
    /// What loopback tetherd without `--users` accepts: any name and password.
    fn default() -> Self {
        Login::Password {
            user: "admin".into(),
            password: "x".into(),
        }
    }
}

/// One NETCONF session.
pub struct Netconf {
    _ssh: Handle<AcceptAnyHostKey>,
    channel: russh::Channel<client::Msg>,
    buf: Vec<u8>,
    next_id: u32,
    /// The session id from the server's hello.
    pub session_id: u32,
}

const EOM: &[u8] = b"]]>]]>";
const HELLO: &str = "<hello xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\"><capabilities>\
    <capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>";

impl Netconf {
    /// Connects, logs in (any name and password: tetherd without --users on loopback) and
    /// exchanges hellos.
    pub async fn connect(addr: &str) -> Netconf {
        Netconf::connect_with(addr, &Login::default()).await
    }

    /// Connects, logs in with `login`, opens the `netconf` subsystem and exchanges hellos:
    /// when this returns, the server's hello has been read and ours sent.
    pub async fn connect_with(addr: &str, login: &Login) -> Netconf {
        let config = Arc::new(client::Config {
            nodelay: true,
            ..Default::default()
        });
        let mut ssh = client::connect(config, addr, AcceptAnyHostKey)
            .await
            .unwrap();
        let auth = match login {
            Login::Password { user, password } => {
                ssh.authenticate_password(user, password).await.unwrap()
            }
            Login::Key { user, key } => {
                let key = russh::keys::load_secret_key(key, None).unwrap();
                let hash = ssh.best_supported_rsa_hash().await.unwrap().flatten();
                ssh.authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                    .await
                    .unwrap()
            }
        };
        assert!(auth.success(), "NETCONF login refused");
        let channel = ssh.channel_open_session().await.unwrap();
        channel.request_subsystem(true, "netconf").await.unwrap();
        let mut nc = Netconf {
            _ssh: ssh,
            channel,
            buf: Vec::new(),
            next_id: 1,
            session_id: 0,
        };
        let hello = nc.read_message().await;
        let id = hello
            .split("session-id>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .and_then(|s| s.trim().parse().ok())
            .unwrap();
        nc.session_id = id;
        nc.send(HELLO).await;
        nc
    }

    async fn send(&mut self, xml: &str) {
        let mut bytes = xml.as_bytes().to_vec();
        bytes.extend_from_slice(EOM);
        self.channel.data(&bytes[..]).await.unwrap();
    }

    async fn read_message(&mut self) -> String {
        let mut searched = 0;
        loop {
            if let Some(i) = self.buf[searched..]
                .windows(EOM.len())
                .position(|w| w == EOM)
                .map(|i| i + searched)
            {
                let msg: Vec<u8> = self.buf.drain(..i + EOM.len()).take(i).collect();
                return String::from_utf8(msg).unwrap();
            }
            searched = self.buf.len().saturating_sub(EOM.len() - 1);
            match self.channel.wait().await {
                Some(ChannelMsg::Data { data }) => self.buf.extend_from_slice(&data),
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                    panic!("the NETCONF session ended")
                }
                Some(_) => {}
            }
        }
    }

    /// Sends `<rpc>` around `op` and returns the `<rpc-reply>`.
    pub async fn rpc(&mut self, op: &str) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&format!(
            "<rpc message-id=\"{id}\" xmlns=\"urn:ietf:params:xml:ns:netconf:base:1.0\">{op}</rpc>"
        ))
        .await;
        self.read_message().await
    }

    /// An rpc that must succeed.
    pub async fn ok(&mut self, op: &str) {
        let r = self.rpc(op).await;
        assert!(r.contains("<ok/>"), "{op}: {r}");
    }

    /// An rpc that must fail; its error-tag.
    pub async fn error_tag(&mut self, op: &str) -> String {
        let r = self.rpc(op).await;
        r.split("error-tag>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_else(|| panic!("{op}: expected an rpc-error, got {r}"))
            .to_string()
    }

    /// close-session, then waits for the server to end the channel.
    pub async fn close(mut self) {
        self.ok("<close-session/>").await;
        let _ = self.channel.eof().await;
        while let Some(m) = self.channel.wait().await {
            if matches!(m, ChannelMsg::Close) {
                break;
            }
        }
    }
}
