//! Box webhooks end to end: v1 callbacks routed by user and filtered by `events.list.ids`, v2
//! deliveries through webhooks the documents hub created (either signature key, timestamp
//! window, Box's retries), Box's refusals passed back, and webhooks removed with the instance.

use chrono::{Duration as Span, Utc};
use herald_e2e::fake_box::{box_time, v2_signature};
use reqwest::Method;
use serde_json::{json, Value};

use super::webhook_world::*;

/// A Box instance whose app's v2 keys Herald knows; the fake signs with the same keys.
async fn create_test_box_instance(w: &WebhookWorld, extra: Value) -> (u64, String) {
    let mut config = json!({
        "box.webhook.signature.primary.key": BOX_PRIMARY,
        "box.webhook.signature.secondary.key": BOX_SECONDARY,
    });
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    w.boxcom.set_signature_keys(BOX_PRIMARY, BOX_SECONDARY);
    w.create_test_instance("box", config).await
}

async fn create_test_webhook(w: &WebhookWorld, token: &str, target: &str) -> (u16, Value) {
    w.stack
        .call_as(
            Method::POST,
            "/hubs/documents/webhooks",
            &w.instance_auth(token),
            Some(json!({"target": {"id": target, "type": "folder"},
                "triggers": ["FILE.UPLOADED", "FILE.TRASHED", "FOLDER.RENAMED"]})),
        )
        .await
}

fn file(id: &str) -> Value {
    json!({"id": id, "type": "file", "name": format!("{id}.txt")})
}

#[tokio::test]
async fn a_box_instance_learns_its_user_and_never_shows_its_signature_keys() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_box_instance(&w, json!({"events.list.ids": "1,2"})).await;
    let (st, inst) = w
        .stack
        .call(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(st, 200);
    let config = &inst["configuration"];
    assert_eq!(config["box.webhook.signature.primary.key"], "********");
    assert_eq!(config["box.webhook.signature.secondary.key"], "********");
    assert_eq!(config["events.list.ids"], "1,2");
    assert!(!inst.to_string().contains(BOX_PRIMARY));
    // The user id routes v1 callbacks: one for this user reaches the instance.
    let st = w
        .boxcom
        .send_v1_event(&w.ingest_url("box"), "uploaded", "1", "file")
        .await;
    assert_eq!(st, 200);
    let events = w.wait_for_events(id, 1).await;
    assert_eq!(events[0]["eventType"], "CREATED");
}

#[tokio::test]
async fn v1_callbacks_reach_every_instance_of_the_user_that_lists_the_item() {
    let w = create_test_webhook_world().await;
    let (watching, _) = create_test_box_instance(&w, json!({"events.list.ids": "77, 88"})).await;
    let (all, _) = create_test_box_instance(&w, json!({})).await;
    let url = w.ingest_url("box");
    assert_eq!(
        w.boxcom.send_v1_event(&url, "uploaded", "77", "file").await,
        200
    );
    assert_eq!(
        w.boxcom.send_v1_event(&url, "trashed", "99", "file").await,
        200
    );
    // A bare user id, and a listed newItemId (a copy of an unlisted item into a listed one).
    let user = w.boxcom.user_id.clone();
    let form = [
        ("userId", user.as_str()),
        ("event", "copied"),
        ("itemId", "5"),
        ("itemType", "folder"),
        ("newItemId", "88"),
    ];
    assert_eq!(w.boxcom.send_v1(&url, &form).await, 200);
    // Another Box user: acknowledged, delivered to no one.
    let stranger = [
        ("userId", "[\"424242\"]"),
        ("event", "uploaded"),
        ("itemId", "77"),
    ];
    assert_eq!(w.boxcom.send_v1(&url, &stranger).await, 200);
    // Not a v1 callback at all.
    assert_eq!(w.boxcom.send_v1(&url, &[("event", "uploaded")]).await, 400);

    w.wait_for_events(all, 3).await;
    w.wait_quiet().await;
    let mine: Vec<(String, String)> = w
        .events_for(watching)
        .iter()
        .map(|e| {
            (
                e["objectId"].as_str().unwrap_or_default().into(),
                e["eventType"].as_str().unwrap_or_default().into(),
            )
        })
        .collect();
    assert_eq!(
        mine,
        vec![
            ("77".into(), "CREATED".into()),
            ("5".into(), "CREATED".into())
        ]
    );
    let every: Vec<Value> = w.events_for(all);
    assert_eq!(every.len(), 3, "{every:?}");
    assert_eq!(every[1]["eventType"], "DELETED");
    assert_eq!(every[1]["objectType"], "file");
    assert_eq!(every[2]["objectType"], "folder");
    assert_eq!(every[2]["newItemId"], "88");
    assert!(every.iter().all(|e| e["elementKey"] == "box"));
}

