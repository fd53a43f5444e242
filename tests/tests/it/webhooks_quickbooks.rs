//! QuickBooks Online webhooks end to end: the realm taken from the instance body, deliveries in
//! both of Intuit's forms (legacy `eventNotifications` and CloudEvents) signed with the app's
//! verifier token and routed by realm, bad signatures refused, and Intuit's retries notified once.

use herald_e2e::fake_oauth_apps::QUICKBOOKS_REALM;
use herald_e2e::fake_quickbooks::{
    cloud_events_body, legacy_body, legacy_body_multi, CloudEvent, Entity, QuickBooksSender,
};
use herald_e2e::webhook_sender::statuses;
use reqwest::Method;
use serde_json::{json, Value};

use super::webhook_world::*;

/// A realm none of the tests' instances belongs to.
const STRANGER_REALM: &str = "4620816365000000";

/// A QuickBooks instance of the realm the fake's redirect names, holding the app's verifier token.
async fn create_test_quickbooks_instance(w: &WebhookWorld) -> u64 {
    w.create_test_instance(
        "quickbooks",
        json!({"quickbooks.webhook.verifier.token": QBO_VERIFIER}),
    )
    .await
    .0
}

fn intuit() -> QuickBooksSender {
    QuickBooksSender::new(QBO_VERIFIER)
}

/// (eventType, objectType, objectId) of each event.
fn mapped(events: &[Value]) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    events
        .iter()
        .map(|e| (s(&e["eventType"]), s(&e["objectType"]), s(&e["objectId"])))
        .collect()
}

fn triple(event_type: &str, object_type: &str, id: &str) -> (String, String, String) {
    (event_type.into(), object_type.into(), id.into())
}

#[tokio::test]
async fn an_instance_without_a_realm_id_is_refused_naming_it_and_not_created() {
    let w = create_test_webhook_world().await;
    let q = w.authorize("quickbooks").await;
    let body = json!({
        "element": {"key": "quickbooks"},
        "providerData": {"code": q.get("code").expect("code")},
        "configuration": {
            "oauth.api.key": APP_ID, "oauth.api.secret": APP_SECRET,
            "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true,
            "event.notification.callback.url": w.receiver.url,
        },
        "tags": [], "name": "no realm",
    });
    let (st, v) = w.stack.call(Method::POST, "/instances", Some(body)).await;
    assert_eq!(st, 400, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("realmId")),
        "{v}"
    );
    let (st, all) = w.stack.call(Method::GET, "/instances", None).await;
    assert_eq!(st, 200);
    assert_eq!(all, json!([]));
    // Nothing half-created: no token of the refused instance stays live at Intuit.
    assert_eq!(w.quickbooks.oauth.issued_tokens(), Vec::<String>::new());
}

