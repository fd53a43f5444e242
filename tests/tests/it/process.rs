//! The real binaries: configuration errors and SIGTERM.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use herald_core::config::DEV_SECRET_KEY;
use herald_e2e::procs::{free_port, Nats, Redis};
use herald_e2e::wait::until;

const BINARIES: [&str; 5] = [
    "herald-gateway",
    "herald-ingest",
    "herald-provisioning",
    "herald-poller",
    "herald-delivery",
];

/// A service binary next to this test's own (built by `make test` first).
fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|p| p.parent()).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build --workspace --bins` (make test does)",
        path.display()
    );
    path
}

#[test]
fn a_bad_setting_stops_each_binary_naming_the_variable() {
    for name in BINARIES {
        let out = Command::new(binary(name))
            .env_clear()
            .env("HERALD_SECRET_KEY", DEV_SECRET_KEY)
            .env("HERALD_OPS_ADDR", "not-an-address")
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("HERALD_OPS_ADDR"), "{name}: {stderr}");
    }
    let out = Command::new(binary("herald-delivery"))
        .env_clear()
        .env("HERALD_SECRET_KEY", DEV_SECRET_KEY)
        .env("HERALD_DELIVERY_SCHEDULE", "4,sixteen")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HERALD_DELIVERY_SCHEDULE"));
    let out = Command::new(binary("herald-gateway"))
        .env_clear()
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HERALD_SECRET_KEY"));
}

#[tokio::test]
async fn sigterm_stops_each_binary_with_exit_code_zero_even_with_its_log_pipe_closed() {
    let nats = Nats::start();
    let redis = Redis::start();
    let http = reqwest::Client::new();
    for name in BINARIES {
        let ops = free_port();
        let mut child = Command::new(binary(name))
            .env_clear()
            .env("HERALD_SECRET_KEY", DEV_SECRET_KEY)
            .env("HERALD_NATS_URL", nats.url())
            .env("HERALD_REDIS_URL", redis.url())
            .env("HERALD_PREFIX", format!("proc{}", ops))
            .env("HERALD_OPS_ADDR", format!("127.0.0.1:{ops}"))
            .env("HERALD_LISTEN_ADDR", format!("127.0.0.1:{}", free_port()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Nobody reads its logs any more (as when a log shipper dies): it must still stop.
        drop(child.stdout.take());
        drop(child.stderr.take());
        until(
            &format!("{name} ready"),
            Duration::from_secs(20),
            || async {
                match http
                    .get(format!("http://127.0.0.1:{ops}/readyz"))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => Ok(()),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
        let pid = child.id().to_string();
        let killed = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = until(&format!("{name} to exit"), Duration::from_secs(30), || {
            let r = child
                .try_wait()
                .map_err(|e| e.to_string())
                .and_then(|s| s.ok_or_else(|| "running".to_string()));
            async move { r }
        })
        .await;
        assert!(status.success(), "{name} exited with {status}");
    }
}
