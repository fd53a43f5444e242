//! What a process tells its operator besides metrics: logs ([`logs`]: JSON lines on stdout) and
//! traces ([`otlp`]: OpenTelemetry over OTLP/HTTP, only when `OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set). [`trace`] carries a trace across processes as
//! a W3C `traceparent` (NATS headers, event records, callbacks) whether or not it is exported.
//!
//! `RUST_LOG` filters the logs only; the exported spans are Herald's own (its crates, `INFO`
//! and up), sampled as the standard `OTEL_TRACES_SAMPLER` says.

mod logs;
mod otlp;
pub mod trace;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use logs::{JsonLine, StdoutIgnoringErrors};

/// The crates whose spans are exported.
const TRACED_CRATES: [&str; 7] = [
    "herald_core",
    "herald_elements",
    "herald_gateway",
    "herald_ingest",
    "herald_provisioning",
    "herald_poller",
    "herald_delivery",
];

/// What [`init`] set up; [`Telemetry::shutdown`] exports the spans still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporter (on its own thread: its HTTP client blocks).
    pub fn shutdown(self) {
        if let Some(provider) = self.provider {
            let done = std::thread::spawn(move || provider.shutdown());
            if let Ok(Err(e)) = done.join() {
                tracing::warn!(error = %e, "traces could not all be exported at shutdown");
            }
        }
    }
}

/// Installs the JSON logger and, when configured, the trace exporter for `service`
/// (e.g. `herald-gateway`). A second call installs nothing, so several services can start
/// inside one test process.
pub fn init(service: &'static str) -> Telemetry {
    let provider = otlp::provider(service);
    let tracer = provider.as_ref().map(|p| {
        use opentelemetry::trace::TracerProvider as _;
        p.tracer(service)
    });
    let targets = TRACED_CRATES
        .iter()
        .fold(Targets::new(), |t, c| t.with_target(*c, LevelFilter::INFO));
    let traces = tracer.map(|t| {
        tracing_opentelemetry::layer()
            .with_tracer(t)
            .with_filter(targets)
    });
    let installed = tracing_subscriber::registry()
        .with(log_layer(service, || StdoutIgnoringErrors))
        .with(traces)
        .try_init()
        .is_ok();
    if installed && provider.is_some() {
        trace::set_exported();
    }
    Telemetry { provider }
}

/// As [`init`] without traces, writing each log line to `writer` (tests capture logs so).
pub fn init_with_writer<W>(service: &'static str, writer: W)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::registry()
        .with(log_layer(service, writer))
        .try_init();
}

fn log_layer<S, W>(service: &'static str, writer: W) -> impl Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt::layer()
        .event_format(JsonLine { service })
        .with_writer(writer)
        .with_filter(filter)
}
