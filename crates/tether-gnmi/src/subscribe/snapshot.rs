//! Current values, read from the store and the state tree and made into notifications.
//!
//! Every mode reads through here, so that ONCE, POLL, the initial sync, SAMPLE and a resync
//! after lost events all see the same data as a Get of the same paths.

use tether_proto::gnmi::{Notification, SubscribeResponse, TypedValue, Update, subscribe_response};

use super::{Ended, Subscription};
use crate::get::{now_ns, target_prefix};
use crate::path::{self, ResolvedPath};
use crate::view::{self, DataKind, Scope, Shape};

impl Subscription {
    /// The leaves under `path` now, as (data path, value).
    pub(super) fn leaves(&self, path: &ResolvedPath) -> Result<Vec<(String, TypedValue)>, Ended> {
        view::read(
            self.shared.schema,
            self.shared.store.as_ref(),
            &self.shared.state,
            path,
            Scope {
                kind: DataKind::All,
                shape: Shape::Leaves,
                models: &self.models,
                depth: self.depth,
                encoding: self.encoding,
            },
        )
        .map_err(|e| Ended::Failed(e.into()))
    }

    /// One notification per subscribed path that has data.
    pub(super) fn snapshot_all(&self) -> Result<Vec<SubscribeResponse>, Ended> {
        let mut out = Vec::new();
        for s in &self.subs {
            let leaves = self.leaves(&s.path)?;
            if !leaves.is_empty() {
                out.extend(crate::limits::split_response(
                    self.notification(now_ns(), leaves, Vec::new()),
                    self.shared.options.limits.max_notification_bytes,
                ));
            }
        }
        Ok(out)
    }

    pub(super) fn notification(
        &self,
        timestamp: i64,
        updates: Vec<(String, TypedValue)>,
        deleted: Vec<String>,
    ) -> SubscribeResponse {
        let update = updates
            .into_iter()
            .map(|(p, v)| Update {
                path: Some(path::to_gnmi(&p)),
                val: Some(v),
                ..Default::default()
            })
            .collect();
        let delete = deleted.iter().map(|p| path::to_gnmi(p)).collect();
        SubscribeResponse {
            response: Some(subscribe_response::Response::Update(Notification {
                timestamp,
                prefix: target_prefix(&self.target),
                update,
                delete,
                ..Default::default()
            })),
            ..Default::default()
        }
    }
}

/// Tells the client the current values are complete.
pub(super) fn sync_response() -> SubscribeResponse {
    SubscribeResponse {
        response: Some(subscribe_response::Response::SyncResponse(true)),
        ..Default::default()
    }
}
