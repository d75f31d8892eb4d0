//! `otel::layer` against a real OTLP/gRPC receiver running in this process: the spans of one gNMI
//! Set (Set → store commit → worker reconcile → dataplane apply) must arrive as one trace, with
//! each span's parent the one before it, both on an explicit flush and when the guard is dropped
//! at shutdown.
//!
//! The spans are emitted the way the daemon's threads do: the Set on an async task, the commit on
//! the store's writer thread, the reconcile and the apply on the worker's thread. Crossing a thread
//! keeps the trace only if the parent span is handed over explicitly (`parent: &span`).
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use tracing::{Instrument, Span, info_span};
use tracing_subscriber::layer::SubscriberExt;

const SERVICE: &str = "tetherd-otlp-test";
const CHAIN: [&str; 4] = [
    "gnmi.Set",
    "store.commit",
    "worker.reconcile",
    "dataplane.apply",
];

/// One exported span with the `service.name` of its resource.
#[derive(Debug, Clone)]
struct Received {
    service: Option<String>,
    span: OtlpSpan,
}

#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let mut out = self.spans.lock().unwrap();
        for rs in request.into_inner().resource_spans {
            let service = rs.resource.as_ref().and_then(|r| {
                r.attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        Value::StringValue(s) => Some(s.clone()),
                        _ => None,
                    })
            });
            for ss in rs.scope_spans {
                for span in ss.spans {
                    out.push(Received {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// Emits one Set's spans across an async task and two threads, as the daemon does; `tag`
/// distinguishes the rounds of the test.
async fn one_set(tag: &'static str) {
    let set = info_span!("gnmi.Set", tag, user = "admin", paths = 1);
    async move {
        // The gNMI handler hands its span to the store with the commit request.
        let set = Span::current();
        let commit = tokio::task::spawn_blocking(move || {
            let commit = info_span!(parent: &set, "store.commit", tag, commit_id = 1);
            let _entered = commit.enter();
            tracing::info!("fdatasync done");
            // ... and the store hands the commit's span to the worker with the commit record.
            commit.clone()
        })
        .await
        .unwrap();
        tokio::task::spawn_blocking(move || {
            let reconcile =
                info_span!(parent: &commit, "worker.reconcile", tag, trigger = "commit");
            let _reconcile = reconcile.enter();
            // Inside the worker the current span is the parent, as in `Worker::install_program`.
            let apply = info_span!("dataplane.apply", tag, op = "install-bypass");
            let _apply = apply.enter();
            tracing::info!("bypass program installed");
        })
        .await
        .unwrap();
    }
    .instrument(set)
    .await;
}

/// The string value of attribute `key` of a span (tracing fields become span attributes).
fn attribute(span: &OtlpSpan, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.clone()),
            _ => None,
        })
}

/// The received spans of round `tag`, once all four of the chain are in or `within` has passed.
async fn wait_for_round(
    spans: &Arc<Mutex<Vec<Received>>>,
    tag: &str,
    within: Duration,
) -> Vec<Received> {
    let deadline = Instant::now() + within;
    loop {
        let got: Vec<Received> = spans
            .lock()
            .unwrap()
            .iter()
            .filter(|r| attribute(&r.span, "tag").as_deref() == Some(tag))
            .cloned()
            .collect();
        if got.len() >= CHAIN.len() || Instant::now() >= deadline {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks that `got` is exactly the four spans of the chain, in one trace, each the child of the
/// one before; returns the trace id.
fn assert_one_trace(got: &[Received], round: &str) -> Vec<u8> {
    let names: Vec<&str> = got.iter().map(|r| r.span.name.as_str()).collect();
    assert_eq!(got.len(), CHAIN.len(), "{round}: received {names:?}");
    let by_name = |n: &str| {
        got.iter()
            .find(|r| r.span.name == n)
            .unwrap_or_else(|| panic!("{round}: no span {n:?} in {names:?}"))
    };
    let chain: Vec<&Received> = CHAIN.iter().map(|n| by_name(n)).collect();
    let trace_id = chain[0].span.trace_id.clone();
    assert_eq!(trace_id.len(), 16, "{round}: trace id {trace_id:?}");
    assert!(trace_id.iter().any(|b| *b != 0), "{round}: zero trace id");
    for r in &chain {
        assert_eq!(
            r.span.trace_id, trace_id,
            "{round}: {} is in another trace",
            r.span.name
        );
        assert_eq!(r.span.span_id.len(), 8, "{round}: {}", r.span.name);
        assert_eq!(
            r.service.as_deref(),
            Some(SERVICE),
            "{round}: {}",
            r.span.name
        );
        assert!(
            r.span.end_time_unix_nano >= r.span.start_time_unix_nano,
            "{round}: {}",
            r.span.name
        );
    }
    assert!(
        chain[0].span.parent_span_id.is_empty(),
        "{round}: the Set span must be the root, parent {:?}",
        chain[0].span.parent_span_id
    );
    for pair in chain.windows(2) {
        assert_eq!(
            pair[1].span.parent_span_id, pair[0].span.span_id,
            "{round}: the parent of {} is not {}",
            pair[1].span.name, pair[0].span.name
        );
    }
    trace_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_of_one_set_arrive_as_one_trace() {
    // The receiver: a plain OTLP/gRPC trace collector on an ephemeral loopback port.
    let receiver = Receiver::default();
    let spans = receiver.spans.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(receiver))
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );

    // Off without an endpoint.
    assert!(
        tether_telemetry::otel::layer::<tracing_subscriber::Registry>(None, SERVICE)
            .unwrap()
            .is_none()
    );

    let endpoint = format!("http://{addr}");
    let (layer, guard) = tether_telemetry::otel::layer::<tracing_subscriber::Registry>(
        Some(tether_telemetry::otel::Export {
            endpoint: Some(endpoint.clone()),
            protocol: tether_telemetry::otel::Protocol::Grpc,
        }),
        SERVICE,
    )
    .unwrap()
    .unwrap();
    // Global, as in the daemon: the spans are made on several threads.
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();

    // Round 1: an explicit flush exports the finished spans. `flush` blocks until the batch
    // exporter's thread has sent them over the gRPC channel, which the runtime drives: call it
    // off the async threads.
    one_set("flush").await;
    let guard = tokio::task::spawn_blocking(move || {
        guard.flush();
        guard
    })
    .await
    .unwrap();
    let first = wait_for_round(&spans, "flush", Duration::from_secs(10)).await;
    let first_trace = assert_one_trace(&first, "flush");

    // Round 2: spans still in the batch when the daemon shuts down are exported by dropping the
    // guard, before the drop returns.
    one_set("shutdown").await;
    tokio::task::spawn_blocking(move || drop(guard))
        .await
        .unwrap();
    let second = wait_for_round(&spans, "shutdown", Duration::ZERO).await;
    let second_trace = assert_one_trace(&second, "shutdown");
    assert_ne!(first_trace, second_trace, "each Set is its own trace");

    // Nothing but the daemon's own spans is exported. In particular not the spans of the HTTP/2
    // and gRPC crates (h2, hyper, tonic, tower): those include the exporter's own connection, so
    // exporting them makes every export produce hundreds of spans for the next one, forever, and
    // they crowd the real spans out of the batch queue.
    let foreign: Vec<String> = spans
        .lock()
        .unwrap()
        .iter()
        .filter(|r| !CHAIN.contains(&r.span.name.as_str()))
        .map(|r| {
            let module = attribute(&r.span, "code.module.name").unwrap_or_default();
            format!("{module} {}", r.span.name)
        })
        .collect();
    assert!(
        foreign.is_empty(),
        "otel::layer exported {} spans that are not Tether's (a feedback loop through its own \
         OTLP transport); the first: {:?}",
        foreign.len(),
        &foreign[..foreign.len().min(8)]
    );
}
