//! The fake's webhooks API and deliveries, checked against `PROVIDERS.md` § Box.

use std::time::Duration;

use serde_json::{json, Value};

use super::{v2_signature, FakeBox};
use crate::receiver::Receiver;
use crate::webhook_sender::RetryPolicy;

struct Api {
    fake: FakeBox,
    token: String,
    http: reqwest::Client,
}

async fn create_test_box() -> Api {
    let fake = FakeBox::start("box-client", "box-secret").await;
    let token = fake.oauth.mint_access_token();
    Api {
        fake,
        token,
        http: reqwest::Client::new(),
    }
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.fake.url()))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r = rb.send().await.expect("send");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn create(&self, target_id: &str, address: &str, triggers: Value) -> (u16, Value) {
        let body = json!({"target": {"id": target_id, "type": "folder"}, "address": address, "triggers": triggers});
        self.call(reqwest::Method::POST, "/2.0/webhooks", Some(body))
            .await
    }
}

#[tokio::test]
async fn webhooks_are_created_once_per_target_listed_shown_and_deleted() {
    let api = create_test_box().await;
    let (st, hook) = api
        .create("555", "http://127.0.0.1:9/hook", json!(["FILE.UPLOADED"]))
        .await;
    assert_eq!(st, 201, "{hook}");
    let id = hook["id"].as_str().expect("id").to_string();
    assert_eq!(hook["type"], "webhook");
    assert_eq!(hook["target"], json!({"id": "555", "type": "folder"}));
    assert_eq!(hook["created_by"]["id"], api.fake.user_id.as_str());

    let (st, dup) = api
        .create("555", "http://127.0.0.1:9/other", json!(["FOLDER.CREATED"]))
        .await;
    assert_eq!(st, 409, "{dup}");
    assert_eq!(dup["code"], "conflict");
    assert_eq!(
        dup["message"],
        format!("Webhook:{id} already exists on the specified target.")
    );

    let (st, list) = api.call(reqwest::Method::GET, "/2.0/webhooks", None).await;
    assert_eq!(st, 200);
    assert_eq!(
        list["entries"],
        json!([{"id": id, "type": "webhook", "target": hook["target"]}])
    );
    assert_eq!(list["next_marker"], Value::Null);
    let path = format!("/2.0/webhooks/{id}");
    assert_eq!(
        api.call(reqwest::Method::GET, &path, None).await,
        (200, hook)
    );

    assert_eq!(api.call(reqwest::Method::DELETE, &path, None).await.0, 204);
    let (st, gone) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!((st, gone["code"].clone()), (404, json!("not_found")));
    assert_eq!(api.call(reqwest::Method::DELETE, &path, None).await.0, 404);
    assert_eq!(api.fake.deleted_webhooks(), [id]);
    assert!(api.fake.webhooks().is_empty());
}

#[tokio::test]
async fn bad_webhooks_are_refused_as_box_refuses_them() {
    let api = create_test_box().await;
    let ok = "https://example.com/hook";
    for (target, address, triggers) in [
        ("0", ok, json!(["FILE.UPLOADED"])),
        ("7", "not a url", json!(["FILE.UPLOADED"])),
        ("7", "ftp://example.com/x", json!(["FILE.UPLOADED"])),
        ("7", "/relative", json!(["FILE.UPLOADED"])),
        ("7", ok, json!([])),
        ("7", ok, json!(["FILE.EXPLODED"])),
    ] {
        let (st, err) = api.create(target, address, triggers.clone()).await;
        assert_eq!(
            (st, &err["code"]),
            (400, &json!("bad_request")),
            "{target} {address} {triggers}"
        );
    }
    let (st, _) = api
        .call(
            reqwest::Method::POST,
            "/2.0/webhooks",
            Some(json!({"target": {"id": "7", "type": "folder"}, "triggers": ["FILE.UPLOADED"]})),
        )
        .await;
    assert_eq!(st, 400, "a missing address");
    let anonymous = api
        .http
        .get(format!("{}/2.0/webhooks", api.fake.url()))
        .send()
        .await
        .expect("send");
    assert_eq!(anonymous.status(), 401);
    assert!(api.fake.webhooks().is_empty());
}

#[tokio::test]
async fn a_v2_delivery_is_signed_and_retried_with_the_same_body_and_new_delivery_ids() {
    let api = create_test_box().await;
    let receiver = Receiver::start().await;
    receiver.script(&[500, 503]);
    let (_, hook) = api
        .create("555", &receiver.url, json!(["FILE.UPLOADED"]))
        .await;
    let hook_id = hook["id"].as_str().expect("id");
    api.fake.set_signature_keys("primary-key", "secondary-key");
    api.fake.set_retry_policy(RetryPolicy {
        first_wait: Duration::from_millis(1),
        ..RetryPolicy::short(super::BOX_DEADLINE)
    });
    let source = json!({"id": "42", "type": "file", "name": "a.txt"});
    let sent = api
        .fake
        .send_v2(hook_id, "FILE.UPLOADED", source.clone())
        .await;

    assert_eq!(sent.statuses(), [500, 503, 200]);
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    let ids = sent.delivery_ids();
    assert!(ids[0] != ids[1] && ids[1] != ids[2], "{ids:?}");
    for r in &got {
        assert_eq!(r.body, sent.body.as_bytes());
        let ts = r.header("BOX-DELIVERY-TIMESTAMP").expect("timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(&ts).is_ok(), "{ts}");
        let expect = |key: &str| Some(v2_signature(key, &r.body, &ts));
        assert_eq!(r.header("BOX-SIGNATURE-PRIMARY"), expect("primary-key"));
        assert_eq!(r.header("BOX-SIGNATURE-SECONDARY"), expect("secondary-key"));
        assert_eq!(r.header("BOX-SIGNATURE-VERSION").as_deref(), Some("1"));
        assert_eq!(
            r.header("BOX-SIGNATURE-ALGORITHM").as_deref(),
            Some("HmacSHA256")
        );
    }
    let body = got[0].json();
    assert_eq!(body["id"], sent.event_id.as_str());
    assert_eq!(body["type"], "webhook_event");
    assert_eq!(body["trigger"], "FILE.UPLOADED");
    assert_eq!(body["webhook"], json!({"id": hook_id}));
    assert_eq!(body["source"], source);
}

#[tokio::test]
async fn a_v1_callback_is_one_unsigned_form_post() {
    let api = create_test_box().await;
    let receiver = Receiver::start().await;
    receiver.script(&[500]);
    let st = api
        .fake
        .send_v1_event(&receiver.url, "uploaded", "42", "file")
        .await;
    assert_eq!(st, 500);
    let got = receiver.received();
    assert_eq!(got.len(), 1, "Box v1 never retries");
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&got[0].body).expect("form");
    let user = format!("[\"{}\"]", api.fake.user_id);
    assert_eq!(
        form,
        [
            ("userId".to_string(), user),
            ("event".into(), "uploaded".into()),
            ("itemId".into(), "42".into()),
            ("itemType".into(), "file".into()),
            ("newItemId".into(), String::new()),
        ]
    );
    assert!(got[0].header("BOX-SIGNATURE-PRIMARY").is_none());
}
