//! `<commit>` and `<cancel-commit>` with `:confirmed-commit:1.1` (RFC 6241 §8.3.4.1, §8.4):
//! the parameters as the store's confirmed-commit engine takes them
//! (`tether_store::ConfirmedRequest`). The rules (who may confirm, one pending commit for
//! the device, revert on timeout, on the session's end and at boot) are the engine's, shared
//! with the gNMI Commit extension; this file only translates.

use std::time::Duration;

use roxmltree::Node;
use serde_json::Value;
use tether_model::Edit;
use tether_store::{Caller, ConfirmKey, ConfirmedAction, ConfirmedRequest, Datastore};

use crate::error::{RpcError, from_model, from_store};
use crate::ops::{OpResult, check_lock, meta};
use crate::session::{After, SessionCtx};
use crate::xml::{self, NC};

/// RFC 6241 §8.4.5.1: the confirm-timeout when none is given (seconds).
pub const DEFAULT_CONFIRM_TIMEOUT: u32 = 600;

/// What a `<commit>` carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitParams {
    pub confirmed: bool,
    pub timeout: Duration,
    pub persist: Option<String>,
    pub persist_id: Option<String>,
}

fn bad(which: &str, message: impl Into<String>) -> RpcError {
    RpcError::protocol("invalid-value", message).with_path(format!("/rpc/commit/{which}"))
}

/// Parses `<commit>`'s parameters. confirm-timeout and persist belong to a confirmed commit:
/// given without `<confirmed/>` they are refused rather than ignored.
pub(crate) fn params(op: Node<'_, '_>) -> Result<CommitParams, RpcError> {
    for c in xml::elements(op) {
        let known = c.tag_name().namespace() == Some(NC)
            && matches!(
                c.tag_name().name(),
                "confirmed" | "confirm-timeout" | "persist" | "persist-id"
            );
        if !known {
            return Err(RpcError::protocol(
                "unknown-element",
                format!("<commit> has no parameter {}", c.tag_name().name()),
            )
            .with_path(format!("/rpc/commit/{}", c.tag_name().name())));
        }
    }
    let confirmed = xml::child(op, NC, "confirmed").is_some();
    let timeout = match xml::child_text(op, "confirm-timeout") {
        None => DEFAULT_CONFIRM_TIMEOUT,
        Some(t) => match t.parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(bad(
                    "confirm-timeout",
                    "confirm-timeout is a number of seconds from 1 to 4294967295",
                ));
            }
        },
    };
    let persist = xml::child_text(op, "persist");
    let persist_id = xml::child_text(op, "persist-id");
    if !confirmed {
        for (given, which) in [
            (
                xml::child(op, NC, "confirm-timeout").is_some(),
                "confirm-timeout",
            ),
            (persist.is_some(), "persist"),
        ] {
            if given {
                return Err(bad(
                    which,
                    format!("{which} is a parameter of a confirmed commit: add <confirmed/>"),
                ));
            }
        }
    }
    Ok(CommitParams {
        confirmed,
        timeout: Duration::from_secs(u64::from(timeout)),
        persist,
        persist_id,
    })
}

/// The candidate as edits replacing running (none when it equals running).
fn candidate_edits(tree: Option<&tether_model::ConfigTree>) -> Result<Vec<Edit>, Vec<RpcError>> {
    let Some(tree) = tree else {
        return Ok(Vec::new());
    };
    let json = tree.to_json(false).map_err(|e| from_model(&e))?;
    let v: Value = serde_json::from_str(&json)
        .map_err(|e| vec![RpcError::application("operation-failed", e.to_string())])?;
    Ok(vec![Edit::replace("/", v)])
}

