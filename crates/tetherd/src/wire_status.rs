//! The statuses tonic's codec gives a request it cannot decode, turned into the ones the
//! gNMI specification names.
//!
//! Why here: the generated servers decode with tonic-prost's codec before any of our code
//! runs, and it answers garbage protobuf with INTERNAL (which says "our fault") and a
//! message over `--max-request-bytes` with OUT_OF_RANGE. A layer over every service on the
//! port rewrites exactly those two, recognised by code *and* the codec's own message, into
//! INVALID_ARGUMENT and RESOURCE_EXHAUSTED naming the limit. Both are answered before the
//! handler runs, as trailers-only responses, so the status is in the response headers.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::{Code, Status};
use tower::{Layer, Service};

/// What tonic-prost says of a message it cannot decode.
const DECODE_ERROR: &str = "failed to decode Protobuf message";
/// What tonic says of a message over the decoding limit.
const TOO_LARGE: &str = "decoded message length too large";

#[derive(Clone, Copy, Default)]
pub struct WireStatusLayer;

impl<S> Layer<S> for WireStatusLayer {
    type Service = WireStatus<S>;
    fn layer(&self, inner: S) -> WireStatus<S> {
        WireStatus { inner }
    }
}

#[derive(Clone)]
pub struct WireStatus<S> {
    inner: S,
}

/// The status to send instead of `status`, if it is one of the codec's.
pub fn corrected(status: &Status) -> Option<Status> {
    let message = status.message();
    match status.code() {
        Code::Internal if message.starts_with(DECODE_ERROR) => {
            Some(Status::invalid_argument(format!(
                "malformed request: {}",
                tether_gnmi::limits::cap_message(message.into())
            )))
        }
        Code::OutOfRange if message.contains(TOO_LARGE) => Some(Status::resource_exhausted(
            format!("request too large (tetherd --max-request-bytes): {message}"),
        )),
        _ => None,
    }
}

impl<S> Service<Request<Body>> for WireStatus<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let fut = self.inner.call(req);
        Box::pin(async move {
            let mut response = fut.await?;
            let fixed = Status::from_header_map(response.headers())
                .as_ref()
                .and_then(corrected);
            if let Some(status) = fixed {
                let headers = response.headers_mut();
                headers.remove("grpc-status-details-bin");
                // Only fails on a message that cannot be a header; ours are ASCII-safe
                // once percent-encoded, so the old status stays only if it does.
                let _ = status.add_header(headers);
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_codec_statuses_are_rewritten() {
        let garbage = Status::internal("failed to decode Protobuf message: invalid wire type");
        assert_eq!(corrected(&garbage).unwrap().code(), Code::InvalidArgument);
        let big = Status::out_of_range(
            "Error, decoded message length too large: found 20000000 bytes, the limit is: 16777216 bytes",
        );
        let fixed = corrected(&big).unwrap();
        assert_eq!(fixed.code(), Code::ResourceExhausted);
        assert!(fixed.message().contains("--max-request-bytes"));
        assert!(corrected(&Status::internal("our own fault")).is_none());
        assert!(corrected(&Status::out_of_range("something else")).is_none());
    }
}
