//! The whole system in one test process: its own brokers, a unique prefix, all five services,
//! and a tenant (organization + user) created through the admin API.

use std::net::SocketAddr;

use herald_core::config::{Env, DEV_SECRET_KEY};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::procs::{Nats, Redis};

pub const ADMIN_TOKEN: &str = "test-admin-token-for-the-e2e-suite-0001";

/// A service binary running as its own process; killed when dropped, so a test that fails
/// half-way leaves nothing running behind it.
pub struct Process {
    child: std::process::Child,
    /// Its ops address (`/healthz`, `/readyz`, `/metrics`).
    pub ops: String,
}

impl std::ops::Deref for Process {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.child
    }
}

impl std::ops::DerefMut for Process {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.child
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running service and how to stop it.
pub struct Running {
    pub stop: CancellationToken,
    pub handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.handle.await;
    }
}

pub struct Stack {
    pub nats: Nats,
    pub redis: Redis,
    pub env: Env,
    pub prefix: String,
    pub gateway: SocketAddr,
    pub ingest: SocketAddr,
    pub services: Vec<(&'static str, Running)>,
    /// Ops listeners by service name.
    pub ops: Vec<(&'static str, SocketAddr)>,
    pub user_secret: String,
    pub org_secret: String,
    pub http: reqwest::Client,
}

fn spawn<F>(fut: F) -> Running
where
    F: FnOnce(CancellationToken) -> tokio::task::JoinHandle<anyhow::Result<()>>,
{
    let stop = CancellationToken::new();
    let handle = fut(stop.clone());
    Running { stop, handle }
}

impl Stack {
    /// Starts brokers and services; `extra` env entries override the defaults (e.g. provider URLs).
    pub async fn start(extra: &[(&str, String)]) -> Self {
        // Every test's services log (JSON, default level) into one buffer tests can inspect.
        crate::logs::capture();
        let nats = Nats::start();
        let redis = Redis::start();
        let prefix = format!(
            "t{}",
            &herald_core::crypto::random_secret()[..8].replace(['-', '_'], "x")
        );
        let mut env = Env::from_pairs([
            ("HERALD_NATS_URL", nats.url()),
            ("HERALD_REDIS_URL", redis.url()),
            ("HERALD_PREFIX", prefix.clone()),
            ("HERALD_SECRET_KEY", DEV_SECRET_KEY.to_string()),
            ("HERALD_ADMIN_TOKEN", ADMIN_TOKEN.to_string()),
            ("HERALD_OPS_ADDR", "127.0.0.1:0".to_string()),
            ("HERALD_LISTEN_ADDR", "127.0.0.1:0".to_string()),
            ("HERALD_ALLOW_PRIVATE_CALLBACKS", "true".to_string()),
            ("HERALD_DELIVERY_SCHEDULE", "0.2,0.4,0.8".to_string()),
            ("HERALD_DELIVERY_TIMEOUT_MS", "2000".to_string()),
            ("HERALD_SHUTDOWN_GRACE_MS", "3000".to_string()),
        ]);
        // Ingest's port is chosen first so the public URL (webhook addresses Herald registers,
        // the URL HubSpot signs) names it.
        let ingest_port = crate::procs::free_port();
        env.set(
            "HERALD_PUBLIC_URL",
            format!("http://127.0.0.1:{ingest_port}"),
        );
        for (k, v) in extra {
            env.set(k, v.clone());
        }
        let mut ingest_env = env.clone();
        ingest_env.set("HERALD_LISTEN_ADDR", format!("127.0.0.1:{ingest_port}"));
        let gw = herald_gateway::App::build(
            herald_gateway::Config::from_env(&env).expect("gateway config"),
        )
        .await
        .expect("gateway");
        let gateway = gw.local_addr().expect("gateway addr");
        let ing = herald_ingest::App::build(
            herald_ingest::Config::from_env(&ingest_env).expect("ingest config"),
        )
        .await
        .expect("ingest");
        let ingest = ing.local_addr().expect("ingest addr");
        let prov = herald_provisioning::App::build(
            herald_provisioning::Config::from_env(&env).expect("config"),
        )
        .await
        .expect("provisioning");
        let poll =
            herald_poller::App::build(herald_poller::Config::from_env(&env).expect("config"))
                .await
                .expect("poller");
        let ops = vec![
            ("gateway", gw.ops_addr().expect("ops")),
            ("ingest", ing.ops_addr().expect("ops")),
            ("provisioning", prov.ops_addr().expect("ops")),
            ("poller", poll.ops_addr().expect("ops")),
        ];
        let mut services = vec![
            ("gateway", spawn(|s| tokio::spawn(gw.run(s)))),
            ("ingest", spawn(|s| tokio::spawn(ing.run(s)))),
            ("provisioning", spawn(|s| tokio::spawn(prov.run(s)))),
            ("poller", spawn(|s| tokio::spawn(poll.run(s)))),
        ];
        let mut stack = Self {
            nats,
            redis,
            env,
            prefix,
            gateway,
            ingest,
            services: Vec::new(),
            ops,
            user_secret: String::new(),
            org_secret: String::new(),
            http: reqwest::Client::new(),
        };
        services.push(("delivery", stack.start_delivery().await));
        stack.services = services;
        for (name, _) in stack.ops.clone() {
            let what = format!("{name} ready");
            crate::wait::until(&what, std::time::Duration::from_secs(20), || async {
                match stack.ops_status(name, "/readyz").await {
                    200 => Ok(()),
                    s => Err(s.to_string()),
                }
            })
            .await;
        }
        let (org, user) = stack.create_tenant("Acme", "dev@acme.test").await;
        stack.org_secret = org;
        stack.user_secret = user;
        stack
    }

    /// Starts with elements pointed at fakes (`("BOX", url)`: both `HERALD_ELEMENT_BOX_*_URL`),
    /// plus `extra` settings.
    pub async fn start_with_providers(
        providers: &[(&str, String)],
        extra: &[(&str, String)],
    ) -> Self {
        let vars: Vec<(String, String)> = providers
            .iter()
            .flat_map(|(key, url)| {
                ["API", "AUTH"]
                    .map(|kind| (format!("HERALD_ELEMENT_{key}_{kind}_URL"), url.clone()))
            })
            .collect();
        let mut env: Vec<(&str, String)> =
            vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        env.extend(extra.iter().cloned());
        Self::start(&env).await
    }

    pub async fn start_delivery(&mut self) -> Running {
        let app = herald_delivery::App::build(
            herald_delivery::Config::from_env(&self.env).expect("delivery config"),
        )
        .await
        .expect("delivery");
        self.ops.retain(|(n, _)| *n != "delivery");
        self.ops.push(("delivery", app.ops_addr().expect("ops")));
        spawn(|s| tokio::spawn(app.run(s)))
    }

    /// `GET <ops>/<path>` of a service; the status code (0 when it does not answer).
    pub async fn ops_status(&self, service: &str, path: &str) -> u16 {
        let Some(addr) = self.ops_addr(service) else {
            return 0;
        };
        self.http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// The ops address (`/healthz`, `/readyz`, `/metrics`) of one of the stack's own services.
    pub fn ops_addr(&self, service: &str) -> Option<String> {
        self.ops
            .iter()
            .find(|(n, _)| *n == service)
            .map(|(_, a)| a.to_string())
    }

    /// Runs a service binary as its own OS process with this stack's settings (plus `extra`).
    pub fn spawn_process(&self, binary: &str, extra: &[(&str, String)]) -> Process {
        let exe = std::env::current_exe().expect("test exe");
        let dir = exe
            .parent()
            .and_then(|p| p.parent())
            .expect("target dir")
            .to_path_buf();
        let mut cmd = std::process::Command::new(dir.join(binary));
        cmd.env_clear();
        for (k, v) in self.env.vars() {
            cmd.env(k, v);
        }
        let ops = extra
            .iter()
            .find(|(k, _)| *k == "HERALD_OPS_ADDR")
            .map_or_else(
                || format!("127.0.0.1:{}", crate::procs::free_port()),
                |(_, v)| v.clone(),
            );
        cmd.env("HERALD_OPS_ADDR", &ops);
        cmd.env(
            "HERALD_LISTEN_ADDR",
            format!("127.0.0.1:{}", crate::procs::free_port()),
        );
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(|child| Process { child, ops })
            .unwrap_or_else(|e| panic!("{binary} (run `cargo build --workspace --bins`): {e}"))
    }

    /// True while every service task is still running.
    pub fn all_running(&self) -> bool {
        self.services.iter().all(|(_, r)| !r.handle.is_finished())
    }

    /// Stops one service (graceful) and returns it out of the list.
    pub async fn stop(&mut self, name: &str) {
        if let Some(pos) = self.services.iter().position(|(n, _)| *n == name) {
            let (_, r) = self.services.remove(pos);
            r.shutdown().await;
        }
    }

    pub fn api(&self, path: &str) -> String {
        format!("http://{}/elements/api-v2{path}", self.gateway)
    }

    pub fn ingest_url(&self, element: &str) -> String {
        format!("http://{}/elements/api-v2/events/{element}", self.ingest)
    }

    pub fn platform_auth(&self) -> String {
        format!(
            "User {}, Organization {}",
            self.user_secret, self.org_secret
        )
    }

    /// An API call with `auth` and an optional JSON body: (status, JSON answer or null).
    pub async fn call_as(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.api(path))
            .header("Authorization", auth);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// An API call as the stack's tenant user.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_as(method, path, &self.platform_auth(), body)
            .await
    }

    /// Follows an element's OAuth URL (`GET /elements/{key}/oauth/url`) at its provider without
    /// following the provider's redirect back: the query of that redirect (`code`, `state`,
    /// QuickBooks' `realmId`, or `error`).
    pub async fn oauth_redirect(
        &self,
        element: &str,
        api_key: &str,
        api_secret: &str,
        callback: &str,
    ) -> std::collections::HashMap<String, String> {
        let (st, v) = self
            .call(
                reqwest::Method::GET,
                &format!("/elements/{element}/oauth/url?apiKey={api_key}&apiSecret={api_secret}&callbackUrl={callback}&state={element}"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let resp = client
            .get(v["oauthUrl"].as_str().expect("oauthUrl"))
            .send()
            .await
            .expect("authorize");
        assert_eq!(resp.status(), 302, "{element} authorize");
        let location = resp.headers()["location"].to_str().expect("location");
        url::Url::parse(location)
            .expect("redirect URL")
            .query_pairs()
            .into_owned()
            .collect()
    }

    /// Waits until the normalizer consumed every stored provider delivery (WEBHOOKS is a work
    /// queue: empty once all are acked).
    pub async fn wait_webhooks_drained(&self) {
        let js =
            async_nats::jetstream::new(async_nats::connect(self.nats.url()).await.expect("nats"));
        let name = herald_core::bus::Topology::new(&self.prefix)
            .stream_name(herald_core::bus::StreamKind::Webhooks);
        crate::wait::until(
            "the webhooks queue drained",
            std::time::Duration::from_secs(20),
            || async {
                let mut s = js.get_stream(&name).await.map_err(|e| e.to_string())?;
                let info = s.info().await.map_err(|e| e.to_string())?;
                if info.state.messages == 0 {
                    Ok(())
                } else {
                    Err(format!("{} queued", info.state.messages))
                }
            },
        )
        .await;
    }

    /// Creates an organization and a user through the admin API; returns (org secret, user secret).
    pub async fn create_tenant(&self, org: &str, email: &str) -> (String, String) {
        let o: Value = self
            .http
            .post(self.api("/admin/organizations"))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"name": org}))
            .send()
            .await
            .expect("create org")
            .json()
            .await
            .expect("org json");
        let u: Value = self
            .http
            .post(self.api(&format!("/admin/organizations/{}/users", o["id"])))
            .bearer_auth(ADMIN_TOKEN)
            .json(&json!({"email": email, "firstName": "Dev", "lastName": "User"}))
            .send()
            .await
            .expect("create user")
            .json()
            .await
            .expect("user json");
        (
            o["secret"].as_str().expect("org secret").to_string(),
            u["secret"].as_str().expect("user secret").to_string(),
        )
    }

    pub async fn shutdown(mut self) {
        for (_, r) in self.services.drain(..) {
            r.shutdown().await;
        }
    }
}
