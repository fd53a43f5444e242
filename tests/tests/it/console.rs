//! The web console in a real browser (headless Chromium), against the whole stack and the fake
//! Dropbox: sign-in, the seed guide's create-instance flow through the provider's OAuth page,
//! events arriving without a reload, retry, replay, disable/enable, delete, and markup from a
//! provider or a tenant shown as text.

use herald_e2e::browser::Browser;
use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};
use herald_e2e::stack::Stack;
use serde_json::Value;

use crate::helpers::{create_test_world, get_json, World, CLIENT_ID, CLIENT_SECRET, SIGNATURE_KEY};

/// A world and a browser on its console; `None` when no browser can run (said on stderr).
async fn create_test_console() -> Option<(World, Browser)> {
    let browser = Browser::start().await?;
    Some((create_test_world().await, browser))
}

fn console_url(w: &World, path: &str) -> String {
    format!("http://{}/console{path}", w.stack.gateway)
}

async fn sign_in(w: &World, b: &Browser) {
    b.goto(&console_url(w, "")).await;
    b.fill("User secret", &w.stack.user_secret).await;
    b.fill("Organization secret", &w.stack.org_secret).await;
    b.click_button("Sign in").await;
    b.find("button", "Sign out", None).await;
}

/// The seed's steps in the console: Catalog, Create instance for Dropbox, the form, Next, the
/// fake's authorize page (it answers at once, as after "Allow"), back to the console. Returns
/// the new instance's id, read from the page the console lands on.
async fn create_through_console(w: &World, b: &Browser, name: &str) -> u64 {
    b.click_link("Catalog").await;
    b.click("link", "Create instance", Some("Dropbox")).await;
    fill_dropbox_form(w, b, name).await;
    b.click_button("Next").await;
    b.wait_text("created").await;
    let id = instance_id_in(&b.current_url().await);
    let (status, v) = get_json(w, &format!("/instances/{id}")).await;
    assert_eq!(status, 200, "{v}");
    id
}

async fn fill_dropbox_form(w: &World, b: &Browser, name: &str) {
    b.fill("Name", name).await;
    b.fill("Tags", "docs, console").await;
    b.check("Event notifications", true).await;
    b.fill("Callback URL", &w.receiver.url).await;
    b.fill("Signature key", SIGNATURE_KEY).await;
    b.fill("API key", CLIENT_ID).await;
    b.fill("API secret", CLIENT_SECRET).await;
}

fn instance_id_in(url: &str) -> u64 {
    url.rsplit_once("/console/instances/")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("an instance page, not {url}"))
}

/// The instance's events as the API lists them, once `n` are `NOTIFIED`.
async fn wait_notified(w: &World, id: u64, n: usize) -> Vec<Value> {
    crate::helpers::wait_for_events(w, id, "notified events", |a| {
        a.iter().filter(|e| e["status"] == "NOTIFIED").count() >= n
    })
    .await
}

#[tokio::test]
async fn console_signs_in_with_the_secrets_and_sign_out_forgets_them() {
    let Some((w, b)) = create_test_console().await else {
        return;
    };
    let resp = w
        .stack
        .http
        .get(console_url(&w, "/oauth/callback?code=c&state=s"))
        .send()
        .await
        .expect("console page");
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");

    b.goto(&console_url(&w, "")).await;
    b.fill("User secret", "not-a-secret").await;
    b.fill("Organization secret", &w.stack.org_secret).await;
    b.click_button("Sign in").await;
    let (_, refused) = w
        .stack
        .call_as(
            reqwest::Method::GET,
            "/instances",
            "User not-a-secret, Organization x",
            None,
        )
        .await;
    b.wait_text(refused["message"].as_str().expect("the API's message"))
        .await;
    assert_eq!(
        b.eval("return sessionStorage.length").await,
        0,
        "nothing kept after a refusal"
    );

    sign_in(&w, &b).await;
    for link in ["Catalog", "Instances", "Events"] {
        b.find("link", link, None).await;
    }
    let page = b.wait_text("Documents").await;
    for hub in ["CRM", "Finance"] {
        assert!(page.contains(hub), "hub {hub} in {page}");
    }
    b.find("link", "Create instance", Some("Dropbox")).await;
    b.find("link", "Create instance", Some("QuickBooks Online"))
        .await;
    let url = b.current_url().await;
    assert!(
        !url.contains(&w.stack.user_secret) && !url.contains(&w.stack.org_secret),
        "{url}"
    );
    let kept = b.eval("return JSON.stringify(sessionStorage)").await;
    assert!(
        kept.as_str()
            .unwrap_or_default()
            .contains(&w.stack.user_secret),
        "{kept}"
    );

    // A reload keeps the session (same tab); Sign out forgets it.
    b.goto(&console_url(&w, "/instances")).await;
    b.click_button("Sign out").await;
    b.field("User secret").await;
    assert_eq!(b.eval("return sessionStorage.length").await, 0);
    b.goto(&console_url(&w, "/instances")).await;
    b.field("Organization secret").await;
    b.close().await;
}

