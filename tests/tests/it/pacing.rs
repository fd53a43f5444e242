//! The delivery options: a per-instance rate limit, and ordered delivery.

use std::time::{Duration, Instant};

use herald_e2e::fake_hubspot::{Event, HubSpotSender, Signing};
use herald_e2e::fake_oauth_apps::HUBSPOT_PORTAL;
use herald_e2e::wait::until;
use reqwest::Method;
use serde_json::json;

use super::webhook_world::*;

/// Sends `n` HubSpot batches of one event each (so `n` notifications), one after the other.
async fn send_changes(w: &WebhookWorld, first_object: u64, n: u64) {
    let sender = HubSpotSender::new(APP_SECRET, Signing::V1);
    let url = w.ingest_url("hubspot");
    for k in 0..n {
        let attempts = sender
            .send(
                &url,
                &[Event::new(
                    HUBSPOT_PORTAL,
                    "contact.creation",
                    first_object + k,
                )],
            )
            .await;
        assert_eq!(attempts.last().map(|a| a.status), Some(200));
    }
}

#[tokio::test]
async fn delivery_options_are_validated_naming_them() {
    let w = create_test_webhook_world().await;
    for bad in [json!("fast"), json!(0), json!(-3), json!(1.5)] {
        let (st, v) = w
            .create_instance("hubspot", json!({"event.notification.rate.limit": bad}))
            .await;
        assert_eq!(st, 400, "{bad}: {v}");
        assert!(v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("event.notification.rate.limit"));
    }
    let (st, v) = w
        .create_instance(
            "hubspot",
            json!({"event.notification.ordered": "sometimes"}),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap_or_default()
        .contains("event.notification.ordered"));
    let (st, v) = w
        .create_instance(
            "hubspot",
            json!({"event.notification.rate.limit": "20", "event.notification.ordered": "true"}),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["configuration"]["event.notification.rate.limit"], 20);
    assert_eq!(v["configuration"]["event.notification.ordered"], true);
}

#[tokio::test]
async fn a_rate_limited_instance_is_called_at_most_that_often_and_gets_everything() {
    let w = create_test_webhook_world().await;
    let (id, _) = w
        .create_test_instance("hubspot", json!({"event.notification.rate.limit": 4}))
        .await;
    let (other, _) = w.create_test_instance("hubspot", json!({})).await;
    let started = Instant::now();
    send_changes(&w, 1000, 12).await;
    w.wait_for_events(id, 12).await;
    // The unlimited instance (same portal, same batches) was not slowed.
    assert_eq!(w.events_for(other).len(), 12);
    let arrivals: Vec<Instant> = w
        .receiver
        .received()
        .iter()
        .filter(|r| r.json()["instanceId"].as_u64() == Some(id))
        .map(|r| r.at)
        .collect();
    assert_eq!(arrivals.len(), 12, "each once");
    // At most 4 per second, with room for the scheduler's tick.
    for (i, t) in arrivals.iter().enumerate() {
        let in_window = arrivals[i..]
            .iter()
            .take_while(|u| u.duration_since(*t) < Duration::from_millis(1000))
            .count();
        assert!(in_window <= 5, "{in_window} calls within a second");
    }
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "12 at 4/s take over 2.5 s"
    );
    let (_, items) = w
        .stack
        .call(Method::GET, &format!("/instances/{id}/events"), None)
        .await;
    assert!(
        items
            .as_array()
            .is_some_and(|a| a.iter().all(|e| e["attempts"] == 1)),
        "waiting is not an attempt: {items}"
    );
}

#[tokio::test]
async fn an_ordered_instance_gets_one_at_a_time_in_order_and_a_failure_holds_the_later_ones() {
    let w = create_test_webhook_world().await;
    let (id, _) = w
        .create_test_instance("hubspot", json!({"event.notification.ordered": true}))
        .await;
    // The first notification fails twice before it is taken.
    w.receiver.script(&[500, 500]);
    send_changes(&w, 2000, 6).await;
    until("all NOTIFIED", Duration::from_secs(20), || async {
        let (_, items) = w
            .stack
            .call(Method::GET, &format!("/instances/{id}/events"), None)
            .await;
        let a = items.as_array().cloned().unwrap_or_default();
        (a.len() == 6 && a.iter().all(|e| e["status"] == "NOTIFIED"))
            .then_some(())
            .ok_or(items.to_string())
    })
    .await;
    let sequence: Vec<u64> = w
        .receiver
        .received()
        .iter()
        .filter(|r| r.json()["instanceId"].as_u64() == Some(id))
        .filter_map(|r| r.json()["eventId"].as_u64())
        .collect();
    let mut expected: Vec<u64> = sequence.clone();
    expected.dedup();
    assert_eq!(expected.len(), 6, "{sequence:?}");
    assert!(
        expected.windows(2).all(|p| p[0] < p[1]),
        "in eventId order: {sequence:?}"
    );
    assert_eq!(
        sequence.iter().filter(|e| **e == expected[0]).count(),
        3,
        "the first was tried three times before any later one went: {sequence:?}"
    );
    assert_eq!(&sequence[..3], &[expected[0]; 3]);
}
