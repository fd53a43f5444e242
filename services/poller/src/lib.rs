//! herald-poller: the polling engine.
//!
//! - [`scheduler`]: claims due instances from the Redis schedule, queues poll jobs (POLLS).
//! - [`worker`]: the POLLS consumer; one poll per job under the instance's lease, with retries,
//!   rate limits and token refresh; outcomes recorded on the instance.
//! - [`poll`]: one poll (provider → classified events → outbox → cursor).
//!
//! Scheduler and workers can run in separate replicas (`HERALD_POLLER_SCHEDULER_ENABLED`,
//! `HERALD_POLLER_WORKER_ENABLED`); any number of each is safe.

pub mod poll;
pub mod scheduler;
pub mod worker;

use herald_elements::http::Http;
use std::time::Duration;

use herald_core::brokers::Brokers;
use herald_core::config::{CommonConfig, ConfigError, Env};
use herald_core::crypto::SecretBox;
use herald_core::metrics::Metrics;
use herald_core::ops::OpsServer;
use herald_core::process::supervise;
use herald_elements::urls::ElementUrls;
use tokio_util::sync::CancellationToken;

/// Poller settings.
#[derive(Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub urls: ElementUrls,
    /// `HERALD_PROVIDER_TIMEOUT_MS`: one call to a provider.
    pub provider_timeout: Duration,
    /// `HERALD_POLLER_SCHEDULER_ENABLED` (default true).
    pub scheduler_enabled: bool,
    /// `HERALD_POLLER_WORKER_ENABLED` (default true).
    pub worker_enabled: bool,
    /// `HERALD_POLLER_CONCURRENCY`: polls at once per replica (default 32).
    pub concurrency: usize,
    /// `HERALD_POLL_ACK_WAIT_MS`: how long a job may stay unacked before JetStream hands it to
    /// another worker (default 120000; longer than the retry budget plus a provider call).
    pub ack_wait: Duration,
    /// `HERALD_POLL_RETRY_BUDGET_MS`: how long a failing poll keeps retrying within its slot.
    pub retry_budget: Duration,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let concurrency: usize = env.parse("HERALD_POLLER_CONCURRENCY", 32)?;
        if concurrency == 0 {
            return Err(ConfigError::new(
                "HERALD_POLLER_CONCURRENCY",
                "must be at least 1",
            ));
        }
        let provider_timeout = env.millis("HERALD_PROVIDER_TIMEOUT_MS", 30_000)?;
        let retry_budget = env.millis("HERALD_POLL_RETRY_BUDGET_MS", 60_000)?;
        let ack_wait = env.millis("HERALD_POLL_ACK_WAIT_MS", 120_000)?;
        if ack_wait <= provider_timeout {
            return Err(ConfigError::new(
                "HERALD_POLL_ACK_WAIT_MS",
                "must be longer than HERALD_PROVIDER_TIMEOUT_MS",
            ));
        }
        Ok(Self {
            common: CommonConfig::from_env(env, "127.0.0.1:9183")?,
            urls: ElementUrls::from_env(env)?,
            provider_timeout,
            scheduler_enabled: env.bool("HERALD_POLLER_SCHEDULER_ENABLED", true)?,
            worker_enabled: env.bool("HERALD_POLLER_WORKER_ENABLED", true)?,
            concurrency,
            ack_wait,
            retry_budget,
        })
    }
}

/// What the scheduler and workers share.
/// Cloned for every request and message: one reference count, not a copy of every part.
pub type Shared = std::sync::Arc<SharedState>;

pub struct SharedState {
    pub brokers: Brokers,
    pub secret_box: SecretBox,
    pub urls: ElementUrls,
    pub http: Http,
    pub metrics: Metrics,
    pub concurrency: usize,
    pub ack_wait: Duration,
    pub retry_budget: Duration,
    pub provider_timeout: Duration,
}

pub struct App {
    shared: Shared,
    ops: OpsServer,
    config: Config,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let c = &config.common;
        let brokers = Brokers::for_service(c, "herald-poller").await?;
        let metrics = Metrics::new();
        let ops = OpsServer::bind_watching(
            c.ops_addr,
            brokers.clone(),
            metrics.clone(),
            &[(
                herald_core::bus::StreamKind::Polls,
                herald_core::bus::consumers::POLLER,
            )],
        )
        .await?;
        let shared = std::sync::Arc::new(SharedState {
            brokers,
            secret_box: c.secret_box.clone(),
            urls: config.urls.clone(),
            http: herald_elements::http::Http::new(config.provider_timeout, &config.urls)?,
            metrics,
            concurrency: config.concurrency,
            ack_wait: config.ack_wait,
            retry_budget: config.retry_budget,
            provider_timeout: config.provider_timeout,
        });
        Ok(Self {
            shared,
            ops,
            config,
        })
    }

    pub fn ops_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.ops.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let grace = self.config.common.shutdown_grace;
        let mut tasks = Vec::new();
        if self.config.scheduler_enabled {
            tasks.push((
                "scheduler",
                tokio::spawn(scheduler::run(self.shared.clone(), shutdown.clone())),
            ));
        }
        if self.config.worker_enabled {
            tasks.push((
                "workers",
                tokio::spawn(worker::run(self.shared.clone(), shutdown.clone(), grace)),
            ));
        }
        tasks.push(("ops", self.ops.spawn(shutdown.clone())));
        supervise(shutdown, tasks).await
    }
}
