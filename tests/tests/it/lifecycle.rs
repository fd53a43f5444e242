//! PATCH, DELETE and enable/disable of instances.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn patch_changes_name_tags_and_events_without_a_restart() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let auth = w.stack.platform_auth();
    let path = format!("/instances/{id}");
    let (st, v) = send_json(&w, Method::PATCH, &path, &auth, Some(json!({
        "name": "Renamed", "tags": ["a", "b"],
        "configuration": {"event.notification.enabled": "false", "event.notification.signature.key": "********"}
    })))
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["name"], "Renamed");
    assert_eq!(v["tags"], json!(["a", "b"]));
    assert_eq!(v["eventsEnabled"], false);
    assert_eq!(
        v["configuration"]["event.notification.signature.key"],
        "********"
    );

    // Events off: a change at Dropbox is dropped, not queued.
    w.dropbox.upload_external("/while-off.txt");
    wait_webhooks_drained(&w).await;
    // On again (the same PATCH form as the original's top-level keys): the next change arrives
    // alone, signed with the unchanged key.
    let (st, _) = send_json(
        &w,
        Method::PATCH,
        &path,
        &auth,
        Some(json!({"event.notification.enabled": true})),
    )
    .await;
    assert_eq!(st, 200);
    w.dropbox.upload_external("/after-on.txt");
    let recs = wait_for_events(&w, id, "the change after events came back on", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    assert_eq!(recs.len(), 1);
    let got = w.receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].json()["response"]["events"][0]["path"],
        "/after-on.txt"
    );
    assert_eq!(
        got[0].header("elements-webhook-signature"),
        Some(herald_core::signing::elements_signature(
            SIGNATURE_KEY.as_bytes(),
            &got[0].body
        ))
    );

    // A bad value is refused and changes nothing.
    let (st, v) = send_json(
        &w,
        Method::PATCH,
        &path,
        &auth,
        Some(json!({"name": "X", "event.notification.callback.url": "ftp://nope"})),
    )
    .await;
    assert_eq!(st, 400);
    assert!(v["message"]
        .as_str()
        .is_some_and(|m| m.contains("event.notification.callback.url")));
    let (_, now) = get_json(&w, &path).await;
    assert_eq!(now["name"], "Renamed");
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_disabled_instance_refuses_hub_calls_and_drops_events() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let element_auth = format!(
        "User {}, Element {}",
        w.stack.user_secret,
        inst["token"].as_str().expect("token")
    );
    let (st, v) = send_json(
        &w,
        Method::DELETE,
        "/instances/enabled",
        &element_auth,
        None,
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["disabled"], true);
    let (st, v) = send_json(
        &w,
        Method::POST,
        "/hubs/documents/folders?path=/nope",
        &element_auth,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 409);
    assert!(v["message"]
        .as_str()
        .is_some_and(|m| m.contains("disabled")));
    w.dropbox.upload_external("/while-disabled.txt");
    wait_webhooks_drained(&w).await;
    let (st, v) = send_json(&w, Method::PUT, "/instances/enabled", &element_auth, None).await;
    assert_eq!(st, 200);
    assert_eq!(v["disabled"], false);
    let (st, _) = send_json(
        &w,
        Method::POST,
        "/hubs/documents/folders?path=/Back",
        &element_auth,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 200);
    let recs = wait_for_events(&w, id, "the folder's event", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    let (_, one) = get_json(&w, &format!("/instances/events/{}", recs[0]["id"])).await;
    assert_eq!(
        one["notifiedData"]["response"]["events"][0]["path"], "/back",
        "nothing from the disabled time"
    );
    w.stack.shutdown().await;
}

#[tokio::test]
async fn delete_revokes_tokens_and_forgets_the_instance() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let path = format!("/instances/{id}");
    let (other_org, other_user) = w.stack.create_tenant("Other", "o@other.test").await;
    let other = format!("User {other_user}, Organization {other_org}");
    let (st, _) = send_json(&w, Method::DELETE, &path, &other, None).await;
    assert_eq!(st, 404, "another user cannot delete it");
    let (st, _) = send_json(
        &w,
        Method::PATCH,
        &path,
        &other,
        Some(json!({"name": "mine"})),
    )
    .await;
    assert_eq!(st, 404, "nor change it");

    let (st, _) = send_json(&w, Method::DELETE, &path, &w.stack.platform_auth(), None).await;
    assert_eq!(st, 200);
    assert_eq!(
        w.dropbox.oauth.revoked().len(),
        1,
        "the access token was revoked at Dropbox"
    );
    let (st, _) = get_json(&w, &path).await;
    assert_eq!(st, 404);
    let element_auth = format!(
        "User {}, Element {}",
        w.stack.user_secret,
        inst["token"].as_str().expect("token")
    );
    let (st, _) = send_json(
        &w,
        Method::POST,
        "/hubs/documents/folders?path=/x",
        &element_auth,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 401, "the instance token is gone");
    let (_, list) = get_json(&w, "/instances").await;
    assert_eq!(list, Value::Array(vec![]));
    w.stack.shutdown().await;
}
