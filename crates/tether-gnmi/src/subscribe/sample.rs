//! SAMPLE ticks and heartbeats.
//!
//! Apart from the STREAM loop because it keeps the one piece of per-path memory a
//! subscription has: what the last sample sent, so that `suppress_redundant` sends only what
//! changed and a heartbeat still sends everything.

use std::collections::HashSet;

use tether_proto::gnmi::{SubscribeResponse, TypedValue};
use tokio::time::Instant;

use super::{Ended, Subscription, Trigger};
use crate::get::now_ns;

impl Subscription {
    /// One SAMPLE or heartbeat of subscription `i`.
    pub(super) fn tick(
        &mut self,
        i: usize,
        now: Instant,
    ) -> Result<Option<SubscribeResponse>, Ended> {
        let leaves = self.leaves(&self.subs[i].path)?;
        let sub = &mut self.subs[i];
        sub.next = sub.period.map(|p| now + p);
        let heartbeat_due = sub
            .heartbeat
            .is_some_and(|h| now.duration_since(sub.last_full) >= h);
        // What the last sample had and this one lacks is deleted, whether or not redundant
        // updates are suppressed.
        let current: HashSet<&String> = leaves.iter().map(|(p, _)| p).collect();
        let deleted: Vec<String> = sub
            .last
            .keys()
            .filter(|p| !current.contains(p))
            .cloned()
            .collect();
        let updates: Vec<(String, TypedValue)> =
            if sub.trigger == Trigger::Sample && sub.suppress_redundant && !heartbeat_due {
                leaves
                    .iter()
                    .filter(|(p, v)| sub.last.get(p) != Some(v))
                    .cloned()
                    .collect()
            } else {
                sub.last_full = now;
                leaves.clone()
            };
        if sub.trigger == Trigger::Sample {
            sub.last = leaves.into_iter().collect();
        }
        if updates.is_empty() && deleted.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.notification(now_ns(), updates, deleted)))
    }
}
