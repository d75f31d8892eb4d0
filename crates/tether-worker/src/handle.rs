//! Starting the worker and talking to it: [`Worker::start`] and the [`WorkerHandle`] it returns.
//!
//! The worker runs on its own thread with a single-threaded tokio runtime: the [`Dataplane`]
//! API is synchronous (the Linux one runs `nft` and netlink requests) and `runtime_put` waits
//! for `fdatasync`, so keeping them off the daemon's runtime keeps gNMI responsive. Requests
//! are enums with a oneshot responder, so a caller waits for exactly its own answer.

use std::sync::Arc;

use tether_dataplane::Dataplane;
use tether_lst::{GroupDetail, GroupId};
use tether_store::Store;
use tether_telemetry::StateTree;
use tokio::sync::{Notify, mpsc, oneshot};
use tracing::error;

use tether_model::{ActionError, ActionFuture, Actions};

use crate::WorkerError;
use crate::event_loop::{Inputs, Worker};

/// What a [`WorkerHandle`] asks of the worker task.
pub(crate) enum Request {
    Settle(oneshot::Sender<()>),
    GroupDetail(GroupId, oneshot::Sender<Option<GroupDetail>>),
    /// Manual recovery of a group: the interfaces enabled, `None` for no such group.
    ClearGroup(GroupId, oneshot::Sender<Option<Vec<String>>>),
    /// Answered as soon as the loop takes it: the loop is turning.
    Alive(oneshot::Sender<()>),
}

/// The running worker. Dropping it stops the worker and waits for its thread.
pub struct WorkerHandle {
    requests: mpsc::Sender<Request>,
    clock: Arc<Notify>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker on its own thread. Boot order (see `tether-lst`): restore what Tether
    /// disabled before (`lst/disabled/` records), create configured simulated interfaces,
    /// observe every interface, compile and install the configuration, then repair drift; then
    /// it follows commits, dataplane events and the clock until the handle is dropped.
    pub fn start(
        store: Arc<dyn Store>,
        dataplane: Arc<dyn Dataplane>,
        state: Arc<StateTree>,
    ) -> Result<WorkerHandle, WorkerError> {
        // Subscribe before reading anything, so nothing that happens during boot is missed.
        let commits = store.subscribe();
        let events = dataplane.subscribe();
        let (requests_tx, requests) = mpsc::channel(64);
        let (shutdown_tx, shutdown) = oneshot::channel();
        let clock = Arc::new(Notify::new());
        let worker = Worker::new(store, dataplane, state);
        let inputs = Inputs {
            commits,
            events,
            requests,
            clock: Arc::clone(&clock),
            shutdown,
        };
        let thread = std::thread::Builder::new()
            .name("tether-worker".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_time()
                    .build();
                match runtime {
                    Ok(rt) => rt.block_on(worker.run(inputs)),
                    Err(e) => error!(error = %e, "cannot start the worker runtime"),
                }
            })
            .map_err(WorkerError::Spawn)?;
        Ok(WorkerHandle {
            requests: requests_tx,
            clock,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        })
    }
}

impl WorkerHandle {
    /// Tells the worker the dataplane clock moved (the simulator's `advance`): LST delays that
    /// expired fire now, and counters are published, without waiting for the next poll.
    pub fn clock_advanced(&self) {
        self.clock.notify_one();
    }

    /// Returns once the worker has handled every commit and dataplane event sent before the
    /// call, fired the expired delays and published counters. For tests, the simulator service
    /// and anything that must read state "after" an action.
    pub async fn settle(&self) -> Result<(), WorkerError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Settle(tx))
            .await
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Stopped)
    }

    /// `show link state group N detail`.
    pub async fn group_detail(&self, id: GroupId) -> Result<Option<GroupDetail>, WorkerError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::GroupDetail(id, tx))
            .await
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Stopped)
    }

    /// Manual recovery (`/link-state/groups/group[id]/clear`): re-enables what the group holds
    /// beyond what its status calls for. The interfaces enabled; `None` for no such group.
    pub async fn clear_link_state_group(
        &self,
        id: GroupId,
    ) -> Result<Option<Vec<String>>, WorkerError> {
        clear(&self.requests, id).await
    }

    /// The worker's side of the YANG actions, for the northbounds that invoke them.
    pub fn actions(&self) -> Arc<dyn Actions> {
        Arc::new(WorkerActions {
            requests: self.requests.clone(),
        })
    }

    /// Returns once the worker loop has taken this request: proof that it is turning (not
    /// stuck in a dataplane call), for tetherd's systemd watchdog. Does none of `settle`'s
    /// work, so it answers within one loop step.
    pub async fn alive(&self) -> Result<(), WorkerError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Alive(tx))
            .await
            .map_err(|_| WorkerError::Stopped)?;
        rx.await.map_err(|_| WorkerError::Stopped)
    }

    /// Stops the worker and waits until it has finished what it was doing.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            error!("the worker thread panicked");
        }
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("running", &self.thread.is_some())
            .finish()
    }
}

async fn clear(
    requests: &mpsc::Sender<Request>,
    id: GroupId,
) -> Result<Option<Vec<String>>, WorkerError> {
    let (tx, rx) = oneshot::channel();
    requests
        .send(Request::ClearGroup(id, tx))
        .await
        .map_err(|_| WorkerError::Stopped)?;
    rx.await.map_err(|_| WorkerError::Stopped)
}

/// [`Actions`] by requests to the worker loop; holds only the request channel, so it outlives
/// nothing (a stopped worker answers `Unavailable`).
struct WorkerActions {
    requests: mpsc::Sender<Request>,
}

impl Actions for WorkerActions {
    fn clear_link_state_group(&self, group: u16) -> ActionFuture<'_, Vec<String>> {
        Box::pin(async move {
            match clear(&self.requests, group).await {
                Ok(Some(enabled)) => Ok(enabled),
                Ok(None) => Err(ActionError::NoSuchGroup(group)),
                Err(e) => Err(ActionError::Unavailable(e.to_string())),
            }
        })
    }
}
