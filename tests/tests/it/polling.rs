//! The polling engine against a fake DocuShare Flex.

use std::time::Duration;

use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};
use herald_e2e::receiver::Receiver;
use herald_e2e::stack::Stack;
use herald_e2e::wait::until;
use serde_json::{json, Value};

struct Polling {
    stack: Stack,
    ds: FakeOAuthApp,
    receiver: Receiver,
}

async fn create_test_polling() -> Polling {
    let ds = FakeOAuthApp::start(Provider::DocuShareFlex, "ds-client", "ds-secret").await;
    let stack = Stack::start(&[
        ("HERALD_ELEMENT_DOCUSHAREFLEX_API_URL", ds.url()),
        ("HERALD_ELEMENT_DOCUSHAREFLEX_AUTH_URL", ds.url()),
        ("HERALD_POLL_MIN_INTERVAL_SECONDS", "0.5".to_string()),
        ("HERALD_POLL_RETRY_BUDGET_MS", "4000".to_string()),
        ("HERALD_POLL_ACK_WAIT_MS", "6000".to_string()),
        ("HERALD_PROVIDER_TIMEOUT_MS", "2000".to_string()),
    ])
    .await;
    let receiver = Receiver::start().await;
    Polling {
        stack,
        ds,
        receiver,
    }
}

impl Polling {
    /// A DocuShare Flex instance polling every `minutes`.
    async fn create_test_instance(&self, minutes: &str) -> u64 {
        let body = json!({"element": {"key": "docushareflex"}, "providerData": {"code": ""}, "name": "ds",
            "configuration": {"oauth.api.key": "ds-client", "oauth.api.secret": "ds-secret",
            "oauth.callback.url": "https://auth.example/cb", "docushare.domain": "acme.docushareflex.com",
            "event.vendor.type": "polling", "event.poller.refresh_interval": minutes,
            "event.notification.enabled": true, "event.notification.callback.url": self.receiver.url}});
        let r = self
            .stack
            .http
            .post(self.stack.api("/instances"))
            .header("Authorization", self.stack.platform_auth())
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.expect("json")["id"]
            .as_u64()
            .expect("id")
    }

    async fn request(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        self.stack.call(method, path, None).await
    }

