//! Delivery scaled out as Kubernetes runs it: two replicas, each its own process, on one NATS
//! and Redis. The work is shared, nothing is delivered under two ids, and a replica killed
//! with SIGKILL mid-run loses nothing. (Two poller replicas: `polling.rs`.)

use std::time::Duration;

use herald_e2e::wait::until;

use crate::helpers::*;

const CHANGES: usize = 40;

#[tokio::test]
async fn two_delivery_replicas_share_the_work_and_one_killed_loses_nothing() {
    let mut w = create_test_world().await;
    create_test_instance(&w).await;
    w.stack.stop("delivery").await;
    let a = w.stack.spawn_process("herald-delivery", &[]);
    let b = w.stack.spawn_process("herald-delivery", &[]);
    // Slow answers keep work in flight on both, so the kill lands mid-delivery (the origin's
    // in-flight bound, shared by both replicas, makes the 40 take several rounds of answers).
    w.receiver.script_hang(CHANGES, Duration::from_secs(1));
    // One change per notification (the feed is read between changes), so there are many to share.
    for n in 0..CHANGES {
        w.dropbox.upload_external(&format!("/replicas/{n}.txt"));
        wait_webhooks_drained(&w).await;
    }
    let family = "herald_delivery_attempts_total";
    until(
        "both replicas delivering",
        Duration::from_secs(30),
        || async {
            let (x, y) = (
                metric_total(&a.ops, family).await,
                metric_total(&b.ops, family).await,
            );
            (x > 0.0 && y > 0.0)
                .then_some(())
                .ok_or(format!("attempts: a {x}, b {y}"))
        },
    )
    .await;
    let at_kill = ids_by_file(&w).len();
    assert!(
        at_kill < CHANGES,
        "killed mid-run: {at_kill} of {CHANGES} delivered"
    );
    drop(a);

    let delivered = until(
        "every change delivered",
        Duration::from_secs(60),
        || async {
            let p = ids_by_file(&w);
            (p.len() >= CHANGES)
                .then_some(p.clone())
                .ok_or(format!("{} of {CHANGES}", p.len()))
        },
    )
    .await;
    drop(b);
    assert_eq!(delivered.len(), CHANGES, "exactly the changes made");
    for (path, ids) in &delivered {
        assert_eq!(ids.len(), 1, "{path} arrived under {ids:?}");
    }
}
