//! herald-gateway: the public REST API (`/elements/api-v2/...`).
//!
//! - [`routes`]: the one list of operations (handler + description), one module per resource.
//! - [`openapi`]: `/openapi.json`, built from that list.
//! - [`console`]: the web console at `/console`, static assets embedded in the binary.
//! - [`auth`]: the `Authorization` header forms and the extractors that check them.
//! - [`provider`]: provider calls with a live token (refresh before expiry and on 401).
//! - [`async_requests`]: hub calls with `Elements-Async-Request: true` queued on JOBS.
//! - [`jobs`]: the JOBS worker that runs them and turns each answer into a notification.
//! - [`lenient_json`]: instance bodies as the seed documents write them.
//! - [`error`]: the one error type, status and stable code per variant.
//! - [`state`]: what handlers share.
//!
//! Instance writes go to provisioning over NATS request/reply; reads come from Redis.

pub mod async_requests;
pub mod auth;
#[cfg(test)]
mod compat_table;
pub mod console;
pub mod error;
pub mod jobs;
pub mod lenient_json;
pub mod openapi;
pub mod provider;
pub mod routes;
pub mod state;

use std::net::SocketAddr;
use std::time::Duration;

use herald_core::brokers::Brokers;
use herald_core::config::{CommonConfig, ConfigError, Env};
use herald_core::metrics::Metrics;
use herald_core::ops::OpsServer;
use herald_core::process::supervise;
use herald_core::rate_limit::RateLimiter;
use herald_elements::urls::ElementUrls;
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::AppState;

/// Gateway settings.
#[derive(Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// `HERALD_LISTEN_ADDR`: the public API listener.
    pub listen_addr: SocketAddr,
    /// `HERALD_ADMIN_TOKEN`: bearer token of the admin API, at least [`MIN_ADMIN_TOKEN`] bytes
    /// (unset: the admin API refuses all).
    pub admin_token: Option<SecretString>,
    pub urls: ElementUrls,
    /// `HERALD_PROVIDER_TIMEOUT_MS`: one call to a provider, connect to last byte.
    pub provider_timeout: Duration,
    /// `HERALD_RPC_TIMEOUT_MS`: how long a provisioning request may take.
    pub rpc_timeout: Duration,
    /// `HERALD_REQUEST_TIMEOUT_MS`: the longest any API request may take (then 408).
    pub request_timeout: Duration,
    /// `HERALD_PUBLIC_URL`: where providers reach ingest (addresses of webhooks Herald creates).
    pub public_url: String,
    /// `HERALD_ALLOW_PRIVATE_CALLBACKS`: accept a private `Elements-Async-Callback-Url`.
    pub allow_private_callbacks: bool,
    /// `HERALD_GATEWAY_JOBS_ENABLED`: run the async requests worker here (default true).
    pub jobs_enabled: bool,
    /// `HERALD_RATE_LIMIT_IP` (requests/s per client IP, default 2000; 0 = none) and
    /// `HERALD_RATE_LIMIT_TENANT` (per tenant user, default 1000; 0 = none): over it, 429.
    pub rate_limits: herald_core::rate_limit::Limits,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env, "127.0.0.1:9180")?,
            listen_addr: env.addr("HERALD_LISTEN_ADDR", "127.0.0.1:8080")?,
            admin_token: admin_token(env)?,
            urls: ElementUrls::from_env(env)?,
            provider_timeout: env.millis("HERALD_PROVIDER_TIMEOUT_MS", 30_000)?,
            rpc_timeout: env.millis("HERALD_RPC_TIMEOUT_MS", 45_000)?,
            request_timeout: env.millis("HERALD_REQUEST_TIMEOUT_MS", 60_000)?,
            public_url: herald_core::config::public_url(env)?,
            allow_private_callbacks: env.bool("HERALD_ALLOW_PRIVATE_CALLBACKS", false)?,
            jobs_enabled: env.bool("HERALD_GATEWAY_JOBS_ENABLED", true)?,
            rate_limits: herald_core::rate_limit::Limits {
                per_ip: RateLimiter::new(env.parse("HERALD_RATE_LIMIT_IP", 2000)?),
                per_tenant: RateLimiter::new(env.parse("HERALD_RATE_LIMIT_TENANT", 1000)?),
            },
        })
    }
}