/// commit (RFC 6241 §8.3.4.1, §8.4.5.1): the candidate becomes running. With `<confirmed/>`
/// it is a confirmed commit (new, or a follow-up that restarts the timer); without, it
/// confirms a pending one (same session, or its persist-id) and commits either way.
pub(crate) async fn commit(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(|e| vec![e])?;
    let p = params(op).map_err(|e| vec![e])?;
    check_lock(ctx, Datastore::Running).map_err(|e| vec![e])?;
    let mut cand = ctx.shared.candidate().await;
    let edits = candidate_edits(cand.as_ref())?;
    let caller = Caller {
        session: Some(ctx.id),
        id: p.persist_id.clone(),
    };
    let action = if p.confirmed {
        ConfirmedAction::Commit {
            edits,
            timeout: p.timeout,
            key: match p.persist {
                Some(token) => ConfirmKey::Id(token),
                None => ConfirmKey::Session(ctx.id),
            },
            follow_up: true,
        }
    } else {
        ConfirmedAction::Confirm {
            edits,
            // A persist-id names a pending persistent commit: with none pending it is an error.
            or_commit: p.persist_id.is_none(),
        }
    };
    let comment = if p.confirmed {
        None
    } else {
        Some("netconf commit".to_string())
    };
    ctx.shared
        .store
        .confirmed(ConfirmedRequest { action, caller }, meta(ctx, comment))
        .wait()
        .await
        .map_err(|e| from_store(&e))?;
    *cand = None;
    Ok(("<ok/>".into(), After::Continue))
}

/// cancel-commit (RFC 6241 §8.4.4.1): reverts the pending confirmed commit now. Without
/// persist-id only the session that made it may; with it, the commit made with that persist.
pub(crate) async fn cancel_commit(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(|e| vec![e])?;
    if let Some(c) = xml::elements(op)
        .find(|c| c.tag_name().namespace() != Some(NC) || c.tag_name().name() != "persist-id")
    {
        return Err(vec![
            RpcError::protocol(
                "unknown-element",
                format!("<cancel-commit> has no parameter {}", c.tag_name().name()),
            )
            .with_path(format!("/rpc/cancel-commit/{}", c.tag_name().name())),
        ]);
    }
    let caller = Caller {
        session: Some(ctx.id),
        id: xml::child_text(op, "persist-id"),
    };
    ctx.shared
        .store
        .confirmed(
            ConfirmedRequest {
                action: ConfirmedAction::Cancel,
                caller,
            },
            meta(ctx, None),
        )
        .wait()
        .await
        .map_err(|e| from_store(&e))?;
    Ok(("<ok/>".into(), After::Continue))
}

/// The session ended (close, kill, drop): a confirmed commit it made without persist is
/// reverted (RFC 6241 §8.4.1, §7.9).
pub(crate) async fn session_ended(shared: &crate::server::Shared, session: u32, user: &str) {
    let meta = tether_store::CommitMeta {
        user: user.to_string(),
        client: format!("netconf:{session}"),
        comment: None,
        traceparent: None,
    };
    let ended = shared
        .store
        .confirmed(
            ConfirmedRequest {
                action: ConfirmedAction::SessionEnded,
                caller: Caller {
                    session: Some(session),
                    id: None,
                },
            },
            meta,
        )
        .wait()
        .await;
    if let Err(e) = ended {
        tracing::warn!(session, error = %e, "could not revert the ended session's confirmed commit (boot will)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> Result<CommitParams, RpcError> {
        let text = format!("<commit xmlns=\"{NC}\">{body}</commit>");
        let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        params(doc.root_element())
    }

    #[test]
    fn commit_parameters() {
        let p = parse("").unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!p.confirmed && p.persist.is_none() && p.persist_id.is_none());
        let p = parse("<confirmed/><confirm-timeout>5</confirm-timeout><persist>x</persist>")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (p.confirmed, p.timeout, p.persist.as_deref()),
            (true, Duration::from_secs(5), Some("x"))
        );
        let p = parse("<confirmed/>").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.timeout, Duration::from_secs(600));
        let p = parse("<persist-id>x</persist-id>").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.persist_id.as_deref(), Some("x"));
        for (body, tag) in [
            (
                "<confirmed/><confirm-timeout>0</confirm-timeout>",
                "invalid-value",
            ),
            (
                "<confirmed/><confirm-timeout>x</confirm-timeout>",
                "invalid-value",
            ),
            (
                "<confirmed/><confirm-timeout>4294967296</confirm-timeout>",
                "invalid-value",
            ),
            ("<confirm-timeout>5</confirm-timeout>", "invalid-value"),
            ("<persist>x</persist>", "invalid-value"),
            ("<confirmed/><bogus/>", "unknown-element"),
        ] {
            assert_eq!(parse(body).map_err(|e| e.tag), Err(tag), "{body}");
        }
    }
}