#[tokio::test]
async fn v2_deliveries_of_a_hub_webhook_verify_with_either_key_and_map_their_triggers() {
    let w = create_test_webhook_world().await;
    let (id, token) = create_test_box_instance(&w, json!({})).await;
    let (st, hook) = create_test_webhook(&w, &token, "5001").await;
    assert_eq!(st, 200, "{hook}");
    let hook_id = hook["id"].as_str().expect("webhook id").to_string();
    assert_eq!(
        hook["address"],
        format!("{}/{id}", w.ingest_url("box")),
        "Herald's own ingest URL for the instance"
    );
    let sent = w
        .boxcom
        .send_v2(&hook_id, "FILE.UPLOADED", file("f1"))
        .await;
    assert_eq!(sent.statuses(), vec![200]);
    // Key rotation: Box signs with a new primary that Herald does not know yet.
    w.boxcom
        .set_signature_keys("rotated-primary", BOX_SECONDARY);
    let sent = w.boxcom.send_v2(&hook_id, "FILE.TRASHED", file("f1")).await;
    assert_eq!(sent.statuses(), vec![200]);
    w.boxcom
        .set_signature_keys(BOX_PRIMARY, "rotated-secondary");
    let folder = json!({"id": "5001", "type": "folder", "name": "Reports"});
    assert_eq!(
        w.boxcom
            .send_v2(&hook_id, "FOLDER.RENAMED", folder)
            .await
            .statuses(),
        vec![200]
    );

    let events = w.wait_for_events(id, 3).await;
    let seen: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["eventType"].as_str().unwrap_or_default(),
                e["objectType"].as_str().unwrap_or_default(),
                e["objectId"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("CREATED", "file", "f1"),
            ("DELETED", "file", "f1"),
            ("UPDATED", "folder", "5001")
        ]
    );
    // Signed for the callback like every notification.
    let got = w.receiver.received();
    assert!(got.iter().all(|r| r
        .header("elements-webhook-signature")
        .is_some_and(|s| s.starts_with("sha256="))
        && r.header("webhook-signature").is_some()));
}

