//! The HubSpot scenario: signed batches of `BENCH_BATCH` events posted to ingest open loop at
//! `BENCH_RATE` events/s for `BENCH_SECONDS` (closed loop with `BENCH_IN_FLIGHT` requests when
//! `BENCH_RATE=0`, `BENCH_EVENTS` events). Each event is keyed by its object id and counted by
//! [`crate::tally`] from the moment its request was sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use herald_e2e::fake_hubspot::{batch_body, sign_v1, Event};
use herald_e2e::fake_oauth_apps::{FakeOAuthApp, Provider, HUBSPOT_PORTAL};
use herald_e2e::receiver::Receiver;
use tokio::sync::Semaphore;

use crate::cluster::Cluster;
use crate::{env_num, tally};

const SECRET: &str = "bench_secret";

pub async fn run() -> anyhow::Result<()> {
    let rate = env_num("BENCH_RATE", 2000);
    let batch = env_num("BENCH_BATCH", 10).clamp(1, 100);
    let seconds = env_num("BENCH_SECONDS", 10);
    let in_flight = env_num("BENCH_IN_FLIGHT", 64) as usize;
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 120));
    let events = if rate > 0 {
        rate * seconds
    } else {
        env_num("BENCH_EVENTS", 20_000)
    };
    let requests = events.div_ceil(batch);
    let hubspot = FakeOAuthApp::start(Provider::HubSpot, "bench_key", SECRET).await;
    let receiver = Receiver::start().await;
    let cluster = Cluster::start(&[
        ("HERALD_ELEMENT_HUBSPOT_API_URL", hubspot.url()),
        ("HERALD_ELEMENT_HUBSPOT_AUTH_URL", hubspot.url()),
    ])
    .await?;
    let authorize = format!("{}/oauth/authorize", hubspot.url());
    cluster
        .connect_instance("hubspot", &authorize, SECRET, "bench", &receiver.url)
        .await?;
    let url = format!("http://{}/elements/api-v2/events/hubspot", cluster.ingest);
    let mode = if rate > 0 {
        format!("open loop at {rate} events/s for {seconds} s")
    } else {
        format!("closed loop, {in_flight} requests in flight")
    };
    println!("bench: hubspot, {events} events in batches of {batch}, {mode}");

    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let accepted = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let limit = Arc::new(Semaphore::new(if rate > 0 { 4096 } else { in_flight }));
    let mut ticker =
        tokio::time::interval(Duration::from_secs_f64(batch as f64 / rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(requests as usize);
    for r in 0..requests {
        if rate > 0 {
            ticker.tick().await;
        }
        let permit = limit.clone().acquire_owned().await?;
        let objects: Vec<u64> = (r * batch..((r + 1) * batch).min(events)).collect();
        let events: Vec<Event> = objects
            .iter()
            .map(|o| Event::new(HUBSPOT_PORTAL, "contact.creation", *o))
            .collect();
        let body = batch_body(&events);
        let signature = sign_v1(SECRET, &body);
        let (http, url, sent_at, accepted) =
            (http.clone(), url.clone(), sent_at.clone(), accepted.clone());
        tasks.push(tokio::spawn(async move {
            let now = Instant::now();
            {
                let mut s = sent_at.lock().unwrap_or_else(|p| p.into_inner());
                for o in &objects {
                    s.insert(*o, now);
                }
            }
            let ok = http
                .post(&url)
                .header("Content-Type", "application/json")
                .header("X-HubSpot-Signature", signature)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                accepted.fetch_add(objects.len() as u64, std::sync::atomic::Ordering::Relaxed);
            }
            drop(permit);
        }));
    }
    for t in tasks {
        t.await?;
    }
    let send_secs = t0.elapsed().as_secs_f64().max(1e-9);
    let accepted = accepted.load(std::sync::atomic::Ordering::Relaxed);

    println!(
        "bench: accepted {accepted}/{events} events at {:.0} events/s",
        accepted as f64 / send_secs
    );
    let arrivals = tally::collect(&receiver, t0, deadline, accepted as usize, |e| {
        e["objectId"].as_u64()
    })
    .await;
    let sent = sent_at.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let result = arrivals.report(&sent, t0, accepted as usize);
    cluster.report();
    cluster.stop();
    result
}
