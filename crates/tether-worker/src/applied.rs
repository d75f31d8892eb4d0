//! `applied-commit` of each feature: the newest commit the dataplane enforces, so a client
//! waits for its commit to be applied instead of sleeping.
//!
//! A feature's leaf advances once the worker has handled a commit and the feature holds no
//! refused configuration: a commit that does not touch a feature is trivially applied for it,
//! and while the dataplane refuses the bypass program the bypass leaf stays at the last
//! commit it enforced.

use tether_telemetry::StateBatch;

/// The three state leaves of one feature (generated schema paths; the containers are not
/// lists, so their data paths are the schema paths).
pub(crate) struct AppliedPaths {
    pub(crate) commit: &'static str,
    pub(crate) timestamp: &'static str,
    pub(crate) at: &'static str,
}

/// The commit last published for one feature.
#[derive(Debug, Default)]
pub(crate) struct AppliedCommit {
    published: Option<u64>,
}

impl AppliedCommit {
    /// Publishes `commit` (id, time of the commit in ns) as applied now, unless it is already.
    pub(crate) fn advance(
        &mut self,
        commit: Option<(u64, u64)>,
        paths: &AppliedPaths,
        out: &mut StateBatch,
    ) {
        let Some((id, time_ns)) = commit else {
            return;
        };
        if self.published.is_some_and(|p| p >= id) {
            return;
        }
        self.published = Some(id);
        let now = crate::time::wall_clock_ns();
        out.updates.push((paths.commit.to_string(), id.to_string()));
        out.updates
            .push((paths.timestamp.to_string(), time_ns.to_string()));
        out.updates
            .push((paths.at.to_string(), crate::time::date_and_time(now)));
    }
}