#[tokio::test]
async fn v2_deliveries_with_a_bad_or_missing_signature_or_timestamp_are_refused_and_dropped() {
    let w = create_test_webhook_world().await;
    let (id, token) = create_test_box_instance(&w, json!({})).await;
    let (other, _) = w
        .create_test_instance(
            "box",
            json!({"box.webhook.signature.primary.key": "other-app-primary",
                "box.webhook.signature.secondary.key": "other-app-secondary"}),
        )
        .await;
    let (_, hook) = create_test_webhook(&w, &token, "7001").await;
    let hook_id = hook["id"].as_str().expect("id");
    let url = format!("{}/{id}", w.ingest_url("box"));
    let body = json!({"type": "webhook_event", "id": "evt-refused", "trigger": "FILE.UPLOADED",
        "created_at": box_time(Utc::now()), "webhook": {"id": hook_id},
        "source": file("f9")})
    .to_string();
    let now = box_time(Utc::now());
    let bx = &w.boxcom;
    // Wrong keys, another instance's keys, no signature at all.
    assert_eq!(
        bx.post_v2_raw(&url, &body, &now, Some("nope"), Some("nope"))
            .await,
        401
    );
    assert_eq!(
        bx.post_v2_raw(&url, &body, &now, Some("other-app-primary"), None)
            .await,
        401
    );
    assert_eq!(bx.post_v2_raw(&url, &body, &now, None, None).await, 401);
    // A signature of another body.
    let forged = v2_signature(BOX_PRIMARY, b"{}", &now);
    assert_eq!(
        bx.post_v2_signed(&url, &body, &now, Some(&forged), None)
            .await,
        401
    );
    // Older than 10 minutes, or more than 5 minutes ahead, even if correctly signed.
    for at in [
        Utc::now() - Span::minutes(11),
        Utc::now() + Span::minutes(6),
    ] {
        let ts = box_time(at);
        assert_eq!(
            bx.post_v2_raw(&url, &body, &ts, Some(BOX_PRIMARY), Some(BOX_SECONDARY))
                .await,
            401
        );
    }
    // Within the window, correctly signed: accepted, the only one delivered.
    let fresh = box_time(Utc::now() - Span::minutes(9));
    assert_eq!(
        bx.post_v2_raw(&url, &body, &fresh, Some(BOX_PRIMARY), None)
            .await,
        200
    );
    w.wait_for_events(id, 1).await;
    w.wait_quiet().await;
    assert_eq!(w.events_for(id).len(), 1);
    assert!(w.events_for(other).is_empty());
}

#[tokio::test]
async fn a_retried_or_racing_box_event_is_notified_once() {
    let w = create_test_webhook_world().await;
    let (id, token) = create_test_box_instance(&w, json!({})).await;
    let (_, hook) = create_test_webhook(&w, &token, "8001").await;
    let hook_id = hook["id"].as_str().expect("id");
    // The generic ingest URL: routed by the webhook the body names.
    let url = w.ingest_url("box");
    let body = |event: &str| {
        json!({"type": "webhook_event", "id": event, "trigger": "FILE.UPLOADED",
            "created_at": box_time(Utc::now()), "webhook": {"id": hook_id}, "source": file("r1")})
        .to_string()
    };
    let first = body("evt-retried");
    let ts = box_time(Utc::now());
    assert_eq!(
        w.boxcom
            .post_v2_raw(&url, &first, &ts, Some(BOX_PRIMARY), None)
            .await,
        200
    );
    // Box's retry: same event id, new delivery timestamp (and signature).
    let later = box_time(Utc::now() + Span::seconds(2));
    assert_eq!(
        w.boxcom
            .post_v2_raw(&url, &first, &later, None, Some(BOX_SECONDARY))
            .await,
        200
    );
    // A retry racing the original.
    let racing = body("evt-racing");
    let (a, b) = tokio::join!(
        w.boxcom
            .post_v2_raw(&url, &racing, &ts, Some(BOX_PRIMARY), None),
        w.boxcom
            .post_v2_raw(&url, &racing, &later, Some(BOX_PRIMARY), None)
    );
    assert_eq!((a.as_u16(), b.as_u16()), (200, 200));
    w.wait_for_events(id, 2).await;
    w.wait_quiet().await;
    assert_eq!(w.notifications_for(id).len(), 2, "one per Box event");
}

