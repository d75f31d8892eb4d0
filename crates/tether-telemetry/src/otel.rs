//! OpenTelemetry: `tracing` spans exported over OTLP/gRPC when an endpoint is configured.
//!
//! Off unless `--otlp-endpoint` is given: [`layer`] returns `None` and nothing is exported.
//! The returned [`OtelGuard`] flushes the batch exporter when dropped, so the last spans of a
//! shutting-down daemon are not lost.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::registry::LookupSpan;

/// Why the exporter could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    #[error("cannot build the OTLP exporter for {endpoint}: {message}")]
    Exporter { endpoint: String, message: String },
}

/// Keeps the tracer provider alive; flushes and shuts it down on drop.
#[derive(Debug)]
pub struct OtelGuard {
    provider: SdkTracerProvider,
}

impl OtelGuard {
    /// Exports every finished span now.
    pub fn flush(&self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!(error = %e, "OTLP flush failed");
        }
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        let _ = self.provider.force_flush();
        let _ = self.provider.shutdown();
    }
}

/// A `tracing-subscriber` layer exporting spans to `endpoint` (e.g. `http://127.0.0.1:4317`)
/// as service `service_name`, or `None` when `endpoint` is `None`. Must be called inside a
/// tokio runtime (the gRPC exporter and the batch processor run on it).
#[allow(clippy::type_complexity)]
pub fn layer<S>(
    endpoint: Option<&str>,
    service_name: &'static str,
) -> Result<Option<(Box<dyn Layer<S> + Send + Sync + 'static>, OtelGuard)>, OtelError>
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    let Some(endpoint) = endpoint else {
        return Ok(None);
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| OtelError::Exporter {
            endpoint: endpoint.to_string(),
            message: e.to_string(),
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(service_name).build())
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
            ]
            .map(|t| (t, LevelFilter::OFF)),
        );
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(transport)
        .boxed();
    Ok(Some((layer, OtelGuard { provider })))
}

// ===== trace context across the commit boundary =====

/// The W3C `traceparent` of the current span (`00-<trace id>-<span id>-01`), when
/// OpenTelemetry is on. A commit carries it so the worker's reconcile span joins the trace of
/// the gNMI Set that made the commit, although the two run on different threads.
pub fn current_traceparent() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// Makes `span` a child of the span a `traceparent` names (ignored when malformed or when
/// OpenTelemetry is off).
pub fn set_parent(span: &tracing::Span, traceparent: &str) {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let parts: Vec<&str> = traceparent.split('-').collect();
    let [_, trace, parent, flags] = parts.as_slice() else {
        return;
    };
    let (Ok(t), Ok(s), Ok(f)) = (
        TraceId::from_hex(trace),
        SpanId::from_hex(parent),
        u8::from_str_radix(flags, 16),
    ) else {
        return;
    };
    let sc = SpanContext::new(t, s, TraceFlags::new(f), true, TraceState::default());
    if sc.is_valid() {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(sc));
    }
}
