//! HubSpot webhooks end to end: the portal id learned at connect (each of HubSpot's three ways),
//! v1 and v3 signatures over the app's client secret (v3 over Herald's public URL, in its
//! 5-minute window), batches routed by portal and split into notifications of at most 20,
//! HubSpot's retries and repeated events notified once, and nothing for a disabled instance.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::future::join_all;
use herald_e2e::fake_hubspot::{batch_body, sign_v3, Event, HubSpotSender, Signing};
use herald_e2e::fake_oauth_apps::{PortalRoute, HUBSPOT_PORTAL};
use herald_e2e::webhook_sender::statuses;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;

use super::webhook_world::*;

const PUBLIC_URL: &str = "https://herald.example.test";
const INGEST_PATH: &str = "/elements/api-v2/events/hubspot";
/// A portal none of the tests' instances belongs to.
const STRANGER_PORTAL: u64 = 999_001;

async fn create_test_hubspot_instance(w: &WebhookWorld) -> (u64, String) {
    w.create_test_instance("hubspot", json!({})).await
}

/// A sender signing as the app whose client secret the instances hold.
fn hubspot(signing: Signing) -> HubSpotSender {
    HubSpotSender::new(APP_SECRET, signing)
}

/// `n` contact creations in `portal`, objects `first`, `first + 1`, …
fn creations(portal: u64, first: u64, n: u64) -> Vec<Event> {
    (first..first + n)
        .map(|id| Event::new(portal, "contact.creation", id))
        .collect()
}

/// The same events as HubSpot resends them: every `attemptNumber` one higher.
fn retried(events: &[Event]) -> Vec<Event> {
    events
        .iter()
        .cloned()
        .map(|mut e| {
            e.attempt_number += 1;
            e
        })
        .collect()
}

fn object_ids(events: &[Value]) -> Vec<Value> {
    events.iter().map(|e| e["objectId"].clone()).collect()
}

fn sent_ids(events: &[Event]) -> Vec<Value> {
    events.iter().map(|e| json!(e.object_id)).collect()
}

/// POSTs `body` to `ingest` with a fresh v3 signature computed over `signed_url`.
async fn post_v3_signed_over(ingest: &str, signed_url: &str, body: &str) -> u16 {
    let ts = u64::try_from(chrono::Utc::now().timestamp_millis()).expect("after 1970");
    reqwest::Client::new()
        .post(ingest)
        .header("Content-Type", "application/json")
        .header(
            "X-HubSpot-Signature-v3",
            sign_v3(APP_SECRET, "POST", signed_url, body, ts),
        )
        .header("X-HubSpot-Request-Timestamp", ts.to_string())
        .body(body.to_string())
        .send()
        .await
        .expect("ingest answers")
        .status()
        .as_u16()
}

