//! RFC 5277 `<create-subscription>` on the NETCONF stream, and RFC 6470
//! `<netconf-config-change>` for every durable commit, whichever northbound made it (gNMI Set,
//! NETCONF, admin rollback, a confirmed commit's revert): the forwarder reads the store's
//! commit bus, which carries exactly the acknowledged commits.
//!
//! Not supported, and refused rather than ignored: filters, replay (`startTime`, `stopTime`)
//! and streams other than NETCONF. A subscriber that falls behind the commit bus (its bound,
//! 1,024 commits) has missed notifications it cannot be told about, so its session is closed.

use roxmltree::Node;
use tether_model::Schema;
use tether_store::CommitRecord;
use tether_syntax::data_path;
use tokio::sync::broadcast::error::RecvError;

use crate::error::RpcError;
use crate::framing::encode;
use crate::ops::OpResult;
use crate::session::{After, SessionCtx};
use crate::xml::{self, escape};

/// RFC 5277 notification namespace (create-subscription and `<notification>`).
pub const NOTIFICATION: &str = "urn:ietf:params:xml:ns:netconf:notification:1.0";
/// RFC 6470 ietf-netconf-notifications.
pub const NETCONF_NOTIFICATIONS: &str = "urn:ietf:params:xml:ns:yang:ietf-netconf-notifications";

/// create-subscription: starts forwarding config-change notifications to this session.
pub(crate) fn create_subscription(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    let err = |tag, msg: String, at: &str| {
        vec![RpcError::protocol(tag, msg).with_path(format!("/rpc/create-subscription/{at}"))]
    };
    for c in xml::elements(op) {
        let name = c.tag_name().name();
        if c.tag_name().namespace() != Some(NOTIFICATION) {
            return Err(err("unknown-element", format!("no parameter {name}"), name));
        }
        match name {
            "stream" => {
                let s = c.text().unwrap_or("").trim();
                if s != "NETCONF" {
                    return Err(err(
                        "invalid-value",
                        "the only stream is NETCONF".into(),
                        "stream",
                    ));
                }
            }
            "filter" | "startTime" | "stopTime" => {
                return Err(err(
                    "operation-not-supported",
                    format!("{name} is not supported (no filters, no replay)"),
                    name,
                ));
            }
            _ => return Err(err("unknown-element", format!("no parameter {name}"), name)),
        }
    }
    if ctx.subscription.is_some() {
        return Err(vec![RpcError::protocol(
            "operation-failed",
            "this session already has a subscription (RFC 5277 §2.1.1)",
        )]);
    }
    let mut bus = ctx.shared.store.subscribe();
    let out = ctx.out.clone();
    let framing = ctx.framing;
    let shared = std::sync::Arc::clone(&ctx.shared);
    let id = ctx.id;
    ctx.subscription = Some(tokio::spawn(async move {
        loop {
            match bus.recv().await {
                Ok(rec) => {
                    let xml = config_change(shared.schema, &rec);
                    if out.send(encode(framing, xml.as_bytes())).await.is_err() {
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        session = id,
                        missed = n,
                        "NETCONF subscriber too slow: closing its session"
                    );
                    if let Some(s) = shared
                        .sessions
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get(&id)
                    {
                        let _ = s.kill.send(true);
                    }
                    break;
                }
                Err(RecvError::Closed) => break,
            }
        }
    }));
    Ok(("<ok/>".into(), After::Continue))
}

/// The `<notification>` of one commit.
pub(crate) fn config_change(schema: &'static Schema, rec: &CommitRecord) -> String {
    let time = tether_syntax::time::rfc3339(rec.time_ns);
    let edits: String = rec
        .changes
        .iter()
        .map(|c| {
            let operation = match (&c.old, &c.new) {
                (None, _) => "create",
                (_, None) => "delete",
                _ => "replace",
            };
            format!(
                "<edit>{}<operation>{operation}</operation></edit>",
                target(schema, &c.path)
            )
        })
        .collect();
    format!(
        "<notification xmlns=\"{NOTIFICATION}\"><eventTime>{time}</eventTime>\
         <netconf-config-change xmlns=\"{NETCONF_NOTIFICATIONS}\"><changed-by>{}</changed-by>\
         <datastore>running</datastore>{edits}</netconf-config-change></notification>",
        changed_by(rec)
    )
}

