//! The demo providers for `make run`: a fake Dropbox, Box, HubSpot and QuickBooks (each only
//! when listed in `DEMO_ELEMENTS`, i.e. when the caller did not point that element elsewhere)
//! and a callback receiver that prints what it gets. Addresses and the apps' credentials come
//! from the environment (see `scripts/run.sh`).

use std::time::Duration;

use herald_e2e::fake_box::FakeBox;
use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};
use herald_e2e::receiver::Receiver;

fn env(k: &str, d: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| d.to_string())
}

#[tokio::main]
async fn main() {
    let wanted = env("DEMO_ELEMENTS", "dropbox box hubspot quickbooks");
    let wanted: Vec<&str> = wanted.split_whitespace().collect();
    let receiver = Receiver::start_at(&env("DEMO_RECEIVER_ADDR", "127.0.0.1:8091")).await;
    println!("demo: callback receiver at {}", receiver.url);
    // Kept alive for the life of the demo.
    let mut fakes = Vec::new();
    if wanted.contains(&"box") {
        let b = FakeBox::start_at(
            &env("DEMO_BOX_ADDR", "127.0.0.1:8092"),
            "fake_box_api_key",
            "fake_box_api_secret",
        )
        .await;
        println!(
            "demo: fake Box at {} (app fake_box_api_key / fake_box_api_secret, user {})",
            b.url(),
            b.user_id
        );
        fakes.push(Box::new(b) as Box<dyn std::any::Any>);
    }
    for (key, provider, addr) in [
        ("hubspot", Provider::HubSpot, "127.0.0.1:8093"),
        ("quickbooks", Provider::QuickBooks, "127.0.0.1:8094"),
    ] {
        if wanted.contains(&key) {
            let var = format!("DEMO_{}_ADDR", key.to_ascii_uppercase());
            let (id, secret) = (
                format!("fake_{key}_api_key"),
                format!("fake_{key}_api_secret"),
            );
            let f = FakeOAuthApp::start_at(&env(&var, addr), provider, &id, &secret).await;
            println!("demo: fake {key} at {} (app {id} / {secret})", f.url());
            fakes.push(Box::new(f));
        }
    }
    if wanted.contains(&"dropbox") {
        let dropbox = FakeDropbox::start_at(
            &env("DEMO_DROPBOX_ADDR", "127.0.0.1:8090"),
            &env("DEMO_DROPBOX_CLIENT_ID", "fake_Dropbox_api_key"),
            &env("DEMO_DROPBOX_CLIENT_SECRET", "fake_Dropbox_api_secret"),
            Duration::from_secs(1),
        )
        .await;
        println!("demo: fake Dropbox at {}", dropbox.url());
        let webhook = env(
            "DEMO_DROPBOX_WEBHOOK_URL",
            "http://127.0.0.1:8081/elements/api-v2/events/dropbox",
        );
        while !dropbox.try_set_webhook_url(&webhook).await {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!("demo: Dropbox webhooks go to {webhook}");
        fakes.push(Box::new(dropbox));
    }
    let mut shown = 0;
    loop {
        let got = receiver.received();
        for r in &got[shown..] {
            println!(
                "demo: callback received (Elements-Webhook-Id {}): {}",
                r.header("elements-webhook-id").unwrap_or_default(),
                String::from_utf8_lossy(&r.body)
            );
        }
        shown = got.len();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
