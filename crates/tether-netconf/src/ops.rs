//! The operations (RFC 6241 §7, §8; RFC 6022 get-schema; RFC 5277 create-subscription):
//! one function each, every change through the store's commit path or the candidate.

use roxmltree::Node;
use serde_json::Value;
use tether_model::{ConfigTree, Edit, MODULES};
use tether_store::{CommitMeta, Datastore};

use crate::edit::{self, Op};
use crate::error::{RpcError, from_model, from_store};
use crate::read::{self, WithDefaults};
use crate::session::{After, SessionCtx};
use crate::xml::{self, MON, NC, escape};

pub(crate) type OpResult = Result<(String, After), Vec<RpcError>>;

fn ok() -> OpResult {
    Ok(("<ok/>".into(), After::Continue))
}

fn one(e: RpcError) -> Vec<RpcError> {
    vec![e]
}

/// Runs the operation `op` of an `<rpc>`.
pub(crate) async fn dispatch(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    let ns = op.tag_name().namespace().unwrap_or("");
    match (ns, op.tag_name().name()) {
        (NC, "get") => get(ctx, op, true),
        (NC, "get-config") => get(ctx, op, false),
        (NC, "edit-config") => edit_config(ctx, op).await,
        (NC, "copy-config") => copy_config(ctx, op).await,
        (NC, "delete-config") => Err(one(RpcError::protocol(
            "operation-not-supported",
            "delete-config of running or candidate is not allowed",
        ))),
        (NC, "discard-changes") => {
            ctx.require_write().map_err(one)?;
            check_lock(ctx, Datastore::Candidate).map_err(one)?;
            *ctx.shared.candidate().await = None;
            ok()
        }
        (NC, "lock") => lock(ctx, op).await,
        (NC, "unlock") => unlock(ctx, op),
        (NC, "close-session") => Ok(("<ok/>".into(), After::Close)),
        (NC, "kill-session") => kill_session(ctx, op).await,
        (NC, "validate") => validate(ctx, op).await,
        (NC, "commit") => crate::confirmed::commit(ctx, op).await,
        (NC, "cancel-commit") => crate::confirmed::cancel_commit(ctx, op).await,
        (MON, "get-schema") => get_schema(op),
        (crate::notifications::NOTIFICATION, "create-subscription") => {
            crate::notifications::create_subscription(ctx, op)
        }
        (crate::action::YANG, "action") => crate::action::action(ctx, op).await,
        (_, name) => Err(one(RpcError::protocol(
            "operation-not-supported",
            format!("no operation {name} in namespace {ns:?}"),
        )
        .with_path(format!("/rpc/{name}")))),
    }
}

/// The datastore a `<source>` or `<target>` names.
fn datastore(op: Node<'_, '_>, which: &str) -> Result<Datastore, RpcError> {
    match xml::datastore(op, which)?.as_str() {
        "running" => Ok(Datastore::Running),
        "candidate" => Ok(Datastore::Candidate),
        other => Err(RpcError::protocol(
            "invalid-value",
            format!("datastore {other} is not supported (running and candidate are)"),
        )
        .with_path(format!("/rpc/{}/{which}", op.tag_name().name()))),
    }
}

/// Refuses a write of `ds` while another session holds its lock.
pub(crate) fn check_lock(ctx: &SessionCtx, ds: Datastore) -> Result<(), RpcError> {
    ctx.shared.locks.check_write(ds, Some(ctx.id)).map_err(|h| {
        RpcError::lock_denied(
            h.session,
            format!("the {} datastore is locked by {}", ds.name(), h.owner),
        )
    })
}

pub(crate) fn meta(ctx: &SessionCtx, comment: Option<String>) -> CommitMeta {
    CommitMeta {
        user: ctx.identity.user.clone(),
        client: format!("netconf:{}@{}", ctx.id, ctx.peer),
        comment,
        traceparent: tether_telemetry::otel::current_traceparent(),
    }
}

// ===== Reads =====

fn get(ctx: &SessionCtx, op: Node<'_, '_>, with_state: bool) -> OpResult {
    let wd = WithDefaults::of(op).map_err(one)?;
    let schema = ctx.shared.schema;
    let tree = if with_state {
        let config = ctx.shared.store.config();
        read::with_state(schema, &config, Some(&ctx.shared.state)).map_err(one)?
    } else {
        match datastore(op, "source").map_err(one)? {
            Datastore::Running => {
                let config = ctx.shared.store.config();
                read::with_state(schema, &config, None).map_err(one)?
            }
            Datastore::Candidate => {
                let cand = ctx.shared.try_candidate();
                match cand.as_deref() {
                    Some(Some(c)) => read::with_state(schema, c, None).map_err(one)?,
                    _ => {
                        let config = ctx.shared.store.config();
                        read::with_state(schema, &config, None).map_err(one)?
                    }
                }
            }
        }
    };
    Ok((
        read::data(schema, &tree, op, wd).map_err(one)?,
        After::Continue,
    ))
}

