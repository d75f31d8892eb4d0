//! Subscribe (gNMI specification §3.5): ONCE, POLL and STREAM (ON_CHANGE, SAMPLE,
//! TARGET_DEFINED).
//!
//! Each Subscribe RPC is one task. A STREAM subscription's ON_CHANGE and TARGET_DEFINED paths
//! are registered with the service's fan-out hub (`fanout.rs`), which renders each commit and
//! state batch once and queues every matching subscription its share; the task turns that
//! into a notification and pushes it into a bounded queue with `try_send`: a subscriber that
//! does not drain its queue is ended with RESOURCE_EXHAUSTED, and nothing else ever waits for
//! it.

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::Stream;
use serde_json::Value;
use tether_proto::gnmi::{
    Notification, SubscribeRequest, SubscribeResponse, SubscriptionList, SubscriptionMode, Update,
    subscribe_request, subscribe_response, subscription_list, typed_value,
};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tonic::{Status, Streaming};
use tracing::{Instrument, Span};

use crate::encoding::WireEncoding;
use crate::error::GnmiError;
use crate::fanout::{Delivery, Filter, Registration, Rendered};
use crate::get::{models, now_ns, paths_field, target_prefix};
use crate::path::{self, PathError, ResolvedPath};
use crate::service::{Caller, Shared};
use crate::view::{self, DataKind, Shape};
use std::sync::atomic::Ordering;

/// The shortest SAMPLE interval (and the one `sample_interval = 0` gets).
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

// ===== the response stream =====

/// The server side of a Subscribe: the queued responses, ended early by a status when the
/// subscription fails (slow consumer, shutdown, bad poll).
pub struct SubscribeStream {
    rx: mpsc::Receiver<SubscribeResponse>,
    end: Option<oneshot::Receiver<Status>>,
    finished: bool,
}

impl Stream for SubscribeStream {
    type Item = Result<SubscribeResponse, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        if let Some(end) = this.end.as_mut() {
            match Pin::new(end).poll(cx) {
                Poll::Ready(Ok(status)) => {
                    this.finished = true;
                    this.end = None;
                    this.rx.close();
                    return Poll::Ready(Some(Err(status)));
                }
                // The task finished normally: drain what it queued.
                Poll::Ready(Err(_)) => this.end = None,
                Poll::Pending => {}
            }
        }
        this.rx.poll_recv(cx).map(|m| m.map(Ok))
    }
}

/// Why the task stops sending.
enum Stop {
    /// The queue was full; the subscriber has been told.
    Slow,
    /// The client went away.
    Gone,
}

/// The task's end of the stream.
struct Outbox {
    tx: mpsc::Sender<SubscribeResponse>,
    end: Option<oneshot::Sender<Status>>,
}

impl Outbox {
    /// Queues without waiting; a full queue ends the subscription.
    fn push(&mut self, r: SubscribeResponse) -> Result<(), Stop> {
        match self.tx.try_send(r) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                let cap = self.tx.max_capacity();
                self.fail(Status::resource_exhausted(format!(
                    "subscriber too slow: {cap} notifications queued and not read"
                )));
                Err(Stop::Slow)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Stop::Gone),
        }
    }

    /// Queues, waiting for room (data the client asked for right now: ONCE, POLL, the
    /// initial sync).
    async fn send(&self, r: SubscribeResponse) -> Result<(), Stop> {
        self.tx.send(r).await.map_err(|_| Stop::Gone)
    }

    fn fail(&mut self, status: Status) {
        if let Some(end) = self.end.take() {
            let _ = end.send(status);
        }
    }
}

// ===== the subscription =====

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    OnChange,
    Sample,
    TargetDefined,
}

struct Sub {
    path: ResolvedPath,
    trigger: Trigger,
    /// SAMPLE: the sample interval; ON_CHANGE/TARGET_DEFINED: the heartbeat, if any.
    period: Option<Duration>,
    suppress_redundant: bool,
    heartbeat: Option<Duration>,
    next: Option<Instant>,
    last_full: Instant,
    /// What the last sample sent (for suppress_redundant).
    last: HashMap<String, Value>,
}

impl Sub {
    fn on_change(&self) -> bool {
        matches!(self.trigger, Trigger::OnChange | Trigger::TargetDefined)
    }
}

