//! One NETCONF session over any byte stream (an SSH channel in production, a pipe in tests):
//! the hello exchange, framing, one rpc at a time, and the session's end (its locks die with
//! it, its candidate changes are discarded when it held the candidate lock).

use std::sync::Arc;

use tether_auth::Identity;
use tether_store::Datastore;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, info, info_span};

use crate::capabilities;
use crate::error::RpcError;
use crate::framing::{Decoder, Framing, encode};
use crate::server::Shared;
use crate::xml::{self, NC};

/// Messages queued for the writer (replies and notifications) before the reader waits.
const OUTBOX: usize = 64;

/// What an rpc handler may do to the session besides answering.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) enum After {
    #[default]
    Continue,
    /// close-session: send the reply, then end.
    Close,
}

/// A session's own state, handed to the operations.
pub(crate) struct SessionCtx {
    pub shared: Arc<Shared>,
    pub id: u32,
    pub identity: Identity,
    pub peer: String,
    pub framing: Framing,
    pub out: mpsc::Sender<Vec<u8>>,
    /// The notification forwarder, once create-subscription succeeded.
    pub subscription: Option<tokio::task::JoinHandle<()>>,
}

impl SessionCtx {
    /// "NETCONF session 3 (user alice)": how lock refusals name this session.
    pub fn owner(&self) -> String {
        format!("NETCONF session {} (user {})", self.id, self.identity.user)
    }

    pub fn require_write(&self) -> Result<(), RpcError> {
        if self.identity.may_write() {
            Ok(())
        } else {
            Err(RpcError::access_denied(format!(
                "user {} is read-only",
                self.identity.user
            )))
        }
    }
}

/// Runs a session to its end.
pub(crate) async fn run<S>(
    shared: Arc<Shared>,
    stream: S,
    id: u32,
    identity: Identity,
    peer: String,
    mut kill: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let span = info_span!("netconf.session", session = id, user = %identity.user, %peer);
    async move {
        info!("NETCONF session started");
        let (mut rd, mut wr) = tokio::io::split(stream);
        let (out, mut outbox) = mpsc::channel::<Vec<u8>>(OUTBOX);
        let writer = tokio::spawn(async move {
            while let Some(bytes) = outbox.recv().await {
                if wr.write_all(&bytes).await.is_err() || wr.flush().await.is_err() {
                    break;
                }
            }
            let _ = wr.shutdown().await;
        });
        let mut ctx = SessionCtx {
            shared: Arc::clone(&shared),
            id,
            identity,
            peer,
            framing: Framing::EndOfMessage,
            out,
            subscription: None,
        };
        let hello = capabilities::server_hello(shared.schema, id);
        let _ = ctx
            .out
            .send(encode(Framing::EndOfMessage, hello.as_bytes()))
            .await;
        let mut decoder = Decoder::new(shared.options.max_message);
        let mut buf = vec![0u8; 64 * 1024];
        let mut greeted = false;
        'session: loop {
            loop {
                let msg = match decoder.next_message() {
                    Ok(Some(m)) => m,
                    Ok(None) => break,
                    Err(e) => {
                        info!("closing the session: {e}");
                        if ctx.framing == Framing::Chunked || greeted {
                            let err = RpcError::malformed(e.to_string());
                            let _ = ctx
                                .out
                                .send(encode(ctx.framing, reply_error(None, &[err]).as_bytes()))
                                .await;
                        }
                        break 'session;
                    }
                };
                if !greeted {
                    match capabilities::client_hello(&msg) {
                        Ok(framing) => {
                            greeted = true;
                            ctx.framing = framing;
                            decoder.set_framing(framing);
                            debug!(?framing, "hello exchanged");
                            continue;
                        }
                        Err(e) => {
                            info!("closing the session: bad hello: {e}");
                            break 'session;
                        }
                    }
                }
                let (reply, after) = handle(&mut ctx, &msg).await;
                if ctx
                    .out
                    .send(encode(ctx.framing, reply.as_bytes()))
                    .await
                    .is_err()
                {
                    break 'session;
                }
                if after == After::Close {
                    break 'session;
                }
            }
            tokio::select! {
                n = rd.read(&mut buf) => match n {
                    Ok(0) | Err(_) => break,
                    Ok(n) => decoder.push(&buf[..n]),
                },
                _ = kill.changed() => {
                    info!("session killed");
                    break;
                }
            }
        }
        end(&mut ctx).await;
        drop(ctx);
        let _ = writer.await;
        info!("NETCONF session ended");
    }
    .instrument(span)
    .await;
}

