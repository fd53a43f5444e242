//! `make bench`: N Dropbox changes, each announced by a signed notification, pushed through
//! ingest → normalizer → delivery to a local receiver, with every service as its own process.
//! Prints events/s, latency from ingest's 200 to the receiver's receipt (p50/p95/p99), and each
//! service's peak RSS. Loopback only; bounded by BENCH_NOTIFICATIONS and BENCH_DEADLINE_SECS.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::config::DEV_SECRET_KEY;
use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::procs::{free_port, Nats, Redis};
use herald_e2e::receiver::Receiver;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const SERVICES: [&str; 5] = [
    "herald-gateway",
    "herald-ingest",
    "herald-provisioning",
    "herald-poller",
    "herald-delivery",
];

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_default()
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let scenario = std::env::var("BENCH_SCENARIO").unwrap_or_else(|_| "all".into());
    if matches!(scenario.as_str(), "all" | "webhooks") {
        webhooks().await?;
    }
    if matches!(scenario.as_str(), "all" | "polling") {
        polling().await?;
    }
    Ok(())
}

/// N instances due within one window, polled by one poller process against a fast fake.
async fn polling() -> anyhow::Result<()> {
    use herald_core::brokers::Brokers;
    use herald_core::config::Env;
    use herald_core::model::{InstanceRecord, ProviderState};
    use herald_core::store::{instances, polls, sync};
    use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};

    let n = env_num("BENCH_POLL_INSTANCES", 10_000) as usize;
    let window_ms = env_num("BENCH_POLL_WINDOW_SECS", 60) as i64 * 1000;
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 300));
    let nats = Nats::start();
    let redis = Redis::start();
    let ds = FakeOAuthApp::start(Provider::DocuShareFlex, "bench", "bench-secret").await;
    let brokers = Brokers::connect(&nats.url(), &redis.url(), "", "herald-bench").await?;
    let env = Env::from_pairs([("HERALD_SECRET_KEY", DEV_SECRET_KEY)]);
    let sb = herald_core::config::CommonConfig::from_env(&env, "127.0.0.1:0")?.secret_box;
    let mut conn = brokers.redis.clone();
    let keys = &brokers.keys;
    let now = herald_core::time::now_ms();
    let first_due = now + 5_000;
    let mut due_of_token = HashMap::new();
    println!(
        "bench: seeding {n} polling instances due within {} s",
        window_ms / 1000
    );
    for i in 0..n {
        let id = (i + 1) as u64;
        let token = ds.oauth.mint_access_token();
        let config: std::collections::BTreeMap<String, Value> = [
            ("docushare.domain", json!("bench.docushareflex.com")),
            ("event.vendor.type", json!("polling")),
            ("event.poller.refresh_interval", json!("15")),
            ("event.notification.enabled", json!(true)),
            (
                "event.notification.callback.url",
                json!("http://127.0.0.1:9/unused"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let rec = InstanceRecord {
            id,
            name: format!("bench-{id}"),
            user_id: 1,
            org_id: 1,
            element_key: "docushareflex".into(),
            tags: vec![],
            created_date: herald_core::time::now_rfc3339(),
            configuration: config,
            secret_keys: vec![],
            provider: ProviderState {
                access_token: Some(sb.seal(&token)),
                token_version: 1,
                ..Default::default()
            },
            valid: true,
            invalid_reason: None,
            disabled: false,
            events_enabled: true,
            token_hash: String::new(),
        };
        instances::put(&mut conn, keys, &rec).await?;
        sync::init(&mut conn, keys, id, &now.to_string(), &[]).await?;
        let due = first_due + (i as i64 * window_ms) / n as i64;
        polls::upsert(&mut conn, keys, id, 15 * 60_000, now, due - now).await?;
        due_of_token.insert(format!("Bearer {token}"), due);
    }
    let mut poller = Command::new(bin_dir().join("herald-poller"))
        .env("HERALD_SECRET_KEY", DEV_SECRET_KEY)
        .env("HERALD_NATS_URL", nats.url())
        .env("HERALD_REDIS_URL", redis.url())
        .env("HERALD_OPS_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("HERALD_ELEMENT_DOCUSHAREFLEX_API_URL", ds.url())
        .env(
            "HERALD_POLLER_CONCURRENCY",
            env_num("BENCH_POLL_CONCURRENCY", 64).to_string(),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;
    let started = Instant::now();
    let seen = loop {
        let seen = ds.docs.first_calls();
        if seen.len() >= n || started.elapsed() > deadline {
            break seen;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let mut lags: Vec<Duration> = seen
        .iter()
        .filter_map(|(t, at)| {
            due_of_token
                .get(t)
                .map(|due| Duration::from_millis((at - due).max(0) as u64))
        })
        .collect();
    lags.sort();
    let last = seen.values().max().copied().unwrap_or(first_due);
    let secs = ((last - first_due) as f64 / 1000.0).max(1e-3);
    println!(
        "bench: polled {}/{} instances in {:.1} s after the first was due → {:.0} polls/s (due spread over {} s)",
        seen.len(),
        n,
        secs,
        seen.len() as f64 / secs,
        window_ms / 1000
    );
    println!(
        "bench: scheduler lag (due → poll at the provider) p50 {:?} p99 {:?} max {:?}",
        percentile(&lags, 0.50),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or_default()
    );
    println!(
        "bench: herald-poller peak RSS {} MiB",
        peak_rss_kib(poller.id()) / 1024
    );
    let _ = Command::new("kill")
        .args(["-TERM", &poller.id().to_string()])
        .status();
    let _ = poller.wait();
    anyhow::ensure!(
        seen.len() >= n,
        "not every instance was polled before the deadline"
    );
    Ok(())
}

async fn webhooks() -> anyhow::Result<()> {
    let n = env_num("BENCH_NOTIFICATIONS", 2000) as usize;
    let in_flight = env_num("BENCH_IN_FLIGHT", 64) as usize;
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 300));
    let nats = Nats::start();
    let redis = Redis::start();
    let dropbox = FakeDropbox::start("bench_key", "bench_secret", Duration::from_millis(200)).await;
    dropbox.set_page_size(env_num("BENCH_PAGE_SIZE", 500) as usize);
    let receiver = Receiver::start().await;
    let gateway = format!("127.0.0.1:{}", free_port());
    let ingest = format!("127.0.0.1:{}", free_port());
    let admin = "bench-admin";
    let mut children: Vec<(&str, Child)> = Vec::new();
    for name in SERVICES {
        let listen = match name {
            "herald-gateway" => gateway.clone(),
            "herald-ingest" => ingest.clone(),
            _ => format!("127.0.0.1:{}", free_port()),
        };
        let child = Command::new(bin_dir().join(name))
            .env("HERALD_SECRET_KEY", DEV_SECRET_KEY)
            .env("HERALD_NATS_URL", nats.url())
            .env("HERALD_REDIS_URL", redis.url())
            .env("HERALD_ADMIN_TOKEN", admin)
            .env("HERALD_ALLOW_PRIVATE_CALLBACKS", "true")
            .env("HERALD_OPS_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("HERALD_LISTEN_ADDR", listen)
            .env("HERALD_ELEMENT_DROPBOX_API_URL", dropbox.url())
            .env("HERALD_ELEMENT_DROPBOX_AUTH_URL", dropbox.url())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("{name}: {e} (run `cargo build --workspace --bins --release`)")
            })?;
        children.push((name, child));
    }
    let http = reqwest::Client::new();
    let api = |p: &str| format!("http://{gateway}/elements/api-v2{p}");
    // Wait for the gateway and ingest.
    let started = Instant::now();
    while http.get(api("/elements")).send().await.is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "gateway did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ingest_url = format!("http://{ingest}/elements/api-v2/events/dropbox");
    while !dropbox.try_set_webhook_url(&ingest_url).await {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "ingest did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let org: Value = http
        .post(api("/admin/organizations"))
        .bearer_auth(admin)
        .json(&json!({"name": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let user: Value = http
        .post(api(&format!("/admin/organizations/{}/users", org["id"])))
        .bearer_auth(admin)
        .json(&json!({"email": "bench@example.com"}))
        .send()
        .await?
        .json()
        .await?;
    let auth = format!(
        "User {}, Organization {}",
        user["secret"].as_str().unwrap_or(""),
        org["secret"].as_str().unwrap_or("")
    );
    let redirect = "https://bench.example/auth";
    let authz = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let loc = authz
        .get(format!("{}/oauth2/authorize?client_id=bench_key&response_type=code&redirect_uri={redirect}&state=b", dropbox.url()))
        .send()
        .await?
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_default();
    let code = url::Url::parse(&loc)?
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .unwrap_or_default();
    let created = http
        .post(api("/instances"))
        .header("Authorization", &auth)
        .json(&json!({"element": {"key": "dropbox"}, "providerData": {"code": code}, "name": "bench",
            "configuration": {"oauth.api.key": "bench_key", "oauth.api.secret": "bench_secret",
            "oauth.callback.url": redirect, "event.notification.enabled": true,
            "event.notification.callback.url": receiver.url, "event.notification.signature.key": "k"}}))
        .send()
        .await?;
    anyhow::ensure!(
        created.status() == 200,
        "instance not created: {}",
        created.text().await?
    );

    println!("bench: {n} notifications (one file event each), {in_flight} in flight");
    let limit = Arc::new(Semaphore::new(in_flight));
    let t0 = Instant::now();
    let mut accepted = Vec::with_capacity(n);
    for i in 0..n {
        let permit = limit.clone().acquire_owned().await?;
        let path = format!("/bench/file-{i:06}.txt");
        let handle = dropbox.upload_external_timed(&path);
        accepted.push((
            path.to_lowercase(),
            tokio::spawn(async move {
                let at = handle.await.ok().flatten();
                drop(permit);
                at
            }),
        ));
    }
    let mut accepted_at = HashMap::new();
    for (path, h) in accepted {
        if let Some(at) = h.await? {
            accepted_at.insert(path, at);
        }
    }
    let mut received_at: HashMap<String, Instant> = HashMap::new();
    while received_at.len() < n && t0.elapsed() < deadline {
        for r in receiver.received() {
            for e in r.json()["response"]["events"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                if let Some(p) = e["path"].as_str() {
                    received_at.entry(p.to_string()).or_insert(r.at);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = received_at.values().max().copied().unwrap_or(t0);
    let mut lat: Vec<Duration> = received_at
        .iter()
        .filter_map(|(p, at)| accepted_at.get(p).map(|a| at.saturating_duration_since(*a)))
        .collect();
    lat.sort();
    let secs = last.duration_since(t0).as_secs_f64().max(1e-9);
    println!(
        "bench: delivered {}/{} events in {:.2} s → {:.1} events/s",
        received_at.len(),
        n,
        secs,
        received_at.len() as f64 / secs
    );
    println!(
        "bench: ingest 200 → receiver latency p50 {:?} p95 {:?} p99 {:?}",
        percentile(&lat, 0.50),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99)
    );
    for (name, child) in &children {
        println!(
            "bench: {name} peak RSS {} MiB",
            peak_rss_kib(child.id()) / 1024
        );
    }
    for (_, mut child) in children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    anyhow::ensure!(
        received_at.len() == n,
        "not every event arrived before the deadline"
    );
    Ok(())
}
