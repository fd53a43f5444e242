//! The Dropbox scenario: `BENCH_ACCOUNTS` accounts of one app (an instance each), one file change
//! per notification, the accounts taking turns. Open loop at `BENCH_RATE` notifications/s for
//! `BENCH_SECONDS`, or closed loop with `BENCH_IN_FLIGHT` notifications in flight
//! (`BENCH_NOTIFICATIONS` of them) when `BENCH_RATE=0`. Each change is keyed by its path and
//! counted by [`crate::tally`] from the moment the fake Dropbox sends its notification.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use herald_e2e::fake_dropbox::FakeDropbox;
use herald_e2e::receiver::Receiver;

use crate::cluster::Cluster;
use crate::{env_num, percentile, tally};

pub async fn run() -> anyhow::Result<()> {
    let rate = env_num("BENCH_RATE", 2000);
    let seconds = env_num("BENCH_SECONDS", 10);
    let accounts = env_num("BENCH_ACCOUNTS", 4).max(1) as usize;
    let in_flight = env_num("BENCH_IN_FLIGHT", 64) as usize;
    let deadline = Duration::from_secs(env_num("BENCH_DEADLINE_SECS", 120));
    let n = if rate > 0 {
        rate * seconds
    } else {
        env_num("BENCH_NOTIFICATIONS", 20_000)
    } as usize;
    let first = FakeDropbox::start("bench_key", "bench_secret", Duration::from_millis(200)).await;
    first.set_page_size(env_num("BENCH_PAGE_SIZE", 500) as usize);
    let mut fakes = vec![first.clone()];
    while fakes.len() < accounts {
        let next = first.add_account();
        next.set_page_size(env_num("BENCH_PAGE_SIZE", 500) as usize);
        fakes.push(next);
    }
    let receiver = Receiver::start().await;
    let cluster = Cluster::start(&[
        ("HERALD_ELEMENT_DROPBOX_API_URL", first.url()),
        ("HERALD_ELEMENT_DROPBOX_AUTH_URL", first.url()),
    ])
    .await?;
    let ingest_url = format!("http://{}/elements/api-v2/events/dropbox", cluster.ingest);
    let started = Instant::now();
    while !first.try_set_webhook_url(&ingest_url).await {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "ingest did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let authorize = format!("{}/oauth2/authorize", first.url());
    for (i, account) in fakes.iter().enumerate() {
        account.sign_in();
        cluster
            .connect_instance(
                "dropbox",
                &authorize,
                "bench_secret",
                &format!("bench-{i}"),
                &receiver.url,
            )
            .await?;
    }
    let mode = if rate > 0 {
        format!("open loop at {rate}/s for {seconds} s")
    } else {
        format!("closed loop, {in_flight} in flight")
    };
    println!(
        "bench: dropbox, {n} notifications (one file change each) over {accounts} accounts, {mode}"
    );

    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(if rate > 0 {
        4096
    } else {
        in_flight
    }));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let t0 = Instant::now();
    let mut sent_at = HashMap::with_capacity(n);
    let mut notifications = Vec::with_capacity(n);
    for i in 0..n {
        if rate > 0 {
            ticker.tick().await;
        }
        let permit = limit.clone().acquire_owned().await?;
        let path = format!("/bench/file-{i:06}.txt");
        // The fake sends the notification as soon as the change is made.
        let sent = Instant::now();
        sent_at.insert(path.to_lowercase(), sent);
        let answered = fakes[i % accounts].upload_external_timed(&path);
        notifications.push(tokio::spawn(async move {
            let at = answered.await.ok().flatten();
            drop(permit);
            at.map(|at| at.saturating_duration_since(sent))
        }));
    }
    let mut answers = Vec::with_capacity(n);
    for h in notifications {
        answers.extend(h.await?);
    }
    answers.sort();
    let accepted = answers.len();
    let send_secs = t0.elapsed().as_secs_f64().max(1e-9);

    println!(
        "bench: accepted {accepted}/{n} notifications at {:.0}/s",
        accepted as f64 / send_secs
    );
    println!(
        "bench: send → ingest's 200 p50 {:?} p99 {:?}",
        percentile(&answers, 0.50),
        percentile(&answers, 0.99)
    );
    // The files the bench changed (Dropbox also reports the folder made for them).
    let arrivals = tally::collect(&receiver, t0, deadline, n, |e| {
        e["path"]
            .as_str()
            .filter(|p| p.starts_with("/bench/file-"))
            .map(str::to_string)
    })
    .await;
    let result = arrivals.report(&sent_at, t0, n);
    cluster.report();
    cluster.stop();
    result
}
