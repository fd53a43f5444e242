//! Every element: catalog, OAuth URLs, provisioning from the seeds' bodies, token lifecycle.

use herald_e2e::fake_box::FakeBox;
use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider, HUBSPOT_PORTAL, QUICKBOOKS_REALM};
use herald_e2e::receiver::Receiver;
use herald_e2e::stack::Stack;
use serde_json::{json, Value};

const APP_ID: &str = "app-client-id";
const APP_SECRET: &str = "app-client-secret";
const REDIRECT: &str = "https://www.mycoolapp.com/auth";

struct Providers {
    stack: Stack,
    boxcom: FakeBox,
    hubspot: FakeOAuthApp,
    quickbooks: FakeOAuthApp,
    sfdc: FakeOAuthApp,
    docushare: FakeOAuthApp,
    receiver: Receiver,
}

async fn create_test_providers() -> Providers {
    // Box and DocuShare Flex use the credentials the seeds' bodies carry.
    let boxcom = FakeBox::start("xxxxxxxxxxxxxxxxxx", "xxxxxxxxxxxxxxxxxxxxxx").await;
    boxcom.oauth.seed_code("xoz8AFqScK2ngM04kSSM");
    let docushare = FakeOAuthApp::start(
        Provider::DocuShareFlex,
        "xxxxxxxxxxxxxxxxxx",
        "xxxxxxxxxxxxxxxxxxxxxxxx",
    )
    .await;
    let hubspot = FakeOAuthApp::start(Provider::HubSpot, APP_ID, APP_SECRET).await;
    let quickbooks = FakeOAuthApp::start(Provider::QuickBooks, APP_ID, APP_SECRET).await;
    let sfdc = FakeOAuthApp::start(Provider::Salesforce, APP_ID, APP_SECRET).await;
    let stack = Stack::start_with_providers(
        &[
            ("BOX", boxcom.url()),
            ("DOCUSHAREFLEX", docushare.url()),
            ("HUBSPOT", hubspot.url()),
            ("QUICKBOOKS", quickbooks.url()),
            ("SFDC", sfdc.url()),
        ],
        &[],
    )
    .await;
    let receiver = Receiver::start().await;
    Providers {
        stack,
        boxcom,
        hubspot,
        quickbooks,
        sfdc,
        docushare,
        receiver,
    }
}

impl Providers {
    async fn get(&self, path: &str) -> (u16, Value) {
        self.stack.call(reqwest::Method::GET, path, None).await
    }

    async fn post_instance(&self, body: String) -> (u16, Value) {
        let r = self
            .stack
            .http
            .post(self.stack.api("/instances"))
            .header("Authorization", self.stack.platform_auth())
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .expect("post");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// The OAuth URL for `element`, followed at its fake: the redirect's query.
    async fn authorize(&self, element: &str) -> std::collections::HashMap<String, String> {
        self.stack
            .oauth_redirect(element, APP_ID, APP_SECRET, REDIRECT)
            .await
    }

    fn body(&self, element: &str, provider_data: Value) -> String {
        json!({"element": {"key": element}, "providerData": provider_data, "name": format!("{element} instance"),
            "configuration": {"oauth.api.key": APP_ID, "oauth.api.secret": APP_SECRET, "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true, "event.notification.callback.url": self.receiver.url}})
        .to_string()
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("fixture")
}

#[tokio::test]
async fn the_catalog_lists_six_elements_with_their_entries() {
    let p = create_test_providers().await;
    let (st, all) = p.get("/elements").await;
    assert_eq!(st, 200);
    let keys: Vec<&str> = all
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|e| e["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        [
            "dropbox",
            "box",
            "docushareflex",
            "hubspot",
            "quickbooks",
            "sfdc"
        ]
    );
    let (_, ds) = p.get("/elements/docushareflex").await;
    assert_eq!(ds["hub"], "documents");
    assert_eq!(
        ds["eventsSupported"],
        json!({"polling": true, "webhooks": false})
    );
    let domain = ds["configuration"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["key"] == "docushare.domain")
        .cloned();
    assert_eq!(domain.map(|d| d["required"].clone()), Some(json!(true)));
    let (_, qb) = p.get("/elements/quickbooks").await;
    assert_eq!(
        qb["eventsSupported"],
        json!({"polling": true, "webhooks": true})
    );
    let secret = qb["configuration"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["key"] == "quickbooks.webhook.verifier.token")
        .cloned();
    assert_eq!(secret.map(|d| d["secret"].clone()), Some(json!(true)));
    let (st, _) = p.get("/elements/nosuch").await;
    assert_eq!(st, 404);
    p.stack.shutdown().await;
}

#[tokio::test]
async fn the_box_and_docushare_seed_bodies_provision_verbatim() {
    let p = create_test_providers().await;
    let (st, v) = p.post_instance(fixture("box-instance.json")).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["element"]["key"], "box");
    assert_eq!(v["name"], "API Instance");
    assert_eq!(v["configuration"]["oauth.api.secret"], "********");
    let (st, v) = p
        .post_instance(fixture("docushareflex-instance.json"))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["element"]["key"], "docushareflex");
    assert_eq!(v["configuration"]["event.vendor.type"], "polling");
    assert_eq!(
        v["configuration"]["docushare.domain"],
        "mydomain.docushareflex.com"
    );
    // The Box code was single use: the same body again is refused with Box's reason.
    let (st, v) = p.post_instance(fixture("box-instance.json")).await;
    assert_eq!(st, 400);
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid_grant")),
        "{v}"
    );
    let _ = &p.docushare;
    p.stack.shutdown().await;
}

#[tokio::test]
async fn hubspot_quickbooks_and_salesforce_connect_through_their_oauth_flows() {
    let p = create_test_providers().await;
    let q = p.authorize("hubspot").await;
    let (st, v) = p
        .post_instance(p.body("hubspot", json!({"code": q["code"]})))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["element"]["hub"], "crm");