fn hmac_base64(key: &[u8], content: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(content);
    STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn provisioning_learns_the_portal_each_of_the_three_ways_hubspot_tells_it() {
    let w = create_test_webhook_world().await;
    let routes = [
        PortalRoute::AccountInfo,
        PortalRoute::AccessTokens,
        PortalRoute::IntegrationsMe,
    ];
    let mut instances = Vec::new();
    for (n, only) in (1u64..).zip(routes) {
        let portal = 70_000 + n;
        w.hubspot.set_hubspot_portal(portal);
        for route in routes {
            w.hubspot.set_portal_route(route, route == only);
        }
        let (st, inst) = w.create_instance("hubspot", json!({})).await;
        assert_eq!(st, 200, "portal from {only:?} alone: {inst}");
        let id = inst["id"].as_u64().expect("id");
        instances.push((only, id, portal));
    }
    // One batch for all three portals: each instance gets exactly its own portal's event.
    let events: Vec<Event> = instances
        .iter()
        .map(|(_, _, portal)| Event::new(*portal, "contact.creation", *portal * 10))
        .collect();
    let sent = hubspot(Signing::V3)
        .send(&w.ingest_url("hubspot"), &events)
        .await;
    assert_eq!(statuses(&sent), [200]);
    for (_, id, _) in &instances {
        w.wait_for_events(*id, 1).await;
    }
    w.wait_quiet().await;
    for (route, id, portal) in &instances {
        let got = w.events_for(*id);
        assert_eq!(
            object_ids(&got),
            [json!(portal * 10)],
            "the instance whose portal came from {route:?}"
        );
    }
}

#[tokio::test]
async fn a_v3_signed_batch_is_verified_over_the_public_url_and_delivered_mapped_and_signed() {
    let w = create_test_webhook_world_with(&[("HERALD_PUBLIC_URL", PUBLIC_URL.into())]).await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let events = vec![
        Event::new(HUBSPOT_PORTAL, "contact.creation", 501),
        Event::new(HUBSPOT_PORTAL, "contact.propertyChange", 502).property("email", "a@b.test"),
        Event::new(HUBSPOT_PORTAL, "company.deletion", 503),
        Event::new(HUBSPOT_PORTAL, "contact.merge", 504),
    ];
    let body = batch_body(&events);
    // HubSpot calls (and signs) the public URL; the request reaches ingest at its own address.
    let query = "?source=console";
    let ingest = format!("{}{query}", w.ingest_url("hubspot"));
    let public = format!("{PUBLIC_URL}{INGEST_PATH}{query}");
    // Signatures over any other URL are refused, and nothing of them is delivered.
    let refused = events
        .iter()
        .map(|e| Event::new(HUBSPOT_PORTAL, "contact.creation", e.object_id + 1000))
        .collect::<Vec<_>>();
    let refused = batch_body(&refused);
    for other in [
        format!("https://elsewhere.example.test{INGEST_PATH}{query}"),
        format!("{PUBLIC_URL}{INGEST_PATH}"),
        format!("{PUBLIC_URL}{INGEST_PATH}?source=elsewhere"),
    ] {
        assert_eq!(
            post_v3_signed_over(&ingest, &other, &refused).await,
            401,
            "signed over {other}"
        );
    }
    assert_eq!(post_v3_signed_over(&ingest, &public, &body).await, 200);

    let got = w.wait_for_events(id, 4).await;
    w.wait_quiet().await;
    let notes = w.notifications_for(id);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["elementKey"], "hubspot");
    let mapped: Vec<(Value, Value, Value, Value)> = w
        .events_for(id)
        .iter()
        .map(|e| {
            (
                e["eventType"].clone(),
                e["objectType"].clone(),
                e["objectId"].clone(),
                e["elementKey"].clone(),
            )
        })
        .collect();
    assert_eq!(
        mapped,
        vec![
            (
                json!("CREATED"),
                json!("contact"),
                json!(501),
                json!("hubspot")
            ),
            (
                json!("UPDATED"),
                json!("contact"),
                json!(502),
                json!("hubspot")
            ),
            (
                json!("DELETED"),
                json!("company"),
                json!(503),
                json!("hubspot")
            ),
            (
                json!("UNKNOWN"),
                json!("contact"),
                json!(504),
                json!("hubspot")
            ),
        ]
    );
    assert!(got.iter().all(|e| e["date"].is_string()), "{got:?}");

    let callback = w
        .receiver
        .received()
        .into_iter()
        .find(|r| r.json()["instanceId"] == json!(id))
        .expect("the callback");
    assert_eq!(
        callback.header("elements-webhook-signature"),
        Some(format!(
            "sha256={}",
            hmac_base64(SIGNATURE_KEY.as_bytes(), &callback.body)
        ))
    );
    let webhook_id = callback.header("webhook-id").expect("webhook-id");
    let ts = callback
        .header("webhook-timestamp")
        .expect("webhook-timestamp");
    let mut signed = format!("{webhook_id}.{ts}.").into_bytes();
    signed.extend_from_slice(&callback.body);
    let signatures = callback
        .header("webhook-signature")
        .expect("webhook-signature");
    let expected = format!("v1,{}", hmac_base64(SIGNATURE_KEY.as_bytes(), &signed));
    assert!(
        signatures.split(' ').any(|s| s == expected),
        "{signatures} lacks {expected}"
    );
}

#[tokio::test]
async fn v1_signatures_are_accepted_and_bad_missing_or_stale_ones_are_refused_and_dropped() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let url = w.ingest_url("hubspot");

    let mut wrong_v1 = hubspot(Signing::V1);
    wrong_v1.wrong_secret = true;
    let mut wrong_v3 = hubspot(Signing::V3);
    wrong_v3.wrong_secret = true;
    let mut stale_v3 = hubspot(Signing::V3);
    stale_v3.stale_timestamp = true;
    let refused = [
        ("v1 with the wrong secret", wrong_v1, 601),
        ("v3 with the wrong secret", wrong_v3, 602),
        ("no signature", hubspot(Signing::Unsigned), 603),
        ("v3 over 5 minutes old", stale_v3, 604),
    ];
    for (what, sender, object) in &refused {
        let body = batch_body(&[Event::new(HUBSPOT_PORTAL, "contact.creation", *object)]);
        assert_eq!(sender.post_once(&url, &body).await, 401, "{what}");
        w.wait_quiet().await;
        assert_eq!(w.events_for(id), Vec::<Value>::new(), "after {what}");
    }

    let sent = hubspot(Signing::V1)
        .send(&url, &[Event::new(HUBSPOT_PORTAL, "contact.creation", 610)])
        .await;
    assert_eq!(statuses(&sent), [200]);
    w.wait_for_events(id, 1).await;
    w.wait_quiet().await;
    assert_eq!(object_ids(&w.events_for(id)), [json!(610)]);
}

