//! The Dropbox scenario: N changes, each announced by a signed notification, closed loop, through
//! ingest → normalizer → delivery to a local receiver.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::receiver::Receiver;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::cluster::Cluster;
use crate::{env_num, percentile};

pub async fn run() -> anyhow::Result<()> {
    let n = env_num("BENCH_NOTIFICATIONS", 2000) as usize;
    let in_flight = env_num("BENCH_IN_FLIGHT", 64) as usize;
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 300));
    let dropbox = FakeDropbox::start("bench_key", "bench_secret", Duration::from_millis(200)).await;
    dropbox.set_page_size(env_num("BENCH_PAGE_SIZE", 500) as usize);
    let receiver = Receiver::start().await;
    let cluster = Cluster::start(&[
        ("HERALD_ELEMENT_DROPBOX_API_URL", dropbox.url()),
        ("HERALD_ELEMENT_DROPBOX_AUTH_URL", dropbox.url()),
    ])
    .await?;
    let ingest_url = format!("http://{}/elements/api-v2/events/dropbox", cluster.ingest);
    let started = Instant::now();
    while !dropbox.try_set_webhook_url(&ingest_url).await {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "ingest did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let redirect = "https://bench.example/auth";
    let code = cluster
        .oauth_code(&format!(
            "{}/oauth2/authorize?client_id=bench_key&response_type=code&redirect_uri={redirect}&state=b",
            dropbox.url()
        ))
        .await?;
    cluster
        .create_instance(json!({"element": {"key": "dropbox"}, "providerData": {"code": code}, "name": "bench",
            "configuration": {"oauth.api.key": "bench_key", "oauth.api.secret": "bench_secret",
            "oauth.callback.url": redirect, "event.notification.enabled": true,
            "event.notification.callback.url": receiver.url, "event.notification.signature.key": "k"}}))
        .await?;

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
                // The files the bench changed (Dropbox also reports the folder it made for them).
                if let Some(p) = e["path"].as_str().filter(|p| p.starts_with("/bench/file-")) {
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
    cluster.report();
    cluster.stop();
    anyhow::ensure!(
        received_at.len() == n,
        "not every event arrived before the deadline"
    );
    Ok(())
}
