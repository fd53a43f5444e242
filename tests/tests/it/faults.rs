//! Brokers going away: nothing exits, readiness says so, and accepted work is delivered after.

use std::time::Duration;

use herald_e2e::wait::until;

use crate::helpers::*;

const SERVICES: [&str; 5] = ["gateway", "ingest", "provisioning", "poller", "delivery"];

async fn all_ready(w: &World, want: u16) -> Result<(), String> {
    let mut seen = Vec::new();
    for s in SERVICES {
        let st = w.stack.ops_status(s, "/readyz").await;
        if st != want {
            seen.push(format!("{s}={st}"));
        }
    }
    if seen.is_empty() {
        Ok(())
    } else {
        Err(seen.join(" "))
    }
}

#[tokio::test]
async fn a_nats_restart_loses_nothing_and_stops_no_service() {
    let mut w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.stack.nats.kill();
    until("every /readyz 503", Duration::from_secs(15), || {
        all_ready(&w, 503)
    })
    .await;
    // Dropbox notifies while NATS is down: ingest cannot store it and says 503.
    w.dropbox.upload_external("/during-outage.txt");
    until("a 503 to Dropbox", Duration::from_secs(15), || async {
        let a = w.dropbox.webhook_attempts();
        if a.contains(&503) {
            Ok(())
        } else {
            Err(format!("{a:?}"))
        }
    })
    .await;
    assert!(w.stack.all_running(), "no service exits while NATS is away");
    w.stack.nats.restart();
    until("every /readyz 200", Duration::from_secs(15), || {
        all_ready(&w, 200)
    })
    .await;
    // Dropbox's retry is stored now, and the change reaches the callback.
    let recs = wait_for_events(&w, id, "the outage's change NOTIFIED", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    assert_eq!(recs.len(), 1);
    let got = w.receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].json()["response"]["events"][0]["path"],
        "/during-outage.txt"
    );
    assert!(w.stack.all_running());
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_redis_restart_keeps_instances_and_stops_no_service() {
    let mut w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.stack.redis.kill();
    until("every /readyz 503", Duration::from_secs(15), || {
        all_ready(&w, 503)
    })
    .await;
    let (st, _) = get_json(&w, "/instances").await;
    assert_eq!(
        st, 503,
        "the API says to try again, it does not fail with 500"
    );
    assert!(
        w.stack.all_running(),
        "no service exits while Redis is away"
    );
    w.stack.redis.restart();
    until("every /readyz 200", Duration::from_secs(15), || {
        all_ready(&w, 200)
    })
    .await;
    w.dropbox.upload_external("/after-restart.txt");
    let recs = wait_for_events(&w, id, "NOTIFIED after the restart", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    assert_eq!(recs[0]["instanceId"], id);
    w.stack.shutdown().await;
}

/// A burst of changes while ingest (its own process) is killed with SIGKILL and started again:
/// every change arrives, none under two ids. Dropbox retries what the dead process refused,
/// and what it had accepted is in JetStream already.
#[tokio::test]
async fn a_burst_through_an_ingest_killed_mid_way_loses_nothing() {
    const CHANGES: usize = 300;
    let mut w = create_test_world().await;
    create_test_instance(&w).await;
    w.stack.stop("ingest").await;
    let at = [("HERALD_LISTEN_ADDR", w.stack.ingest.to_string())];
    let mut ingest = w.stack.spawn_process("herald-ingest", &at);
    for n in 0..CHANGES / 2 {
        w.dropbox.upload_external(&format!("/burst/{n}.txt"));
    }
    until(
        "some of the burst delivered",
        Duration::from_secs(30),
        || async {
            let n = w.receiver.received().len();
            (n > 0).then_some(()).ok_or("nothing yet".to_string())
        },
    )
    .await;
    let _ = ingest.kill();
    let _ = ingest.wait();
    for n in CHANGES / 2..CHANGES {
        w.dropbox.upload_external(&format!("/burst/{n}.txt"));
    }
    let _ingest = w.stack.spawn_process("herald-ingest", &at);
    until(
        "every change delivered",
        Duration::from_secs(60),
        || async {
            let n = ids_by_file(&w).len();
            (n >= CHANGES)
                .then_some(())
                .ok_or(format!("{n} of {CHANGES}"))
        },
    )
    .await;
    let got = ids_by_file(&w);
    assert_eq!(got.len(), CHANGES);
    for (path, ids) in got {
        assert_eq!(ids.len(), 1, "{path} under {ids:?}");
    }
}
