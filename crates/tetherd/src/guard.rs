//! Authentication for the services beside gNMI on the same port.
//!
//! gNMI checks credentials itself (per RPC, with the method's role). The datastore admin
//! service (commit log, rollback), the link-state actions (clear) and the dataplane simulator (packets, clock) are guarded
//! here, with the same users file and roles: reading needs a known user, anything that
//! changes the datastore or the dataplane needs read-write.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tether_gnmi::{Role, Users};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::metadata::MetadataMap;
use tower::{Layer, Service};

/// gRPC methods (path prefixes) guarded here, and whether each needs read-write. Reflection
/// and health read nothing of the datastore but tell what the daemon serves and whether it
/// is up: with a users file they need a known user too.
const GUARDED: &[(&str, bool)] = &[
    ("/grpc.reflection.v1.ServerReflection/", false),
    ("/grpc.reflection.v1alpha.ServerReflection/", false),
    ("/grpc.health.v1.Health/", false),
    ("/tether.admin.v1.Datastore/ListCommits", false),
    ("/tether.admin.v1.Datastore/", true),
    ("/tether.admin.v1.LinkState/", true),
    ("/tether.sim.v1.Simulator/ListConnections", false),
    ("/tether.sim.v1.Simulator/GetClock", false),
    ("/tether.sim.v1.Simulator/", true),
];

/// The layer: a no-op without a users file.
#[derive(Clone)]
pub struct GuardLayer {
    users: Option<Arc<Users>>,
}

impl GuardLayer {
    pub fn new(users: Option<Arc<Users>>) -> Self {
        GuardLayer { users }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            users: self.users.clone(),
        }
    }
}

/// The peer address tonic's transport put in the request (plain TCP or under TLS).
fn peer(req: &Request<Body>) -> Option<std::net::SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|t| t.get_ref().remote_addr())
        })
}

#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    users: Option<Arc<Users>>,
}

impl<S> Service<Request<Body>> for Guard<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let rule = GUARDED
            .iter()
            .find(|(prefix, _)| req.uri().path().starts_with(prefix))
            .map(|(_, write)| *write);
        let (Some(users), Some(write)) = (self.users.clone(), rule) else {
            let fut = self.inner.call(req);
            return Box::pin(fut);
        };
        // The service that was polled ready handles this request; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let metadata = MetadataMap::from_headers(req.headers().clone());
            let verdict = match tether_gnmi::auth::authenticate(&users, &metadata, peer(&req)).await
            {
                Err(e) => Err(Status::from(e)),
                Ok(id) if write && id.role == Role::ReadOnly => {
                    Err(Status::permission_denied(format!(
                        "user {} is read-only and may not call {}",
                        id.user,
                        req.uri().path()
                    )))
                }
                Ok(_) => Ok(()),
            };
            match verdict {
                Ok(()) => inner.call(req).await,
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}
