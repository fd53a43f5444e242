//! The OTLP/HTTP (protobuf) span exporter, configured by the standard variables: endpoint
//! (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`),
//! headers, `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`, the sampler
//! (`OTEL_TRACES_SAMPLER[_ARG]`) and the batch processor (`OTEL_BSP_*`). Unset, or
//! `OTEL_SDK_DISABLED=true`, or `OTEL_TRACES_EXPORTER=none`: no exporter. A configuration the
//! exporter refuses is logged and the process runs on without traces, never fails.

use std::time::Duration;

use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::WithHttpConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

/// How long one export may take (the OTLP default).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The tracer provider, if traces are to be exported.
pub(super) fn provider(service: &'static str) -> Option<SdkTracerProvider> {
    let wanted = var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some()
        || var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some();
    let disabled = var("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || var("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    if !wanted || disabled {
        return None;
    }
    let protocol =
        var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"));
    if let Some(p) = protocol.filter(|p| p != "http/protobuf") {
        eprintln!(
            "{service}: OTEL_EXPORTER_OTLP_PROTOCOL={p} is not supported; exporting http/protobuf"
        );
    }
    // The blocking client must be built (and later dropped) off the async runtime.
    let built = std::thread::spawn(move || build(service)).join();
    match built {
        Ok(Ok(provider)) => Some(provider),
        Ok(Err(e)) => {
            eprintln!("{service}: traces will not be exported: {e}");
            None
        }
        Err(_) => {
            eprintln!("{service}: traces will not be exported: the exporter could not start");
            None
        }
    }
}

fn build(service: &'static str) -> Result<SdkTracerProvider, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(Blocking(client))
        .build()
        .map_err(|e| e.to_string())?;
    let mut resource = Resource::builder();
    if var("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The exporter's HTTP client: reqwest's blocking client (the batch processor exports from its
/// own thread, outside any async runtime).
#[derive(Debug)]
struct Blocking(reqwest::blocking::Client);

#[async_trait::async_trait]
impl HttpClient for Blocking {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let mut req = self.0.request(parts.method, parts.uri.to_string());
        for (name, value) in &parts.headers {
            req = req.header(name, value);
        }
        let resp = req.body(body.to_vec()).send()?;
        let mut out = Response::builder().status(resp.status());
        for (name, value) in resp.headers() {
            out = out.header(name, value);
        }
        Ok(out.body(resp.bytes()?)?)
    }
}
