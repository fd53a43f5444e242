//! One OpenTelemetry trace per provider delivery, from webhook to callback, exported over
//! OTLP/HTTP by separate ingest and delivery processes (as deployed) to a collector stand-in.

use std::time::Duration;

use herald_e2e::otlp_collector::{Collector, Span};
use herald_e2e::wait::until;

use crate::helpers::*;

fn trace_id_of(traceparent: &str) -> String {
    traceparent
        .split('-')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn one_trace_from_webhook_to_every_callback_attempt() {
    let mut w = create_test_world().await;
    create_test_instance(&w).await;
    let collector = Collector::start().await;
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url.clone()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_string()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_string()),
    ];
    // Ingest and delivery as their own processes, exporting; ingest keeps its address.
    w.stack.stop("ingest").await;
    w.stack.stop("delivery").await;
    let mut ingest_env = otel.to_vec();
    ingest_env.push(("HERALD_LISTEN_ADDR", w.stack.ingest.to_string()));
    let ingest = w.stack.spawn_process("herald-ingest", &ingest_env);
    let delivery = w.stack.spawn_process("herald-delivery", &otel);
    let challenge = format!("{}?challenge=up", w.stack.ingest_url("dropbox"));
    until("ingest process up", Duration::from_secs(20), || async {
        match w.stack.http.get(&challenge).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(r.status().to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await;

    // The first attempt fails, the retry succeeds: both carry the same trace.
    w.receiver.script(&[503]);
    w.dropbox.upload_external("/traced.txt");
    let attempts = until("two callback attempts", Duration::from_secs(20), || async {
        let got = w.receiver.received();
        (got.len() >= 2)
            .then_some(got)
            .ok_or("fewer than 2".to_string())
    })
    .await;
    let parents: Vec<String> = attempts
        .iter()
        .map(|r| {
            r.header("traceparent")
                .expect("traceparent on every callback")
        })
        .collect();
    assert_eq!(parents[0], parents[1], "a retry keeps the traceparent");
    let trace_id = trace_id_of(&parents[0]);
    assert_eq!(trace_id.len(), 32);

    let in_trace = |spans: &[Span]| -> Vec<Span> {
        spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    };
    let spans = until(
        "the trace's spans exported",
        Duration::from_secs(20),
        || async {
            let spans = in_trace(&collector.spans());
            let deliveries = spans
                .iter()
                .filter(|s| s.service == "herald-delivery")
                .count();
            let ingest = spans
                .iter()
                .any(|s| s.service == "herald-ingest" && s.kind == 2);
            let normalize = spans
                .iter()
                .any(|s| s.attr("herald.stage") == Some("normalize"));
            (ingest && normalize && deliveries >= 2)
                .then_some(spans.clone())
                .ok_or(format!("{spans:?}"))
        },
    )
    .await;
    drop((ingest, delivery));

    let server = spans
        .iter()
        .find(|s| s.service == "herald-ingest" && s.kind == 2)
        .expect("ingest's server span");
    assert_eq!(
        server.attr("http.route"),
        Some("/elements/api-v2/events/{elementKey}")
    );
    assert_eq!(server.name, "POST /elements/api-v2/events/{elementKey}");
    assert_eq!(server.attr("http.response.status_code"), Some("200"));
    let normalize = spans
        .iter()
        .find(|s| s.attr("herald.stage") == Some("normalize"))
        .expect("a normalizer span");
    assert!(normalize.name.contains("normalize"));
    assert_eq!(normalize.service, "herald-ingest");
    assert_eq!(normalize.parent_span_id, server.span_id);
    let mut codes: Vec<&str> = spans
        .iter()
        .filter(|s| s.service == "herald-delivery")
        .map(|d| {
            assert_eq!(d.kind, 3, "a client span");
            assert_eq!(d.parent_span_id, normalize.span_id);
            d.attr("http.response.status_code").expect("status code")
        })
        .collect();
    codes.sort_unstable();
    assert_eq!(codes, ["200", "503"]);
    // The receiver's parent is the normalizer's span: the callback continues the same trace.
    assert!(parents[0].contains(&normalize.span_id));
}
