//! What the original platform's clients call and send: the catalog calls, `PUT /instances/{id}`,
//! and the Authorization forms with all three parts.

use herald_e2e::receiver::Receiver;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// An unauthenticated GET (the catalog needs none).
async fn get_anon(w: &World, path: &str) -> (u16, Value) {
    let resp = w
        .stack
        .http
        .get(w.stack.api(path))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn keys_of(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|e| e["key"].as_str().expect("key"))
        .collect()
}

#[tokio::test]
async fn catalog_calls_answer_as_the_original() {
    let w = create_test_world().await;
    let (st, v) = get_anon(&w, "/elements/keys").await;
    assert_eq!(st, 200, "{v}");
    let (_, all) = get_anon(&w, "/elements").await;
    assert_eq!(v, json!(keys_of(&all)), "keys are the catalog's keys");
    assert!(v.as_array().expect("keys").contains(&json!("dropbox")));

    let (st, v) = get_anon(&w, "/elements/dropbox/configuration").await;
    assert_eq!(st, 200, "{v}");
    let (_, detail) = get_anon(&w, "/elements/dropbox").await;
    assert_eq!(v, detail["configuration"]);
    assert!(v
        .as_array()
        .expect("entries")
        .iter()
        .any(|e| e["key"] == "oauth.api.key" && e["required"] == true));
    // A literal segment is never taken for an element key.
    for path in [
        "/elements/keys/configuration",
        "/elements/nope/configuration",
    ] {
        let (st, v) = get_anon(&w, path).await;
        assert_eq!(st, 404, "{path}: {v}");
        assert!(v["requestId"].is_string());
    }

    let (st, hubs) = get_anon(&w, "/hubs").await;
    assert_eq!(st, 200, "{hubs}");
    assert_eq!(keys_of(&hubs), ["documents", "crm", "finance"]);
    let (st, v) = get_anon(&w, "/hubs/keys").await;
    assert_eq!((st, v), (200, json!(["documents", "crm", "finance"])));
    let (st, v) = get_anon(&w, "/hubs/documents").await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["elements"], json!(["dropbox", "box", "docushareflex"]));
    assert_eq!(v, hubs[0]);
    // The client sends its credentials on catalog calls too; they change nothing.
    let (st, v) = w
        .stack
        .call(Method::GET, "/hubs/documents/elements", None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(keys_of(&v), ["dropbox", "box", "docushareflex"]);
    let dropbox = all
        .as_array()
        .expect("catalog")
        .iter()
        .find(|e| e["key"] == "dropbox")
        .expect("dropbox");
    assert_eq!(&v[0], dropbox, "catalog entries, as GET /elements has them");
    let (_, crm) = get_anon(&w, "/hubs/crm/elements").await;
    assert_eq!(keys_of(&crm), ["hubspot", "sfdc"]);
    for path in ["/hubs/nope", "/hubs/nope/elements"] {
        let (st, v) = get_anon(&w, path).await;
        assert_eq!(st, 404, "{path}: {v}");
    }
    // The hub API beside them still checks credentials first.
    let (st, _) = get_anon(&w, "/hubs/documents/folders/contents?path=/").await;
    assert_eq!(st, 401);

    let doc: Value = w
        .stack
        .http
        .get(format!("http://{}/openapi.json", w.stack.gateway))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    let paths = &doc["paths"];
    for (path, method) in [
        ("/elements/api-v2/elements/keys", "get"),
        ("/elements/api-v2/elements/{key}/configuration", "get"),
        ("/elements/api-v2/hubs", "get"),
        ("/elements/api-v2/hubs/keys", "get"),
        ("/elements/api-v2/hubs/{key}", "get"),
        ("/elements/api-v2/hubs/{key}/elements", "get"),
        ("/elements/api-v2/instances/{id}", "put"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} documented"
        );
    }
}

