//! `<action>` (RFC 7950 §7.15.2): the node the action belongs to, written as the path of
//! elements down to it, with the action element inside. Tether's one action is link state
//! tracking's manual recovery, `/link-state/groups/group[id]/clear`; the element names and the
//! namespace come from the generated schema, and the work is done by the daemon's
//! [`tether_model::Actions`] (the worker), the same one the admin gRPC service calls.

use roxmltree::Node;
use tether_model::tether_link_state::link_state::groups::group;
use tether_model::{ActionError, tether_link_state};

use crate::error::RpcError;
use crate::ops::OpResult;
use crate::session::{After, SessionCtx};
use crate::xml::{self, escape};

/// RFC 7950's namespace of the `<action>` element.
pub(crate) const YANG: &str = "urn:ietf:params:xml:ns:yang:1";

fn one(e: RpcError) -> Vec<RpcError> {
    vec![e]
}

/// The names of the elements from the top down to a schema path's node (a schema path has no
/// predicates; module prefixes dropped).
fn segments(path: &'static str) -> Vec<&'static str> {
    (path.split('/').filter(|s| !s.is_empty()))
        .map(|s| s.rsplit(':').next().unwrap_or(s))
        .collect()
}

pub(crate) async fn action(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(one)?;
    let Some(actions) = ctx.shared.options.actions.clone() else {
        return Err(one(RpcError::protocol(
            "operation-not-supported",
            "this server performs no actions",
        )));
    };
    let ns = tether_link_state::NAMESPACE;
    let mut node = op;
    let mut at = String::from("/rpc/action");
    for name in segments(group::PATH) {
        node = xml::child(node, ns, name).ok_or_else(|| {
            one(RpcError::protocol(
                "unknown-element",
                format!("no action is known under {at} (want {name} in {ns})"),
            )
            .with_path(at.clone()))
        })?;
        at = format!("{at}/{name}");
    }
    let key = group::KEYS.first().copied().unwrap_or("id");
    let id_text = (xml::child(node, ns, key))
        .map(|k| k.text().unwrap_or("").trim().to_string())
        .ok_or_else(|| {
            one(
                RpcError::protocol("missing-element", format!("the group's {key} is required"))
                    .with_path(format!("{at}/{key}")),
            )
        })?;
    let id: u16 = (id_text.parse().ok())
        .filter(|id| (1..=4096).contains(id))
        .ok_or_else(|| {
            one(RpcError::application(
                "invalid-value",
                format!(
                    "{key} {:?} is not a group id (1..4096)",
                    crate::error::cap(&id_text, 64)
                ),
            )
            .with_path(format!("{at}/{key}")))
        })?;
    let entry = group::entry(id);
    if xml::child(node, ns, group::ACTION_CLEAR).is_none() {
        return Err(one(RpcError::protocol(
            "unknown-element",
            format!(
                "no action under {entry} (the group has {})",
                group::ACTION_CLEAR
            ),
        )
        .with_path(entry)));
    }
    match actions.clear_link_state_group(id).await {
        Ok(enabled) if enabled.is_empty() => Ok(("<ok/>".into(), After::Continue)),
        Ok(enabled) => {
            let body: String = (enabled.iter())
                .map(|name| format!("<enabled xmlns=\"{ns}\">{}</enabled>", escape(name)))
                .collect();
            Ok((body, After::Continue))
        }
        Err(e @ ActionError::NoSuchGroup(_)) => {
            Err(one(
                RpcError::application("data-missing", e.to_string()).with_path(entry)
            ))
        }
        Err(e @ ActionError::Unavailable(_)) => Err(one(RpcError::application(
            "operation-failed",
            e.to_string(),
        ))),
    }
}