#[tokio::test]
async fn console_creates_a_dropbox_instance_through_the_providers_page_and_follows_its_events() {
    let Some((w, b)) = create_test_console().await else {
        return;
    };
    sign_in(&w, &b).await;
    let id = create_through_console(&w, &b, "Console Dropbox").await;
    let url = b.current_url().await;
    assert!(
        !url.contains("code="),
        "the code left the address bar: {url}"
    );
    let (_, inst) = get_json(&w, &format!("/instances/{id}")).await;
    assert_eq!(inst["eventsEnabled"], true);
    assert_eq!(inst["tags"], serde_json::json!(["docs", "console"]));
    assert_eq!(
        inst["configuration"]["oauth.callback.url"],
        console_url(&w, "/oauth/callback")
    );

    // A change at the provider shows up on the open page, with no reload.
    b.eval("window.__sameDocument = true").await;
    w.dropbox.upload_external("/Console/report.txt");
    let event_id = wait_notified(&w, id, 1).await[0]["id"]
        .as_u64()
        .expect("event id");
    let row = b
        .wait_script(
            "the event's row to say NOTIFIED",
            &format!(
                "const a = [...document.querySelectorAll('#main td a')].find((x) => x.textContent === '{event_id}'); return a ? a.closest('tr').innerText : ''"
            ),
            |v| v.as_str().is_some_and(|t| t.contains("NOTIFIED")),
        )
        .await;
    assert!(row.as_str().unwrap_or_default().contains("NOTIFIED"));
    assert_eq!(
        b.eval("return window.__sameDocument === true").await,
        true,
        "reloaded"
    );

    // Its page: the provider's body, the notification sent, the attempt; Retry sends it again.
    b.click_link(&event_id.to_string()).await;
    b.wait_text("Provider body").await;
    let page = b.wait_text("/console/report.txt").await;
    assert!(
        page.contains("Notification sent") && page.contains("list_folder"),
        "{page}"
    );
    b.click_button("Retry").await;
    b.wait_text("Retry queued").await;
    let ids = herald_e2e::wait::until(
        "the retried notification",
        herald_e2e::browser::PATIENCE,
        || async {
            let got: Vec<String> = w
                .receiver
                .received()
                .iter()
                .filter_map(|r| r.header("elements-webhook-id"))
                .collect();
            if got.len() >= 2 {
                Ok(got)
            } else {
                Err(format!("{got:?}"))
            }
        },
    )
    .await;
    assert_eq!(ids[0], ids[1], "a retry keeps the notification's ids");
    // The attempts table grows by itself.
    b.wait_script(
        "two attempts listed",
        "const c = document.querySelector('#main table caption'); return c ? c.closest('table').tBodies[0].rows.length : 0",
        |v| v.as_u64() == Some(2),
    )
    .await;

    // Replay from the instance's page: every notification of [From, To) again, marked.
    b.click_link("Console Dropbox").await;
    b.fill("From", "2000-01-01T00:00:00Z").await;
    b.click_button("Replay").await;
    b.wait_text("Replay queued: 1 notification").await;
    herald_e2e::wait::until(
        "the replayed notification",
        herald_e2e::browser::PATIENCE,
        || async {
            let replays = w
                .receiver
                .received()
                .iter()
                .filter(|r| r.header("elements-replay").as_deref() == Some("true"))
                .count();
            if replays == 1 {
                Ok(())
            } else {
                Err(replays.to_string())
            }
        },
    )
    .await;

    // The filters: no FAILED events, none after a future date; all again when cleared.
    b.select("Status", "FAILED").await;
    b.click_button("Filter").await;
    b.wait_text("No events match.").await;
    b.select("Status", "Any status").await;
    b.fill("From", "2999-01-01T00:00:00Z").await;
    b.click_button("Filter").await;
    b.wait_text("No events match.").await;
    b.fill("From", "").await;
    b.click_button("Filter").await;
    b.find("link", &event_id.to_string(), None).await;

    // The list of all events has it too.
    b.click_link("Events").await;
    b.find("link", &event_id.to_string(), None).await;
    b.close().await;
}

