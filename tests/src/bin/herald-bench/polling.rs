//! The polling scenario: N instances due within one window, polled by one poller process against
//! a fast fake; prints polls/s, scheduler lag and the poller's peak RSS.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::{stream, StreamExt, TryStreamExt};
use herald_core::config::DEV_SECRET_KEY;
use herald_core::crypto::SealedFor;
use herald_e2e::procs::{free_port, Nats, Redis};
use serde_json::{json, Value};

use crate::{bin_dir, cpu_seconds, env_num, peak_rss_kib, percentile};

/// N instances due within one window, polled by one poller process against a fast fake.
pub async fn run() -> anyhow::Result<()> {
    use herald_core::brokers::Brokers;
    use herald_core::config::Env;
    use herald_core::model::{InstanceRecord, ProviderState};
    use herald_core::store::{instances, polls, sync};
    use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider};

    let n = env_num("BENCH_POLL_INSTANCES", 10_000) as usize;
    let window_ms = env_num("BENCH_POLL_WINDOW_SECS", 60) as i64 * 1000;
    // Every instance's interval: one window, so each is polled once a window.
    let interval_minutes = (window_ms / 60_000).max(1);
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 300));
    let nats = Nats::start();
    let redis = Redis::start();
    let ds = FakeOAuthApp::start(Provider::DocuShareFlex, "bench", "bench-secret").await;
    let brokers = Brokers::connect(&nats.url(), &redis.url(), "", "herald-bench").await?;
    let env = Env::from_pairs([("HERALD_SECRET_KEY", DEV_SECRET_KEY)]);
    let sb = herald_core::config::CommonConfig::from_env(&env, "127.0.0.1:0")?.secret_box;
    let keys = &brokers.keys;
    println!(
        "bench: seeding {n} polling instances due within {} s",
        window_ms / 1000
    );
    // Records first (many at once), then the schedule: the clock starts once all are written.
    let seeded = Instant::now();
    let mut tokens = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let id = (i + 1) as u64;
        let token = ds.oauth.mint_access_token();
        let config: std::collections::BTreeMap<String, Value> = [
            ("docushare.domain", json!("bench.docushareflex.com")),
            ("event.vendor.type", json!("polling")),
            (
                "event.poller.refresh_interval",
                json!(interval_minutes.to_string()),
            ),
            ("event.notification.enabled", json!(true)),
            (
                "event.notification.callback.url",
                json!("http://127.0.0.1:9/unused"),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        records.push(InstanceRecord {
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
                access_token: Some(sb.seal(&token, SealedFor::access_token(id))),
                token_version: 1,
                ..Default::default()
            },
            valid: true,
            invalid_reason: None,
            disabled: false,
            events_enabled: true,
            token_hash: String::new(),
        });
        tokens.push(token);
    }
    let cursor = herald_core::time::now_ms().to_string();
    stream::iter(records.iter())
        .map(|rec| {
            let (mut conn, cursor) = (brokers.redis.clone(), &cursor);
            async move {
                instances::put(&mut conn, keys, rec).await?;
                sync::init(&mut conn, keys, rec.id, cursor, &[]).await
            }
        })
        .buffer_unordered(256)
        .try_collect::<Vec<_>>()
        .await?;
    let now = herald_core::time::now_ms();
    // Time for the schedule writes, then the first is due.
    let first_due = now + 3_000 + n as i64 / 50;
    let due_of = |i: usize| first_due + (i as i64 * window_ms) / n as i64;
    stream::iter(0..n)
        .map(|i| {
            let mut conn = brokers.redis.clone();
            async move {
                let id = (i + 1) as u64;
                polls::upsert(
                    &mut conn,
                    keys,
                    id,
                    interval_minutes * 60_000,
                    now,
                    due_of(i) - now,
                )
                .await
            }
        })
        .buffer_unordered(256)
        .try_collect::<Vec<_>>()
        .await?;
    let due_of_token: HashMap<String, i64> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (format!("Bearer {t}"), due_of(i)))
        .collect();
    println!(
        "bench: seeded in {:.1} s; the first is due {} ms after",
        seeded.elapsed().as_secs_f64(),
        first_due - herald_core::time::now_ms()
    );
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
        "bench: herald-poller peak RSS {} MiB, CPU {:.1} s",
        peak_rss_kib(poller.id()) / 1024,
        cpu_seconds(poller.id())
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
