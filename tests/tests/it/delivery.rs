//! Durable retries and the events API.

use std::time::Duration;

use herald_e2e::wait::until;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn a_failing_callback_is_retried_across_a_delivery_restart_until_notified() {
    let mut w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    // Fail the first attempt; stop delivery before the retry, then start a new one.
    w.receiver.script(&[503, 500]);
    w.dropbox.upload_external("/retry-me.txt");
    until("a RETRYING record", Duration::from_secs(20), || async {
        let (_, v) = get_json(&w, &format!("/instances/{id}/events")).await;
        match v.as_array() {
            Some(a) if a.len() == 1 && a[0]["status"] == "RETRYING" => Ok(()),
            _ => Err(v.to_string()),
        }
    })
    .await;
    w.stack.stop("delivery").await;
    let delivery = w.stack.start_delivery().await;
    w.stack.services.push(("delivery", delivery));
    let rec: Value = until(
        "NOTIFIED after retries",
        Duration::from_secs(20),
        || async {
            let (_, v) = get_json(&w, &format!("/instances/{id}/events")).await;
            match v.as_array() {
                Some(a) if a.len() == 1 && a[0]["status"] == "NOTIFIED" => Ok(a[0].clone()),
                _ => Err(v.to_string()),
            }
        },
    )
    .await;
    assert_eq!(rec["attempts"], 3);
    let got = w.receiver.received();
    assert_eq!(got.len(), 3);
    let ids: Vec<_> = got
        .iter()
        .map(|r| r.header("elements-webhook-id"))
        .collect();
    assert!(
        ids.iter().all(|i| i == &ids[0]),
        "the id is stable across retries"
    );
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "the body is the same"
    );
    let (_, one) = get_json(&w, &format!("/instances/events/{}", rec["id"])).await;
    let codes: Vec<Value> = one["deliveryAttempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .map(|a| a["statusCode"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![Value::from(503), Value::from(500), Value::from(200)]
    );
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_callback_that_never_succeeds_ends_failed_with_every_attempt_recorded() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.receiver.script(&[500, 500, 500, 500, 500]);
    w.dropbox.upload_external("/never.txt");
    let rec: Value = until("FAILED", Duration::from_secs(20), || async {
        let (_, v) = get_json(&w, "/instances/events?status=FAILED").await;
        match v.as_array() {
            Some(a) if a.len() == 1 => Ok(a[0].clone()),
            _ => Err(v.to_string()),
        }
    })
    .await;
    assert_eq!(rec["instanceId"], id);
    // Schedule "0.2,0.4,0.8": four attempts in all.
    assert_eq!(rec["attempts"], 4);
    assert!(rec["failureReason"]
        .as_str()
        .is_some_and(|r| r.contains("4 attempts")));
    assert_eq!(rec["nextAttempt"], Value::Null);
    let (st, _) = get_json(&w, "/instances/events?from=yesterday").await;
    assert_eq!(st, 400);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_callback_that_times_out_is_recorded_as_a_timeout_and_retried() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    // Longer than the stack's 2 s attempt timeout.
    w.receiver.script_hang(1, Duration::from_secs(4));
    w.dropbox.upload_external("/slow.txt");
    let recs = wait_for_events(&w, id, "NOTIFIED after a timeout", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    assert_eq!(recs[0]["attempts"], 2);
    let (_, one) = get_json(&w, &format!("/instances/events/{}", recs[0]["id"])).await;
    let first = &one["deliveryAttempts"][0];
    assert_eq!(first["statusCode"], Value::Null);
    assert_eq!(first["error"], "timeout");
    assert_eq!(one["deliveryAttempts"][1]["statusCode"], 200);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_is_a_failed_attempt_without_status() {
    let w = create_test_world().await;
    let closed = format!("http://127.0.0.1:{}/cb", herald_e2e::procs::free_port());
    let inst = create_test_instance_calling(&w, &closed).await;
    let id = inst["id"].as_u64().expect("id");
    w.dropbox.upload_external("/nobody-home.txt");
    let recs = wait_for_events(&w, id, "FAILED after refusals", |a| {
        a.len() == 1 && a[0]["status"] == "FAILED"
    })
    .await;
    assert_eq!(recs[0]["attempts"], 4);
    assert_eq!(recs[0]["lastAttempt"]["statusCode"], Value::Null);
    assert!(recs[0]["lastAttempt"]["error"]
        .as_str()
        .is_some_and(|e| e.starts_with("connection error")));
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_410_fails_the_item_at_once_and_turns_events_off() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.receiver.script(&[410]);
    w.dropbox.upload_external("/gone.txt");
    let recs = wait_for_events(&w, id, "FAILED on 410", |a| {
        a.len() == 1 && a[0]["status"] == "FAILED"
    })
    .await;
    assert_eq!(recs[0]["attempts"], 1, "no retry after a 410");
    assert!(recs[0]["failureReason"]
        .as_str()
        .is_some_and(|r| r.contains("410")));
    let got = until("events turned off", Duration::from_secs(10), || async {
        let (_, v) = get_json(&w, &format!("/instances/{id}")).await;
        if v["eventsEnabled"] == false {
            Ok(v)
        } else {
            Err(v.to_string())
        }
    })
    .await;
    assert_eq!(got["configuration"]["event.notification.enabled"], false);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn a_failed_item_can_be_retried_and_notifications_replayed_with_their_ids() {
    let w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.receiver.script(&[500, 500, 500, 500]);
    w.dropbox.upload_external("/retry.txt");
    let recs = wait_for_events(&w, id, "FAILED", |a| {
        a.len() == 1 && a[0]["status"] == "FAILED"
    })
    .await;
    let event_id = recs[0]["id"].as_u64().expect("event id");
    let auth = w.stack.platform_auth();
    let (st, v) = send_json(
        &w,
        reqwest::Method::POST,
        &format!("/instances/events/{event_id}/retry"),
        &auth,
        None,
    )
    .await;
    assert_eq!(st, 202, "{v}");
    let recs = wait_for_events(&w, id, "NOTIFIED after the retry", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    assert_eq!(recs[0]["attempts"], 5);
    let got = w.receiver.received();
    assert_eq!(got.len(), 5);
    assert!(got
        .iter()
        .all(|r| r.header("elements-webhook-id") == got[0].header("elements-webhook-id")));
    assert!(got.iter().all(|r| r.body == got[0].body));

    // Replay: same ids and body, marked as a replay.
    w.dropbox.upload_external("/second.txt");
    wait_for_events(&w, id, "two NOTIFIED", |a| {
        a.len() == 2 && a.iter().all(|e| e["status"] == "NOTIFIED")
    })
    .await;
    let before = w.receiver.received().len();
    let (st, v) = send_json(
        &w,
        reqwest::Method::POST,
        &format!("/instances/{id}/events/replay"),
        &auth,
        Some(json!({"from": "2000-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["replayed"], 2);
    let all = until("two replays", Duration::from_secs(10), || async {
        let got = w.receiver.received();
        if got.len() >= before + 2 {
            Ok(got)
        } else {
            Err(got.len().to_string())
        }
    })
    .await;
    let replays = &all[before..];
    assert!(replays
        .iter()
        .all(|r| r.header("elements-replay").as_deref() == Some("true")));
    assert!(all[..before]
        .iter()
        .all(|r| r.header("elements-replay").is_none()));
    let originals: Vec<_> = all[..before]
        .iter()
        .map(|r| r.header("elements-webhook-id"))
        .collect();
    assert!(replays
        .iter()
        .all(|r| originals.contains(&r.header("elements-webhook-id"))));
    let (st, _) = send_json(
        &w,
        reqwest::Method::POST,
        &format!("/instances/{id}/events/replay"),
        &auth,
        Some(json!({})),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = send_json(
        &w,
        reqwest::Method::POST,
        &format!("/instances/{id}/events/replay"),
        &auth,
        Some(json!({"from": "soon"})),
    )
    .await;
    assert_eq!(st, 400);
    let (st, _) = send_json(
        &w,
        reqwest::Method::POST,
        "/instances/events/999999/retry",
        &auth,
        None,
    )
    .await;
    assert_eq!(st, 404);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn in_flight_requests_per_origin_are_bounded_and_other_origins_go_on() {
    let w =
        create_test_world_with(&[("HERALD_DELIVERY_ORIGIN_CONCURRENCY", "2".to_string())]).await;
    // Five instances of one Dropbox account, all calling one slow receiver.
    let mut slow_ids = Vec::new();
    for _ in 0..5 {
        slow_ids.push(create_test_instance(&w).await["id"].as_u64().expect("id"));
    }
    w.receiver.script_hang(5, Duration::from_millis(1500));
    let fast = herald_e2e::receiver::Receiver::start().await;
    let fast_id = create_test_instance_calling(&w, &fast.url).await["id"]
        .as_u64()
        .expect("id");
    w.dropbox.upload_external("/busy.txt");
    // The other origin is served while the slow one is still busy.
    wait_for_events(&w, fast_id, "the fast origin NOTIFIED", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    for id in slow_ids {
        wait_for_events(&w, id, "every slow one NOTIFIED", |a| {
            a.len() == 1 && a[0]["status"] == "NOTIFIED"
        })
        .await;
    }
    assert!(
        w.receiver.max_in_flight() <= 2,
        "at most 2 at once, saw {}",
        w.receiver.max_in_flight()
    );
    assert_eq!(w.receiver.received().len(), 5);
    w.stack.shutdown().await;
}

#[tokio::test]
async fn notifications_expire_after_the_retention_period() {
    let w = create_test_world_with(&[("HERALD_EVENTS_RETENTION", "2s".to_string())]).await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.dropbox.upload_external("/short-lived.txt");
    let recs = wait_for_events(&w, id, "NOTIFIED", |a| {
        a.len() == 1 && a[0]["status"] == "NOTIFIED"
    })
    .await;
    let event_id = recs[0]["id"].as_u64().expect("id");
    until("the record expired", Duration::from_secs(15), || async {
        let (st, v) = get_json(&w, &format!("/instances/events/{event_id}")).await;
        (st == 404).then_some(()).ok_or(format!("{st} {v}"))
    })
    .await;
    let (_, list) = get_json(&w, &format!("/instances/{id}/events")).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_signature_key_that_does_not_open_is_never_sent_unsigned() {
    let mut w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    // Delivery with another HERALD_SECRET_KEY: the sealed signature key no longer opens.
    w.stack.stop("delivery").await;
    let other_key = "b3RoZXItaGVyYWxkLWtleS0zMi1ieXRlcy1sb25nISE=";
    let mut delivery = w.stack.spawn_process(
        "herald-delivery",
        &[("HERALD_SECRET_KEY", other_key.to_string())],
    );
    w.dropbox.upload_external("/never-unsigned.txt");
    let recs = wait_for_events(&w, id, "a refused attempt", |a| {
        a.len() == 1 && a[0]["attempts"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let _ = delivery.kill();
    let _ = delivery.wait();
    let error = recs[0]["lastAttempt"]["error"].as_str().unwrap_or_default();
    assert!(error.contains("signature key"), "{}", recs[0]);
    assert!(w.receiver.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn event_ids_never_repeat_after_redis_loses_recent_writes() {
    use herald_core::ids::{next_ids, IdKind};
    let redis = herald_e2e::procs::Redis::start();
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("redis");
    let keys = herald_core::keys::Keys::new("ids");
    let first = next_ids(&mut conn, &keys, IdKind::Event, 10)
        .await
        .expect("ids");
    let last = first + 9;
    // Redis comes back without the last writes: the counter is where it was before them.
    let _: () = redis::cmd("SET")
        .arg(keys.seq("event"))
        .arg(first - 1)
        .query_async(&mut conn)
        .await
        .expect("rollback");
    // A millisecond later the floor is past every id given out.
    until("the clock moves on", Duration::from_secs(2), || async {
        let now = herald_core::time::now_ms() as u64;
        (now * 1000 > last).then_some(()).ok_or(now.to_string())
    })
    .await;
    let again = next_ids(&mut conn, &keys, IdKind::Event, 1)
        .await
        .expect("id");
    assert!(again > last, "{again} after {last}");
}

/// A sealed value is bound to its instance and field: copied into another instance's record
/// (a Redis write by someone who cannot decrypt), it does not open there — the attempt fails and
/// nothing is sent unsigned or signed with the other tenant's key.
#[tokio::test]
async fn a_sealed_signature_key_copied_to_another_instance_does_not_open() {
    let w = create_test_world().await;
    let first = create_test_instance(&w).await;
    let code = create_test_code(&w).await;
    let mut body = dropbox_instance_body(&code, &w.receiver.url);
    body["configuration"]["event.notification.signature.key"] = json!("the-second-tenants-key");
    let (st, second) = w
        .stack
        .call(reqwest::Method::POST, "/instances", Some(body))
        .await;
    assert_eq!(st, 200, "{second}");
    let (a, b) = (
        first["id"].as_u64().expect("id"),
        second["id"].as_u64().expect("id"),
    );
    let entry = "event.notification.signature.key";
    let sealed = stored_instance(&w, a).await["configuration"][entry].clone();
    assert!(sealed.as_str().is_some_and(|s| s.starts_with("enc:v3:")));
    let mut rec = stored_instance(&w, b).await;
    rec["configuration"][entry] = sealed;
    let mut conn = redis_conn(&w).await;
    let _: () = redis::cmd("SET")
        .arg(herald_core::keys::Keys::new(&w.stack.prefix).instance(b))
        .arg(rec.to_string())
        .query_async(&mut conn)
        .await
        .expect("overwrite");

    w.dropbox.upload_external("/bound.txt");
    wait_for_events(&w, a, "the first instance's event delivered", |e| {
        e.len() == 1 && e[0]["status"] == "NOTIFIED"
    })
    .await;
    let refused = wait_for_events(&w, b, "the second instance's attempt refused", |e| {
        e.len() == 1 && e[0]["attempts"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    let error = refused[0]["lastAttempt"]["error"]
        .as_str()
        .unwrap_or_default();
    assert!(error.contains("signature key"), "{}", refused[0]);
    let got = w.receiver.received();
    assert_eq!(
        got.len(),
        1,
        "only the first instance's notification went out"
    );
    assert_eq!(
        got[0].header("elements-webhook-signature"),
        Some(herald_core::signing::elements_signature(
            SIGNATURE_KEY.as_bytes(),
            &got[0].body
        ))
    );
}

/// The instance's signature key as stored (sealed).
async fn sealed_signature_key(w: &World, id: u64) -> String {
    stored_instance(w, id).await["configuration"]["event.notification.signature.key"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Rotation, as the README tells an operator: every process gets the new `HERALD_SECRET_KEY`
/// and the old one as `HERALD_SECRET_KEY_PREVIOUS`; values sealed before still open (and sign),
/// provisioning re-seals them under the new key, after which the old key can go.
#[tokio::test]
async fn a_key_rotation_reads_with_either_key_then_reseals_under_the_new_one() {
    let mut w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    let before = sealed_signature_key(&w, id).await;
    let new_key = "bmV3LWhlcmFsZC1rZXktMzItYnl0ZXMtbG9uZyEhISE=".to_string();
    let both = [
        ("HERALD_SECRET_KEY", new_key.clone()),
        (
            "HERALD_SECRET_KEY_PREVIOUS",
            herald_core::config::DEV_SECRET_KEY.to_string(),
        ),
    ];
    // Every process that opens secrets: ingest (provider tokens), provisioning, delivery.
    w.stack.stop("ingest").await;
    w.stack.stop("delivery").await;
    w.stack.stop("provisioning").await;
    let at_ingest = ("HERALD_LISTEN_ADDR", w.stack.ingest.to_string());
    let with = |keys: &[(&'static str, String)], extra: Option<(&'static str, String)>| {
        keys.iter().cloned().chain(extra).collect::<Vec<_>>()
    };
    let mut ingest = w
        .stack
        .spawn_process("herald-ingest", &with(&both, Some(at_ingest.clone())));
    let mut delivery = w.stack.spawn_process("herald-delivery", &both);
    let signed = |r: &herald_e2e::receiver::Received| {
        r.header("elements-webhook-signature")
            == Some(herald_core::signing::elements_signature(
                SIGNATURE_KEY.as_bytes(),
                &r.body,
            ))
    };
    w.dropbox.upload_external("/rotated.txt");
    wait_for_events(&w, id, "delivered during the rotation", |e| {
        e.len() == 1 && e[0]["status"] == "NOTIFIED"
    })
    .await;
    assert!(signed(&w.receiver.received()[0]));

    // Provisioning re-seals what the old key sealed.
    let mut provisioning = w.stack.spawn_process("herald-provisioning", &both);
    until(
        "the signature key re-sealed",
        Duration::from_secs(20),
        || async {
            let now = sealed_signature_key(&w, id).await;
            (now != before && now.starts_with("enc:v3:"))
                .then_some(())
                .ok_or(now)
        },
    )
    .await;
    // The old key can go: with the new key alone, events are still found and signed.
    for p in [&mut delivery, &mut ingest] {
        let _ = p.kill();
        let _ = p.wait();
    }
    let only_new = [("HERALD_SECRET_KEY", new_key)];
    let mut ingest = w
        .stack
        .spawn_process("herald-ingest", &with(&only_new, Some(at_ingest)));
    let mut delivery = w.stack.spawn_process("herald-delivery", &only_new);
    w.dropbox.upload_external("/after-rotation.txt");
    wait_for_events(&w, id, "delivered after the rotation", |e| {
        e.len() == 2 && e.iter().all(|x| x["status"] == "NOTIFIED")
    })
    .await;
    for p in [&mut delivery, &mut provisioning, &mut ingest] {
        let _ = p.kill();
        let _ = p.wait();
    }
    let got = w.receiver.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(signed), "both signed with the tenant's key");
}

/// The EVENTS message names the callback's origin when published, and delivery asks that
/// origin's gate while it reads the record. If the callback moved meanwhile, the notification
/// goes to the new one and the slot taken at the old origin is handed back, not leaked.
#[tokio::test]
async fn a_callback_moved_after_publishing_is_called_and_the_old_origins_slot_freed() {
    use herald_e2e::receiver::Receiver;
    let mut w = create_test_world().await;
    let inst = create_test_instance(&w).await;
    let id = inst["id"].as_u64().expect("id");
    w.stack.stop("delivery").await;
    w.dropbox.upload_external("/moved.txt");
    wait_webhooks_drained(&w).await;
    let moved = Receiver::start().await;
    let (st, v) = w
        .stack
        .call(
            reqwest::Method::PATCH,
            &format!("/instances/{id}"),
            Some(json!({"configuration": {"event.notification.callback.url": moved.url}})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let delivery = w.stack.start_delivery().await;
    wait_for_events(&w, id, "delivered to the new callback", |e| {
        e.len() == 1 && e[0]["status"] == "NOTIFIED"
    })
    .await;
    delivery.shutdown().await;
    assert_eq!(moved.received().len(), 1);
    assert!(w.receiver.received().is_empty());
    let origin = herald_core::callback_url::origin_of(&w.receiver.url);
    let mut conn = redis_conn(&w).await;
    let out: i64 = redis::cmd("ZCARD")
        .arg(herald_core::keys::Keys::new(&w.stack.prefix).breaker_inflight(&origin))
        .query_async(&mut conn)
        .await
        .expect("zcard");
    assert_eq!(out, 0, "no slot left taken at the old origin");
}

/// Waking held notifications (a breaker closing) moves only those that wait: one a pump worker
/// has claimed and is attempting keeps its claim, so it is never attempted twice at once.
#[tokio::test]
async fn waking_the_schedule_leaves_claimed_notifications_to_their_handler() {
    use herald_core::store::retries;
    let redis = herald_e2e::procs::Redis::start();
    let client = redis::Client::open(redis.url()).expect("client");
    let mut conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("redis");
    let keys = herald_core::keys::Keys::new("wake");
    let now = herald_core::time::now_ms();
    retries::schedule(&mut conn, &keys, 1, now - 1)
        .await
        .expect("a");
    retries::schedule(&mut conn, &keys, 2, now + 60_000)
        .await
        .expect("b");
    let claimed = retries::claim_due(&mut conn, &keys, now, 30_000, 10)
        .await
        .expect("claim");
    assert_eq!(claimed, [1]);
    retries::wake(&mut conn, &keys, &[1, 2], now)
        .await
        .expect("wake");
    let reader = conn.clone();
    let score = |id: u64| {
        let mut conn = reader.clone();
        let key = keys.retries();
        async move {
            redis::cmd("ZSCORE")
                .arg(key)
                .arg(id)
                .query_async::<Option<f64>>(&mut conn)
                .await
                .expect("zscore")
                .map(|s| s as i64)
        }
    };
    assert_eq!(
        score(1).await,
        Some(now + 30_000),
        "the claimed one keeps its lease"
    );
    assert_eq!(score(2).await, Some(now), "the waiting one is due now");
    // Its handler done (rescheduled), it can be woken again.
    retries::schedule(&mut conn, &keys, 1, now + 60_000)
        .await
        .expect("again");
    retries::wake(&mut conn, &keys, &[1], now)
        .await
        .expect("wake");
    assert_eq!(score(1).await, Some(now));
}