fn get_schema(op: Node<'_, '_>) -> OpResult {
    let text = |n: &str| xml::child(op, MON, n).map(|c| c.text().unwrap_or("").trim().to_string());
    let id = text("identifier").ok_or_else(|| {
        one(
            RpcError::protocol("missing-element", "identifier is required")
                .with_path("/rpc/get-schema/identifier"),
        )
    })?;
    if let Some(f) = text("format")
        && f != "yang"
        && !f.ends_with(":yang")
    {
        return Err(one(RpcError::application(
            "invalid-value",
            "only the yang format is served",
        )));
    }
    let version = text("version").filter(|v| !v.is_empty());
    let m = MODULES
        .iter()
        .find(|m| m.name == id && version.as_deref().is_none_or(|v| v == m.revision))
        .ok_or_else(|| {
            one(RpcError::application(
                "invalid-value",
                format!("no schema {id} (with that version)"),
            )
            .with_path("/rpc/get-schema/identifier"))
        })?;
    Ok((
        format!("<data xmlns=\"{MON}\">{}</data>", escape(m.text)),
        After::Continue,
    ))
}

// ===== Writes =====

/// edit-config's `<config>` (or copy-config's source) as edits.
fn config_edits(
    ctx: &SessionCtx,
    current: &ConfigTree,
    op: Node<'_, '_>,
    default: Op,
) -> Result<Vec<Edit>, Vec<RpcError>> {
    let config = xml::child(op, NC, "config").ok_or_else(|| {
        one(RpcError::protocol(
            "missing-element",
            "<config> is required (url is not supported)",
        )
        .with_path(format!("/rpc/{}/config", op.tag_name().name())))
    })?;
    edit::edits(ctx.shared.schema, current, config, default).map_err(one)
}

/// Applies `edits` to `ds`: running through the store's commit (durable before the reply),
/// candidate by preparing and installing them on the candidate tree. `test_only` validates
/// and changes nothing.
pub(crate) async fn apply(
    ctx: &SessionCtx,
    ds: Datastore,
    edits: Vec<Edit>,
    test_only: bool,
) -> Result<(), Vec<RpcError>> {
    match ds {
        Datastore::Running => {
            if test_only {
                let config = ctx.shared.store.config();
                return config
                    .prepare(&edits)
                    .map(|_| ())
                    .map_err(|e| from_model(&e));
            }
            ctx.shared
                .store
                .commit(edits, meta(ctx, None))
                .wait()
                .await
                .map(|_| ())
                .map_err(|e| from_store(&e))
        }
        Datastore::Candidate => {
            let mut cand = ctx.shared.candidate().await;
            let was_modified = cand.is_some();
            let mut tree = match cand.take() {
                Some(t) => t,
                None => ctx
                    .shared
                    .store
                    .config()
                    .duplicate()
                    .map_err(|e| from_model(&e))?,
            };
            let result = tree
                .prepare(&edits)
                .and_then(|p| if test_only { Ok(()) } else { tree.install(&p) });
            let changed = !test_only && result.is_ok();
            // A refused edit leaves the candidate as it was (prepare never writes it).
            if changed || was_modified {
                *cand = Some(tree);
            }
            result.map_err(|e| from_model(&e))
        }
    }
}

async fn edit_config(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(one)?;
    let ds = datastore(op, "target").map_err(one)?;
    check_lock(ctx, ds).map_err(one)?;
    let default = match xml::child_text(op, "default-operation").as_deref() {
        None | Some("merge") => Op::Merge,
        Some("replace") => Op::Replace,
        Some("none") => Op::None,
        Some(_) => {
            return Err(one(RpcError::protocol(
                "invalid-value",
                "default-operation must be merge, replace or none",
            )
            .with_path("/rpc/edit-config/default-operation")));
        }
    };
    let test_only = match xml::child_text(op, "test-option").as_deref() {
        None | Some("test-then-set") | Some("set") => false,
        Some("test-only") => true,
        Some(_) => {
            return Err(one(RpcError::protocol(
                "invalid-value",
                "test-option must be test-then-set, set or test-only",
            )
            .with_path("/rpc/edit-config/test-option")));
        }
    };
    match xml::child_text(op, "error-option").as_deref() {
        // Every edit-config is one all-or-nothing transaction: stop-on-error and
        // rollback-on-error both leave nothing applied when any part fails.
        None | Some("stop-on-error") | Some("rollback-on-error") => {}
        Some("continue-on-error") => {
            return Err(one(RpcError::protocol(
                "operation-not-supported",
                "continue-on-error is not supported: an edit-config is applied whole or not at all",
            )));
        }
        Some(_) => {
            return Err(one(RpcError::protocol("invalid-value", "bad error-option")
                .with_path("/rpc/edit-config/error-option")));
        }
    }
    let edits = {
        let cand = ctx.shared.candidate().await;
        match (ds, cand.as_ref()) {
            (Datastore::Candidate, Some(c)) => config_edits(ctx, c, op, default)?,
            _ => {
                drop(cand);
                let config = ctx.shared.store.config();
                config_edits(ctx, &config, op, default)?
            }
        }
    };
    apply(ctx, ds, edits, test_only).await?;
    ok()
}