    /// (objectId, eventType) of every event received, in order.
    fn events(&self) -> Vec<(String, String)> {
        self.receiver
            .events()
            .into_iter()
            .map(|e| {
                (
                    e["objectId"].as_str().unwrap_or("").to_string(),
                    e["eventType"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    async fn wait_events(&self, n: usize) -> Vec<(String, String)> {
        until(
            &format!("{n} polled events"),
            Duration::from_secs(20),
            || async {
                let e = self.events();
                if e.len() >= n {
                    Ok(e)
                } else {
                    Err(format!("{e:?}"))
                }
            },
        )
        .await
    }

    /// Waits until at least `n` more polls of the fake happened.
    async fn wait_polls(&self, n: usize) {
        let start = self.ds.docs.calls();
        until(
            &format!("{n} more polls"),
            Duration::from_secs(20),
            || async {
                let c = self.ds.docs.calls();
                if c >= start + n {
                    Ok(())
                } else {
                    Err(format!("{} polls", c - start))
                }
            },
        )
        .await;
    }
}

#[tokio::test]
async fn scheduled_polls_deliver_each_change_once() {
    let p = create_test_polling().await;
    let id = p.create_test_instance("0.01").await;
    let a = p.ds.docs.create("Report");
    let b = p.ds.docs.create("Budget");
    let got = p.wait_events(2).await;
    assert!(
        got.contains(&(a.clone(), "CREATED".into()))
            && got.contains(&(b.clone(), "CREATED".into())),
        "{got:?}"
    );
    p.ds.docs.touch(&a);
    let got = p.wait_events(3).await;
    assert_eq!(got[2], (a.clone(), "UPDATED".into()));
    // Several more polls over the same window add nothing.
    p.wait_polls(3).await;
    assert_eq!(p.events().len(), 3, "{:?}", p.events());
    let (_, inst) = p
        .request(reqwest::Method::GET, &format!("/instances/{id}"))
        .await;
    assert!(inst["polling"]["lastSuccess"].is_string(), "{inst}");
    assert_eq!(inst["polling"]["consecutiveFailures"], 0);
    let got = p.receiver.received();
    assert!(got.iter().all(|r| r.json()["response"]["events"]
        .as_array()
        .is_some_and(|e| e.len() <= 10)));
    p.stack.shutdown().await;
}

#[tokio::test]
async fn poll_now_polls_at_once_and_provider_errors_are_retried_or_recorded() {
    let p = create_test_polling().await;
    // A long interval: only "poll now" polls in this test.
    let id = p.create_test_instance("60").await;
    let path = format!("/instances/{id}/events/poll");
    let doc = p.ds.docs.create("Contract");
    // Two 5xx and a 429 before the answer: retried within the slot.
    p.ds.docs.fail(&[500, 503, 429]);
    let (st, v) = p.request(reqwest::Method::POST, &path).await;
    assert_eq!(st, 202, "{v}");
    let got = p.wait_events(1).await;
    assert_eq!(got, vec![(doc, "CREATED".to_string())]);
    // Failing longer than the retry budget: given up, visible on the instance, cursor kept.
    p.ds.docs.fail(&[500; 30]);
    p.request(reqwest::Method::POST, &path).await;
    let inst = until("a recorded failure", Duration::from_secs(20), || async {
        let (_, v) = p
            .request(reqwest::Method::GET, &format!("/instances/{id}"))
            .await;
        if v["polling"]["consecutiveFailures"].as_u64().unwrap_or(0) >= 1 {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await;
    assert!(
        inst["polling"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("500")),
        "{inst}"
    );
    p.stack.shutdown().await;
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_poll_succeeds() {
    let p = create_test_polling().await;
    let id = p.create_test_instance("60").await;
    let doc = p.ds.docs.create("Minutes");
    p.ds.oauth.expire_access_tokens();
    let (st, _) = p
        .request(
            reqwest::Method::POST,
            &format!("/instances/{id}/events/poll"),
        )
        .await;
    assert_eq!(st, 202);
    let got = p.wait_events(1).await;
    assert_eq!(got, vec![(doc, "CREATED".to_string())]);
    p.stack.shutdown().await;
}

#[tokio::test]
async fn disabling_or_deleting_an_instance_stops_its_polls() {
    let p = create_test_polling().await;
    let id = p.create_test_instance("0.01").await;
    p.wait_polls(2).await;
    let path = format!("/instances/{id}");
    let (st, _) = p.request(reqwest::Method::PATCH, &path).await;
    assert_eq!(st, 400, "PATCH needs a body");
    let r = p
        .stack
        .http
        .patch(p.stack.api(&path))
        .header("Authorization", p.stack.platform_auth())
        .json(&json!({"event.notification.enabled": false}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    let (st, _) = p
        .request(reqwest::Method::POST, &format!("{path}/events/poll"))
        .await;
    assert_eq!(st, 409, "no longer polling");
    // Changes while off are dropped: turning events on again starts from now.
    p.ds.docs.create_ago("While off", 5);
    let r = p
        .stack
        .http
        .patch(p.stack.api(&path))
        .header("Authorization", p.stack.platform_auth())
        .json(&json!({"event.notification.enabled": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    p.wait_polls(2).await;
    assert!(p.events().is_empty(), "{:?}", p.events());
    let (st, _) = p.request(reqwest::Method::DELETE, &path).await;
    assert_eq!(st, 200);
    let (st, _) = p
        .request(reqwest::Method::POST, &format!("{path}/events/poll"))
        .await;
    assert_eq!(st, 404);
    p.stack.shutdown().await;
}

struct Crm {
    stack: Stack,
    sfdc: FakeOAuthApp,
    qb: FakeOAuthApp,
    receiver: Receiver,
}

async fn create_test_crm() -> Crm {
    let sfdc = FakeOAuthApp::start(Provider::Salesforce, "sf-client", "sf-secret").await;
    let qb = FakeOAuthApp::start(Provider::QuickBooks, "qb-client", "qb-secret").await;
    sfdc.records.set_page_size(2);
    let stack = Stack::start(&[
        ("HERALD_ELEMENT_SFDC_API_URL", sfdc.url()),
        ("HERALD_ELEMENT_SFDC_AUTH_URL", sfdc.url()),
        ("HERALD_ELEMENT_QUICKBOOKS_API_URL", qb.url()),
        ("HERALD_ELEMENT_QUICKBOOKS_AUTH_URL", qb.url()),
        ("HERALD_POLL_MIN_INTERVAL_SECONDS", "0.5".to_string()),
        ("HERALD_POLL_RETRY_BUDGET_MS", "4000".to_string()),
        ("HERALD_POLL_ACK_WAIT_MS", "6000".to_string()),
        ("HERALD_PROVIDER_TIMEOUT_MS", "2000".to_string()),
    ])
    .await;
    let receiver = Receiver::start().await;
    Crm {
        stack,
        sfdc,
        qb,
        receiver,
    }
}

impl Crm {
    async fn connect(&self, element: &str, fake: &FakeOAuthApp, client: &str, secret: &str) -> u64 {
        let client_http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let (path, extra) = if element == "sfdc" {
            ("/services/oauth2/authorize", "")
        } else {
            ("/connect/oauth2", "")
        };
        let loc = client_http
            .get(format!("{}{path}?client_id={client}&response_type=code&redirect_uri=https://app.example/cb&state=s{extra}", fake.url()))
            .send()
            .await
            .expect("authorize")
            .headers()["location"]
            .to_str()
            .expect("loc")
            .to_string();
        let q: std::collections::HashMap<String, String> = url::Url::parse(&loc)
            .expect("url")
            .query_pairs()
            .into_owned()
            .collect();
        let mut provider_data = json!({"code": q["code"]});
        if let Some(realm) = q.get("realmId") {
            provider_data["realmId"] = json!(realm);
        }
        let body = json!({"element": {"key": element}, "providerData": provider_data, "name": element,
            "configuration": {"oauth.api.key": client, "oauth.api.secret": secret, "oauth.callback.url": "https://app.example/cb",
            "event.vendor.type": "polling", "event.poller.refresh_interval": "0.01",
            "event.notification.enabled": true, "event.notification.callback.url": self.receiver.url}});
        let r = self
            .stack
            .http
            .post(self.stack.api("/instances"))
            .header("Authorization", self.stack.platform_auth())
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
        r.json::<Value>().await.expect("json")["id"]
            .as_u64()
            .expect("id")
    }

    fn events_of(&self, instance: u64) -> Vec<(String, String, String)> {
        self.receiver
            .received()
            .iter()
            .filter(|r| r.json()["instanceId"].as_u64() == Some(instance))
            .flat_map(|r| {
                r.json()["response"]["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|e| {
                (
                    e["objectType"].as_str().unwrap_or("").to_string(),
                    e["objectId"].as_str().unwrap_or("").to_string(),
                    e["eventType"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    async fn wait_events(&self, instance: u64, n: usize) -> Vec<(String, String, String)> {
        until(
            &format!("{n} events of {instance}"),
            Duration::from_secs(20),
            || async {
                let e = self.events_of(instance);
                if e.len() >= n {
                    Ok(e)
                } else {
                    Err(format!("{e:?}"))
                }
            },
        )
        .await
    }
}

#[tokio::test]
async fn salesforce_and_quickbooks_changes_created_updated_deleted_arrive_once() {
    let c = create_test_crm().await;
    let sf = c.connect("sfdc", &c.sfdc, "sf-client", "sf-secret").await;
    let qb = c
        .connect("quickbooks", &c.qb, "qb-client", "qb-secret")
        .await;
    // Three contacts (two pages of the fake's SOQL answers) and a customer.
    let contacts: Vec<String> = (0..3).map(|_| c.sfdc.records.create("Contact")).collect();
    let customer = c.qb.records.create("Customer");
    let got = c.wait_events(sf, 3).await;
    for id in &contacts {
        assert!(
            got.contains(&("Contact".into(), id.clone(), "CREATED".into())),
            "{got:?}"
        );
    }
    assert_eq!(
        c.wait_events(qb, 1).await,
        vec![("Customer".into(), customer.clone(), "CREATED".into())]
    );
    c.sfdc.records.update("Contact", &contacts[0]);
    c.sfdc.records.delete("Contact", &contacts[1]);
    c.qb.records.update("Customer", &customer);
    let got = c.wait_events(sf, 5).await;
    assert!(
        got.contains(&("Contact".into(), contacts[0].clone(), "UPDATED".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("Contact".into(), contacts[1].clone(), "DELETED".into())),
        "{got:?}"
    );
    // The update is seen before the deletion is made (else one poll would see only the latter).
    c.wait_events(qb, 2).await;
    c.qb.records.delete("Customer", &customer);
    let got = c.wait_events(qb, 3).await;
    assert_eq!(
        got[1..],
        [
            ("Customer".into(), customer.clone(), "UPDATED".into()),
            ("Customer".into(), customer.clone(), "DELETED".into())
        ]
    );
    // More polls add nothing.
    let calls = c.sfdc.records.calls();
    until("more Salesforce polls", Duration::from_secs(20), || async {
        if c.sfdc.records.calls() >= calls + 10 {
            Ok(())
        } else {
            Err(c.sfdc.records.calls().to_string())
        }
    })
    .await;
    assert_eq!(c.events_of(sf).len(), 5, "{:?}", c.events_of(sf));
    assert_eq!(c.events_of(qb).len(), 3);
    c.stack.shutdown().await;
}

#[tokio::test]
async fn a_poller_killed_mid_poll_loses_and_duplicates_nothing() {
    let mut p = create_test_polling().await;
    // Only out-of-process pollers from here on, so one can be killed for real.
    p.stack.stop("poller").await;
    let mut a = p.stack.spawn_process("herald-poller", &[]);
    let id = p.create_test_instance("60").await;
    let doc = p.ds.docs.create("Killed mid-poll");
    p.ds.docs.set_delay(Duration::from_secs(3));
    let before = p.ds.docs.calls();
    let (st, _) = p
        .request(
            reqwest::Method::POST,
            &format!("/instances/{id}/events/poll"),
        )
        .await;
    assert_eq!(st, 202);
    until("replica A mid-poll", Duration::from_secs(20), || async {
        if p.ds.docs.calls() > before {
            Ok(())
        } else {
            Err("no request yet".to_string())
        }
    })
    .await;
    let _ = a.kill();
    let _ = a.wait();
    p.ds.docs.set_delay(Duration::ZERO);
    let mut b = p.stack.spawn_process("herald-poller", &[]);
    let got = until(
        "the change from replica B",
        Duration::from_secs(40),
        || async {
            let e = p.events();
            if e.is_empty() {
                Err("nothing yet".to_string())
            } else {
                Ok(e)
            }
        },
    )
    .await;
    assert_eq!(got, vec![(doc, "CREATED".to_string())]);
    // A second poll now adds nothing: the change was carried once.
    let (_, before) = p
        .request(reqwest::Method::GET, &format!("/instances/{id}"))
        .await;
    p.request(
        reqwest::Method::POST,
        &format!("/instances/{id}/events/poll"),
    )
    .await;
    until("the second poll done", Duration::from_secs(20), || async {
        let (_, v) = p
            .request(reqwest::Method::GET, &format!("/instances/{id}"))
            .await;
        let done = v["polling"]["lastSuccess"].is_string()
            && v["polling"]["lastSuccess"] != before["polling"]["lastSuccess"];
        if done {
            Ok(())
        } else {
            Err(v["polling"].to_string())
        }
    })
    .await;
    assert_eq!(p.events().len(), 1);
    let _ = b.kill();
    let _ = b.wait();
    p.stack.shutdown().await;
}

#[tokio::test]
async fn two_replicas_never_poll_one_instance_twice_for_a_slot() {
    let p = create_test_polling().await;
    let mut second = p.stack.spawn_process("herald-poller", &[]);
    let started = std::time::Instant::now();
    for _ in 0..10 {
        p.create_test_instance("0.02").await; // 1.2 s
    }
    until(
        "every instance polled 4 times",
        Duration::from_secs(30),
        || async {
            let calls = p.ds.docs.calls_per_token();
            if calls.len() == 10 && calls[0] >= 4 {
                Ok(())
            } else {
                Err(format!("{calls:?}"))
            }
        },
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let slots = (elapsed / 1.2).ceil() as usize + 1;
    let calls = p.ds.docs.calls_per_token();
    // Twice the polls of one slot would show up as about twice the slots.
    assert!(
        calls.iter().all(|c| *c <= slots),
        "calls {calls:?} for at most {slots} slots each"
    );
    let _ = second.kill();
    let _ = second.wait();
    p.stack.shutdown().await;
}

#[tokio::test]
async fn an_interval_change_and_the_legacy_urls_form_take_effect_without_a_restart() {
    let p = create_test_polling().await;
    let id = p.create_test_instance("60").await;
    let calls = p.ds.docs.calls();
    // From hourly to every 0.6 s, in the legacy one-line form with whole-second dates.
    let legacy = "events|/api/v1/events?modifiedSince=${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}|x|modified|yyyy-MM-dd'T'HH:mm:ss'Z'|GMT|created|yyyy-MM-dd'T'HH:mm:ss'Z'|GMT";
    let r = p
        .stack
        .http
        .patch(p.stack.api(&format!("/instances/{id}")))
        .header("Authorization", p.stack.platform_auth())
        .json(&json!({"configuration": {"event.poller.refresh_interval": "0.01", "event.poller.urls": legacy}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    until(
        "polls at the new interval",
        Duration::from_secs(20),
        || async {
            let c = p.ds.docs.calls();
            if c >= calls + 3 {
                Ok(())
            } else {
                Err(format!("{} polls", c - calls))
            }
        },
    )
    .await;
    let doc = p.ds.docs.create("Legacy");
    let got = p.wait_events(1).await;
    assert_eq!(got, vec![(doc, "CREATED".to_string())]);
    p.stack.shutdown().await;
}

#[tokio::test]
async fn snapshot_diff_reports_deletions_when_asked_and_only_then() {
    let p = create_test_polling().await;
    let id = p.create_test_instance("0.01").await;
    let mut config = herald_elements::polling::plan::docushare_default();
    config["events"]["detectDeletions"] = json!(true);
    let r = p
        .stack
        .http
        .patch(p.stack.api(&format!("/instances/{id}")))
        .header("Authorization", p.stack.platform_auth())
        .json(&json!({"configuration": {"event.poller.configuration": config}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(r.status(), 200);
    let doc = p.ds.docs.create("Short-lived");
    p.wait_events(1).await;
    p.ds.docs.delete(&doc);
    let got = p.wait_events(2).await;
    assert_eq!(
        got,
        vec![
            (doc.clone(), "CREATED".to_string()),
            (doc, "DELETED".to_string())
        ]
    );
    p.wait_polls(3).await;
    assert_eq!(p.events().len(), 2, "a deletion is reported once");
    p.stack.shutdown().await;
}

#[tokio::test]
async fn a_429_longer_than_the_slot_allows_postpones_the_instance() {
    let p = create_test_polling().await;
    p.ds.docs.set_retry_after(120);
    p.ds.docs.fail(&[429]);
    // Every 1.2 s, but the provider asks for two minutes of quiet.
    let id = p.create_test_instance("0.02").await;
    let asked = chrono::Utc::now();
    let inst = until("the 429 recorded", Duration::from_secs(20), || async {
        let (_, v) = p
            .request(reqwest::Method::GET, &format!("/instances/{id}"))
            .await;
        if v["polling"]["consecutiveFailures"].as_u64() == Some(1) {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await;
    let next = chrono::DateTime::parse_from_rfc3339(
        inst["polling"]["nextPoll"].as_str().expect("nextPoll"),
    )
    .expect("date");
    assert!(
        next.with_timezone(&chrono::Utc) >= asked + chrono::Duration::seconds(119),
        "{inst}"
    );
    assert!(
        inst["polling"]["lastError"]
            .as_str()
            .is_some_and(|e| e.contains("rate limit")),
        "{inst}"
    );
    p.stack.shutdown().await;
}

#[tokio::test]
async fn a_date_that_does_not_read_with_its_pattern_is_reported_not_guessed() {
    let p = create_test_polling().await;
    let poller = json!({"events": {
        "url": "/api/v1/events?modifiedSince=${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}",
        "idField": "handle",
        "datesConfiguration": {"updatedDateField": "modified", "updatedDateFormat": "dd/MM/yyyy HH:mm"}}});
    let body = json!({"element": {"key": "docushareflex"}, "providerData": {"code": ""}, "name": "ds",
        "configuration": {"oauth.api.key": "ds-client", "oauth.api.secret": "ds-secret",
        "oauth.callback.url": "https://auth.example/cb", "docushare.domain": "acme.docushareflex.com",
        "event.vendor.type": "polling", "event.poller.refresh_interval": "60",
        "event.poller.configuration": poller,
        "event.notification.enabled": true, "event.notification.callback.url": p.receiver.url}});
    let (st, inst) = p
        .stack
        .call(reqwest::Method::POST, "/instances", Some(body))
        .await;
    assert_eq!(st, 200, "{inst}");
    let id = inst["id"].as_u64().expect("id");
    p.ds.docs.create("Misdated");
    let (st, _) = p
        .request(
            reqwest::Method::POST,
            &format!("/instances/{id}/events/poll"),
        )
        .await;
    assert_eq!(st, 202);
    let inst = until("a recorded failure", Duration::from_secs(20), || async {
        let (_, v) = p
            .request(reqwest::Method::GET, &format!("/instances/{id}"))
            .await;
        if v["polling"]["lastError"].is_string() {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await;
    let error = inst["polling"]["lastError"].as_str().unwrap_or_default();
    assert!(
        error.contains("modified") && error.contains("dd/MM/yyyy HH:mm"),
        "{error}"
    );
    assert!(p.receiver.received().is_empty(), "nothing guessed and sent");
}

/// Pollers scaled out as Kubernetes runs them: two replicas, each its own process. Both poll,
/// no change is delivered twice, and one killed with SIGKILL loses nothing.
#[tokio::test]
async fn two_poller_replicas_share_the_polls_and_one_killed_loses_nothing() {
    use crate::helpers::metric_total;
    let mut p = create_test_polling().await;
    p.stack.stop("poller").await;
    let a = p.stack.spawn_process("herald-poller", &[]);
    let b = p.stack.spawn_process("herald-poller", &[]);
    for _ in 0..6 {
        p.create_test_instance("0.02").await; // every 1.2 s
    }
    let mut docs: Vec<String> = (0..3)
        .map(|n| p.ds.docs.create(&format!("before {n}")))
        .collect();
    let family = "herald_poller_runs_total";
    until("both replicas polling", Duration::from_secs(30), || async {
        let (x, y) = (
            metric_total(&a.ops, family).await,
            metric_total(&b.ops, family).await,
        );
        (x > 0.0 && y > 0.0)
            .then_some(())
            .ok_or(format!("polls: a {x}, b {y}"))
    })
    .await;
    drop(a);
    docs.extend((0..3).map(|n| p.ds.docs.create(&format!("after {n}"))));
    // Every instance sees every document of the shared library: 6 × 6 events, each once.
    let got = until(
        "every change from the survivor",
        Duration::from_secs(40),
        || async {
            let e = p.events();
            (e.len() >= 36)
                .then_some(e.clone())
                .ok_or(format!("{}", e.len()))
        },
    )
    .await;
    drop(b);
    let ids: std::collections::HashSet<_> = p
        .receiver
        .received()
        .iter()
        .filter_map(|r| r.header("elements-webhook-id"))
        .collect();
    assert_eq!(
        ids.len(),
        p.receiver.received().len(),
        "no notification twice"
    );
    for d in &docs {
        let n = got.iter().filter(|(id, _)| id == d).count();
        assert_eq!(n, 6, "{d} once per instance");
    }
    assert_eq!(got.len(), 36);
    p.stack.shutdown().await;
}