    let q = p.authorize("quickbooks").await;
    assert_eq!(
        q["realmId"], QUICKBOOKS_REALM,
        "Intuit's redirect carries the realm"
    );
    let (st, v) = p
        .post_instance(p.body("quickbooks", json!({"code": q["code"]})))
        .await;
    assert_eq!(st, 400);
    assert_eq!(v["message"], "Missing required field: providerData.realmId");
    let (st, v) = p
        .post_instance(p.body(
            "quickbooks",
            json!({"code": q["code"], "realmId": q["realmId"]}),
        ))
        .await;
    assert_eq!(st, 200, "{v}");

    let q = p.authorize("sfdc").await;
    let (st, v) = p
        .post_instance(p.body("sfdc", json!({"code": q["code"]})))
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["configuration"]["event.vendor.type"], "polling");

    // Routing keys were learned: the HubSpot portal and the QuickBooks realm.
    let client = redis::Client::open(p.stack.redis.url()).expect("redis");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let keys = herald_core::keys::Keys::new(&p.stack.prefix);
    let hub: Vec<u64> = redis::cmd("SMEMBERS")
        .arg(keys.route("hubspot", &HUBSPOT_PORTAL.to_string()))
        .query_async(&mut conn)
        .await
        .expect("smembers");
    let realm: Vec<u64> = redis::cmd("SMEMBERS")
        .arg(keys.route("quickbooks", QUICKBOOKS_REALM))
        .query_async(&mut conn)
        .await
        .expect("smembers");
    assert_eq!((hub.len(), realm.len()), (1, 1));
    let _ = (&p.hubspot, &p.quickbooks, &p.sfdc);
    p.stack.shutdown().await;
}

#[tokio::test]
async fn twenty_concurrent_hub_calls_with_an_expired_box_token_refresh_once() {
    let p = create_test_providers().await;
    let (st, inst) = p.post_instance(fixture("box-instance.json")).await;
    assert_eq!(st, 200, "{inst}");
    let token = inst["token"].as_str().expect("token").to_string();
    p.boxcom.oauth.expire_access_tokens();
    let calls = (0..20).map(|i| {
        let req = p
            .stack
            .http
            .post(
                p.stack
                    .api(&format!("/hubs/documents/folders?path=/c{i:02}")),
            )
            .header(
                "Authorization",
                format!("User {}, Element {}", p.stack.user_secret, token),
            )
            .json(&json!({"name": format!("c{i:02}")}));
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    });
    let statuses = futures::future::join_all(calls).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(
        p.boxcom.oauth.refresh_grants(),
        1,
        "exactly one refresh at Box"
    );
    assert_eq!(p.boxcom.root_folders().len(), 20);
    // The new refresh token works later too (the old one died with the refresh).
    p.boxcom.oauth.expire_access_tokens();
    let r = p
        .stack
        .http
        .post(p.stack.api("/hubs/documents/folders?path=/later"))
        .header(
            "Authorization",
            format!("User {}, Element {}", p.stack.user_secret, token),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert_eq!(p.boxcom.oauth.refresh_grants(), 2);
    p.stack.shutdown().await;
}

#[tokio::test]
async fn a_refused_refresh_token_marks_the_instance_invalid_and_says_why() {
    let p = create_test_providers().await;
    let (_, inst) = p.post_instance(fixture("box-instance.json")).await;
    let id = inst["id"].as_u64().expect("id");
    let token = inst["token"].as_str().expect("token").to_string();
    p.boxcom.oauth.expire_access_tokens();
    p.boxcom.oauth.revoke_refresh_tokens();
    let hub = || {
        p.stack
            .http
            .post(p.stack.api("/hubs/documents/folders?path=/x"))
            .header(
                "Authorization",
                format!("User {}, Element {}", p.stack.user_secret, token),
            )
            .send()
    };
    let r = hub().await.expect("post");
    assert_eq!(r.status(), 409);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["code"], "instance_invalid");
    let (_, got) = p.get(&format!("/instances/{id}")).await;
    assert_eq!(got["valid"], false);
    assert!(
        got["invalidReason"]
            .as_str()
            .is_some_and(|r| r.contains("refresh token")),
        "{got}"
    );
    // Not retried forever: the next call is refused without asking Box again.
    let before = p.boxcom.oauth.refresh_grants();
    assert_eq!(hub().await.expect("post").status(), 409);
    assert_eq!(p.boxcom.oauth.refresh_grants(), before);
    p.stack.shutdown().await;
}

