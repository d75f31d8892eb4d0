//! `tetherctl commits` and `tetherctl rollback`: the daemon's commit log, through the admin
//! service rather than gNMI (gNMI has no commit history); `tetherctl clear link-state group N`,
//! the link-state action, through the admin service too (gNMI has no actions).

use anyhow::{Result, anyhow};
use tether_proto::admin::{ClearGroupRequest, ListCommitsRequest, RollbackRequest};
use tetherctl::show::commits;
use tonic::Code;

use super::{Ctx, refused};
use crate::output::{out, outln};

/// A refused admin RPC; an older or other gNMI target that lacks the service is named as such.
fn admin_refused(what: &str, s: tonic::Status) -> anyhow::Error {
    if s.code() == Code::Unimplemented {
        anyhow!(
            "{what}: this tetherd does not serve tether.admin.v1.Datastore (commit log and rollback)"
        )
    } else {
        refused(what, s)
    }
}

pub(super) async fn commit_list(cx: &Ctx, limit: u32, changes: bool) -> Result<u8> {
    let list = cx
        .clients
        .admin()
        .list_commits(ListCommitsRequest { limit })
        .await
        .map_err(|s| admin_refused("ListCommits", s))?
        .into_inner()
        .commits;
    out!("{}", commits::render(&list, changes));
    Ok(0)
}

pub(super) async fn rollback(cx: &Ctx, id: u64, comment: Option<String>) -> Result<u8> {
    let r = cx
        .clients
        .admin()
        .rollback(RollbackRequest {
            id,
            comment: comment.unwrap_or_default(),
        })
        .await
        .map_err(|s| admin_refused(&format!("Rollback to {id}"), s))?
        .into_inner();
    if r.changed_leaves == 0 {
        outln!("The configuration is already as it was after commit {id}; nothing changed.");
    } else {
        outln!(
            "Rolled back to commit {id}: commit {} changed {} {}.",
            r.commit_id,
            r.changed_leaves,
            if r.changed_leaves == 1 {
                "leaf"
            } else {
                "leaves"
            }
        );
    }
    Ok(0)
}

pub(super) async fn clear_group(cx: &Ctx, id: u16) -> Result<u8> {
    let r = cx
        .clients
        .link_state()
        .clear_group(ClearGroupRequest {
            group: u32::from(id),
        })
        .await
        .map_err(|s| refused(&format!("Clear of link state group {id}"), s))?
        .into_inner();
    if r.enabled.is_empty() {
        outln!("Link state group {id}: nothing to clear.");
    } else {
        outln!(
            "Link state group {id}: re-enabled {}.",
            r.enabled.join(", ")
        );
    }
    Ok(0)
}
