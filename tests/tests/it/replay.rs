//! Replays re-send an instance's notifications in `eventId` order, one after the other, and a
//! replay is bounded.

use std::time::Duration;

use herald_e2e::fake_hubspot::{Event, HubSpotSender, Signing};
use herald_e2e::fake_oauth_apps::HUBSPOT_PORTAL;
use herald_e2e::wait::until;
use reqwest::Method;
use serde_json::json;

use super::webhook_world::*;

#[tokio::test]
async fn a_replay_resends_in_event_id_order() {
    let w = create_test_webhook_world().await;
    let (id, _) = w.create_test_instance("hubspot", json!({})).await;
    let sender = HubSpotSender::new(APP_SECRET, Signing::V1);
    let url = w.ingest_url("hubspot");
    // Enough notifications that ids cross a digit boundary (9 → 10 …), sent concurrently.
    let posts = (0..24u64).map(|n| {
        let sender = &sender;
        let url = &url;
        async move {
            sender
                .send(
                    url,
                    &[Event::new(HUBSPOT_PORTAL, "contact.creation", 100 + n)],
                )
                .await
        }
    });
    futures::future::join_all(posts).await;
    w.wait_for_events(id, 24).await;
    w.wait_quiet().await;
    let before = w.receiver.received().len();
    let (st, v) = w
        .stack
        .call(
            Method::POST,
            &format!("/instances/{id}/events/replay"),
            Some(json!({"from": "2000-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["replayed"], 24);
    let replayed = until("24 replays", Duration::from_secs(20), || async {
        let got = w.receiver.received();
        if got.len() >= before + 24 {
            Ok(got[before..].to_vec())
        } else {
            Err(format!("{}", got.len() - before))
        }
    })
    .await;
    let ids: Vec<u64> = replayed
        .iter()
        .filter_map(|r| r.json()["eventId"].as_u64())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "in eventId order");
    assert!(replayed
        .iter()
        .all(|r| r.header("elements-replay").as_deref() == Some("true")));
}