#[tokio::test]
async fn bad_instance_bodies_are_refused_naming_the_field() {
    let p = create_test_providers().await;
    let ds = |config: Value| {
        let mut c = json!({"oauth.api.key": "xxxxxxxxxxxxxxxxxx", "oauth.api.secret": "xxxxxxxxxxxxxxxxxxxxxxxx",
            "oauth.callback.url": "https://auth.example/oauth", "docushare.domain": "mydomain.docushareflex.com",
            "event.vendor.type": "polling", "event.notification.enabled": true,
            "event.notification.callback.url": "https://www.mycoolapplication.com/events"});
        if let (Some(m), Value::Object(extra)) = (c.as_object_mut(), config) {
            m.extend(extra);
        }
        json!({"element": {"key": "docushareflex"}, "providerData": {"code": ""}, "configuration": c}).to_string()
    };
    let cases: Vec<(String, u16, &str)> = vec![
        ("{\"element\": ".to_string(), 400, "malformed JSON"),
        (
            json!({"element": {"key": "dropbox"}, "tags": "x"}).to_string(),
            400,
            "Missing required configuration: oauth.api.key, oauth.api.secret, oauth.callback.url",
        ),
        (
            json!({"element": {"key": "nosuch"}}).to_string(),
            404,
            "No element",
        ),
        (
            ds(json!({"event.notification.callback.url": "mailto:me@example.com"})),
            400,
            "event.notification.callback.url",
        ),
        (
            ds(json!({"event.poller.refresh_interval": "0"})),
            400,
            "event.poller.refresh_interval",
        ),
        (
            ds(json!({"event.vendor.type": "webhook"})),
            400,
            "event.vendor.type",
        ),
        (
            ds(json!({"event.poller.configuration": "{\"events\": "})),
            400,
            "not valid JSON",
        ),
        (
            ds(json!({"event.poller.configuration": {"events": {"idField": "id"}}})),
            400,
            "missing url",
        ),
        (
            ds(
                json!({"event.poller.configuration": {"events": {"url": "/events", "datesConfiguration": {"updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssQ"}}}}),
            ),
            400,
            "date pattern",
        ),
        (
            ds(json!({"event.notification.enabled": "maybe"})),
            400,
            "event.notification.enabled",
        ),
        (
            json!({"element": {"key": "docushareflex"}, "configuration": [1]}).to_string(),
            400,
            "configuration must be a JSON object",
        ),
    ];
    for (body, status, says) in cases {
        let (st, v) = p.post_instance(body.clone()).await;
        assert_eq!(st, status, "{body} → {v}");
        assert!(
            v["message"].as_str().is_some_and(|m| m.contains(says)),
            "{body} → {v}"
        );
        assert!(v["requestId"].is_string() && v["code"].is_string());
    }
    let (_, list) = p.get("/instances").await;
    assert_eq!(list, json!([]), "no refused body left anything behind");
    p.stack.shutdown().await;
}

#[tokio::test]
async fn instance_tokens_work_only_for_their_owner_and_instance() {
    let p = create_test_providers().await;
    let (_, a) = p.post_instance(fixture("box-instance.json")).await;
    let (other_org, other_user) = p.stack.create_tenant("Other", "b@other.test").await;
    let token = a["token"].as_str().expect("token");
    let call = |auth: String| {
        let req = p
            .stack
            .http
            .post(p.stack.api("/hubs/documents/folders?path=/t"))
            .header("Authorization", auth);
        async move { req.send().await.map(|r| r.status().as_u16()).unwrap_or(0) }
    };
    assert_eq!(
        call(format!("User {other_user}, Element {token}")).await,
        404,
        "another user's instance"
    );
    assert_eq!(
        call(format!("User {}, Element not-a-token", p.stack.user_secret)).await,
        401
    );
    assert_eq!(call(format!("User {}", p.stack.user_secret)).await, 401);
    // An instance token is no platform credential.
    let r = p
        .stack
        .http
        .get(p.stack.api("/instances"))
        .header(
            "Authorization",
            format!("User {}, Element {token}", p.stack.user_secret),
        )
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let r = p
        .stack
        .http
        .get(p.stack.api(&format!("/instances/{}", a["id"])))
        .header(
            "Authorization",
            format!("User {other_user}, Organization {other_org}"),
        )
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
    let body = r.text().await.expect("text");
    assert!(
        !body.contains("box"),
        "nothing about the instance leaks: {body}"
    );
    p.stack.shutdown().await;
}
