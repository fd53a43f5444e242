//! Provider calls made on a tenant's behalf go only to the element's configured hosts or to
//! public addresses: a poll URL, a next-page URL or a `docushare.domain` naming an internal
//! address fails naming its host, and nothing is fetched.

use std::time::Duration;

use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};
use herald_e2e::stack::Stack;
use herald_e2e::wait::until;
use reqwest::Method;
use serde_json::{json, Value};

/// Callbacks must pass the public-address rule here, so they point at a name that does not
/// resolve (accepted, never reached); these tests watch polls, not callbacks.
const CALLBACK: &str = "https://callback.invalid/events";

/// A TCP service that counts the connections it gets.
struct Internal {
    port: u16,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Internal {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let c = count.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                drop(socket);
            }
        });
        Self { port, count }
    }

    fn connections(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn docushare_body(domain: &str, poller: Option<Value>) -> Value {
    let mut config = json!({"oauth.api.key": "ds-client", "oauth.api.secret": "ds-secret",
        "oauth.callback.url": "https://auth.example/cb", "docushare.domain": domain,
        "event.vendor.type": "polling", "event.poller.refresh_interval": "60",
        "event.notification.enabled": true, "event.notification.callback.url": CALLBACK});
    if let Some(p) = poller {
        config["event.poller.configuration"] = p;
    }
    json!({"element": {"key": "docushareflex"}, "providerData": {"code": ""}, "name": "ds",
        "configuration": config})
}

async fn last_poll_error(stack: &Stack, id: u64) -> String {
    let (st, v) = stack
        .call(Method::POST, &format!("/instances/{id}/events/poll"), None)
        .await;
    assert_eq!(st, 202, "{v}");
    until(
        "a recorded poll failure",
        Duration::from_secs(20),
        || async {
            let (_, v) = stack
                .call(Method::GET, &format!("/instances/{id}"), None)
                .await;
            v["polling"]["lastError"]
                .as_str()
                .map(str::to_string)
                .ok_or(v.to_string())
        },
    )
    .await
}

#[tokio::test]
async fn a_poll_url_at_an_internal_address_fails_naming_its_host_and_fetches_nothing() {
    let ds = FakeOAuthApp::start(Provider::DocuShareFlex, "ds-client", "ds-secret").await;
    // An internal service on this machine that must never be connected to.
    let internal = Internal::start().await;
    let stack = Stack::start(&[
        ("HERALD_ELEMENT_DOCUSHAREFLEX_API_URL", ds.url()),
        ("HERALD_ELEMENT_DOCUSHAREFLEX_AUTH_URL", ds.url()),
        ("HERALD_ALLOW_PRIVATE_CALLBACKS", "false".to_string()),
        ("HERALD_POLL_RETRY_BUDGET_MS", "1000".to_string()),
    ])
    .await;
    for (url, host) in [
        (
            "http://169.254.169.254/latest/meta-data?since=${gmtDate:yyyy-MM-dd}".to_string(),
            "169.254.169.254".to_string(),
        ),
        (
            format!(
                "http://127.0.0.1:{}/x?since=${{gmtDate:yyyy}}",
                internal.port
            ),
            "127.0.0.1".to_string(),
        ),
        (
            format!("http://localhost:{}/x", internal.port),
            "localhost".to_string(),
        ),
    ] {
        let poller = json!({"documents": {"url": url, "idField": "id",
            "datesConfiguration": {"updatedDateField": "modified", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'"}}});
        let (st, inst) = stack
            .call(
                Method::POST,
                "/instances",
                Some(docushare_body("acme.docushareflex.com", Some(poller))),
            )
            .await;
        assert_eq!(st, 200, "{inst}");
        let id = inst["id"].as_u64().expect("id");
        let error = last_poll_error(&stack, id).await;
        assert!(error.contains(&host), "{url}: {error}");
    }
    assert_eq!(
        internal.connections(),
        0,
        "the internal service was connected to"
    );
    // The configured host itself is called as usual (the default `events` resource).
    let (_, inst) = stack
        .call(
            Method::POST,
            "/instances",
            Some(docushare_body("acme.docushareflex.com", None)),
        )
        .await;
    let calls = ds.docs.calls();
    let id = inst["id"].as_u64().expect("id");
    stack
        .call(Method::POST, &format!("/instances/{id}/events/poll"), None)
        .await;
    until(
        "the configured host polled",
        Duration::from_secs(20),
        || async {
            (ds.docs.calls() > calls)
                .then_some(())
                .ok_or("no call".to_string())
        },
    )
    .await;
}

#[tokio::test]
async fn a_docushare_domain_at_an_internal_address_is_refused_naming_it() {
    // No URL override: the instance's `docushare.domain` names the host.
    let stack = Stack::start(&[("HERALD_ALLOW_PRIVATE_CALLBACKS", "false".to_string())]).await;
    for domain in ["169.254.169.254", "127.0.0.1:6379", "localhost"] {
        let (st, v) = stack
            .call(
                Method::POST,
                "/instances",
                Some(docushare_body(domain, None)),
            )
            .await;
        assert_eq!(st, 400, "{domain}: {v}");
        let host = domain.split(':').next().unwrap_or(domain);
        assert!(
            v["message"].as_str().unwrap_or_default().contains(host),
            "{domain}: {v}"
        );
    }
    let (_, list) = stack.call(Method::GET, "/instances", None).await;
    assert_eq!(list, json!([]), "nothing created");
}
