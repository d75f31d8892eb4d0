//! The tonic service: shared state, authentication and the tracing span of every RPC. The
//! RPCs themselves live in `capabilities.rs`, `get.rs`, `set.rs` and `subscribe.rs`.

use std::sync::Arc;

use tether_model::Schema;
use tether_proto::gnmi::g_nmi_server::{GNmi, GNmiServer};
use tether_proto::gnmi::{
    CapabilityRequest, CapabilityResponse, GetRequest, GetResponse, SetRequest, SetResponse,
    SubscribeRequest,
};
use tether_store::Store;
use tether_telemetry::StateTree;
use tokio::sync::watch;
use tonic::{Request, Response, Status, Streaming};
use tracing::{Instrument, Span, field};

use crate::auth::{self, Identity, Users};
use crate::error::GnmiError;
use crate::fanout::Hub;
use crate::limits::{Clients, Kind, Limits, Ticket};
use crate::subscribe::SubscribeStream;
use tether_auth::{Audit, Event};

/// Subscriber queue length when none is configured.
pub const DEFAULT_SUBSCRIBER_QUEUE: usize = 1024;

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct GnmiOptions {
    /// Users and roles; `None` turns authentication off.
    pub users: Option<Arc<Users>>,
    /// Notifications a STREAM subscriber may have queued before it is ended with
    /// RESOURCE_EXHAUSTED.
    pub subscriber_queue: usize,
    /// The datastore locks shared with NETCONF: a Set is refused while a session holds the
    /// running lock.
    pub locks: Arc<tether_store::Locks>,
    /// What one client may ask (`limits.rs`).
    pub limits: Limits,
}

impl Default for GnmiOptions {
    fn default() -> Self {
        GnmiOptions {
            users: None,
            subscriber_queue: DEFAULT_SUBSCRIBER_QUEUE,
            locks: Arc::new(tether_store::Locks::new()),
            limits: Limits::default(),
        }
    }
}

/// What every RPC reads.
pub(crate) struct Shared {
    pub schema: &'static Schema,
    pub store: Arc<dyn Store>,
    pub state: Arc<StateTree>,
    pub options: GnmiOptions,
    pub shutdown: watch::Receiver<bool>,
    /// Fans commit and state events out to STREAM subscriptions.
    pub hub: Arc<Hub>,
    /// Rate-limited audit lines (refused Sets, cut subscribers); the users file's limiter
    /// when there is one, so login failures and these share one budget.
    pub audit: Arc<Audit>,
    /// RPCs and streams in progress per client.
    pub clients: Arc<Clients>,
}

/// The gNMI service. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct GnmiService {
    shared: Arc<Shared>,
    shutdown: Arc<watch::Sender<bool>>,
}

impl GnmiService {
    pub fn new(
        schema: &'static Schema,
        store: Arc<dyn Store>,
        state: Arc<StateTree>,
        options: GnmiOptions,
    ) -> Self {
        let (tx, rx) = watch::channel(false);
        let audit = options
            .users
            .as_ref()
            .map_or_else(|| Arc::new(Audit::new()), |u| u.audit());
        GnmiService {
            shared: Arc::new(Shared {
                schema,
                store,
                state,
                options,
                shutdown: rx,
                hub: Arc::new(Hub::new(schema)),
                audit,
                clients: Arc::new(Clients::default()),
            }),
            shutdown: Arc::new(tx),
        }
    }

    /// The tonic server for this service (large messages allowed: a Set may carry a whole
    /// configuration).
    pub fn into_server(self) -> GNmiServer<GnmiService> {
        let max_request = self.shared.options.limits.max_request_bytes;
        GNmiServer::new(self)
            .max_decoding_message_size(max_request)
            .max_encoding_message_size(256 << 20)
    }

