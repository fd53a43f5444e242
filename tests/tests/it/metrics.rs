//! The metric families OPERATIONS.md names move as it says, each in the process doing the work,
//! plus the extras (consumer lag, NATS reconnects).

use std::time::Duration;

use herald_e2e::wait::until;

use crate::helpers::*;

fn ops_of(w: &World, service: &str) -> String {
    w.stack.ops_addr(service).expect("ops address")
}

#[tokio::test]
async fn the_operator_metrics_move_in_the_process_doing_the_work() {
    let w = create_test_world().await;
    create_test_instance(&w).await;
    let (ingest, delivery) = (ops_of(&w, "ingest"), ops_of(&w, "delivery"));
    let before = metric_sample(
        &ingest,
        "herald_ingest_requests_total{element=\"dropbox\",status=\"200\"}",
    )
    .await
    .unwrap_or(0.0);
    w.dropbox.upload_external("/metered.txt");
    until("the change delivered", Duration::from_secs(20), || async {
        (!w.receiver.received().is_empty())
            .then_some(())
            .ok_or("nothing yet".to_string())
    })
    .await;
    let moved = |ops: String, prefix: &'static str, above: f64| async move {
        until(prefix, Duration::from_secs(10), || async {
            match metric_sample(&ops, prefix).await {
                Some(v) if v > above => Ok(v),
                other => Err(format!("{other:?}")),
            }
        })
        .await
    };
    moved(
        ingest.clone(),
        "herald_ingest_requests_total{element=\"dropbox\",status=\"200\"}",
        before,
    )
    .await;
    moved(
        ingest.clone(),
        "herald_events_normalized_total{element=\"dropbox\"}",
        0.0,
    )
    .await;
    moved(
        delivery.clone(),
        "herald_delivery_attempts_total{outcome=\"success\"}",
        0.0,
    )
    .await;
    moved(
        delivery.clone(),
        "herald_delivery_duration_seconds_count{outcome=\"success\"}",
        0.0,
    )
    .await;
    // The extras: consumer lag of the service's own consumer, NATS reconnections.
    let lag = metric_sample(
        &delivery,
        "herald_consumer_pending_messages{stream=\"EVENTS\",consumer=\"delivery\"}",
    )
    .await;
    assert!(lag.is_some(), "delivery reports its consumer's lag");
    let lag = metric_sample(
        &ingest,
        "herald_consumer_ack_pending_messages{stream=\"WEBHOOKS\",consumer=\"normalizer\"}",
    )
    .await;
    assert!(lag.is_some(), "ingest reports its consumer's lag");
    assert_eq!(
        metric_sample(&delivery, "herald_nats_reconnects_total").await,
        Some(0.0)
    );
    let text = reqwest::get(format!("http://{delivery}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for family in [
        "herald_ingest_requests_total counter",
        "herald_events_normalized_total counter",
        "herald_delivery_attempts_total counter",
        "herald_delivery_duration_seconds histogram",
        "herald_poller_runs_total counter",
    ] {
        assert!(text.contains(&format!("# TYPE {family}")), "{family}");
    }
}