struct Subscription {
    shared: Arc<Shared>,
    mode: subscription_list::Mode,
    encoding: WireEncoding,
    updates_only: bool,
    models: HashSet<String>,
    target: String,
    subs: Vec<Sub>,
}

/// Reads the subscription list, checks it, and starts the task.
pub(crate) async fn start(
    shared: Arc<Shared>,
    caller: Caller,
    mut inbound: Streaming<SubscribeRequest>,
    span: Span,
) -> Result<SubscribeStream, GnmiError> {
    let first = match inbound.message().await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Err(GnmiError::invalid(
                "the stream closed before a subscription list was sent",
            ));
        }
        Err(s) => {
            return Err(GnmiError::invalid(format!(
                "reading the subscription list: {}",
                s.message()
            )));
        }
    };
    let Some(subscribe_request::Request::Subscribe(list)) = first.request else {
        return Err(GnmiError::invalid(
            "the first message must be a subscription list",
        ));
    };
    let subscription = Subscription::new(shared.clone(), &list)?;
    span.record(
        "paths",
        paths_field(
            &subscription
                .subs
                .iter()
                .map(|s| s.path.clone())
                .collect::<Vec<_>>(),
        ),
    );
    tracing::debug!(parent: &span, user = %caller.identity.user, mode = ?subscription.mode, "subscription accepted");

    let (tx, rx) = mpsc::channel(shared.options.subscriber_queue.max(1));
    let (end_tx, end_rx) = oneshot::channel();
    let outbox = Outbox {
        tx,
        end: Some(end_tx),
    };
    let task_span = span.clone();
    tokio::spawn(
        async move {
            let outcome = subscription.run(outbox, inbound).await;
            task_span.record("result", outcome);
            tracing::debug!("Subscribe ended: {outcome}");
        }
        .instrument(span),
    );
    Ok(SubscribeStream {
        rx,
        end: Some(end_rx),
        finished: false,
    })
}

impl Subscription {
    fn new(shared: Arc<Shared>, list: &SubscriptionList) -> Result<Self, GnmiError> {
        let mode = subscription_list::Mode::try_from(list.mode)
            .map_err(|_| GnmiError::invalid(format!("unknown subscription mode {}", list.mode)))?;
        let encoding = WireEncoding::from_request(list.encoding)?;
        let models = models(&shared, &list.use_models)?;
        let resolve = |p| match path::resolve(shared.schema, list.prefix.as_ref(), p) {
            Ok(r) => Ok(r),
            Err(PathError::NotInSchema(m)) => Err(GnmiError::NotFound(m)),
            Err(e) => Err(GnmiError::from(e)),
        };
        let now = Instant::now();
        let mut subs = Vec::new();
        let mut target = list
            .prefix
            .as_ref()
            .map(|p| p.target.clone())
            .unwrap_or_default();
        let defaults = tether_proto::gnmi::Subscription::default();
        let entries: Vec<&tether_proto::gnmi::Subscription> = if list.subscription.is_empty() {
            vec![&defaults]
        } else {
            list.subscription.iter().collect()
        };
        for s in entries {
            let path = resolve(s.path.as_ref())?;
            if target.is_empty() {
                target = path.target.clone();
            }
            let trigger = match SubscriptionMode::try_from(s.mode) {
                Ok(SubscriptionMode::OnChange) => Trigger::OnChange,
                Ok(SubscriptionMode::Sample) => Trigger::Sample,
                Ok(SubscriptionMode::TargetDefined) => Trigger::TargetDefined,
                Err(_) => {
                    return Err(GnmiError::invalid(format!(
                        "{path}: unknown subscription mode {}",
                        s.mode
                    )));
                }
            };
            let ns = |v: u64, what: &str| -> Result<Option<Duration>, GnmiError> {
                match v {
                    0 => Ok(None),
                    v if Duration::from_nanos(v) < MIN_SAMPLE_INTERVAL => {
                        Err(GnmiError::invalid(format!(
                            "{path}: {what} {v} ns is shorter than the {} ms this target supports",
                            MIN_SAMPLE_INTERVAL.as_millis()
                        )))
                    }
                    v => Ok(Some(Duration::from_nanos(v))),
                }
            };
            let sample = ns(s.sample_interval, "sample_interval")?;
            let heartbeat = ns(s.heartbeat_interval, "heartbeat_interval")?;
            let period = match trigger {
                Trigger::Sample => Some(sample.unwrap_or(MIN_SAMPLE_INTERVAL)),
                _ => heartbeat,
            };
            subs.push(Sub {
                path,
                trigger,
                period,
                suppress_redundant: s.suppress_redundant,
                heartbeat,
                next: None,
                last_full: now,
                last: HashMap::new(),
            });
        }
        Ok(Subscription {
            shared,
            mode,
            encoding,
            updates_only: list.updates_only,
            models,
            target,
            subs,
        })
    }