#[tokio::test]
async fn a_legacy_notification_signed_with_the_verifier_token_is_delivered_mapped() {
    let w = create_test_webhook_world().await;
    let id = create_test_quickbooks_instance(&w).await;
    let (st, inst) = w
        .stack
        .call(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(st, 200, "{inst}");
    assert_eq!(
        inst["configuration"]["quickbooks.webhook.verifier.token"],
        "********"
    );
    assert!(!inst.to_string().contains(QBO_VERIFIER));

    let body = legacy_body(
        QUICKBOOKS_REALM,
        &[
            Entity::new("Customer", "1", "Create"),
            Entity::new("Invoice", "2", "Update"),
            Entity::new("Customer", "3", "Delete"),
        ],
    );
    let sent = intuit().send(&w.ingest_url("quickbooks"), &body).await;
    assert_eq!(statuses(&sent), [200]);
    let got = w.wait_for_events(id, 3).await;
    w.wait_quiet().await;
    assert_eq!(w.notifications_for(id).len(), 1);
    assert_eq!(
        mapped(&w.events_for(id)),
        [
            triple("CREATED", "Customer", "1"),
            triple("UPDATED", "Invoice", "2"),
            triple("DELETED", "Customer", "3"),
        ]
    );
    assert!(
        got.iter().all(|e| e["elementKey"] == "quickbooks"),
        "{got:?}"
    );
    assert!(got.iter().all(|e| e["date"].is_string()), "{got:?}");
}

#[tokio::test]
async fn cloud_events_are_delivered_with_the_entity_their_type_names() {
    let w = create_test_webhook_world().await;
    let id = create_test_quickbooks_instance(&w).await;
    let body = cloud_events_body(&[
        CloudEvent::new(QUICKBOOKS_REALM, "Customer", "11", "created"),
        CloudEvent::new(QUICKBOOKS_REALM, "Customer", "12", "updated"),
        CloudEvent::new(QUICKBOOKS_REALM, "Customer", "13", "deleted"),
    ]);
    let sent = intuit().send(&w.ingest_url("quickbooks"), &body).await;
    assert_eq!(statuses(&sent), [200]);
    let got = w.wait_for_events(id, 3).await;
    w.wait_quiet().await;
    assert_eq!(
        mapped(&w.events_for(id)),
        [
            triple("CREATED", "customer", "11"),
            triple("UPDATED", "customer", "12"),
            triple("DELETED", "customer", "13"),
        ]
    );
    assert!(
        got.iter().all(|e| e["elementKey"] == "quickbooks"),
        "{got:?}"
    );
}

#[tokio::test]
async fn only_the_instances_realm_is_delivered_and_a_stranger_realm_alone_is_dropped() {
    let w = create_test_webhook_world().await;
    let id = create_test_quickbooks_instance(&w).await;
    let url = w.ingest_url("quickbooks");
    let stranger = [Entity::new("Customer", "900", "Create")];
    let alone = legacy_body(STRANGER_REALM, &stranger);
    assert_eq!(statuses(&intuit().send(&url, &alone).await), [200]);
    let cloud_alone =
        cloud_events_body(&[CloudEvent::new(STRANGER_REALM, "Bill", "901", "created")]);
    assert_eq!(statuses(&intuit().send(&url, &cloud_alone).await), [200]);
    w.wait_quiet().await;
    assert!(w.receiver.received().is_empty());

    let mine = [Entity::new("Invoice", "20", "Update")];
    let both = legacy_body_multi(&[(STRANGER_REALM, &stranger), (QUICKBOOKS_REALM, &mine)]);
    assert_eq!(statuses(&intuit().send(&url, &both).await), [200]);
    let cloud_both = cloud_events_body(&[
        CloudEvent::new(STRANGER_REALM, "Bill", "902", "deleted"),
        CloudEvent::new(QUICKBOOKS_REALM, "Bill", "21", "deleted"),
    ]);
    assert_eq!(statuses(&intuit().send(&url, &cloud_both).await), [200]);
    w.wait_for_events(id, 2).await;
    w.wait_quiet().await;
    assert_eq!(
        mapped(&w.events_for(id)),
        [
            triple("UPDATED", "Invoice", "20"),
            triple("DELETED", "bill", "21"),
        ]
    );
    assert_eq!(w.receiver.received().len(), 2);
}

#[tokio::test]
async fn a_wrong_or_missing_intuit_signature_is_refused_and_nothing_is_delivered() {
    let w = create_test_webhook_world().await;
    let id = create_test_quickbooks_instance(&w).await;
    let url = w.ingest_url("quickbooks");
    let mut wrong = intuit();
    wrong.wrong_token = true;
    let mut unsigned = intuit();
    unsigned.unsigned = true;
    for (what, sender, object) in [("wrong token", wrong, "31"), ("unsigned", unsigned, "32")] {
        let body = legacy_body(
            QUICKBOOKS_REALM,
            &[Entity::new("Customer", object, "Create")],
        );
        assert_eq!(sender.post_once(&url, &body).await, 401, "{what}");
        w.wait_quiet().await;
        assert!(w.notifications_for(id).is_empty(), "after {what}");
    }
    // The same instance takes a correctly signed delivery.
    let body = legacy_body(QUICKBOOKS_REALM, &[Entity::new("Customer", "33", "Create")]);
    assert_eq!(statuses(&intuit().send(&url, &body).await), [200]);
    w.wait_for_events(id, 1).await;
    w.wait_quiet().await;
    assert_eq!(
        mapped(&w.events_for(id)),
        [triple("CREATED", "Customer", "33")]
    );
}

#[tokio::test]
async fn intuits_retry_of_a_delivered_body_is_not_notified_again() {
    let w = create_test_webhook_world().await;
    let id = create_test_quickbooks_instance(&w).await;
    let url = w.ingest_url("quickbooks");
    let legacy = legacy_body(
        QUICKBOOKS_REALM,
        &[
            Entity::new("Customer", "41", "Create"),
            Entity::new("Customer", "42", "Update"),
        ],
    );
    let cloud = cloud_events_body(&[CloudEvent::new(
        QUICKBOOKS_REALM,
        "Invoice",
        "43",
        "created",
    )]);
    for body in [&legacy, &cloud] {
        assert_eq!(statuses(&intuit().send(&url, body).await), [200]);
    }
    w.wait_for_events(id, 3).await;
    // Intuit did not see the answers in time and sends the same bytes again.
    for body in [&legacy, &cloud] {
        assert_eq!(intuit().post_once(&url, body).await, 200);
    }
    w.wait_quiet().await;
    assert_eq!(w.notifications_for(id).len(), 2);
    assert_eq!(
        mapped(&w.events_for(id)),
        [
            triple("CREATED", "Customer", "41"),
            triple("UPDATED", "Customer", "42"),
            triple("CREATED", "invoice", "43"),
        ]
    );
}
