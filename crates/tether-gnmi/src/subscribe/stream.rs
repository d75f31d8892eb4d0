//! STREAM: the initial sync, then the hub's deliveries and the SAMPLE clock in one loop.
//!
//! The task registers with the fan-out hub before it reads the initial values, so that no
//! commit falls between the snapshot and the first event. Deliveries are pushed with
//! `try_send` (see `outbox.rs`); a hub queue that overflowed makes the subscription re-send
//! current values, because the events it missed cannot be recovered.

use std::sync::atomic::Ordering;

use tether_proto::gnmi::{
    Notification, SubscribeRequest, SubscribeResponse, Update, subscribe_response,
};
use tokio::time::Instant;
use tonic::{Status, Streaming};

use super::outbox::Outbox;
use super::snapshot::sync_response;
use super::{Ended, Subscription, Trigger};
use crate::fanout::{Delivery, Filter, Registration, Rendered};
use crate::get::{now_ns, target_prefix};
use crate::path;

impl Subscription {
    pub(super) async fn stream(
        &mut self,
        out: &mut Outbox,
        mut inbound: Streaming<SubscribeRequest>,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), Ended> {
        // Listen before reading the snapshot, so no change falls between the two.
        let filters: Vec<Filter> = self
            .subs
            .iter()
            .filter(|s| s.on_change())
            .map(|s| Filter {
                path: s.path.clone(),
                counters: s.trigger == Trigger::TargetDefined,
                depth: self.depth,
            })
            .collect();
        let mut events = (!filters.is_empty()).then(|| {
            self.shared.hub.register(
                &self.shared,
                filters,
                self.models.clone(),
                self.encoding,
                self.shared.options.subscriber_queue.max(64),
            )
        });
        let now = Instant::now();
        for i in 0..self.subs.len() {
            let sub = &self.subs[i];
            let leaves = if sub.trigger == Trigger::Sample || !self.updates_only {
                self.leaves(&sub.path)?
            } else {
                Vec::new()
            };
            if !self.updates_only && !leaves.is_empty() {
                out.send(self.notification(now_ns(), leaves.clone(), Vec::new()))
                    .await?;
            }
            let sub = &mut self.subs[i];
            if sub.trigger == Trigger::Sample {
                sub.last = leaves.into_iter().collect();
            }
            sub.last_full = now;
            sub.next = sub.period.map(|p| now + p);
        }
        out.send(sync_response()).await?;

        let mut inbound_open = true;
        loop {
            let next_tick = self.subs.iter().filter_map(|s| s.next).min();
            tokio::select! {
                _ = out.tx.closed() => return Err(Ended::Gone),
                _ = shutdown.changed() => return Err(Ended::Failed(Status::unavailable("tetherd is shutting down"))),
                m = inbound.message(), if inbound_open => match m {
                    Ok(Some(_)) => {
                        return Err(Ended::Failed(Status::invalid_argument(
                            "a STREAM subscription takes no further messages",
                        )));
                    }
                    // Half-close (or a reset the closed queue will show): keep streaming.
                    Ok(None) | Err(_) => inbound_open = false,
                },
                d = next_event(&mut events) => match d {
                    Some(d) => self.on_event(out, &mut events, d)?,
                    None => return Err(Ended::Failed(Status::unavailable("the datastore closed"))),
                },
                _ = sleep_until(next_tick), if next_tick.is_some() => {
                    let now = Instant::now();
                    for i in 0..self.subs.len() {
                        if self.subs[i].next.is_some_and(|t| t <= now)
                                && let Some(n) = self.tick(i, now)?
                        {
                            out.push(n)?;
                        }
                    }
                }
            }
        }
    }

    // ===== events =====

    /// One delivery from the hub.
    fn on_event(
        &mut self,
        out: &mut Outbox,
        events: &mut Option<Registration>,
        d: Delivery,
    ) -> Result<(), Ended> {
        if let Some(reg) = events.as_mut()
            && reg.lagged.swap(false, Ordering::AcqRel)
        {
            // Events were lost: what is queued is stale too; send current values instead.
            while reg.rx.try_recv().is_ok() {}
            tracing::info!("subscription lagged; resending current values");
            return self.resync(out);
        }
        if let Delivery::Event {
            event,
            updates,
            deletes,
        } = d
            && let Some(n) = self.event(&event, &updates, &deletes)?
        {
            out.push(n)?;
        }
        Ok(())
    }

    /// This subscription's part of a rendered event. A changed leaf-list entry is sent as
    /// the whole leaf-list, read now, as every read sends it.
    fn event(
        &self,
        event: &Rendered,
        updates: &[u32],
        deletes: &[u32],
    ) -> Result<Option<SubscribeResponse>, Ended> {
        let mut update: Vec<Update> = Vec::new();
        let mut lists: Vec<&str> = Vec::new();
        for &i in updates {
            match event.lists.get(i as usize).and_then(Option::as_deref) {
                Some(list) if !lists.contains(&list) => lists.push(list),
                Some(_) => {}
                None => update.extend(event.updates.get(i as usize).cloned().flatten()),
            }
        }
        for list in lists {
            let Ok(rp) = path::resolve(self.shared.schema, None, Some(&path::to_gnmi(list))) else {
                continue;
            };
            for (p, v) in self.leaves(&rp)? {
                update.push(Update {
                    path: Some(path::to_gnmi(&p)),
                    val: Some(v),
                    ..Default::default()
                });
            }
        }
        let delete: Vec<_> = deletes
            .iter()
            .filter_map(|&i| event.deletes.get(i as usize)?.clone())
            .collect();
        if update.is_empty() && delete.is_empty() {
            return Ok(None);
        }
        Ok(Some(SubscribeResponse {
            response: Some(subscribe_response::Response::Update(Notification {
                timestamp: event.timestamp,
                prefix: target_prefix(&self.target),
                update,
                delete,
                ..Default::default()
            })),
            ..Default::default()
        }))
    }

    /// After the subscriber missed events on a bus: the current values of every ON_CHANGE
    /// path.
    fn resync(&mut self, out: &mut Outbox) -> Result<(), Ended> {
        for i in 0..self.subs.len() {
            if self.subs[i].on_change() {
                let leaves = self.leaves(&self.subs[i].path)?;
                if !leaves.is_empty() {
                    out.push(self.notification(now_ns(), leaves, Vec::new()))?;
                }
            }
        }
        Ok(())
    }
}

/// The next delivery from the hub; never, for a subscription with no ON_CHANGE paths.
async fn next_event(events: &mut Option<Registration>) -> Option<Delivery> {
    match events {
        Some(r) => r.rx.recv().await,
        None => futures::future::pending().await,
    }
}

/// Until the next SAMPLE or heartbeat is due; never, when none is.
async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => futures::future::pending().await,
    }
}
