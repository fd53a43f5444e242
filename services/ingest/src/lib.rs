//! herald-ingest: the provider-facing webhook endpoint, and the normalizer workers that turn
//! stored raw deliveries into notifications.
//!
//! - [`routes`]: challenge, signature check against the candidates' own secrets, durable
//!   publish to WEBHOOKS (routed to the instances that verified it), fast answer.
//! - [`directory`]: candidate instances by route and their signing secrets, briefly cached.
//! - [`normalizer`]: the WEBHOOKS consumer; hands each delivery to its instances.
//! - [`feed_sync`]: one instance's change feed → staged batch → EVENTS → committed cursor.
//! - [`local_locks`]: this replica's per-instance queue (waiters do not poll Redis).
//! - [`pushed_queue`]: this replica's pushed deliveries per instance, taken together by rounds.
//! - [`pushed`]: one instance's share of a delivery that carries its changes → EVENTS, once.
//!
//! The endpoint and the workers can run in separate replicas (`HERALD_INGEST_HTTP_ENABLED`,
//! `HERALD_NORMALIZER_ENABLED`).

pub mod directory;
pub mod feed_sync;
pub mod local_locks;
pub mod normalizer;
pub mod pushed;
pub mod pushed_queue;
pub mod routes;

use herald_elements::http::Http;
use std::net::SocketAddr;
use std::time::Duration;

use herald_core::brokers::Brokers;
use herald_core::bus::{ensure_stream, StreamKind};
use herald_core::config::{CommonConfig, ConfigError, Env};
use herald_core::crypto::SecretBox;
use herald_core::metrics::Metrics;
use herald_core::ops::OpsServer;
use herald_core::process::supervise;
use herald_elements::urls::ElementUrls;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::directory::Directory;

/// Ingest settings.
#[derive(Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// `HERALD_LISTEN_ADDR`: the provider-facing listener.
    pub listen_addr: SocketAddr,
    pub urls: ElementUrls,
    /// `HERALD_PROVIDER_TIMEOUT_MS`: one call to a provider (change feeds).
    pub provider_timeout: Duration,
    /// `HERALD_INGEST_HTTP_ENABLED`: serve the webhook endpoint (default true).
    pub http_enabled: bool,
    /// `HERALD_NORMALIZER_ENABLED`: run normalizer workers (default true).
    pub normalizer_enabled: bool,
    /// `HERALD_PUBLIC_URL`: the base URL providers call (HubSpot signs the URL it called).
    pub public_url: String,
    /// `HERALD_INGEST_RATE_LIMIT_IP`: deliveries/s per client IP (default 20000; 0 = none):
    /// providers post from few addresses, so the limit only stops a flood.
    pub rate_limits: herald_core::rate_limit::Limits,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env, "127.0.0.1:9181")?,
            listen_addr: env.addr("HERALD_LISTEN_ADDR", "127.0.0.1:8081")?,
            urls: ElementUrls::from_env(env)?,
            provider_timeout: env.millis("HERALD_PROVIDER_TIMEOUT_MS", 30_000)?,
            http_enabled: env.bool("HERALD_INGEST_HTTP_ENABLED", true)?,
            normalizer_enabled: env.bool("HERALD_NORMALIZER_ENABLED", true)?,
            public_url: herald_core::config::public_url(env)?,
            rate_limits: herald_core::rate_limit::Limits {
                per_ip: herald_core::rate_limit::RateLimiter::new(
                    env.parse("HERALD_INGEST_RATE_LIMIT_IP", 20_000)?,
                ),
                per_tenant: None,
            },
        })
    }
}

/// What the endpoint and the workers share.
/// Cloned for every request and message: one reference count, not a copy of every part.
pub type Shared = std::sync::Arc<SharedState>;

pub struct SharedState {
    pub brokers: Brokers,
    pub secret_box: SecretBox,
    pub directory: Directory,
    pub local_locks: local_locks::InstanceLocks,
    pub pushed: pushed_queue::PushedQueues,
    pub urls: ElementUrls,
    pub public_url: String,
    pub http: Http,
    pub metrics: Metrics,
}

pub struct App {
    shared: Shared,
    listener: Option<TcpListener>,
    ops: OpsServer,
    config: Config,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let c = &config.common;
        let brokers = Brokers::for_service(c, "herald-ingest").await?;
        let metrics = Metrics::new();
        let shared = std::sync::Arc::new(SharedState {
            directory: Directory::new(brokers.clone(), c.secret_box.clone()),
            local_locks: local_locks::InstanceLocks::default(),
            pushed: pushed_queue::PushedQueues::default(),
            brokers: brokers.clone(),
            secret_box: c.secret_box.clone(),
            urls: config.urls.clone(),
            public_url: config.public_url.clone(),
            http: herald_elements::http::Http::new(config.provider_timeout, &config.urls)?,
            metrics: metrics.clone(),
        });
        let listener = if config.http_enabled {
            Some(TcpListener::bind(config.listen_addr).await?)
        } else {
            None
        };
        let ops = OpsServer::bind_watching(
            c.ops_addr,
            brokers,
            metrics,
            &[(
                herald_core::bus::StreamKind::Webhooks,
                herald_core::bus::consumers::NORMALIZER,
            )],
        )
        .await?;
        Ok(Self {
            shared,
            listener,
            ops,
            config,
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn ops_addr(&self) -> std::io::Result<SocketAddr> {
        self.ops.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let grace = self.config.common.shutdown_grace;
        let mut tasks = Vec::new();
        if let Some(listener) = self.listener {
            let shared = self.shared.clone();
            let shutdown = shutdown.clone();
            let limits = self.config.rate_limits.clone();
            let server_limits = self.config.common.server_limits;
            tasks.push((
                "webhooks",
                tokio::spawn(async move {
                    ensure_webhooks_stream(&shared, &shutdown).await;
                    let app = routes::router(shared, limits);
                    herald_core::http_server::serve(listener, app, server_limits, shutdown, grace)
                        .await;
                    Ok(())
                }),
            ));
        }
        if self.config.normalizer_enabled {
            tasks.push((
                "normalizer",
                tokio::spawn(normalizer::run(
                    self.shared.clone(),
                    shutdown.clone(),
                    grace,
                )),
            ));
        }
        tasks.push(("ops", self.ops.spawn(shutdown.clone())));
        supervise(shutdown, tasks).await
    }
}

/// Makes sure the stream exists before the first delivery; a failure here is not fatal (the
/// endpoint answers 503 until NATS takes the publish).
async fn ensure_webhooks_stream(shared: &Shared, shutdown: &CancellationToken) {
    for _ in 0..5 {
        match ensure_stream(
            &shared.brokers.js,
            &shared.brokers.topo,
            StreamKind::Webhooks,
        )
        .await
        {
            Ok(_) => return,
            Err(e) => tracing::warn!(error = %e, "WEBHOOKS stream not ready"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