#[tokio::test]
async fn console_disables_enables_and_deletes_an_instance_after_confirmation() {
    let Some((w, b)) = create_test_console().await else {
        return;
    };
    sign_in(&w, &b).await;
    let id = create_through_console(&w, &b, "Short-lived").await;
    let path = format!("/instances/{id}");

    b.click_button("Disable").await;
    b.find("button", "Enable", None).await;
    b.wait_text("Disabled").await;
    assert_eq!(get_json(&w, &path).await.1["disabled"], true);
    b.click_button("Enable").await;
    b.find("button", "Disable", None).await;
    assert_eq!(get_json(&w, &path).await.1["disabled"], false);

    b.click_button("Delete").await;
    let asked = b.answer_dialog(false).await;
    assert!(asked.contains("Short-lived"), "{asked}");
    assert_eq!(get_json(&w, &path).await.0, 200, "kept when not confirmed");
    b.click_button("Delete").await;
    b.answer_dialog(true).await;
    b.wait_text("deleted").await;
    assert!(b.current_url().await.ends_with("/console/instances"));
    assert_eq!(get_json(&w, &path).await.0, 404);
    b.wait_text("No instances yet").await;
    b.close().await;
}

/// Markup in what a tenant names and in what a provider sends is shown as text: no element is
/// made from it (an `<img>` would exist even where the policy stops its handler) and nothing
/// runs.
#[tokio::test]
async fn console_shows_markup_from_a_tenant_and_a_provider_as_text() {
    let Some((w, b)) = create_test_console().await else {
        return;
    };
    sign_in(&w, &b).await;
    let name = r#"<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>Evil"#;
    let id = create_through_console(&w, &b, name).await;
    let no_markup = "return { imgs: document.querySelectorAll('img').length, \
        scripts: [...document.scripts].filter((s) => !s.src.endsWith('/console/assets/app.js')).length, \
        pwned: window.__pwned === undefined ? null : window.__pwned }";
    let clean = |v: &Value| v["imgs"] == 0 && v["scripts"] == 0 && v["pwned"].is_null();
    let heading = b
        .eval("return document.querySelector('#main h1').textContent")
        .await;
    assert_eq!(heading, name);
    let seen = b.eval(no_markup).await;
    assert!(clean(&seen), "{seen}");

    b.click_link("Instances").await;
    b.find("link", name, None).await;
    let seen = b.eval(no_markup).await;
    assert!(clean(&seen), "{seen}");

    // No quotes: the page shows the body as JSON, where they would be escaped.
    let path = "/<img src=x onerror=window.__pwned=3>.txt";
    w.dropbox.upload_external(path);
    let event_id = wait_notified(&w, id, 1).await[0]["id"]
        .as_u64()
        .expect("event id");
    b.goto(&console_url(&w, &format!("/events/{event_id}")))
        .await;
    let shown = b.wait_text(&path.to_lowercase()).await;
    assert!(shown.contains("Notification sent"), "{shown}");
    let seen = b.eval(no_markup).await;
    assert!(clean(&seen), "{seen}");
    b.close().await;
}

