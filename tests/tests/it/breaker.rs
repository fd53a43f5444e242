//! The circuit breaker per callback origin: it opens after consecutive failed attempts, lets
//! only spaced probes through while open, holds everything else (RETRYING, no attempt counted),
//! and a probe's 2xx closes it and sends what it held, each under its own ids, once.

use std::time::Duration;

use herald_e2e::fake_hubspot::{Event, HubSpotSender, Signing};
use herald_e2e::fake_oauth_apps::HUBSPOT_PORTAL;
use herald_e2e::wait::until;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::metric_sample;

use super::webhook_world::*;

/// Probes in the test come every second (the default is 5 s) so it runs quickly.
const PROBE_MS: u64 = 1000;

#[tokio::test]
async fn a_failing_origin_gets_probes_only_and_gets_everything_once_it_answers() {
    let schedule = vec!["0.2"; 40].join(",");
    let w = create_test_webhook_world_with(&[
        ("HERALD_DELIVERY_SCHEDULE", schedule),
        ("HERALD_BREAKER_PROBE_MS", PROBE_MS.to_string()),
    ])
    .await;
    let (id, _) = w.create_test_instance("hubspot", json!({})).await;
    w.receiver.script(&[500; 10_000]);
    let sender = HubSpotSender::new(APP_SECRET, Signing::V1);
    let url = w.ingest_url("hubspot");
    for n in 0..20u64 {
        let attempts = sender
            .send(
                &url,
                &[Event::new(HUBSPOT_PORTAL, "contact.creation", 7000 + n)],
            )
            .await;
        assert_eq!(attempts.last().map(|a| a.status), Some(200));
    }
    // The breaker opens after 10 consecutive failures: wait until that many were made and every
    // attempt that reached the receiver is recorded (none still in flight).
    let attempts_recorded = || async {
        let (_, items) = w
            .stack
            .call(Method::GET, &format!("/instances/{id}/events"), None)
            .await;
        items
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e["attempts"].as_u64().unwrap_or(0))
                    .sum::<u64>()
            })
            .unwrap_or(0) as usize
    };
    until("the breaker open", Duration::from_secs(20), || async {
        let (n, recorded) = (w.receiver.received().len(), attempts_recorded().await);
        if n >= 10 && recorded == n {
            Ok(())
        } else {
            Err(format!("{n} attempts, {recorded} recorded"))
        }
    })
    .await;
    // A measurement window, not a wait: how many probes go out in it.
    let window = Duration::from_millis(PROBE_MS * 4);
    let before = w.receiver.received().len();
    assert!(
        before <= 11,
        "at most 10 failed attempts (+ a probe) before it opened: {before}"
    );
    tokio::time::sleep(window).await;
    let probes = w.receiver.received().len() - before;
    assert!(
        (1..=5).contains(&probes),
        "one probe per {PROBE_MS} ms while open, got {probes} in {window:?}"
    );
    // The operator sees it open.
    let ops = w.stack.ops_addr("delivery").expect("delivery ops");
    // Labelled as Herald keys breakers: by the callback URL's origin.
    let line = format!(
        "herald_breaker_open{{origin=\"{}\"}} ",
        herald_core::callback_url::origin_of(&w.receiver.url)
    );
    assert_eq!(metric_sample(&ops, &line).await, Some(1.0));
    // Held items show as RETRYING with a next attempt, their attempts not counted.
    let (_, items) = w
        .stack
        .call(Method::GET, &format!("/instances/{id}/events"), None)
        .await;
    let items = items.as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 20);
    assert!(
        items
            .iter()
            .all(|e| e["status"] == "RETRYING" && e["nextAttempt"].is_string()),
        "{items:?}"
    );
    let attempts: u64 = items
        .iter()
        .map(|e| e["attempts"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(
        attempts as usize,
        w.receiver.received().len(),
        "holding is not an attempt"
    );

    // The origin answers again: the next probe closes it and everything goes, once each.
    w.receiver.clear_script();
    until(
        "every notification NOTIFIED",
        Duration::from_secs(30),
        || async {
            let (_, items) = w
                .stack
                .call(Method::GET, &format!("/instances/{id}/events"), None)
                .await;
            let items = items.as_array().cloned().unwrap_or_default();
            let done = items.iter().filter(|e| e["status"] == "NOTIFIED").count();
            if done == 20 {
                Ok(())
            } else {
                Err(format!("{done} notified"))
            }
        },
    )
    .await;
    assert_eq!(metric_sample(&ops, &line).await, Some(0.0), "closed again");
    let delivered: Vec<Value> = w
        .receiver
        .received()
        .iter()
        .skip(w.receiver.received().len().saturating_sub(20))
        .map(|r| r.json())
        .collect();
    let mut ids: Vec<u64> = delivered
        .iter()
        .filter_map(|v| v["eventId"].as_u64())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        20,
        "each held notification once, under its own id"
    );
}