    async fn run(mut self, mut out: Outbox, inbound: Streaming<SubscribeRequest>) -> &'static str {
        let mut shutdown = self.shared.shutdown.clone();
        if *shutdown.borrow() {
            out.fail(Status::unavailable("tetherd is shutting down"));
            return "UNAVAILABLE";
        }
        let result = match self.mode {
            subscription_list::Mode::Once => self.once(&out).await,
            subscription_list::Mode::Poll => self.poll(&mut out, inbound, &mut shutdown).await,
            subscription_list::Mode::Stream => self.stream(&mut out, inbound, &mut shutdown).await,
        };
        match result {
            Ok(()) => "OK",
            Err(Ended::Gone) => "client gone",
            Err(Ended::Failed(status)) => {
                let code = status.code();
                out.fail(status);
                match code {
                    tonic::Code::ResourceExhausted => "ResourceExhausted",
                    tonic::Code::Unavailable => "Unavailable",
                    tonic::Code::InvalidArgument => "InvalidArgument",
                    _ => "Internal",
                }
            }
            Err(Ended::Slow) => "ResourceExhausted",
        }
    }

    // ===== modes =====

    async fn once(&mut self, out: &Outbox) -> Result<(), Ended> {
        if !self.updates_only {
            for n in self.snapshot_all()? {
                out.send(n).await?;
            }
        }
        out.send(sync_response()).await?;
        Ok(())
    }

    async fn poll(
        &mut self,
        out: &mut Outbox,
        mut inbound: Streaming<SubscribeRequest>,
        shutdown: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), Ended> {
        if !self.updates_only {
            for n in self.snapshot_all()? {
                out.send(n).await?;
            }
        }
        out.send(sync_response()).await?;
        loop {
            tokio::select! {
                _ = out.tx.closed() => return Err(Ended::Gone),
                _ = shutdown.changed() => return Err(Ended::Failed(Status::unavailable("tetherd is shutting down"))),
                m = inbound.message() => match m {
                    Ok(Some(SubscribeRequest { request: Some(subscribe_request::Request::Poll(_)), .. })) => {
                        for n in self.snapshot_all()? {
                            out.send(n).await?;
                        }
                        out.send(sync_response()).await?;
                    }
                    Ok(Some(_)) => {
                        return Err(Ended::Failed(Status::invalid_argument(
                            "only Poll messages may follow the subscription list of a POLL subscription",
                        )));
                    }
                    // No more polls can come.
                    Ok(None) | Err(_) => return Ok(()),
                },
            }
        }
    }

    async fn stream(
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
            })
            .collect();
        let mut events = (!filters.is_empty()).then(|| {
            self.shared.hub.register(
                &self.shared,
                filters,
                self.models.clone(),
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
            && let Some(n) = self.event(&event, &updates, &deletes)
        {
            out.push(n)?;
        }
        Ok(())
    }

    /// This subscription's part of a rendered event.
    fn event(
        &self,
        event: &Rendered,
        updates: &[u32],
        deletes: &[u32],
    ) -> Option<SubscribeResponse> {
        let update: Vec<Update> = updates
            .iter()
            .filter_map(|&i| event.updates.get(i as usize)?.as_ref())
            .map(|u| self.retag(u.clone()))
            .collect();
        let delete: Vec<_> = deletes
            .iter()
            .filter_map(|&i| event.deletes.get(i as usize)?.clone())
            .collect();
        if update.is_empty() && delete.is_empty() {
            return None;
        }
        Some(SubscribeResponse {
            response: Some(subscribe_response::Response::Update(Notification {
                timestamp: event.timestamp,
                prefix: target_prefix(&self.target),
                update,
                delete,
                ..Default::default()
            })),
            ..Default::default()
        })
    }

    /// Events are rendered as JSON_IETF; a JSON subscriber gets the same text in `json_val`.
    fn retag(&self, mut u: Update) -> Update {
        if self.encoding == WireEncoding::Json
            && let Some(v) = u.val.as_mut()
            && let Some(typed_value::Value::JsonIetfVal(b)) = v.value.take()
        {
            v.value = Some(typed_value::Value::JsonVal(b));
        }
        u
    }

    /// One SAMPLE or heartbeat of subscription `i`.
    fn tick(&mut self, i: usize, now: Instant) -> Result<Option<SubscribeResponse>, Ended> {
        let leaves = self.leaves(&self.subs[i].path)?;
        let sub = &mut self.subs[i];
        sub.next = sub.period.map(|p| now + p);
        let heartbeat_due = sub
            .heartbeat
            .is_some_and(|h| now.duration_since(sub.last_full) >= h);
        let (updates, deleted) =
            if sub.trigger == Trigger::Sample && sub.suppress_redundant && !heartbeat_due {
                let changed: Vec<(String, Value)> = leaves
                    .iter()
                    .filter(|(p, v)| sub.last.get(p) != Some(v))
                    .cloned()
                    .collect();
                let current: HashSet<&String> = leaves.iter().map(|(p, _)| p).collect();
                let gone: Vec<String> = sub
                    .last
                    .keys()
                    .filter(|p| !current.contains(p))
                    .cloned()
                    .collect();
                (changed, gone)
            } else {
                sub.last_full = now;
                let current: HashSet<&String> = leaves.iter().map(|(p, _)| p).collect();
                let gone: Vec<String> = sub
                    .last
                    .keys()
                    .filter(|p| !current.contains(p))
                    .cloned()
                    .collect();
                (leaves.clone(), gone)
            };
        if sub.trigger == Trigger::Sample {
            sub.last = leaves.into_iter().collect();
        }
        if updates.is_empty() && deleted.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.notification(now_ns(), updates, deleted)))
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

    // ===== data =====

    fn leaves(&self, path: &ResolvedPath) -> Result<Vec<(String, Value)>, Ended> {
        view::read(
            self.shared.schema,
            self.shared.store.as_ref(),
            &self.shared.state,
            path,
            DataKind::All,
            Shape::Leaves,
            &self.models,
        )
        .map_err(|e| Ended::Failed(e.into()))
    }

    fn snapshot_all(&self) -> Result<Vec<SubscribeResponse>, Ended> {
        let mut out = Vec::new();
        for s in &self.subs {
            let leaves = self.leaves(&s.path)?;
            if !leaves.is_empty() {
                out.push(self.notification(now_ns(), leaves, Vec::new()));
            }
        }
        Ok(out)
    }

    fn notification(
        &self,
        timestamp: i64,
        updates: Vec<(String, Value)>,
        deleted: Vec<String>,
    ) -> SubscribeResponse {
        let update = updates
            .into_iter()
            .map(|(p, v)| Update {
                path: Some(path::to_gnmi(&p)),
                val: Some(self.encoding.typed(&v)),
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

fn sync_response() -> SubscribeResponse {
    SubscribeResponse {
        response: Some(subscribe_response::Response::SyncResponse(true)),
        ..Default::default()
    }
}

/// The next delivery from the hub; never, for a subscription with no ON_CHANGE paths.
async fn next_event(events: &mut Option<Registration>) -> Option<Delivery> {
    match events {
        Some(r) => r.rx.recv().await,
        None => futures::future::pending().await,
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => futures::future::pending().await,
    }
}

/// How a subscription ended other than normally.
enum Ended {
    /// The client went away.
    Gone,
    /// The subscriber's queue filled (already reported to it).
    Slow,
    /// Ends the RPC with this status.
    Failed(Status),
}

impl From<Stop> for Ended {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Slow => Ended::Slow,
            Stop::Gone => Ended::Gone,
        }
    }
}