/// RFC 6470 changed-by: the server itself (a confirmed commit's timeout or boot revert), or
/// the user with the NETCONF session id (0 for gNMI and the admin service, which have no
/// sessions) and the peer address when known.
fn changed_by(rec: &CommitRecord) -> String {
    let m = &rec.meta;
    if m.user == "tetherd" && m.client == "confirmed-commit" {
        return "<server/>".into();
    }
    let (session, peer) = match m.client.strip_prefix("netconf:") {
        Some(rest) => {
            let (id, peer) = rest.split_once('@').unwrap_or((rest, ""));
            (id.parse::<u32>().unwrap_or(0), peer)
        }
        None => (0, m.client.as_str()),
    };
    let host = peer
        .parse::<std::net::SocketAddr>()
        .map(|a| format!("<source-host>{}</source-host>", a.ip()))
        .unwrap_or_default();
    format!(
        "<username>{}</username><session-id>{session}</session-id>{host}",
        escape(&m.user)
    )
}

/// A data path as an XML instance-identifier: every node and key qualified with its module
/// name as the XML prefix, each prefix declared on the element.
fn target(schema: &'static Schema, path: &str) -> String {
    let mut module = "";
    let mut used: Vec<&str> = Vec::new();
    let mut text = String::new();
    for seg in data_path::parse(path) {
        if let Some(m) = seg.module {
            module = m;
        }
        if !used.contains(&module) {
            used.push(module);
        }
        text.push_str(&format!("/{module}:{}", seg.name));
        for (k, v) in &seg.keys {
            text.push_str(&format!("[{module}:{k}={}]", data_path::quote(v)));
        }
    }
    let decls: String = used
        .iter()
        .map(|m| {
            let ns = schema
                .modules()
                .iter()
                .chain(schema.deviations())
                .find(|i| i.name == *m)
                .map_or_else(
                    || format!("urn:tether:yang:{m}"),
                    |i| i.namespace.to_string(),
                );
            format!(" xmlns:{m}=\"{}\"", escape(&ns))
        })
        .collect();
    format!("<target{decls}>{}</target>", escape(&text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_model::{LeafChange, SchemaOptions};
    use tether_store::CommitMeta;

    #[test]
    fn a_commit_as_netconf_config_change() {
        let schema = Schema::load(SchemaOptions { simulation: true })
            .unwrap_or_else(|e| panic!("schema: {e}"));
        let g = "/tether-link-state:link-state/groups/group[id='5']";
        let rec = CommitRecord {
            id: 3,
            time_ns: 1_700_000_000_000_000_000,
            meta: CommitMeta {
                user: "alice".into(),
                client: "netconf:4@127.0.0.1:5555".into(),
                ..Default::default()
            },
            changes: vec![
                LeafChange {
                    path: format!("{g}/config/description"),
                    old: None,
                    new: Some("five".into()),
                },
                LeafChange {
                    path: format!("{g}/config/up-delay"),
                    old: Some("1".into()),
                    new: None,
                },
            ],
        };
        let xml = config_change(schema, &rec);
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        let n = doc.root_element();
        assert_eq!(n.tag_name().namespace(), Some(NOTIFICATION));
        assert!(xml.contains("<eventTime>2023-11-14T22:13:20"), "{xml}");
        assert!(xml.contains("<username>alice</username><session-id>4</session-id><source-host>127.0.0.1</source-host>"), "{xml}");
        assert!(
            xml.contains("xmlns:tether-link-state=\"urn:tether:yang:tether-link-state\""),
            "{xml}"
        );
        assert!(xml.contains("/tether-link-state:link-state/tether-link-state:groups/tether-link-state:group[tether-link-state:id=&apos;5&apos;]/tether-link-state:config/tether-link-state:description</target><operation>create</operation>"), "{xml}");
        assert!(xml.contains("<operation>delete</operation>"), "{xml}");
        let server = CommitRecord {
            meta: CommitMeta {
                user: "tetherd".into(),
                client: "confirmed-commit".into(),
                ..Default::default()
            },
            ..rec.clone()
        };
        assert!(config_change(schema, &server).contains("<changed-by><server/></changed-by>"));
        let gnmi = CommitRecord {
            meta: CommitMeta {
                user: "bob".into(),
                client: "[::1]:40000".into(),
                ..Default::default()
            },
            ..rec
        };
        assert!(config_change(schema, &gnmi).contains(
            "<username>bob</username><session-id>0</session-id><source-host>::1</source-host>"
        ));
    }
}
