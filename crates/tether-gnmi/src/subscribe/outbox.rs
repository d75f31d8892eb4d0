//! The bounded queue between a subscription's task and tonic.
//!
//! It sits apart from the modes because it holds the slow-subscriber policy: event-driven
//! data is queued with `try_send`, and a full queue ends the RPC with RESOURCE_EXHAUSTED
//! rather than letting memory grow or the fan-out hub wait on one client.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use tether_proto::gnmi::SubscribeResponse;
use tokio::sync::{mpsc, oneshot};
use tonic::Status;

use super::Ended;

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

/// The two ends of one subscription's queue, `capacity` responses deep.
pub(super) fn channel(capacity: usize) -> (Outbox, SubscribeStream) {
    let (tx, rx) = mpsc::channel(capacity);
    let (end_tx, end_rx) = oneshot::channel();
    let outbox = Outbox {
        tx,
        end: Some(end_tx),
    };
    let stream = SubscribeStream {
        rx,
        end: Some(end_rx),
        finished: false,
    };
    (outbox, stream)
}

/// Why the task stops sending.
pub(super) enum Stop {
    /// The queue was full; the subscriber has been told.
    Slow,
    /// The client went away.
    Gone,
}

impl From<Stop> for Ended {
    fn from(s: Stop) -> Self {
        match s {
            Stop::Slow => Ended::Slow,
            Stop::Gone => Ended::Gone,
        }
    }
}

/// The task's end of the stream.
pub(super) struct Outbox {
    pub(super) tx: mpsc::Sender<SubscribeResponse>,
    end: Option<oneshot::Sender<Status>>,
}

impl Outbox {
    /// Queues without waiting; a full queue ends the subscription.
    pub(super) fn push(&mut self, r: SubscribeResponse) -> Result<(), Stop> {
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
    pub(super) async fn send(&self, r: SubscribeResponse) -> Result<(), Stop> {
        self.tx.send(r).await.map_err(|_| Stop::Gone)
    }

    /// Ends the RPC with `status` at the stream's next poll, dropping what is still queued;
    /// only the first call counts.
    pub(super) fn fail(&mut self, status: Status) {
        if let Some(end) = self.end.take() {
            // The same cap as unary errors: a status never echoes a whole input.
            let status = Status::new(
                status.code(),
                crate::limits::cap_message(status.message().to_string()),
            );
            let _ = end.send(status);
        }
    }
}