/// The shortest admin token accepted: it guards organization and user creation, so it must not
/// be guessable.
pub const MIN_ADMIN_TOKEN: usize = 32;

fn admin_token(env: &Env) -> Result<Option<SecretString>, ConfigError> {
    match env.get("HERALD_ADMIN_TOKEN") {
        None => Ok(None),
        Some(t) if t.len() < MIN_ADMIN_TOKEN => Err(ConfigError::new(
            "HERALD_ADMIN_TOKEN",
            format!(
                "must be at least {MIN_ADMIN_TOKEN} bytes (e.g. `openssl rand -hex 32`), got {}",
                t.len()
            ),
        )),
        Some(t) => Ok(Some(SecretString::from(t.to_string()))),
    }
}

/// A built gateway, listeners bound.
pub struct App {
    listener: TcpListener,
    ops: OpsServer,
    router: axum::Router,
    /// What the async requests worker needs, when it runs in this process.
    jobs: Option<(AppState, axum::Router)>,
    grace: Duration,
    server_limits: herald_core::http_server::ServerLimits,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let c = &config.common;
        let brokers = Brokers::for_service(c, "herald-gateway").await?;
        let metrics = Metrics::new();
        let state = AppState {
            brokers: brokers.clone(),
            secret_box: c.secret_box.clone(),
            urls: config.urls.clone(),
            http: herald_elements::http::Http::new(config.provider_timeout, &config.urls)?,
            admin_token: config.admin_token.clone(),
            metrics: metrics.clone(),
            rpc_timeout: config.rpc_timeout,
            public_url: config.public_url.clone(),
            allow_private_callbacks: config.allow_private_callbacks,
            rate_limits: config.rate_limits.clone(),
        };
        let listener = TcpListener::bind(config.listen_addr).await?;
        let ops = OpsServer::bind_watching(
            c.ops_addr,
            brokers,
            metrics,
            &[(
                herald_core::bus::StreamKind::Jobs,
                herald_core::bus::consumers::JOBS,
            )],
        )
        .await?;
        let router = routes::router(state.clone(), config.request_timeout);
        Ok(Self {
            listener,
            ops,
            jobs: config.jobs_enabled.then(|| (state, router.clone())),
            router,
            grace: c.shutdown_grace,
            server_limits: c.server_limits,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub fn ops_addr(&self) -> std::io::Result<SocketAddr> {
        self.ops.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr()?, ops = %self.ops_addr()?, "gateway listening");
        let api = {
            let shutdown = shutdown.clone();
            let grace = self.grace;
            let limits = self.server_limits;
            // In-flight requests get the grace period, then the process moves on.
            tokio::spawn(async move {
                herald_core::http_server::serve(
                    self.listener,
                    self.router,
                    limits,
                    shutdown,
                    grace,
                )
                .await;
                Ok(())
            })
        };
        let ops = self.ops.spawn(shutdown.clone());
        let mut tasks = vec![("api", api), ("ops", ops)];
        if let Some((state, router)) = self.jobs {
            tasks.push((
                "jobs",
                tokio::spawn(jobs::run(state, router, shutdown.clone(), self.grace)),
            ));
        }
        supervise(shutdown, tasks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_admin_token_stops_the_gateway_at_start() {
        let with = |token: &str| Env::from_pairs([("HERALD_ADMIN_TOKEN", token.to_string())]);
        let short = admin_token(&with("local-admin-token")).expect_err("refused");
        assert_eq!(short.var, "HERALD_ADMIN_TOKEN");
        assert!(admin_token(&with(&"x".repeat(MIN_ADMIN_TOKEN)))
            .expect("accepted")
            .is_some());
        assert!(
            admin_token(&Env::from_pairs(Vec::<(String, String)>::new()))
                .expect("unset")
                .is_none()
        );
    }
}