#[tokio::test]
async fn the_webhooks_hub_lists_gets_and_deletes_and_passes_boxs_refusals_back() {
    let w = create_test_webhook_world().await;
    let (_, token) = create_test_box_instance(&w, json!({})).await;
    let auth = w.instance_auth(&token);
    let (st, hook) = create_test_webhook(&w, &token, "9001").await;
    assert_eq!(st, 200);
    let hook_id = hook["id"].as_str().expect("id").to_string();
    // Box refuses a second webhook on the same target (409) and one on the root folder (400).
    let (st, err) = create_test_webhook(&w, &token, "9001").await;
    assert_eq!(st, 409, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already exists"),
        "{err}"
    );
    let (st, err) = create_test_webhook(&w, &token, "0").await;
    assert_eq!(st, 400, "{err}");
    // Refused by Herald before Box is called.
    let (st, _) = w
        .stack
        .call_as(
            Method::POST,
            "/hubs/documents/webhooks",
            &auth,
            Some(json!({"triggers": []})),
        )
        .await;
    assert_eq!(st, 400);

    let (st, list) = w
        .stack
        .call_as(Method::GET, "/hubs/documents/webhooks", &auth, None)
        .await;
    assert_eq!(st, 200);
    assert!(list
        .as_array()
        .expect("bare array")
        .iter()
        .any(|h| h["id"] == hook_id.as_str()));
    let path = format!("/hubs/documents/webhooks/{hook_id}");
    let (st, one) = w.stack.call_as(Method::GET, &path, &auth, None).await;
    assert_eq!((st, one["id"].as_str()), (200, Some(hook_id.as_str())));
    let (st, _) = w.stack.call_as(Method::DELETE, &path, &auth, None).await;
    assert_eq!(st, 200);
    assert_eq!(w.boxcom.deleted_webhooks(), vec![hook_id.clone()]);
    let (st, _) = w.stack.call_as(Method::GET, &path, &auth, None).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn deleting_a_box_instance_deletes_its_webhooks_before_revoking_its_tokens() {
    let w = create_test_webhook_world().await;
    let (id, token) = create_test_box_instance(&w, json!({})).await;
    let mut created = Vec::new();
    for target in ["100", "200"] {
        let (st, hook) = create_test_webhook(&w, &token, target).await;
        assert_eq!(st, 200);
        created.push(hook["id"].as_str().expect("id").to_string());
    }
    // The access token is dead: Herald refreshes it (Box refresh tokens are single use) to
    // delete the webhooks, and revokes the new pair afterwards.
    w.boxcom.oauth.expire_access_tokens();
    let (st, _) = w
        .stack
        .call(Method::DELETE, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(st, 200);
    let mut deleted = w.boxcom.deleted_webhooks();
    deleted.sort();
    created.sort();
    assert_eq!(deleted, created);
    assert!(w.boxcom.webhooks().is_empty());
    assert!(!w.boxcom.oauth.revoked().is_empty(), "tokens revoked after");
}

#[tokio::test]
async fn box_events_stop_while_events_are_off_and_resume_when_turned_on() {
    let w = create_test_webhook_world().await;
    let (id, _) = create_test_box_instance(&w, json!({})).await;
    let url = w.ingest_url("box");
    w.patch(id, json!({"event.notification.enabled": false}))
        .await;
    assert_eq!(
        w.boxcom
            .send_v1_event(&url, "uploaded", "off-1", "file")
            .await,
        200
    );
    w.wait_quiet().await;
    assert!(w.events_for(id).is_empty());
    w.patch(id, json!({"event.notification.enabled": true}))
        .await;
    assert_eq!(
        w.boxcom
            .send_v1_event(&url, "uploaded", "on-1", "file")
            .await,
        200
    );
    w.wait_for_events(id, 1).await;
    w.wait_quiet().await;
    let ids: Vec<Value> = w
        .events_for(id)
        .iter()
        .map(|e| e["objectId"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![json!("on-1")],
        "the change made while off is dropped"
    );
}

#[tokio::test]
async fn an_unsigned_flood_is_cut_off_at_boxs_body_limit() {
    let w = create_test_webhook_world().await;
    let big = "x".repeat(128 * 1024);
    let resp = w
        .stack
        .http
        .post(w.ingest_url("box"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("userId=1&event=uploaded&itemId={big}"))
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 413);
}
