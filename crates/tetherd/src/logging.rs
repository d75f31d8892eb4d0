//! Logs on stderr, human or JSON, filtered by `RUST_LOG` (default `info`), and spans exported
//! over OTLP when `--otlp-endpoint` or the `OTEL_EXPORTER_OTLP_*` environment asks for it.

use std::io::IsTerminal;

use tether_telemetry::otel::{Export, OtelError, OtelGuard};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// Installs the global subscriber. Must run inside the tokio runtime (the OTLP exporter runs
/// on it). The guard flushes exported spans when dropped.
pub fn init(format: LogFormat, export: Option<Export>) -> Result<Option<OtelGuard>, OtelError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Human => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    // The filter applies to the log output only: spans still reach the exporter so a trace
    // is complete whatever the log level.
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> =
        vec![fmt.with_filter(filter).boxed()];
    let guard = match tether_telemetry::otel::layer::<Registry>(export, "tetherd")? {
        Some((l, g)) => {
            layers.push(l);
            Some(g)
        }
        None => None,
    };
    tracing_subscriber::registry().with(layers).init();
    Ok(guard)
}
