//! Fixtures for the webhook elements' tests: the stack with Box, HubSpot and QuickBooks fakes,
//! a callback receiver, and instances of each provisioned through the API.

use std::time::Duration;

use herald_e2e::fake_box::FakeBox;
use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider, QUICKBOOKS_REALM};
use herald_e2e::receiver::Receiver;
use herald_e2e::stack::Stack;
use serde_json::{json, Value};

pub const APP_ID: &str = "webhook-app-client-id";
pub const APP_SECRET: &str = "webhook-app-client-secret";
pub const REDIRECT: &str = "https://www.mycoolapp.com/auth";
pub const SIGNATURE_KEY: &str = "MySecretEventSignatureKey";
pub const BOX_PRIMARY: &str = "box-primary-signature-key";
pub const BOX_SECONDARY: &str = "box-secondary-signature-key";
pub const QBO_VERIFIER: &str = "qbo-verifier-token-example";

pub struct WebhookWorld {
    pub stack: Stack,
    pub boxcom: FakeBox,
    pub hubspot: FakeOAuthApp,
    pub quickbooks: FakeOAuthApp,
    pub receiver: Receiver,
}

pub async fn create_test_webhook_world() -> WebhookWorld {
    create_test_webhook_world_with(&[]).await
}

/// A world with extra settings for the services (e.g. `HERALD_PUBLIC_URL`).
pub async fn create_test_webhook_world_with(extra: &[(&str, String)]) -> WebhookWorld {
    let boxcom = FakeBox::start(APP_ID, APP_SECRET).await;
    let hubspot = FakeOAuthApp::start(Provider::HubSpot, APP_ID, APP_SECRET).await;
    let quickbooks = FakeOAuthApp::start(Provider::QuickBooks, APP_ID, APP_SECRET).await;
    let stack = Stack::start_with_providers(
        &[
            ("BOX", boxcom.url()),
            ("HUBSPOT", hubspot.url()),
            ("QUICKBOOKS", quickbooks.url()),
        ],
        extra,
    )
    .await;
    let receiver = Receiver::start().await;
    WebhookWorld {
        stack,
        boxcom,
        hubspot,
        quickbooks,
        receiver,
    }
}

impl WebhookWorld {
    /// Follows the element's OAuth URL at its fake: the redirect's query (`code`, QuickBooks
    /// also `realmId`).
    pub async fn authorize(&self, element: &str) -> std::collections::HashMap<String, String> {
        self.stack
            .oauth_redirect(element, APP_ID, APP_SECRET, REDIRECT)
            .await
    }

    /// Creates an instance of `element` with events to the receiver and `extra` configuration;
    /// (status, instance JSON).
    pub async fn create_instance(&self, element: &str, extra: Value) -> (u16, Value) {
        let q = self.authorize(element).await;
        let mut provider_data = json!({"code": q.get("code").expect("code")});
        if element == "quickbooks" {
            provider_data["realmId"] = json!(q
                .get("realmId")
                .map(String::as_str)
                .unwrap_or(QUICKBOOKS_REALM));
        }
        let mut configuration = json!({
            "oauth.api.key": APP_ID, "oauth.api.secret": APP_SECRET, "oauth.callback.url": REDIRECT,
            "event.notification.enabled": true,
            "event.notification.callback.url": self.receiver.url,
            "event.notification.signature.key": SIGNATURE_KEY,
        });
        if let (Some(c), Some(e)) = (configuration.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        let body = json!({"element": {"key": element}, "providerData": provider_data,
            "configuration": configuration, "tags": [], "name": format!("{element} webhooks")});
        self.stack
            .call(reqwest::Method::POST, "/instances", Some(body))
            .await
    }

    /// As [`Self::create_instance`], asserting 200; the instance id and token.
    pub async fn create_test_instance(&self, element: &str, extra: Value) -> (u64, String) {
        let (st, inst) = self.create_instance(element, extra).await;
        assert_eq!(st, 200, "{inst}");
        (
            inst["id"].as_u64().expect("id"),
            inst["token"].as_str().expect("token").to_string(),
        )
    }

    /// The ingest URL providers call for `element` (optionally instance-scoped).
    pub fn ingest_url(&self, element: &str) -> String {
        self.stack.ingest_url(element)
    }

    /// Instance-auth header for hub calls.
    pub fn instance_auth(&self, token: &str) -> String {
        format!("User {}, Element {token}", self.stack.user_secret)
    }

    /// The callback bodies the receiver got for an instance, in arrival order.
    pub fn notifications_for(&self, instance_id: u64) -> Vec<Value> {
        self.receiver
            .received()
            .iter()
            .map(|r| r.json())
            .filter(|v| v["instanceId"].as_u64() == Some(instance_id))
            .collect()
    }

    /// Every event the instance was notified of, in notification order.
    pub fn events_for(&self, instance_id: u64) -> Vec<Value> {
        let mut notes = self.notifications_for(instance_id);
        notes.sort_by_key(|n| n["eventId"].as_u64());
        notes
            .iter()
            .flat_map(|n| {
                n["response"]["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Waits until the instance was notified of at least `n` events; returns them.
    pub async fn wait_for_events(&self, instance_id: u64, n: usize) -> Vec<Value> {
        herald_e2e::wait::until(
            &format!("{n} events for instance {instance_id}"),
            Duration::from_secs(20),
            || async {
                let got = self.events_for(instance_id);
                if got.len() >= n {
                    Ok(got)
                } else {
                    Err(format!("{} so far", got.len()))
                }
            },
        )
        .await
    }

    /// Waits until every stored delivery has been handled (WEBHOOKS is a work queue: empty once
    /// all are acked) and every notification of the prefix is settled, so a test can then
    /// assert that nothing more arrived.
    pub async fn wait_quiet(&self) {
        self.stack.wait_webhooks_drained().await;
        herald_e2e::wait::until(
            "every notification settled",
            Duration::from_secs(20),
            || async {
                let (_, v) = self
                    .stack
                    .call(reqwest::Method::GET, "/instances/events?pageSize=200", None)
                    .await;
                let items = v.as_array().cloned().unwrap_or_default();
                let open: Vec<&Value> = items
                    .iter()
                    .filter(|e| e["status"] != "NOTIFIED" && e["status"] != "FAILED")
                    .collect();
                if open.is_empty() {
                    Ok(())
                } else {
                    Err(format!("{} not settled", open.len()))
                }
            },
        )
        .await;
    }

    /// Sets an instance's configuration entries through the API (PATCH).
    pub async fn patch(&self, instance_id: u64, configuration: Value) {
        let (st, v) = self
            .stack
            .call(
                reqwest::Method::PATCH,
                &format!("/instances/{instance_id}"),
                Some(json!({"configuration": configuration})),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
}
