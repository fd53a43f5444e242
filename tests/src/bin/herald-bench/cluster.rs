//! The system under test: its own nats-server and redis-server, every service as its own
//! process (release build), a tenant made through the admin API.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_core::config::DEV_SECRET_KEY;
use herald_e2e::procs::{free_port, Nats, Redis};
use serde_json::{json, Value};

use crate::{bin_dir, cpu_seconds, peak_rss_kib, SERVICES};

const ADMIN: &str = "bench-admin-token-for-the-load-benchmark";

pub struct Cluster {
    pub _nats: Nats,
    pub _redis: Redis,
    children: Vec<(&'static str, Child)>,
    pub gateway: String,
    pub ingest: String,
    pub http: reqwest::Client,
    /// Platform auth of the bench's tenant.
    pub auth: String,
}

impl Cluster {
    /// Starts everything; `extra` settings go to every service (provider URLs…).
    pub async fn start(extra: &[(&str, String)]) -> anyhow::Result<Self> {
        let nats = Nats::start();
        let redis = Redis::start();
        let gateway = format!("127.0.0.1:{}", free_port());
        let ingest = format!("127.0.0.1:{}", free_port());
        let mut children = Vec::new();
        for name in SERVICES {
            let listen = match name {
                "herald-gateway" => gateway.clone(),
                "herald-ingest" => ingest.clone(),
                _ => format!("127.0.0.1:{}", free_port()),
            };
            let mut cmd = Command::new(bin_dir().join(name));
            cmd.env("HERALD_SECRET_KEY", DEV_SECRET_KEY)
                .env("HERALD_NATS_URL", nats.url())
                .env("HERALD_REDIS_URL", redis.url())
                .env("HERALD_ADMIN_TOKEN", ADMIN)
                .env("HERALD_ALLOW_PRIVATE_CALLBACKS", "true")
                .env("HERALD_OPS_ADDR", format!("127.0.0.1:{}", free_port()))
                .env("HERALD_LISTEN_ADDR", listen)
                .env("HERALD_PUBLIC_URL", format!("http://{ingest}"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            for (k, v) in extra {
                cmd.env(k, v);
            }
            let child = cmd.spawn().map_err(|e| {
                anyhow::anyhow!("{name}: {e} (run `cargo build --workspace --bins --release`)")
            })?;
            children.push((name, child));
        }
        let http = reqwest::Client::new();
        let api = |p: &str| format!("http://{gateway}/elements/api-v2{p}");
        let started = Instant::now();
        while http.get(api("/elements")).send().await.is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "gateway did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let org: Value = http
            .post(api("/admin/organizations"))
            .bearer_auth(ADMIN)
            .json(&json!({"name": "bench"}))
            .send()
            .await?
            .json()
            .await?;
        let user: Value = http
            .post(api(&format!("/admin/organizations/{}/users", org["id"])))
            .bearer_auth(ADMIN)
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
        Ok(Self {
            _nats: nats,
            _redis: redis,
            children,
            gateway,
            ingest,
            http,
            auth,
        })
    }

    pub fn api(&self, p: &str) -> String {
        format!("http://{}/elements/api-v2{p}", self.gateway)
    }

    /// An instance of `element` sending its events to `callback`, authorized at the provider's
    /// `authorize` endpoint for the bench's app (`bench_key`, `secret`).
    pub async fn connect_instance(
        &self,
        element: &str,
        authorize: &str,
        secret: &str,
        name: &str,
        callback: &str,
    ) -> anyhow::Result<Value> {
        const REDIRECT: &str = "https://bench.example/auth";
        let code = self
            .oauth_code(&format!(
                "{authorize}?client_id=bench_key&response_type=code&redirect_uri={REDIRECT}&state=b"
            ))
            .await?;
        self.create_instance(json!({"element": {"key": element}, "providerData": {"code": code},
            "name": name, "configuration": {"oauth.api.key": "bench_key", "oauth.api.secret": secret,
            "oauth.callback.url": REDIRECT, "event.notification.enabled": true,
            "event.notification.callback.url": callback, "event.notification.signature.key": "k"}}))
            .await
    }

    /// Follows a provider's authorize URL without following its redirect back: the code.
    async fn oauth_code(&self, authorize_url: &str) -> anyhow::Result<String> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let loc = client
            .get(authorize_url)
            .send()
            .await?
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_default();
        Ok(url::Url::parse(&loc)?
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default())
    }

    /// `POST /instances`; the instance.
    async fn create_instance(&self, body: Value) -> anyhow::Result<Value> {
        let created = self
            .http
            .post(self.api("/instances"))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await?;
        anyhow::ensure!(
            created.status() == 200,
            "instance not created: {}",
            created.text().await?
        );
        Ok(created.json().await?)
    }

    /// Peak RSS and CPU seconds of every service, the brokers and this driver (which also runs
    /// the fake provider and the receiver), so a reader sees where the cores went.
    pub fn report(&self) {
        let services = self.children.iter().map(|(name, c)| (*name, Some(c.id())));
        let others = [
            ("nats-server", self._nats.pid()),
            ("redis-server", self._redis.pid()),
            ("driver, fake provider, receiver", Some(std::process::id())),
        ];
        if std::env::var("BENCH_REDIS_STATS").is_ok() {
            let out = std::process::Command::new("redis-cli")
                .args(["-u", &self._redis.url(), "info", "commandstats"])
                .output();
            if let Ok(o) = out {
                println!("{}", String::from_utf8_lossy(&o.stdout));
            }
        }
        for (name, pid) in services.chain(others) {
            let Some(pid) = pid else { continue };
            println!(
                "bench: {name} peak RSS {} MiB, CPU {:.1} s",
                peak_rss_kib(pid) / 1024,
                cpu_seconds(pid)
            );
        }
    }

    /// Stops the services (SIGTERM, then waits).
    pub fn stop(self) {
        for (_, mut child) in self.children {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}