#[tokio::test]
async fn a_batch_of_45_events_goes_out_as_20_20_and_5_in_the_order_sent() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    // Object ids not in ascending order, so the order checked is the batch's.
    let events: Vec<Event> = (0..45u64)
        .map(|i| Event::new(HUBSPOT_PORTAL, "contact.propertyChange", 9000 - i * 7))
        .collect();
    let sent = hubspot(Signing::V3)
        .send(&w.ingest_url("hubspot"), &events)
        .await;
    assert_eq!(statuses(&sent), [200]);
    w.wait_for_events(id, 45).await;
    w.wait_quiet().await;
    let mut notes = w.notifications_for(id);
    notes.sort_by_key(|n| n["eventId"].as_u64());
    let sizes: Vec<usize> = notes
        .iter()
        .map(|n| n["response"]["events"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, [20, 20, 5]);
    assert_eq!(object_ids(&w.events_for(id)), sent_ids(&events));
}

#[tokio::test]
async fn a_batch_for_two_portals_is_split_between_their_instances() {
    let w = create_test_webhook_world().await;
    let (first, _) = create_test_hubspot_instance(&w).await;
    let other_portal = 88_123;
    w.hubspot.set_hubspot_portal(other_portal);
    let (second, _) = create_test_hubspot_instance(&w).await;
    let events = vec![
        Event::new(HUBSPOT_PORTAL, "contact.creation", 1),
        Event::new(other_portal, "contact.creation", 2),
        Event::new(HUBSPOT_PORTAL, "company.deletion", 3),
        Event::new(other_portal, "deal.propertyChange", 4).property("amount", "10"),
        Event::new(other_portal, "contact.deletion", 5),
    ];
    let sent = hubspot(Signing::V3)
        .send(&w.ingest_url("hubspot"), &events)
        .await;
    assert_eq!(statuses(&sent), [200]);
    w.wait_for_events(first, 2).await;
    w.wait_for_events(second, 3).await;
    w.wait_quiet().await;
    let ids = |id| object_ids(&w.events_for(id));
    assert_eq!(ids(first), [json!(1), json!(3)]);
    assert_eq!(ids(second), [json!(2), json!(4), json!(5)]);
    let second_events = w.events_for(second);
    assert_eq!(second_events[1]["objectType"], "deal");
    assert_eq!(second_events[1]["eventType"], "UPDATED");
}

#[tokio::test]
async fn a_batch_resent_with_a_higher_attempt_number_is_notified_once() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let url = w.ingest_url("hubspot");
    let events = creations(HUBSPOT_PORTAL, 700, 3);
    let sender = hubspot(Signing::V3);
    assert_eq!(statuses(&sender.send(&url, &events).await), [200]);
    w.wait_for_events(id, 3).await;
    // HubSpot missed the answer and retries the batch, one attempt later.
    let again = sender.post_once(&url, &batch_body(&retried(&events))).await;
    assert_eq!(again, 200);
    w.wait_quiet().await;
    assert_eq!(w.notifications_for(id).len(), 1);
    assert_eq!(object_ids(&w.events_for(id)), sent_ids(&events));
}

#[tokio::test]
async fn a_retry_racing_the_original_batch_is_notified_once() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let url = w.ingest_url("hubspot");
    let events = creations(HUBSPOT_PORTAL, 710, 2);
    let sender = hubspot(Signing::V3);
    let original = batch_body(&events);
    let retry = batch_body(&retried(&events));
    let answers = join_all([
        sender.post_once(&url, &original),
        sender.post_once(&url, &retry),
        sender.post_once(&url, &original),
    ])
    .await;
    assert_eq!(answers, [200, 200, 200]);
    w.wait_for_events(id, 2).await;
    w.wait_quiet().await;
    assert_eq!(w.notifications_for(id).len(), 1);
    assert_eq!(object_ids(&w.events_for(id)), sent_ids(&events));
}

#[tokio::test]
async fn an_event_repeated_within_a_batch_is_notified_once() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let a = Event::new(HUBSPOT_PORTAL, "contact.creation", 720);
    let b = Event::new(HUBSPOT_PORTAL, "contact.propertyChange", 721).property("phone", "1");
    let mut a_retried = a.clone();
    a_retried.attempt_number = 1;
    let batch = [a.clone(), b.clone(), a.clone(), a_retried];
    let sent = hubspot(Signing::V1)
        .send(&w.ingest_url("hubspot"), &batch)
        .await;
    assert_eq!(statuses(&sent), [200]);
    w.wait_for_events(id, 2).await;
    w.wait_quiet().await;
    assert_eq!(object_ids(&w.events_for(id)), [json!(720), json!(721)]);
}