    /// Ends every open Subscribe stream (with UNAVAILABLE) so that a graceful server
    /// shutdown does not wait on them for ever.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// The caller and where it comes from.
pub(crate) struct Caller {
    pub identity: Identity,
    pub peer: String,
    /// The caller's place in its client's RPC (and stream) counts, for as long as it lives.
    pub _ticket: Option<Ticket>,
}

impl GnmiService {
    async fn caller<T>(
        &self,
        request: &Request<T>,
        span: &Span,
        kind: Kind,
    ) -> Result<Caller, GnmiError> {
        let addr = request.remote_addr();
        let peer = addr.map(|a| a.to_string()).unwrap_or_else(|| "-".into());
        span.record("peer", peer.as_str());
        // Counted before the password check, so a client's login flood is bounded too.
        let ticket = match addr {
            Some(a) => Some(self.shared.clients.enter(
                a.ip(),
                kind,
                &self.shared.options.limits,
            )?),
            None => None,
        };
        let identity = match &self.shared.options.users {
            Some(users) => auth::authenticate(users, request.metadata(), addr).await?,
            None => auth::anonymous(request.metadata()),
        };
        span.record("user", identity.user.as_str());
        Ok(Caller {
            identity,
            peer,
            _ticket: ticket,
        })
    }
}

/// The RPC's span; a child of the client's span when its metadata carries a W3C
/// `traceparent` (and `tracestate`), so a client's trace continues through tetherd.
fn rpc_span(method: &'static str, metadata: &tonic::metadata::MetadataMap) -> Span {
    let span = rpc_span_named(method);
    tether_telemetry::otel::set_parent_from(&span, |k| metadata.get(k)?.to_str().ok());
    span
}

fn rpc_span_named(method: &'static str) -> Span {
    // One span name per RPC (span names are static), so a trace view reads `gnmi.Set`.
    macro_rules! span {
        ($name:literal) => {
            tracing::info_span!(
                $name,
                method,
                peer = field::Empty,
                user = field::Empty,
                paths = field::Empty,
                commit = field::Empty,
                result = field::Empty
            )
        };
    }
    match method {
        "Capabilities" => span!("gnmi.Capabilities"),
        "Get" => span!("gnmi.Get"),
        "Set" => span!("gnmi.Set"),
        "Subscribe" => span!("gnmi.Subscribe"),
        _ => span!("gnmi"),
    }
}

/// Records the outcome on the span and logs it: failures the client caused at INFO, ours at
/// WARN, successes at DEBUG (Set at INFO: it changes the configuration).
fn finish<T>(span: &Span, method: &str, r: Result<T, GnmiError>) -> Result<T, Status> {
    match r {
        Ok(v) => {
            span.record("result", "OK");
            if method == "Set" {
                tracing::info!(parent: span, "Set applied");
            } else {
                tracing::debug!(parent: span, "{method} served");
            }
            Ok(v)
        }
        Err(e) => {
            let code = e.code();
            span.record("result", format!("{code:?}"));
            match e {
                GnmiError::Internal(_) => {
                    tracing::warn!(parent: span, error = %e, "{method} failed")
                }
                _ => tracing::info!(parent: span, error = %e, "{method} refused"),
            }
            Err(e.into())
        }
    }
}

#[tonic::async_trait]
impl GNmi for GnmiService {
    async fn capabilities(
        &self,
        request: Request<CapabilityRequest>,
    ) -> Result<Response<CapabilityResponse>, Status> {
        let span = rpc_span("Capabilities", request.metadata());
        let r = async {
            let _caller = self.caller(&request, &span, Kind::Unary).await?;
            crate::extensions::examine(
                crate::extensions::Rpc::Capabilities,
                &request.get_ref().extension,
            )?;
            Ok(crate::capabilities::capabilities(self.shared.schema))
        }
        .instrument(span.clone())
        .await;
        finish(&span, "Capabilities", r).map(Response::new)
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let span = rpc_span("Get", request.metadata());
        let r = async {
            let _caller = self.caller(&request, &span, Kind::Unary).await?;
            crate::get::get(&self.shared, request.get_ref(), &span)
        }
        .instrument(span.clone())
        .await;
        finish(&span, "Get", r).map(Response::new)
    }

    async fn set(&self, request: Request<SetRequest>) -> Result<Response<SetResponse>, Status> {
        let span = rpc_span("Set", request.metadata());
        let mut who = None;
        let r = async {
            let caller = self.caller(&request, &span, Kind::Unary).await?;
            who = Some((caller.identity.user.clone(), caller.peer.clone()));
            auth::require_write(&caller.identity)?;
            crate::set::set(&self.shared, &caller, request.get_ref(), &span).await
        }
        .instrument(span.clone())
        .await;
        // A refused Set by an authenticated caller is an audit line (a failed login already
        // wrote its own).
        if let (Err(e), Some((user, peer))) = (&r, &who) {
            self.shared
                .audit
                .record(Event::WriteRefused, "gnmi", user, peer, &e.to_string());
        }
        finish(&span, "Set", r).map(Response::new)
    }

    type SubscribeStream = SubscribeStream;

    async fn subscribe(
        &self,
        request: Request<Streaming<SubscribeRequest>>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let span = rpc_span("Subscribe", request.metadata());
        let caller = match self
            .caller(&request, &span, Kind::Stream)
            .instrument(span.clone())
            .await
        {
            Ok(c) => c,
            Err(e) => return finish(&span, "Subscribe", Err(e)),
        };
        let inbound = request.into_inner();
        let r = crate::subscribe::start(self.shared.clone(), caller, inbound, span.clone()).await;
        match r {
            Ok(stream) => {
                tracing::debug!(parent: &span, "Subscribe started");
                Ok(Response::new(stream))
            }
            Err(e) => finish(&span, "Subscribe", Err(e)),
        }
    }
}
