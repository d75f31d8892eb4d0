//! A minimal NETCONF-over-SSH client for the integration tests (russh client, base:1.0
//! end-of-message framing): enough to drive tetherd's NETCONF beside gNMI in one test.

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use russh::ChannelMsg;
use russh::client::{self, Handle};
use russh::keys::PublicKeyOrCertificate;

struct AcceptAnyHostKey;

impl client::Handler for AcceptAnyHostKey {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        _key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// The NETCONF address `d` logged (`NETCONF over SSH serving on ADDR`).
pub async fn address(d: &super::Daemon) -> String {
    const SERVING: &str = "NETCONF over SSH serving on ";
    let line = d.wait_log(SERVING, 1).await.remove(0);
    let at = line.find(SERVING).unwrap() + SERVING.len();
    line[at..].split_whitespace().next().unwrap().to_string()
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
        let config = Arc::new(client::Config::default());
        let mut ssh = client::connect(config, addr, AcceptAnyHostKey)
            .await
            .unwrap();
        let auth = ssh.authenticate_password("admin", "x").await.unwrap();
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
            .split("<session-id>")
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
        loop {
            if let Some(i) = self.buf.windows(EOM.len()).position(|w| w == EOM) {
                let msg: Vec<u8> = self.buf.drain(..i + EOM.len()).take(i).collect();
                return String::from_utf8(msg).unwrap();
            }
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
        r.split("<error-tag>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_else(|| panic!("{op}: expected an rpc-error, got {r}"))
            .to_string()
    }
}