#[tokio::test]
async fn a_signed_batch_for_a_portal_without_an_instance_is_acknowledged_and_dropped() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let url = w.ingest_url("hubspot");
    for signing in [Signing::V1, Signing::V3] {
        let sent = hubspot(signing)
            .send(&url, &creations(STRANGER_PORTAL, 730, 2))
            .await;
        assert_eq!(statuses(&sent), [200], "{signing:?}");
    }
    w.wait_quiet().await;
    assert!(w.receiver.received().is_empty());
    // The instance itself still gets its portal's events.
    let sent = hubspot(Signing::V3)
        .send(&url, &creations(HUBSPOT_PORTAL, 740, 1))
        .await;
    assert_eq!(statuses(&sent), [200]);
    w.wait_for_events(id, 1).await;
    w.wait_quiet().await;
    assert_eq!(w.receiver.received().len(), 1);
    assert_eq!(object_ids(&w.events_for(id)), [json!(740)]);
}

#[tokio::test]
async fn a_disabled_instance_gets_nothing_and_after_enabling_only_new_batches() {
    let w = create_test_webhook_world().await;
    let (id, token) = create_test_hubspot_instance(&w).await;
    let url = w.ingest_url("hubspot");
    let auth = w.instance_auth(&token);
    let (st, v) = w
        .stack
        .call_as(Method::DELETE, "/instances/enabled", &auth, None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["disabled"], true);

    let sent = hubspot(Signing::V3)
        .send(&url, &creations(HUBSPOT_PORTAL, 800, 2))
        .await;
    assert_eq!(statuses(&sent), [200], "acknowledged while disabled");
    w.wait_quiet().await;
    assert!(w.notifications_for(id).is_empty());

    let (st, v) = w
        .stack
        .call_as(Method::PUT, "/instances/enabled", &auth, None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["disabled"], false);
    let fresh = creations(HUBSPOT_PORTAL, 810, 2);
    let sent = hubspot(Signing::V3).send(&url, &fresh).await;
    assert_eq!(statuses(&sent), [200]);
    w.wait_for_events(id, 2).await;
    w.wait_quiet().await;
    assert_eq!(object_ids(&w.events_for(id)), sent_ids(&fresh));
}

/// Many one-event deliveries to one instance at once (they are handled a round of several at a
/// time): every event once, each notification in its own delivery's trace and with its own
/// delivery's raw body as `providerData`.
#[tokio::test]
async fn concurrent_deliveries_to_one_instance_each_keep_their_own_body() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_hubspot_instance(&w).await;
    let url = w.ingest_url("hubspot");
    let sender = hubspot(Signing::V1);
    let events: Vec<Event> = (0..60u64)
        .map(|i| Event::new(HUBSPOT_PORTAL, "contact.creation", 20_000 + i))
        .collect();
    let bodies: Vec<String> = events
        .iter()
        .map(|e| batch_body(std::slice::from_ref(e)))
        .collect();
    let sent = join_all(bodies.iter().map(|b| sender.post_once(&url, b))).await;
    assert!(sent.iter().all(|s| *s == 200), "{sent:?}");
    w.wait_for_events(id, 60).await;
    w.wait_quiet().await;
    let notes = w.notifications_for(id);
    assert_eq!(notes.len(), 60, "one notification per one-event delivery");
    // Each in its own delivery's trace: 60 different trace ids.
    let traces: std::collections::HashSet<String> = w
        .receiver
        .received()
        .iter()
        .filter_map(|r| r.header("traceparent"))
        .filter_map(|tp| tp.split('-').nth(1).map(str::to_string))
        .collect();
    assert_eq!(traces.len(), 60, "one trace per delivery: {traces:?}");
    let mut seen = std::collections::HashSet::new();
    for n in &notes {
        let object = n["response"]["events"][0]["objectId"]
            .as_u64()
            .expect("object");
        assert!(seen.insert(object), "{object} twice");
        let (st, detail) = w
            .stack
            .call(
                Method::GET,
                &format!("/instances/events/{}", n["eventId"]),
                None,
            )
            .await;
        assert_eq!(st, 200);
        // The raw body, as a string or as parsed JSON: one event, this notification's.
        let raw = match &detail["providerData"] {
            Value::String(s) => serde_json::from_str::<Value>(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        let objects: Vec<u64> = raw
            .as_array()
            .map(|a| a.iter().filter_map(|e| e["objectId"].as_u64()).collect())
            .unwrap_or_default();
        assert_eq!(objects, [object], "its own delivery's body: {raw}");
    }
}