/// The whole content of `ds` as one replace-everything edit.
pub(crate) async fn content_of(
    ctx: &SessionCtx,
    ds: Datastore,
) -> Result<Option<Edit>, Vec<RpcError>> {
    let json = match ds {
        Datastore::Candidate => match ctx.shared.candidate().await.as_ref() {
            Some(c) => c.to_json(false),
            None => return Ok(None),
        },
        Datastore::Running => ctx.shared.store.config().to_json(false),
    }
    .map_err(|e| from_model(&e))?;
    let v: Value = serde_json::from_str(&json)
        .map_err(|e| one(RpcError::application("operation-failed", e.to_string())))?;
    Ok(Some(Edit::replace("/", v)))
}

/// A `<source><config>…</config></source>` as edits replacing running, with the copy of
/// running they apply to; `None` when the source names a datastore.
fn inline_source(
    ctx: &SessionCtx,
    op: Node<'_, '_>,
) -> Result<Option<(ConfigTree, Vec<Edit>)>, Vec<RpcError>> {
    let source = xml::child(op, NC, "source").ok_or_else(|| {
        one(RpcError::protocol(
            "missing-element",
            "<source> is required",
        ))
    })?;
    if xml::child(source, NC, "config").is_none() {
        return Ok(None);
    }
    let config = ctx
        .shared
        .store
        .config()
        .duplicate()
        .map_err(|e| from_model(&e))?;
    let edits = config_edits(ctx, &config, source, Op::Replace)?;
    Ok(Some((config, edits)))
}

async fn copy_config(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(one)?;
    let target = datastore(op, "target").map_err(one)?;
    check_lock(ctx, target).map_err(one)?;
    let edits = if let Some((_, edits)) = inline_source(ctx, op)? {
        edits
    } else {
        let from = datastore(op, "source").map_err(one)?;
        if from == target {
            return ok();
        }
        match content_of(ctx, from).await? {
            Some(e) => vec![e],
            // The candidate equals running: copying it changes nothing; copying running to
            // the candidate resets it.
            None if target == Datastore::Running => return ok(),
            None => vec![],
        }
    };
    if target == Datastore::Candidate && edits.is_empty() {
        *ctx.shared.candidate().await = None;
        return ok();
    }
    apply(ctx, target, edits, false).await?;
    ok()
}

async fn validate(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    if let Some((config, edits)) = inline_source(ctx, op)? {
        config.prepare(&edits).map_err(|e| from_model(&e))?;
        return ok();
    }
    // Running and the candidate are validated with every change made to them.
    datastore(op, "source").map_err(one)?;
    ok()
}

// ===== Locks and sessions =====

async fn lock(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(one)?;
    let ds = datastore(op, "target").map_err(one)?;
    if ds == Datastore::Candidate && ctx.shared.candidate().await.is_some() {
        // RFC 6241 §8.3.5.1: the candidate cannot be locked while it holds uncommitted changes.
        return Err(one(RpcError::lock_denied(
            0,
            "the candidate has uncommitted changes; commit or discard them first",
        )));
    }
    let holder = tether_store::Holder {
        session: ctx.id,
        owner: ctx.owner(),
    };
    ctx.shared.locks.lock(ds, holder).map_err(|h| {
        one(RpcError::lock_denied(
            h.session,
            format!("the {} datastore is locked by {}", ds.name(), h.owner),
        ))
    })?;
    ok()
}

fn unlock(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    let ds = datastore(op, "target").map_err(one)?;
    ctx.shared.locks.unlock(ds, ctx.id).map_err(|h| {
        one(match h {
            Some(h) => RpcError::lock_denied(
                h.session,
                format!("the {} lock is held by {}", ds.name(), h.owner),
            ),
            None => RpcError::protocol(
                "operation-failed",
                format!("the {} datastore is not locked", ds.name()),
            ),
        })
    })?;
    ok()
}

async fn kill_session(ctx: &mut SessionCtx, op: Node<'_, '_>) -> OpResult {
    ctx.require_write().map_err(one)?;
    let id: u32 = xml::child_text(op, "session-id")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            one(
                RpcError::protocol("missing-element", "session-id is required")
                    .with_path("/rpc/kill-session/session-id"),
            )
        })?;
    if id == ctx.id {
        return Err(one(RpcError::protocol(
            "invalid-value",
            "a session cannot kill itself; use close-session",
        )));
    }
    let user = {
        let sessions = ctx
            .shared
            .sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let s = sessions.get(&id).ok_or_else(|| {
            one(
                RpcError::protocol("invalid-value", format!("no session {id}"))
                    .with_path("/rpc/kill-session/session-id"),
            )
        })?;
        tracing::info!(killed = id, user = %s.user, peer = %s.peer, "kill-session");
        let _ = s.kill.send(true);
        s.user.clone()
    };
    // Its locks go now, not when its task notices; and RFC 6241 §7.9: a confirmed commit it
    // made (without persist) is reverted before the reply.
    ctx.shared.locks.release_session(id);
    crate::confirmed::session_ended(&ctx.shared, id, &user).await;
    ok()
}
