//! Asynchronous hub requests: answered at once, run later, the synchronous answer delivered to
//! `Elements-Async-Callback-Url` (signed, retried, in the events API), durable across a restart.

use std::time::Duration;

use herald_e2e::wait::until;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// A hub call with the async headers; (status, JSON answer).
async fn call_async(
    w: &World,
    method: Method,
    path: &str,
    token: &str,
    callback: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = w
        .stack
        .http
        .request(method, w.stack.api(path))
        .header(
            "Authorization",
            format!("User {}, Element {token}", w.stack.user_secret),
        )
        .header("Elements-Async-Request", "True");
    if let Some(cb) = callback {
        req = req.header("Elements-Async-Callback-Url", cb);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The async result with `event_id`, once the receiver has it.
async fn wait_for_result(w: &World, event_id: u64) -> Value {
    until(
        &format!("the async result {event_id}"),
        Duration::from_secs(20),
        || async {
            w.receiver
                .received()
                .iter()
                .map(|r| r.json())
                .find(|v| {
                    v["eventId"].as_u64() == Some(event_id)
                        && v.get("response")
                            .is_some_and(|r| r.get("statusCode").is_some())
                })
                .ok_or_else(|| format!("{} callbacks so far", w.receiver.received().len()))
        },
    )
    .await
}

#[tokio::test]
async fn an_async_hub_call_answers_at_once_and_delivers_the_synchronous_answer_later() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let token = inst["token"].as_str().expect("token");
    let callback = format!("{}/async-results", w.receiver.url);
    let (st, v) = call_async(
        &w,
        Method::POST,
        "/hubs/documents/folders?path=/AsyncFolder",
        token,
        Some(&callback),
        Some(json!({"path": "/AsyncFolder", "name": "AsyncFolder"})),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["eventStatus"], "dispatched");
    let event_id = v["eventId"].as_u64().expect("eventId");
    let result = wait_for_result(&w, event_id).await;
    assert_eq!(result["instanceId"], inst["id"]);
    assert_eq!(result["elementKey"], "dropbox");
    assert_eq!(result["response"]["statusCode"], 200);
    assert_eq!(result["response"]["body"]["name"], "AsyncFolder");
    assert_eq!(result["response"]["body"]["directory"], true);
    let got = w.receiver.received();
    let delivered = got
        .iter()
        .find(|r| r.json()["eventId"].as_u64() == Some(event_id))
        .expect("delivered");
    assert_eq!(
        delivered.path, "/callback/async-results",
        "to the async callback URL"
    );
    assert!(delivered
        .header("elements-webhook-signature")
        .is_some_and(|s| s.starts_with("sha256=")));
    // Listed in the events API and notified.
    let (_, item) = get_json(&w, &format!("/instances/events/{event_id}")).await;
    until("the result notified", Duration::from_secs(10), || async {
        let (_, item) = get_json(&w, &format!("/instances/events/{event_id}")).await;
        (item["status"] == "NOTIFIED")
            .then_some(())
            .ok_or(item.to_string())
    })
    .await;
    assert_eq!(item["instanceId"], inst["id"]);

    // The same call again: the provider's refusal is the answer, as synchronously.
    let (sync_status, sync_body) = w
        .stack
        .call_as(
            Method::POST,
            "/hubs/documents/folders?path=/AsyncFolder",
            &format!("User {}, Element {token}", w.stack.user_secret),
            None,
        )
        .await;
    assert_eq!(sync_status, 409);
    let (_, v) = call_async(
        &w,
        Method::POST,
        "/hubs/documents/folders?path=/AsyncFolder",
        token,
        None,
        None,
    )
    .await;
    let result = wait_for_result(&w, v["eventId"].as_u64().expect("id")).await;
    assert_eq!(result["response"]["statusCode"], 409);
    assert_eq!(result["response"]["body"]["code"], sync_body["code"]);
    assert_eq!(result["response"]["body"]["message"], sync_body["message"]);
}

#[tokio::test]
async fn an_async_call_needs_a_callback_url_and_refuses_bad_credentials_at_once() {
    let w = create_test_world_with(&[("HERALD_ALLOW_PRIVATE_CALLBACKS", "false".into())]).await;
    let code = create_test_code(&w).await;
    let mut body = dropbox_instance_body(&code, "");
    if let Some(c) = body["configuration"].as_object_mut() {
        c.remove("event.notification.callback.url");
        c.insert("event.notification.enabled".into(), json!(false));
    }
    let (st, inst) = w.stack.call(Method::POST, "/instances", Some(body)).await;
    assert_eq!(st, 200, "{inst}");
    let token = inst["token"].as_str().expect("token");
    let path = "/hubs/documents/folders?path=/Never";
    let (st, v) = call_async(&w, Method::POST, path, token, None, None).await;
    assert_eq!(st, 400, "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap_or_default()
        .contains("Elements-Async-Callback-Url"));
    for private in [
        "http://127.0.0.1:9/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
    ] {
        let (st, v) = call_async(&w, Method::POST, path, token, Some(private), None).await;
        assert_eq!(st, 400, "{private}: {v}");
        assert!(v["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Elements-Async-Callback-Url"));
    }
    let (st, _) = call_async(
        &w,
        Method::POST,
        path,
        "not-a-token",
        Some("https://example.com/cb"),
        None,
    )
    .await;
    assert_eq!(st, 401);
    // Nothing was queued or done.
    assert!(!w
        .dropbox
        .paths()
        .iter()
        .any(|p| p.eq_ignore_ascii_case("/never")));
    let (_, items) = get_json(&w, "/instances/events").await;
    assert_eq!(items, json!([]));
}

#[tokio::test]
async fn an_async_result_is_retried_until_the_callback_answers() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let token = inst["token"].as_str().expect("token");
    w.receiver.script(&[503, 500]);
    let (_, v) = call_async(
        &w,
        Method::GET,
        "/hubs/documents/folders/contents?path=/",
        token,
        None,
        None,
    )
    .await;
    let event_id = v["eventId"].as_u64().expect("id");
    until(
        "the result notified after retries",
        Duration::from_secs(20),
        || async {
            let (_, item) = get_json(&w, &format!("/instances/events/{event_id}")).await;
            (item["status"] == "NOTIFIED" && item["attempts"] == 3)
                .then_some(())
                .ok_or(item.to_string())
        },
    )
    .await;
    let bodies: Vec<Value> = w
        .receiver
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|b| b["eventId"].as_u64() == Some(event_id))
        .collect();
    assert_eq!(bodies.len(), 3, "same body each attempt");
    assert!(bodies.windows(2).all(|p| p[0] == p[1]));
    assert!(bodies[0]["response"]["body"].is_array(), "{}", bodies[0]);
}

