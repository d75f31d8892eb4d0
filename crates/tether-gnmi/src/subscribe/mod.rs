//! Subscribe (gNMI specification §3.5): ONCE, POLL and STREAM (ON_CHANGE, SAMPLE,
//! TARGET_DEFINED).
//!
//! Each Subscribe RPC is one task. A STREAM subscription's ON_CHANGE and TARGET_DEFINED paths
//! are registered with the service's fan-out hub (`fanout.rs`), which renders each commit and
//! state batch once and queues every matching subscription its share; the task turns that
//! into a notification and pushes it into a bounded queue with `try_send`: a subscriber that
//! does not drain its queue is ended with RESOURCE_EXHAUSTED, and nothing else ever waits for
//! it.
//!
//! The files, so that a mode or a policy is found without reading the others:
//! - `mod.rs`: what a subscription is, and the task that runs one from accept to end.
//! - `list.rs`: the subscription list checked and turned into a `Subscription`.
//! - `outbox.rs`: the bounded queue between the task and tonic, where a slow subscriber is cut.
//! - `once_poll.rs`: the ONCE and POLL modes.
//! - `stream.rs`: the STREAM mode and the hub's deliveries (ON_CHANGE, TARGET_DEFINED).
//! - `sample.rs`: SAMPLE ticks and heartbeats, with `suppress_redundant`.
//! - `snapshot.rs`: current values read from the store and state tree, as notifications.

mod list;
mod once_poll;
mod outbox;
mod sample;
mod snapshot;
mod stream;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tether_proto::gnmi::{SubscribeRequest, TypedValue, subscribe_request, subscription_list};
use tokio::time::Instant;
use tonic::{Status, Streaming};
use tracing::{Instrument, Span};

use crate::encoding::WireEncoding;
use crate::error::GnmiError;
use crate::extensions::{self, Rpc};
use crate::get::paths_field;
use crate::path::ResolvedPath;
use crate::service::{Caller, Shared};

use outbox::Outbox;
pub use outbox::SubscribeStream;

/// The shortest SAMPLE interval (and the one `sample_interval = 0` gets).
pub const MIN_SAMPLE_INTERVAL: Duration = Duration::from_millis(100);

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
    last: HashMap<String, TypedValue>,
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
    /// The Depth extension's level for every path (`None`: no limit).
    depth: Option<u32>,
    subs: Vec<Sub>,
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

// ===== the task =====

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
        Err(s) if s.code() == tonic::Code::OutOfRange => {
            return Err(GnmiError::ResourceExhausted(format!(
                "the subscription list is over the request size limit (tetherd \
                 --max-request-bytes): {}",
                s.message()
            )));
        }
        Err(s) => {
            return Err(GnmiError::invalid(format!(
                "reading the subscription list: {}",
                s.message()
            )));
        }
    };
    let extensions = extensions::examine(Rpc::Subscribe, &first.extension)?;
    let Some(subscribe_request::Request::Subscribe(list)) = first.request else {
        return Err(GnmiError::invalid(
            "the first message must be a subscription list",
        ));
    };
    let subscription = Subscription::new(shared.clone(), &list, extensions.depth)?;
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

    let (outbox, stream) = outbox::channel(shared.options.subscriber_queue.max(1));
    let task_span = span.clone();
    tokio::spawn(
        async move {
            // The whole caller lives in the task: its ticket counts this stream against its
            // client until the stream ends.
            let caller = caller;
            let audit = subscription.shared.audit.clone();
            let outcome = subscription.run(outbox, inbound).await;
            if outcome == SLOW_CUT {
                audit.record(
                    tether_auth::Event::SubscriberCut,
                    "gnmi",
                    &caller.identity.user,
                    &caller.peer,
                    "subscriber too slow: its queue was full, the subscription was ended",
                );
            }
            task_span.record("result", outcome);
            tracing::debug!("Subscribe ended: {outcome}");
        }
        .instrument(span),
    );
    Ok(stream)
}

/// The outcome of a subscription ended by the slow-subscriber policy.
const SLOW_CUT: &str = "ResourceExhausted (slow subscriber)";

impl Subscription {
    /// Runs the subscription's mode to its end, and names the outcome for the RPC's span.
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
            Err(Ended::Slow) => SLOW_CUT,
        }
    }
}
