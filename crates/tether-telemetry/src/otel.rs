//! OpenTelemetry: `tracing` spans exported over OTLP, and the W3C trace context that joins
//! them across threads and processes.
//!
//! Export is off unless an endpoint is configured: `--otlp-endpoint`, or the standard
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`. The transport follows
//! `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` / `OTEL_EXPORTER_OTLP_PROTOCOL`: `grpc` (the default,
//! as `--otlp-endpoint` always meant) or `http/protobuf`. Headers, timeout and the batch
//! processor's settings come from their `OTEL_*` variables (read by opentelemetry-otlp and
//! the SDK), the resource from `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`;
//! `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` turn export off.
//! The returned [`OtelGuard`] flushes the batch exporter when dropped, so the last spans of a
//! shutting-down daemon are not lost.
//!
//! Trace context is the W3C `traceparent`/`tracestate` pair, written and read by
//! opentelemetry's [`TraceContextPropagator`], never by hand: a commit carries it from the
//! gNMI Set to the worker's reconcile ([`current_traceparent`], [`set_parent`]), and a client's
//! gRPC metadata makes the RPC's span a child of the client's ([`set_parent_from`]).

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// Why the exporter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    #[error("cannot build the OTLP exporter for {endpoint}: {message}")]
    Exporter { endpoint: String, message: String },
    #[error("{variable}={value:?}: only \"grpc\" and \"http/protobuf\" are supported")]
    Protocol {
        variable: &'static str,
        value: String,
    },
}

/// How spans travel to the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC (port 4317 by convention).
    Grpc,
    /// OTLP/HTTP with protobuf bodies, POST `<endpoint>/v1/traces` (port 4318).
    HttpProtobuf,
}

/// Where spans go, as resolved from the flag and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    /// `--otlp-endpoint` when given; otherwise opentelemetry-otlp reads the `OTEL_*` endpoint.
    pub endpoint: Option<String>,
    pub protocol: Protocol,
}

impl std::fmt::Display for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let proto = match self.protocol {
            Protocol::Grpc => "OTLP/gRPC",
            Protocol::HttpProtobuf => "OTLP/HTTP (protobuf)",
        };
        match &self.endpoint {
            Some(e) => write!(f, "{proto} to {e}"),
            None => write!(f, "{proto} to the endpoint of OTEL_EXPORTER_OTLP_*"),
        }
    }
}

/// Decides whether and how to export, from `--otlp-endpoint` and the environment `env`
/// (a lookup, so tests need not touch the process environment).
pub fn resolve(
    flag: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Export>, OtelError> {
    let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    if set("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v.trim().eq_ignore_ascii_case("none"))
    {
        return Ok(None);
    }
    let from_env = set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
        || set("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    if flag.is_none() && !from_env {
        return Ok(None);
    }
    let (variable, value) = match set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
        Some(v) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", v),
        None => (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            set("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_default(),
        ),
    };
    let protocol = match value.trim() {
        "" | "grpc" => Protocol::Grpc,
        "http/protobuf" => Protocol::HttpProtobuf,
        other => {
            return Err(OtelError::Protocol {
                variable,
                value: other.chars().take(64).collect(),
            });
        }
    };
    Ok(Some(Export {
        endpoint: flag.map(str::to_string),
        protocol,
    }))
}

/// Keeps the tracer provider alive; flushes and shuts it down on drop.
#[derive(Debug)]
pub struct OtelGuard {
    provider: SdkTracerProvider,
    export: Export,
}

impl OtelGuard {
    /// Exports every finished span now.
    pub fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!(error = %e, "OTLP flush failed");
        }
    }

    /// Where the spans go.
    pub fn export(&self) -> &Export {
        &self.export
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        let _ = self.provider.force_flush();
        let _ = self.provider.shutdown();
    }
}

/// A `tracing-subscriber` layer exporting spans as `export` says, as service `service_name`
/// unless `OTEL_SERVICE_NAME` names another, or `None` when `export` is `None`. Must be
/// called inside a tokio runtime (the exporters and the batch processor run on it).
#[allow(clippy::type_complexity)]
pub fn layer<S>(
    export: Option<Export>,
    service_name: &'static str,
) -> Result<Option<(Box<dyn Layer<S> + Send + Sync + 'static>, OtelGuard)>, OtelError>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let Some(export) = export else {
        return Ok(None);
    };
    let failed = |e: opentelemetry_otlp::ExporterBuildError| OtelError::Exporter {
        endpoint: export.to_string(),
        message: e.to_string(),
    };
    let builder = opentelemetry_otlp::SpanExporter::builder();
    let exporter = match export.protocol {
        Protocol::Grpc => {
            let b = builder.with_tonic();
            match &export.endpoint {
                Some(e) => b.with_endpoint(e.clone()),
                None => b,
            }
            .build()
        }
        Protocol::HttpProtobuf => {
            let b = builder
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary);
            match &export.endpoint {
                // The flag names the collector, as OTEL_EXPORTER_OTLP_ENDPOINT does: the
                // signal's path is added the same way.
                Some(e) => b.with_endpoint(format!("{}/v1/traces", e.trim_end_matches('/'))),
                None => b,
            }
            .build()
        }
    }
    .map_err(failed)?;
    let exporter = OnRuntime {
        inner: exporter,
        handle: tokio::runtime::Handle::try_current().map_err(|e| OtelError::Exporter {
            endpoint: export.to_string(),
            message: format!("not inside a tokio runtime: {e}"),
        })?,
    };
    // Resource::builder() reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none_or(|v| v.is_empty()) {
        resource = resource.with_service_name(service_name);
    }
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer(service_name);
    // Tether's own spans only: the gRPC/HTTP-2 stack's spans would flood the exporter, and
    // the exporter's own OTLP connection would feed itself spans for the next export forever.
    let transport = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(
            [
                "h2",
                "hyper",
                "hyper_util",
                "tonic",
                "tower",
                "opentelemetry_otlp",
                "opentelemetry_http",
            ]
            .map(|t| (t, LevelFilter::OFF)),
        );
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(transport)
        .boxed();
    Ok(Some((layer, OtelGuard { provider, export })))
}

/// The exporter with every export polled inside the tokio runtime `layer` was called in. The
/// SDK's batch processor runs exports on a thread of its own with a plain executor; the
/// gRPC client copes (its channel lives on the runtime), but the OTLP/HTTP client (hyper)
/// needs the runtime's reactor in context while its request is polled.
#[derive(Debug)]
struct OnRuntime<E> {
    inner: E,
    handle: tokio::runtime::Handle,
}

impl<E: opentelemetry_sdk::trace::SpanExporter> opentelemetry_sdk::trace::SpanExporter
    for OnRuntime<E>
{
    fn export(
        &self,
        batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> impl std::future::Future<Output = opentelemetry_sdk::error::OTelSdkResult> + Send {
        let mut export = Box::pin(self.inner.export(batch));
        let handle = self.handle.clone();
        std::future::poll_fn(move |cx| {
            let _runtime = handle.enter();
            export.as_mut().poll(cx)
        })
    }

    fn shutdown_with_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> opentelemetry_sdk::error::OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

// ===== trace context: W3C traceparent/tracestate through opentelemetry's propagator =====

/// The W3C `traceparent` of the current span (`00-<trace id>-<span id>-<flags>`), when
/// OpenTelemetry is on. A commit carries it so the worker's reconcile span joins the trace of
/// the gNMI Set that made the commit, although the two run on different threads.
pub fn current_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the span a `traceparent` names (ignored when malformed or when
/// OpenTelemetry is off). Call it before the span is first entered.
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    set_parent_from(span, |k| (k == "traceparent").then_some(traceparent));
}

/// Makes `span` a child of the remote span whose W3C context `get` returns for the keys
/// `traceparent` and `tracestate` (a gRPC request's metadata): a client's trace then
/// continues through tetherd. Nothing happens when there is none, it is malformed, or
/// OpenTelemetry is off. Call it before the span is first entered.
pub fn set_parent_from<'a>(span: &tracing::Span, get: impl Fn(&str) -> Option<&'a str>) {
    let carrier: HashMap<String, String> = ["traceparent", "tracestate"]
        .into_iter()
        .filter_map(|k| Some((k.to_string(), get(k)?.to_string())))
        .collect();
    if carrier.is_empty() {
        return;
    }
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn export_is_off_unless_an_endpoint_is_configured() {
        assert_eq!(resolve(None, env(&[])).unwrap(), None);
        // A protocol alone names no collector.
        assert_eq!(
            resolve(None, env(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")])).unwrap(),
            None
        );
        let flag = resolve(Some("http://c:4317"), env(&[])).unwrap().unwrap();
        assert_eq!(flag.endpoint.as_deref(), Some("http://c:4317"));
        assert_eq!(flag.protocol, Protocol::Grpc);
        for var in [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ] {
            let e = resolve(None, env(&[(var, "http://c:4317")]))
                .unwrap()
                .unwrap();
            // opentelemetry-otlp reads the variable itself (and its precedence rules).
            assert_eq!(e.endpoint, None);
            assert_eq!(e.protocol, Protocol::Grpc);
        }
    }

    #[test]
    fn protocol_from_the_environment_signal_variable_first() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
        let http = ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf");
        let e = resolve(None, env(&[ep, http])).unwrap().unwrap();
        assert_eq!(e.protocol, Protocol::HttpProtobuf);
        let e = resolve(
            None,
            env(&[ep, http, ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(e.protocol, Protocol::Grpc);
        let err = resolve(
            None,
            env(&[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && err.contains("http/json"),
            "{err}"
        );
    }

    #[test]
    fn the_sdk_switches_turn_export_off() {
        let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317");
        for off in [
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ] {
            assert_eq!(
                resolve(Some("http://c:4317"), env(&[ep, off])).unwrap(),
                None
            );
        }
        assert!(
            resolve(None, env(&[ep, ("OTEL_SDK_DISABLED", "false")]))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn traceparent_round_trips_through_the_propagator_only_when_on() {
        // No OpenTelemetry layer installed: no current context, nothing to carry.
        assert_eq!(current_traceparent(), None);
        // A malformed or absent traceparent leaves the span alone (and does not panic).
        let span = tracing::info_span!("x");
        set_parent(&span, "not-a-traceparent");
        set_parent_from(&span, |_| None);
    }
}
