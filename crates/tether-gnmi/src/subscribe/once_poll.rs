//! ONCE and POLL: the current values when the client asks, then a sync response.
//!
//! Both wait for room in the queue instead of cutting the client off, because the client
//! asked for exactly this data and is reading it; only event-driven STREAM data can outrun
//! a subscriber.

use tether_proto::gnmi::{SubscribeRequest, subscribe_request};
use tonic::{Status, Streaming};

use super::outbox::Outbox;
use super::snapshot::sync_response;
use super::{Ended, Subscription};
use crate::extensions::{self, Rpc};

impl Subscription {
    pub(super) async fn once(&mut self, out: &Outbox) -> Result<(), Ended> {
        if !self.updates_only {
            for n in self.snapshot_all()? {
                out.send(n).await?;
            }
        }
        out.send(sync_response()).await?;
        Ok(())
    }

    pub(super) async fn poll(
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
                    Ok(Some(SubscribeRequest { request: Some(subscribe_request::Request::Poll(_)), extension })) => {
                        // A poll's extensions are examined like the list's; the list's
                        // depth holds for every poll, so a poll cannot carry its own.
                        match extensions::examine(Rpc::Subscribe, &extension) {
                            Ok(e) if e.depth.is_some() => {
                                return Err(Ended::Failed(Status::invalid_argument(
                                    "the depth extension belongs on the subscription list, not on a Poll",
                                )));
                            }
                            Ok(_) => {}
                            Err(e) => return Err(Ended::Failed(e.into())),
                        }
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
}
