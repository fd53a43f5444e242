//! The seed guide's Dropbox walk-through, end to end.

use std::time::Duration;

use base64::Engine;
use herald_core::signing::{elements_signature, standard_webhooks_signature};
use herald_e2e::wait::until;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn the_seed_flow_delivers_a_signed_notification_for_a_created_folder() {
    let w = create_test_world().await;
    // Step 1: the OAuth URL points at the configured authorize endpoint.
    let (status, v) = get_json(&w, &format!(
        "/elements/dropbox/oauth/url?apiKey={CLIENT_ID}&apiSecret={CLIENT_SECRET}&callbackUrl={APP_CALLBACK}&state=dropbox"
    ))
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["element"], "dropbox");
    let oauth = url::Url::parse(v["oauthUrl"].as_str().expect("url")).expect("parses");
    assert_eq!(oauth.path(), "/oauth2/authorize");
    let q: std::collections::HashMap<_, _> = oauth.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], APP_CALLBACK);
    assert_eq!(q["state"], "dropbox");
    assert_eq!(q["response_type"], "code");

    // Steps 2 and 3: code, then the instance in the seed's shape.
    let inst = create_test_instance(&w).await;
    assert!(inst["id"].is_u64());
    assert!(inst["token"].as_str().is_some_and(|t| t.len() > 20));
    assert_eq!(inst["element"]["key"], "dropbox");
    assert_eq!(inst["element"]["authentication"]["type"], "oauth2");
    assert_eq!(inst["provisionInteractions"], json!([]));
    assert_eq!(inst["valid"], true);
    assert_eq!(inst["disabled"], false);
    assert_eq!(inst["eventsEnabled"], true);
    assert_eq!(inst["configuration"]["oauth.api.secret"], "********");
    assert_eq!(
        inst["configuration"]["event.notification.signature.key"],
        "********"
    );

    // Step 4: the folder at the fake Dropbox, through the hub.
    let token = inst["token"].as_str().expect("token");
    let resp = w
        .stack
        .http
        .post(w.stack.api("/hubs/documents/folders?path=/TestFolderCreate"))
        .header("Authorization", format!("User {}, Element {}", w.stack.user_secret, token))
        .json(&json!({"path": "/testfoldercreate", "tags": ["TestFolderCreate"], "createdDate": "", "size": 0, "name": "TestFolderCreate", "directory": false}))
        .send()
        .await
        .expect("create folder");
    assert_eq!(resp.status(), 200);
    let folder: Value = resp.json().await.expect("json");
    assert_eq!(folder["path"], "/TestFolderCreate");
    assert_eq!(folder["directory"], true);
    assert!(w.dropbox.paths().contains(&"/TestFolderCreate".to_string()));

    // Steps 5–7: Dropbox notifies, Herald fetches the change and calls back, signed.
    let got = until(
        "the folder's notification",
        Duration::from_secs(20),
        || async {
            let got = w.receiver.received();
            if got.is_empty() {
                Err("nothing yet".into())
            } else {
                Ok(got)
            }
        },
    )
    .await;
    let n = &got[0];
    let body = n.json();
    assert_eq!(body["instanceId"], inst["id"]);
    assert_eq!(body["elementKey"], "dropbox");
    assert!(body["eventId"].is_u64() && body["notificationId"].is_u64());
    let events = body["response"]["events"].as_array().expect("events");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e["path"], "/testfoldercreate");
    assert_eq!(
        e["metadata"],
        json!({"path": "/TestFolderCreate", "name": "TestFolderCreate", "type": "folder"})
    );
    assert_eq!(e["eventType"], "CREATED");
    assert_eq!(e["objectType"], "folder");
    assert_eq!(e["elementKey"], "dropbox");
    assert!(e["objectId"]
        .as_str()
        .is_some_and(|id| id.starts_with("id:")));

    let id = n
        .header("elements-webhook-id")
        .expect("Elements-Webhook-Id");
    assert_eq!(n.header("webhook-id").as_deref(), Some(id.as_str()));
    assert_eq!(
        n.header("elements-webhook-signature").as_deref(),
        Some(elements_signature(SIGNATURE_KEY.as_bytes(), &n.body).as_str())
    );
    let ts: i64 = n
        .header("webhook-timestamp")
        .expect("ts")
        .parse()
        .expect("number");
    // A Standard Webhooks receiver configured with whsec_ + base64(key) verifies it.
    let whsec = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(SIGNATURE_KEY)
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(whsec.trim_start_matches("whsec_"))
        .expect("b64");
    assert_eq!(
        n.header("webhook-signature").as_deref(),
        Some(standard_webhooks_signature(&key, &id, ts, &n.body).as_str())
    );

    // A W3C traceparent, even with no trace exporter configured.
    let tp = n.header("traceparent").expect("traceparent");
    assert!(
        herald_core::telemetry::trace::TraceParent::parse(&tp).is_some(),
        "{tp}"
    );

    // The events API shows it NOTIFIED with its attempt.
    let inst_id = inst["id"].as_u64().expect("id");
    let listed = until(
        "NOTIFIED in the events API",
        Duration::from_secs(10),
        || async {
            let (_, v) = get_json(&w, &format!("/instances/{inst_id}/events")).await;
            match v.as_array() {
                Some(a) if a.len() == 1 && a[0]["status"] == "NOTIFIED" => Ok(a[0].clone()),
                _ => Err(v.to_string()),
            }
        },
    )
    .await;
    assert_eq!(listed["id"], body["eventId"]);
    assert_eq!(listed["attempts"], 1);
    assert_eq!(listed["lastAttempt"]["statusCode"], 200);
    let (_, one) = get_json(&w, &format!("/instances/events/{}", body["eventId"])).await;
    assert_eq!(one["notifiedData"], body);
    assert!(one["providerData"]["list_folder"]["accounts"][0].is_string());
    assert_eq!(one["deliveryAttempts"].as_array().map(Vec::len), Some(1));
    w.stack.shutdown().await;
}

