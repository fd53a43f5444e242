//! Fixtures shared by the end-to-end tests.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::receiver::Receiver;
use herald_e2e::stack::Stack;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "fake_Dropbox_api_key";
pub const CLIENT_SECRET: &str = "dbx_app_secret_example";
pub const APP_CALLBACK: &str = "https://www.mycoolapp.com/auth";
pub const SIGNATURE_KEY: &str = "MySecretEventSignatureKey";

pub struct World {
    pub stack: Stack,
    pub dropbox: FakeDropbox,
    pub receiver: Receiver,
}

pub async fn create_test_world() -> World {
    create_test_world_with(&[]).await
}

/// A world with extra settings for the services.
pub async fn create_test_world_with(extra: &[(&str, String)]) -> World {
    let dropbox = FakeDropbox::start(CLIENT_ID, CLIENT_SECRET, Duration::from_millis(100)).await;
    let mut env = vec![
        ("HERALD_ELEMENT_DROPBOX_API_URL", dropbox.url()),
        ("HERALD_ELEMENT_DROPBOX_AUTH_URL", dropbox.url()),
    ];
    env.extend(extra.iter().cloned());
    let stack = Stack::start(&env).await;
    dropbox.set_webhook_url(&stack.ingest_url("dropbox")).await;
    let receiver = Receiver::start().await;
    World {
        stack,
        dropbox,
        receiver,
    }
}

/// Steps 1 and 2 of the guide: the OAuth URL, followed at the fake, yields a code.
pub async fn create_test_code(w: &World) -> String {
    let v: Value = w
        .stack
        .http
        .get(w.stack.api(&format!(
            "/elements/dropbox/oauth/url?apiKey={CLIENT_ID}&apiSecret={CLIENT_SECRET}&callbackUrl={APP_CALLBACK}&state=dropbox"
        )))
        .send()
        .await
        .expect("oauth url")
        .json()
        .await
        .expect("json");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let resp = no_redirects
        .get(v["oauthUrl"].as_str().expect("oauthUrl"))
        .send()
        .await
        .expect("authorize");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let url = url::Url::parse(&location).expect("redirect");
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .expect("code in redirect")
}

/// The Dropbox seed's instance body, with our values filled in.
pub fn dropbox_instance_body(code: &str, callback: &str) -> Value {
    json!({
        "element": {"key": "dropbox"},
        "providerData": {"code": code},
        "configuration": {
            "oauth.api.key": CLIENT_ID,
            "oauth.api.secret": CLIENT_SECRET,
            "oauth.callback.url": APP_CALLBACK,
            "event.notification.enabled": true,
            "event.notification.callback.url": callback,
            "event.notification.signature.key": SIGNATURE_KEY
        },
        "tags": ["Docs"],
        "name": "API Instance"
    })
}

/// Creates a Dropbox instance with events to the receiver; returns the instance JSON.
pub async fn create_test_instance(w: &World) -> Value {
    create_test_instance_calling(w, &w.receiver.url).await
}

/// Creates a Dropbox instance with events to `callback`.
pub async fn create_test_instance_calling(w: &World, callback: &str) -> Value {
    let code = create_test_code(w).await;
    let resp = w
        .stack
        .http
        .post(w.stack.api("/instances"))
        .header("Authorization", w.stack.platform_auth())
        .json(&dropbox_instance_body(&code, callback))
        .send()
        .await
        .expect("create instance");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("instance json")
}

pub async fn get_json(w: &World, path: &str) -> (u16, Value) {
    w.stack.call(reqwest::Method::GET, path, None).await
}

/// The events of an instance, once `ready` holds for them.
pub async fn wait_for_events(
    w: &World,
    instance_id: u64,
    what: &str,
    ready: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    herald_e2e::wait::until(what, std::time::Duration::from_secs(20), || async {
        let (_, v) = get_json(w, &format!("/instances/{instance_id}/events")).await;
        match v.as_array() {
            Some(a) if ready(a) => Ok(a.clone()),
            _ => Err(v.to_string()),
        }
    })
    .await
}

/// Waits until every notification Dropbox sent was accepted and the normalizer consumed every
/// stored delivery (WEBHOOKS is a work queue: empty once all are acked).
pub async fn wait_webhooks_drained(w: &World) {
    herald_e2e::wait::until(
        "Dropbox's notifications accepted",
        std::time::Duration::from_secs(10),
        || async {
            let in_flight = w.dropbox.notifications_in_flight();
            match w.dropbox.webhook_attempts().last() {
                Some(200) if in_flight == 0 => Ok(()),
                last => Err(format!("{in_flight} in flight, last answer {last:?}")),
            }
        },
    )
    .await;
    w.stack.wait_webhooks_drained().await;
}

/// A request with `auth`; (status, JSON body).
pub async fn send_json(
    w: &World,
    method: reqwest::Method,
    path: &str,
    auth: &str,
    body: Option<Value>,
) -> (u16, Value) {
    w.stack.call_as(method, path, auth, body).await
}

/// The value of the first sample at an ops address whose line starts with `line_prefix` (a
/// family and its labels), if the endpoint answers and has it.
pub async fn metric_sample(ops: &str, line_prefix: &str) -> Option<f64> {
    let text = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(line_prefix))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

/// The sum of a metric family's samples (every label set) at an ops address; 0 if unreadable.
pub async fn metric_total(ops: &str, family: &str) -> f64 {
    let Ok(resp) = reqwest::get(format!("http://{ops}/metrics")).await else {
        return 0.0;
    };
    let text = resp.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The webhook ids each delivered Dropbox file (`*.txt`) arrived under: one id per path means
/// nothing was sent as two notifications (a redelivery keeps its id).
pub fn ids_by_file(w: &World) -> HashMap<String, HashSet<String>> {
    let mut by_path: HashMap<String, HashSet<String>> = HashMap::new();
    for r in w.receiver.received() {
        let id = r.header("elements-webhook-id").unwrap_or_default();
        for e in r.json()["response"]["events"]
            .as_array()
            .into_iter()
            .flatten()
        {
            // The files only (the folder they are in is a change too).
            let path = e["path"].as_str().unwrap_or_default();
            if path.ends_with(".txt") {
                by_path
                    .entry(path.to_string())
                    .or_default()
                    .insert(id.clone());
            }
        }
    }
    by_path
}

/// A connection to the stack's Redis, for tests that look at (or tamper with) what is stored.
pub async fn redis_conn(w: &World) -> redis::aio::MultiplexedConnection {
    redis::Client::open(w.stack.redis.url())
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("redis")
}

/// An instance's stored record, as JSON, read straight from Redis.
pub async fn stored_instance(w: &World, id: u64) -> Value {
    let mut conn = redis_conn(w).await;
    let key = herald_core::keys::Keys::new(&w.stack.prefix).instance(id);
    let raw: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .expect("record");
    serde_json::from_str(&raw).expect("json")
}