#[tokio::test]
async fn all_three_authorization_parts_are_read_and_checked() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let token = inst["token"].as_str().expect("token");
    let s = &w.stack;
    let list = "/hubs/documents/folders/contents?path=/";
    let hub = |auth: String| async move { s.call_as(Method::GET, list, &auth, None).await.0 };
    assert_eq!(
        hub(format!(
            "User {}, Organization {}, Element: {token}",
            s.user_secret, s.org_secret
        ))
        .await,
        200
    );
    assert_eq!(
        hub(format!("Element:{token},User: {}", s.user_secret)).await,
        200
    );
    // The organization part of an instance call is checked, never ignored.
    assert_eq!(
        hub(format!(
            "User {}, Organization wrong, Element: {token}",
            s.user_secret
        ))
        .await,
        401
    );
    let (other_org, _) = s.create_tenant("Other", "y@other.test").await;
    assert_eq!(
        hub(format!(
            "User {}, Organization {other_org}, Element: {token}",
            s.user_secret
        ))
        .await,
        401
    );
    // Unreadable forms are refused, not guessed at.
    assert_eq!(
        hub(format!("User {}, User x, Element {token}", s.user_secret)).await,
        401
    );
    assert_eq!(
        hub(format!("User {}, Token {token}", s.user_secret)).await,
        401
    );

    // A platform call may carry an Element part: it is ignored.
    let id = inst["id"].as_u64().expect("id");
    let (st, v) = s
        .call_as(
            Method::GET,
            &format!("/instances/{id}"),
            &format!(
                "User: {} , Organization: {}, Element: {token}",
                s.user_secret, s.org_secret
            ),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
}

#[tokio::test]
async fn put_replaces_name_tags_and_configuration_keeping_secrets() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let path = format!("/instances/{id}");
    let auth = w.stack.platform_auth();
    let moved = Receiver::start().await;

    // The original's client: the create body without providerData, secrets as it read them.
    let mut body = dropbox_instance_body("unused", &moved.url);
    body.as_object_mut().expect("body").remove("providerData");
    body["name"] = json!("Replaced");
    body["configuration"]["event.notification.signature.key"] = json!("********");
    body["configuration"]
        .as_object_mut()
        .expect("configuration")
        .remove("oauth.api.secret");
    body.as_object_mut().expect("body").remove("tags");
    let (st, v) = send_json(&w, Method::PUT, &path, &auth, Some(body.clone())).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["name"], "Replaced");
    assert_eq!(v["tags"], json!([]), "tags become what the body says");
    assert_eq!(
        v["configuration"]["event.notification.callback.url"],
        moved.url.as_str()
    );
    assert_eq!(
        v["configuration"]["event.notification.signature.key"],
        "********"
    );
    assert_eq!(v["configuration"]["oauth.api.secret"], "********");
    let (_, got) = get_json(&w, &path).await;
    assert_eq!(got["name"], "Replaced");

    // Events now go to the new callback, signed with the key that was kept.
    w.dropbox.upload_external("/after-put.txt");
    wait_for_events(&w, id, "the change after PUT", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    let sent = moved.received();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("elements-webhook-signature"),
        Some(herald_core::signing::elements_signature(
            SIGNATURE_KEY.as_bytes(),
            &sent[0].body
        ))
    );
    assert!(
        w.receiver.received().is_empty(),
        "the old callback got nothing"
    );

    // Left out entries go: events off when the body no longer turns them on.
    let mut off = body.clone();
    off["configuration"]
        .as_object_mut()
        .expect("configuration")
        .remove("event.notification.enabled");
    off["tags"] = json!(["x"]);
    let (st, v) = send_json(&w, Method::PUT, &path, &auth, Some(off)).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["eventsEnabled"], false);
    assert_eq!(v["tags"], json!(["x"]));

    // Another element, or a missing required entry: 400, nothing changed.
    let mut other = body.clone();
    other["element"]["key"] = json!("box");
    let (st, v) = send_json(&w, Method::PUT, &path, &auth, Some(other)).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| m.contains("element")));
    let mut missing = body.clone();
    missing["configuration"]
        .as_object_mut()
        .expect("configuration")
        .remove("oauth.api.key");
    let (st, v) = send_json(&w, Method::PUT, &path, &auth, Some(missing)).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"]
        .as_str()
        .is_some_and(|m| m.contains("oauth.api.key")));
    let (_, got) = get_json(&w, &path).await;
    assert_eq!(got["tags"], json!(["x"]));

    // Another user's instance is not found.
    let (org, user) = w.stack.create_tenant("Other", "z@other.test").await;
    let (st, _) = send_json(
        &w,
        Method::PUT,
        &path,
        &format!("User {user}, Organization {org}"),
        Some(body),
    )
    .await;
    assert_eq!(st, 404);
}