#[tokio::test]
async fn external_uploads_notify_once_and_repeated_notifications_add_nothing() {
    let w = create_test_world().await;
    create_test_instance(&w).await;
    // More changes than one page of the fake's list_folder/continue (3).
    for i in 0..5 {
        w.dropbox
            .upload_external(&format!("/Shared/report-{i}.txt"));
    }
    w.dropbox.upload_external("/Shared/report-0.txt");
    let file_events = || -> Vec<Value> {
        w.receiver
            .events()
            .into_iter()
            .filter(|e| e["objectType"] == "file")
            .collect()
    };
    let all = until("six file events", Duration::from_secs(20), || async {
        let events = file_events();
        if events.len() >= 6 {
            Ok(events)
        } else {
            Err(format!("{} events", events.len()))
        }
    })
    .await;
    let mut kinds: Vec<(String, String)> = all
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or("").to_string(),
                e["eventType"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(kinds.len(), 6);
    assert!(kinds.contains(&("/shared/report-0.txt".into(), "UPDATED".into())));
    assert_eq!(kinds.iter().filter(|(_, t)| t == "CREATED").count(), 5);

    // The same notification again: the cursor makes it a no-op.
    let before = w.dropbox.webhook_attempts().len();
    w.dropbox.renotify();
    until(
        "the repeated notification accepted",
        Duration::from_secs(10),
        || async {
            let a = w.dropbox.webhook_attempts();
            if a.len() > before && a.last() == Some(&200) {
                Ok(())
            } else {
                Err(format!("{a:?}"))
            }
        },
    )
    .await;
    // Wait for the normalizer to have consumed it (WEBHOOKS is a work queue: empty when done).
    w.stack.wait_webhooks_drained().await;
    // The six file changes and the folder Dropbox made for them, each once.
    let events = w.receiver.events().len();
    assert_eq!(file_events().len(), 6, "no duplicate file events");
    assert_eq!(events, 7, "no duplicate events");
    w.stack.shutdown().await;
}

#[tokio::test]
async fn ingest_answers_the_challenge_and_refuses_bad_signatures() {
    let w = create_test_world().await;
    create_test_instance(&w).await;
    let url = w.stack.ingest_url("dropbox");
    let resp = w
        .stack
        .http
        .get(format!("{url}?challenge=abc123"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.text().await.expect("text"), "abc123");

    let body =
        json!({"list_folder": {"accounts": [w.dropbox.account_id()]}, "delta": {"users": [1]}})
            .to_string();
    for sig in [None, Some("00".repeat(32))] {
        let mut req = w.stack.http.post(&url).body(body.clone());
        if let Some(sig) = sig {
            req = req.header("X-Dropbox-Signature", sig);
        }
        let resp = req.send().await.expect("post");
        assert_eq!(resp.status(), 401);
        assert!(resp.headers().contains_key("elements-request-id"));
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["code"], "bad_signature");
    }
    let js =
        async_nats::jetstream::new(async_nats::connect(w.stack.nats.url()).await.expect("nats"));
    let topo = herald_core::bus::Topology::new(&w.stack.prefix);
    let mut s = js
        .get_stream(topo.stream_name(herald_core::bus::StreamKind::Webhooks))
        .await
        .expect("stream");
    assert_eq!(
        s.info().await.expect("info").state.last_sequence,
        0,
        "nothing was stored"
    );
    let resp = w
        .stack
        .http
        .post(w.stack.ingest_url("nosuch"))
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 404);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn dropbox_errors_while_fetching_changes_delay_the_event_but_lose_nothing() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    // The normalizer's list_folder/continue meets a 500, a 429 and a 503 before it succeeds.
    w.dropbox.fail_api(&[500, 429, 503]);
    w.dropbox.upload_external("/flaky.txt");
    let recs = wait_for_events(&w, id, "the change NOTIFIED despite Dropbox errors", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    assert_eq!(recs.len(), 1);
    let got = w.receiver.received();
    assert_eq!(got.len(), 1, "exactly one notification");
    assert_eq!(got[0].json()["response"]["events"][0]["path"], "/flaky.txt");
    w.stack.shutdown().await;
}

#[tokio::test]
async fn deletions_at_dropbox_arrive_as_deleted_and_a_recreated_path_is_new() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let events = || -> Vec<(String, String, String)> {
        w.receiver
            .events()
            .into_iter()
            .map(|e| {
                let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
                (s("path"), s("eventType"), s("objectType"))
            })
            .collect()
    };
    let wait = |n: usize| {
        until(
            "Dropbox events",
            Duration::from_secs(20),
            move || async move {
                let e = events();
                if e.len() >= n {
                    Ok(e)
                } else {
                    Err(format!("{e:?}"))
                }
            },
        )
    };
    w.dropbox.upload_external("/Docs/a.txt");
    wait(2).await;
    // The folder goes (Dropbox reports the folder alone), then a file of that name comes back.
    w.dropbox.delete_external("/Docs");
    wait(3).await;
    w.dropbox.upload_external("/Docs/a.txt");
    let got = wait(5).await;
    let created = |p: &str, t: &str| (p.to_string(), "CREATED".to_string(), t.to_string());
    assert_eq!(
        got,
        vec![
            created("/docs", "folder"),
            created("/docs/a.txt", "file"),
            ("/docs".into(), "DELETED".into(), "folder".into()),
            created("/docs", "folder"),
            created("/docs/a.txt", "file"),
        ]
    );
    let recs = wait_for_events(&w, id, "all NOTIFIED", |a| {
        a.iter().all(|e| e["status"] == "NOTIFIED")
    })
    .await;
    assert!(!recs.is_empty());
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_dropbox_delivery_reaches_only_instances_whose_own_app_secret_signed_it() {
    let w = create_test_world().await;
    let signed_by_its_app = create_test_instance(&w).await;
    let other_app = create_test_instance(&w).await;
    let other_id = other_app["id"].as_u64().expect("id");
    // Same Dropbox account, but this instance belongs to another app (another client secret).
    let (st, v) = w
        .stack
        .call(
            reqwest::Method::PATCH,
            &format!("/instances/{other_id}"),
            Some(json!({"configuration": {"oauth.api.secret": "another-apps-secret"}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    w.dropbox.upload_external("/for-one-app.txt");
    let id = signed_by_its_app["id"].as_u64().expect("id");
    wait_for_events(&w, id, "the signing app's instance notified", |e| {
        !e.is_empty()
    })
    .await;
    wait_webhooks_drained(&w).await;
    let (_, others) = get_json(&w, &format!("/instances/{other_id}/events")).await;
    assert_eq!(
        others,
        json!([]),
        "routed by account alone, not by signature"
    );
}

#[tokio::test]
async fn each_account_of_one_dropbox_app_notifies_only_its_own_instance() {
    let w = create_test_world().await;
    let first = create_test_instance(&w).await;
    let second_account = w.dropbox.add_account();
    second_account.sign_in();
    let second = create_test_instance(&w).await;
    let instance_of = |v: &Value| v["id"].as_u64().expect("id");
    let (first_id, second_id) = (instance_of(&first), instance_of(&second));
    assert_ne!(first_id, second_id);
    // Interleaved changes in both accounts, each announced by its own notification…
    for i in 0..2 {
        w.dropbox.upload_external(&format!("/First/f-{i}.txt"));
        second_account.upload_external(&format!("/Second/s-{i}.txt"));
    }
    // …and by one notification naming both accounts.
    for i in 2..4 {
        let (f, s) = (format!("/First/f-{i}.txt"), format!("/Second/s-{i}.txt"));
        herald_e2e::fake_dropbox::FakeDropbox::upload_external_together(&[
            (&w.dropbox, &f),
            (&second_account, &s),
        ]);
    }
    let by_instance = until("eight file events", Duration::from_secs(20), || async {
        let mut seen: Vec<(u64, String)> = Vec::new();
        for r in w.receiver.received() {
            let body = r.json();
            let instance = body["instanceId"].as_u64().unwrap_or_default();
            for e in body["response"]["events"].as_array().into_iter().flatten() {
                let path = e["path"].as_str().unwrap_or_default();
                if path.ends_with(".txt") {
                    seen.push((instance, path.to_string()));
                }
            }
        }
        if seen.len() >= 8 {
            Ok(seen)
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;
    let mut by_instance = by_instance;
    by_instance.sort();
    let mut expected: Vec<(u64, String)> = (0..4)
        .flat_map(|i| {
            [
                (first_id, format!("/first/f-{i}.txt")),
                (second_id, format!("/second/s-{i}.txt")),
            ]
        })
        .collect();
    expected.sort();
    assert_eq!(
        by_instance, expected,
        "each change once, to its account's instance"
    );
}