#[tokio::test]
async fn console_shows_the_providers_refusal_and_the_apis_field_errors() {
    let Some((w, b)) = create_test_console().await else {
        return;
    };
    sign_in(&w, &b).await;
    b.click("link", "Create instance", Some("Dropbox")).await;

    // Checked before leaving: the API key is required.
    fill_dropbox_form(&w, &b, "Refused").await;
    b.fill("API key", "").await;
    b.click_button("Next").await;
    let key = b.field("API key").await;
    let error = field_error(&b, &key.id).await;
    assert_eq!(error, "Required.");
    assert!(b
        .current_url()
        .await
        .contains("/console/catalog/dropbox/new"));

    // The user says no at the provider: the console says so, keeps the form, creates nothing.
    w.dropbox.set_deny(true);
    b.fill("API key", CLIENT_ID).await;
    b.click_button("Next").await;
    b.wait_text("access_denied").await;
    let name = b.field("Name").await;
    let kept = b
        .cmd(
            reqwest::Method::GET,
            &format!("/element/{}/property/value", name.id),
            None,
        )
        .await
        .expect("value");
    assert_eq!(kept, "Refused");
    assert_eq!(get_json(&w, "/instances").await.1, serde_json::json!([]));

    // The API refuses the configuration after the round trip: its message, next to the field.
    w.dropbox.set_deny(false);
    b.fill("API secret", CLIENT_SECRET).await;
    b.fill("Callback URL", "not a url").await;
    b.click_button("Next").await;
    b.wait_text("must be an absolute http(s) URL").await;
    let callback = b.field("Callback URL").await;
    let error = field_error(&b, &callback.id).await;
    assert!(error.contains("event.notification.callback.url"), "{error}");
    assert_eq!(get_json(&w, "/instances").await.1, serde_json::json!([]));
    b.close().await;
}

/// The error shown for a control (the element its aria-describedby names last).
async fn field_error(b: &Browser, element: &str) -> String {
    let script = "const el = arguments[0]; const ids = (el.getAttribute('aria-describedby') || '').split(' '); \
        const err = document.getElementById(ids[ids.length - 1]); return err && !err.hidden ? err.textContent : ''";
    let arg = serde_json::json!([{ "element-6066-11e4-a52e-4f735466cecf": element }]);
    herald_e2e::wait::until(
        "the field's error",
        herald_e2e::browser::PATIENCE,
        || async {
            match b.script(script, arg.clone()).await {
                Ok(Value::String(s)) if !s.is_empty() => Ok(s),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await
}

/// A polling element: its own entries labelled by their keys (`docushare.domain`, the refresh
/// interval), then Poll now and the last poll shown on the instance's page and in the list.
#[tokio::test]
async fn console_creates_a_polling_instance_and_polls_it_now() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let ds = FakeOAuthApp::start(Provider::DocuShareFlex, "ds-client", "ds-secret").await;
    let stack = Stack::start_with_providers(&[("DOCUSHAREFLEX", ds.url())], &[]).await;
    b.goto(&format!("http://{}/console", stack.gateway)).await;
    b.fill("User secret", &stack.user_secret).await;
    b.fill("Organization secret", &stack.org_secret).await;
    b.click_button("Sign in").await;
    b.click("link", "Create instance", Some("DocuShare Flex"))
        .await;
    let receiver = herald_e2e::receiver::Receiver::start().await;
    b.fill("Name", "Polled library").await;
    b.check("Event notifications", true).await;
    b.fill("Callback URL", &receiver.url).await;
    b.fill("API key", "ds-client").await;
    b.fill("API secret", "ds-secret").await;
    b.fill("docushare.domain", "acme.docushareflex.com").await;
    b.fill("event.poller.refresh_interval", "60").await;
    b.click_button("Next").await;
    b.wait_text("created").await;
    let id = instance_id_in(&b.current_url().await);
    let (_, inst) = stack
        .call(reqwest::Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(
        inst["configuration"]["docushare.domain"],
        "acme.docushareflex.com"
    );
    assert_eq!(inst["configuration"]["event.poller.refresh_interval"], "60");

    let before = b.wait_text("Last poll").await;
    assert!(before.contains("Not yet"), "{before}");
    b.click_button("Poll now").await;
    b.wait_text("Poll queued").await;
    let polled =
        herald_e2e::wait::until("the poll shown", herald_e2e::browser::PATIENCE, || async {
            let (_, v) = stack
                .call(reqwest::Method::GET, &format!("/instances/{id}"), None)
                .await;
            let last = v["polling"]["lastPoll"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let text = b.main_text().await;
            if !last.is_empty() && text.contains(&last) {
                Ok(last)
            } else {
                Err(format!("API {last:?}, page {text}"))
            }
        })
        .await;
    b.click_link("Instances").await;
    b.wait_text(&polled).await;
    b.close().await;
}