/// The session's end: its subscription stops, its locks die, a candidate it locked is
/// discarded (RFC 6241 §7.5: changes under a lock that is lost are discarded), and a
/// confirmed commit it made without persist is reverted (§8.4.1).
async fn end(ctx: &mut SessionCtx) {
    if let Some(t) = ctx.subscription.take() {
        t.abort();
    }
    let held_candidate = ctx
        .shared
        .locks
        .holder(Datastore::Candidate)
        .is_some_and(|h| h.session == ctx.id);
    if held_candidate {
        *ctx.shared.candidate().await = None;
    }
    crate::confirmed::session_ended(&ctx.shared, ctx.id, &ctx.identity.user).await;
    ctx.shared.unregister(ctx.id);
}

/// One message: parse the `<rpc>`, run its operation, build the `<rpc-reply>`.
async fn handle(ctx: &mut SessionCtx, msg: &[u8]) -> (String, After) {
    let Ok(text) = std::str::from_utf8(msg) else {
        return (
            reply_error(None, &[RpcError::malformed("the message is not UTF-8")]),
            After::Continue,
        );
    };
    let doc = match xml::parse(text) {
        Ok(d) => d,
        Err(e) => return (reply_error(None, &[e]), After::Continue),
    };
    let rpc = doc.root_element();
    if rpc.tag_name().name() != "rpc" || rpc.tag_name().namespace() != Some(NC) {
        let e = RpcError::protocol("unknown-element", "expected <rpc> in the base namespace")
            .with_path(format!("/{}", rpc.tag_name().name()));
        return (reply_error(None, &[e]), After::Continue);
    }
    let attrs = reply_attributes(rpc);
    if rpc.attribute("message-id").is_none() {
        let mut e = RpcError::rpc_missing_attribute("message-id", "rpc");
        e.path = Some("/rpc".into());
        return (reply_error(Some(&attrs), &[e]), After::Continue);
    }
    let Some(op) = xml::elements(rpc).next() else {
        let e = RpcError::protocol("missing-element", "the rpc names no operation");
        return (reply_error(Some(&attrs), &[e]), After::Continue);
    };
    let name = op.tag_name().name().to_string();
    let span = info_span!("netconf.rpc", op = %name);
    let result = crate::ops::dispatch(ctx, op).instrument(span).await;
    match result {
        Ok((body, after)) => (format!("<rpc-reply {attrs}>{body}</rpc-reply>"), after),
        Err(errs) => (reply_error(Some(&attrs), &errs), After::Continue),
    }
}

/// The rpc's attributes, copied to the reply as RFC 6241 §4.2 asks, with the base namespace.
fn reply_attributes(rpc: roxmltree::Node<'_, '_>) -> String {
    let mut out = format!("xmlns=\"{NC}\"");
    for a in rpc.attributes() {
        if a.namespace().is_none() {
            out.push_str(&format!(" {}=\"{}\"", a.name(), xml::escape(a.value())));
        }
    }
    out
}

pub(crate) fn reply_error(attrs: Option<&str>, errs: &[RpcError]) -> String {
    let attrs = attrs.map_or_else(|| format!("xmlns=\"{NC}\""), str::to_string);
    let body: String = errs.iter().map(RpcError::to_xml).collect();
    format!("<rpc-reply {attrs}>{body}</rpc-reply>")
}
