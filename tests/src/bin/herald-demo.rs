//! The demo providers for `make run`: a fake Dropbox and a callback receiver that prints what
//! it gets. Addresses and the app's credentials come from the environment (see the Makefile).

use std::time::Duration;

use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::receiver::Receiver;

#[tokio::main]
async fn main() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let dropbox = FakeDropbox::start_at(
        &env("DEMO_DROPBOX_ADDR", "127.0.0.1:8090"),
        &env("DEMO_DROPBOX_CLIENT_ID", "fake_Dropbox_api_key"),
        &env("DEMO_DROPBOX_CLIENT_SECRET", "fake_Dropbox_api_secret"),
        Duration::from_secs(1),
    )
    .await;
    let receiver = Receiver::start_at(&env("DEMO_RECEIVER_ADDR", "127.0.0.1:8091")).await;
    println!(
        "demo: fake Dropbox at {} ; callback receiver at {}",
        dropbox.url(),
        receiver.url
    );
    let webhook = env(
        "DEMO_DROPBOX_WEBHOOK_URL",
        "http://127.0.0.1:8081/elements/api-v2/events/dropbox",
    );
    while !dropbox.try_set_webhook_url(&webhook).await {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!("demo: Dropbox webhooks go to {webhook}");
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
