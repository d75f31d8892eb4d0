//! OpenTelemetry end to end: tetherd configured only through the standard `OTEL_*`
//! environment exports to a receiver in this test — OTLP/gRPC and OTLP/HTTP — and a client's
//! W3C `traceparent` metadata on a gNMI Set makes the Set, its commit and the worker's
//! reconcile spans of the client's trace, the Set a child of the client's span.

#![allow(clippy::unwrap_used)] // integration tests: a failed step should panic

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use serde_json::json;
use tether_proto::gnmi::SetRequest;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_stream::wrappers::TcpListenerStream;

/// A span as received: (service.name, name, trace id, span id, parent span id), ids in hex.
#[derive(Debug, Clone)]
struct Got {
    service: String,
    name: String,
    trace: String,
    span: String,
    parent: String,
}

type Spans = Arc<Mutex<Vec<Got>>>;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn record(spans: &Spans, req: ExportTraceServiceRequest) {
    let mut out = spans.lock().unwrap();
    for rs in req.resource_spans {
        let service = rs
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_default();
        for ss in rs.scope_spans {
            for s in ss.spans {
                out.push(Got {
                    service: service.clone(),
                    name: s.name,
                    trace: hex(&s.trace_id),
                    span: hex(&s.span_id),
                    parent: hex(&s.parent_span_id),
                });
            }
        }
    }
}

#[derive(Clone)]
struct Grpc(Spans);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        record(&self.0, request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

/// An OTLP/gRPC receiver on a free port: its address and what it received.
async fn grpc_receiver() -> (String, Spans) {
    let spans = Spans::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let svc = TraceServiceServer::new(Grpc(spans.clone()));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming(TcpListenerStream::new(listener)),
    );
    (format!("http://{addr}"), spans)
}

/// An OTLP/HTTP receiver (HTTP/1.1, POST /v1/traces, protobuf body) on a free port: a few
/// lines of HTTP on a socket, enough for the exporter's requests. Records each request's path.
async fn http_receiver() -> (String, Spans, Arc<Mutex<Vec<String>>>) {
    let spans = Spans::default();
    let paths = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (s, p) = (spans.clone(), paths.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (s, p) = (s.clone(), p.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // Headers, then Content-Length bytes of body; keep-alive: loop.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 8192];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        let mut chunk = [0u8; 8192];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let body: Vec<u8> = buf.drain(..head_end + len).skip(head_end).collect();
                    p.lock().unwrap().push(path);
                    if let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice()) {
                        record(&s, req);
                    }
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if sock.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), spans, paths)
}

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

/// Starts tetherd with `env`, sends one Set carrying the client's traceparent, and waits until
/// `spans` holds the Set, its commit and the worker's reconcile of the client's trace.
async fn set_with_traceparent_arrives(env: &[(&str, &str)], spans: &Spans, service: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut env = env.to_vec();
    // Export within 100 ms instead of the default 5 s.
    env.push(("OTEL_BSP_SCHEDULE_DELAY", "100"));
    let d = Daemon::start_env(&dir.path().join("data"), &[], &env).unwrap();
    let mut c = d.client().await;
    let mut req = tonic::Request::new(SetRequest {
        update: vec![update(
            "/link-state/groups/group[id=7]/config",
            json!({"id": 7, "description": "traced"}),
        )],
        ..Default::default()
    });
    req.metadata_mut().insert(
        "traceparent",
        format!("00-{TRACE}-{CLIENT_SPAN}-01").parse().unwrap(),
    );
    c.set(req).await.unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got: Vec<Got> = spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace == TRACE)
            .cloned()
            .collect();
        let find = |n: &str| got.iter().find(|s| s.name == n).cloned();
        if let (Some(set), Some(commit), Some(reconcile)) = (
            find("gnmi.Set"),
            find("store.commit"),
            find("worker.reconcile"),
        ) {
            assert_eq!(
                set.parent, CLIENT_SPAN,
                "the Set is a child of the client's span"
            );
            assert_eq!(commit.parent, set.span, "the commit is a child of the Set");
            assert_eq!(
                reconcile.parent, commit.span,
                "the reconcile continues the commit"
            );
            assert!(got.iter().all(|s| s.service == service), "{got:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the client's trace did not arrive: {:?}",
            spans.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn otlp_grpc_from_the_environment_carries_the_clients_trace() {
    let (endpoint, spans) = grpc_receiver().await;
    set_with_traceparent_arrives(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_SERVICE_NAME", "tetherd-lab-3"),
        ],
        &spans,
        "tetherd-lab-3",
    )
    .await;
}

#[tokio::test]
async fn otlp_http_protobuf_from_the_environment_carries_the_clients_trace() {
    let (endpoint, spans, paths) = http_receiver().await;
    set_with_traceparent_arrives(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ],
        &spans,
        "tetherd",
    )
    .await;
    assert!(
        paths.lock().unwrap().iter().all(|p| p == "/v1/traces"),
        "{:?}",
        paths.lock().unwrap()
    );
}
