//! Set (gNMI specification §3.4): deletes, then replaces, then union-replaces, then
//! updates, as one transaction on the datastore.

use std::collections::HashSet;

use tether_model::Edit;
use tether_proto::gnmi::{
    Path, SetRequest, SetResponse, Update, UpdateResult, update_result::Operation,
};
use tether_store::CommitMeta;
use tracing::{Instrument, Span};

use crate::commit;
use crate::encoding;
use crate::error::GnmiError;
use crate::extensions::{self, Rpc};
use crate::get::paths_field;
use crate::path::{self, ResolvedPath};
use crate::service::{Caller, Shared};

pub(crate) async fn set(
    shared: &Shared,
    caller: &Caller,
    request: &SetRequest,
    span: &Span,
) -> Result<SetResponse, GnmiError> {
    let extensions = extensions::examine(Rpc::Set, &request.extension)?;
    crate::limits::check(
        "deletes, replaces and updates in the SetRequest",
        request.delete.len()
            + request.replace.len()
            + request.union_replace.len()
            + request.update.len(),
        shared.options.limits.max_updates_per_set,
        "max-updates-per-set",
    )?;
    let prefix = request.prefix.as_ref();
    let mut edits = Vec::new();
    let mut results = Vec::new();
    let mut shown = Vec::new();
    let resolve = |p: Option<&Path>| -> Result<(ResolvedPath, String), GnmiError> {
        let rp = path::resolve(shared.schema, prefix, p)?;
        let dp = rp.data_path()?;
        Ok((rp, dp))
    };
    #[allow(deprecated)]
    let value = |u: &Update, at: &str| -> Result<serde_json::Value, GnmiError> {
        match (&u.val, &u.value) {
            (Some(v), _) => match crate::proto_in::decode(shared.schema, at, v, at)? {
                Some(json) => Ok(json),
                None => encoding::decode(Some(v), at),
            },
            // gNMI < 0.4: bytes with an encoding in the deprecated `value` field.
            (None, Some(old)) => encoding::decode(
                Some(&tether_proto::gnmi::TypedValue {
                    value: Some(tether_proto::gnmi::typed_value::Value::JsonVal(
                        old.value.clone(),
                    )),
                }),
                at,
            ),
            (None, None) => encoding::decode(None, at),
        }
    };
    let result = |p: Option<&Path>, op: Operation| UpdateResult {
        path: p.cloned(),
        op: op as i32,
        ..Default::default()
    };

    for p in &request.delete {
        let (rp, dp) = resolve(Some(p))?;
        edits.push(Edit::delete(dp));
        results.push(result(Some(p), Operation::Delete));
        shown.push(rp);
    }
    for u in &request.replace {
        let (rp, dp) = resolve(u.path.as_ref())?;
        edits.push(Edit::replace(dp.clone(), value(u, &dp)?));
        results.push(result(u.path.as_ref(), Operation::Replace));
        shown.push(rp);
    }
    // Union-replace: the payloads for one path are merged, then replace that path. With one
    // origin that is a replace by the first payload and updates by the rest.
    let mut replaced = HashSet::new();
    for u in &request.union_replace {
        let (rp, dp) = resolve(u.path.as_ref())?;
        let v = value(u, &dp)?;
        edits.push(if replaced.insert(dp.clone()) {
            Edit::replace(dp, v)
        } else {
            Edit::update(dp, v)
        });
        results.push(result(u.path.as_ref(), Operation::UnionReplace));
        shown.push(rp);
    }
    for u in &request.update {
        let (rp, dp) = resolve(u.path.as_ref())?;
        edits.push(Edit::update(dp.clone(), value(u, &dp)?));
        results.push(result(u.path.as_ref(), Operation::Update));
        shown.push(rp);
    }
    span.record("paths", paths_field(&shown));

    if let Err(h) = shared
        .options
        .locks
        .check_write(tether_store::Datastore::Running, None)
    {
        return Err(GnmiError::FailedPrecondition(format!(
            "the running datastore is locked by {}",
            h.owner
        )));
    }
    let timestamp = match &extensions.commit {
        Some(action) => commit::confirmed(shared, caller, action, edits, span).await?,
        None => apply(shared, caller, edits, span).await?,
    };
    #[allow(deprecated)]
    for r in &mut results {
        r.timestamp = timestamp;
    }
    Ok(SetResponse {
        prefix: request.prefix.clone(),
        response: results,
        timestamp,
        ..Default::default()
    })
}

/// Commits `edits` to the running datastore as one transaction and returns its time.
///
/// A Set with no operations goes to the store too, which changes nothing (no record, no
/// sync) but refuses it while a confirmed commit is pending, like any Set without the Commit
/// extension (gnmi-commit-confirmed §3.2.1: FAILED_PRECONDITION); deciding it in the writer
/// keeps the answer atomic with the pending state.
pub(crate) async fn apply(
    shared: &Shared,
    caller: &Caller,
    edits: Vec<Edit>,
    span: &Span,
) -> Result<i64, GnmiError> {
    store_request(shared, caller, span, |store, meta| {
        store.commit(edits, meta)
    })
    .await
}

/// Runs one store request (a commit, a confirmed-commit action) under its own
/// `store.commit` span, with the caller's metadata, and returns the commit's time. The
/// worker's reconcile joins the trace beneath that span through the traceparent the commit
/// carries (Set → store.commit → worker.reconcile).
pub(crate) async fn store_request(
    shared: &Shared,
    caller: &Caller,
    span: &Span,
    request: impl FnOnce(&dyn tether_store::Store, CommitMeta) -> tether_store::Pending,
) -> Result<i64, GnmiError> {
    let commit_span =
        tracing::info_span!(parent: span, "store.commit", commit = tracing::field::Empty);
    let meta = CommitMeta {
        user: caller.identity.user.clone(),
        client: caller.peer.clone(),
        comment: None,
        traceparent: commit_span.in_scope(tether_telemetry::otel::current_traceparent),
    };
    let outcome = request(shared.store.as_ref(), meta)
        .wait()
        .instrument(commit_span.clone())
        .await?;
    commit_span.record("commit", outcome.id);
    span.record("commit", outcome.id);
    Ok(i64::try_from(outcome.time_ns).unwrap_or(i64::MAX))
}