#[tokio::test]
async fn an_async_request_accepted_while_no_worker_runs_is_done_once_one_starts() {
    let w = create_test_world_with(&[("HERALD_GATEWAY_JOBS_ENABLED", "false".into())]).await;
    let inst = create_test_instance(&w).await;
    let token = inst["token"].as_str().expect("token");
    let (st, v) = call_async(
        &w,
        Method::POST,
        "/hubs/documents/folders?path=/Durable",
        token,
        None,
        None,
    )
    .await;
    assert_eq!(st, 200);
    let event_id = v["eventId"].as_u64().expect("id");
    // The request waits, stored, for a worker: a gateway process that runs one.
    let mut gateway = w.stack.spawn_process(
        "herald-gateway",
        &[("HERALD_GATEWAY_JOBS_ENABLED", "true".into())],
    );
    let result = wait_for_result(&w, event_id).await;
    let _ = gateway.kill();
    let _ = gateway.wait();
    assert_eq!(result["response"]["statusCode"], 200);
    assert!(
        w.dropbox
            .paths()
            .iter()
            .any(|p| p.eq_ignore_ascii_case("/durable")),
        "{:?}",
        w.dropbox.paths()
    );
    w.stack.wait_webhooks_drained().await;
    let folders: usize = w
        .receiver
        .received()
        .iter()
        .filter(|r| r.json()["eventId"].as_u64() == Some(event_id))
        .count();
    assert_eq!(folders, 1, "one result");
}
