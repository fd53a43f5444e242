//! herald-delivery: sends notifications to callback URLs, signed, with durable retries.
//!
//! - [`consumer`]: the EVENTS consumer; first attempts.
//! - [`pump`]: the retry schedule's pump; later attempts.
//! - [`deliver`]: one notification by id: record + instance → attempt → settle.
//! - [`attempt`]: the HTTP request, its headers and signatures.
//! - [`origins`]: callback origins, and the bound on resends per origin in this replica (first
//!   attempts and retries go through the shared bound and breaker, `store::breakers`).
//! - [`origin_queue`]: this replica's waiters per origin at its in-flight bound, woken by a freed
//!   slot.
//! - [`settle`]: recording an attempt and choosing what follows (schedule, jitter, Retry-After).
//!
//! Consumer and pump can be switched separately (`HERALD_DELIVERY_CONSUMER_ENABLED`,
//! `HERALD_RETRY_PUMP_ENABLED`).

pub mod attempt;
pub mod consumer;
pub mod deliver;
pub mod origin_queue;
pub mod origins;
pub mod pump;
pub mod settle;

use std::time::Duration;

use herald_core::brokers::Brokers;
use herald_core::config::{parse_schedule, CommonConfig, ConfigError, Env};
use herald_core::crypto::SecretBox;
use herald_core::metrics::Metrics;
use herald_core::ops::OpsServer;
use herald_core::process::supervise;
use tokio_util::sync::CancellationToken;

/// The documented default: 4^x seconds, nine retries (ten attempts), a little over three days.
pub const DEFAULT_SCHEDULE: &str = "4,16,64,256,1024,4096,16384,65536,262144";

/// Delivery settings.
#[derive(Clone)]
pub struct Config {
    pub common: CommonConfig,
    /// `HERALD_DELIVERY_TIMEOUT_MS`: one attempt, connect to last byte.
    pub timeout: Duration,
    /// `HERALD_DELIVERY_SCHEDULE`: waits before the 2nd, 3rd, … attempt.
    pub schedule: Vec<Duration>,
    /// `HERALD_DELIVERY_CONCURRENCY`: attempts in flight per replica.
    pub concurrency: usize,
    /// `HERALD_DELIVERY_ORIGIN_CONCURRENCY`: in-flight requests per callback origin (default 16).
    pub origin_concurrency: usize,
    /// `HERALD_ALLOW_PRIVATE_CALLBACKS`: allow callbacks to loopback/private addresses.
    pub allow_private_callbacks: bool,
    /// `HERALD_BREAKER_THRESHOLD`: consecutive failed attempts that open an origin's circuit
    /// breaker (default 10).
    pub breaker_threshold: u32,
    /// `HERALD_BREAKER_PROBE_MS`: at most one probe this often while it is open (default 5000).
    pub breaker_probe_every: Duration,
    /// `HERALD_DELIVERY_CONSUMER_ENABLED` (default true).
    pub consumer_enabled: bool,
    /// `HERALD_RETRY_PUMP_ENABLED` (default true).
    pub pump_enabled: bool,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let schedule_var = "HERALD_DELIVERY_SCHEDULE";
        let concurrency: usize = env.parse("HERALD_DELIVERY_CONCURRENCY", 256)?;
        if concurrency == 0 {
            return Err(ConfigError::new(
                "HERALD_DELIVERY_CONCURRENCY",
                "must be at least 1",
            ));
        }
        Ok(Self {
            common: CommonConfig::from_env(env, "127.0.0.1:9184")?,
            timeout: env.millis("HERALD_DELIVERY_TIMEOUT_MS", 15_000)?,
            schedule: parse_schedule(schedule_var, &env.string(schedule_var, DEFAULT_SCHEDULE))?,
            concurrency,
            origin_concurrency: match env.parse("HERALD_DELIVERY_ORIGIN_CONCURRENCY", 16usize)? {
                0 => {
                    return Err(ConfigError::new(
                        "HERALD_DELIVERY_ORIGIN_CONCURRENCY",
                        "must be at least 1",
                    ))
                }
                n => n,
            },
            allow_private_callbacks: env.bool("HERALD_ALLOW_PRIVATE_CALLBACKS", false)?,
            breaker_threshold: match env.parse("HERALD_BREAKER_THRESHOLD", 10u32)? {
                0 => {
                    return Err(ConfigError::new(
                        "HERALD_BREAKER_THRESHOLD",
                        "must be at least 1",
                    ))
                }
                n => n,
            },
            breaker_probe_every: env.millis("HERALD_BREAKER_PROBE_MS", 5_000)?,
            consumer_enabled: env.bool("HERALD_DELIVERY_CONSUMER_ENABLED", true)?,
            pump_enabled: env.bool("HERALD_RETRY_PUMP_ENABLED", true)?,
        })
    }
}

/// What the consumer, the pump and attempts share.
/// Cloned for every request and message: one reference count, not a copy of every part.
pub type Shared = std::sync::Arc<SharedState>;

pub struct SharedState {
    pub brokers: Brokers,
    pub secret_box: SecretBox,
    pub http: reqwest::Client,
    pub metrics: Metrics,
    pub schedule: Vec<Duration>,
    pub timeout: Duration,
    pub concurrency: usize,
    pub allow_private_callbacks: bool,
    pub origins: std::sync::Arc<origins::OriginLimits>,
    pub origin_queue: std::sync::Arc<origin_queue::OriginQueue>,
    /// The shared per-origin bound and circuit breaker.
    pub breaker: herald_core::store::breakers::Rules,
}

pub struct App {
    shared: Shared,
    ops: OpsServer,
    config: Config,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let c = &config.common;
        let brokers = Brokers::for_service(c, "herald-delivery").await?;
        let metrics = Metrics::new();
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would connect on our behalf, past the address rule.
            .no_proxy()
            .user_agent("herald-delivery/0.1")
            .dns_resolver(herald_core::address::Resolver::public_only(
                config.allow_private_callbacks,
            ))
            .build()?;
        let shared = std::sync::Arc::new(SharedState {
            brokers: brokers.clone(),
            secret_box: c.secret_box.clone(),
            http,
            metrics: metrics.clone(),
            schedule: config.schedule.clone(),
            timeout: config.timeout,
            concurrency: config.concurrency,
            allow_private_callbacks: config.allow_private_callbacks,
            origins: std::sync::Arc::new(origins::OriginLimits::new(config.origin_concurrency)),
            origin_queue: Default::default(),
            breaker: herald_core::store::breakers::Rules {
                threshold: config.breaker_threshold,
                probe_every_ms: config.breaker_probe_every.as_millis() as i64,
                max_in_flight: config.origin_concurrency,
                lease_ms: (config.timeout + Duration::from_secs(30)).as_millis() as i64,
            },
        });
        let ops = OpsServer::bind_watching(
            c.ops_addr,
            brokers,
            metrics,
            &[(
                herald_core::bus::StreamKind::Events,
                herald_core::bus::consumers::DELIVERY,
            )],
        )
        .await?;
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
        if self.config.consumer_enabled {
            tasks.push((
                "consumer",
                tokio::spawn(consumer::run(self.shared.clone(), shutdown.clone(), grace)),
            ));
        }
        if self.config.pump_enabled {
            tasks.push((
                "retry-pump",
                tokio::spawn(pump::run(self.shared.clone(), shutdown.clone(), grace)),
            ));
        }
        tasks.push(("ops", self.ops.spawn(shutdown.clone())));
        supervise(shutdown, tasks).await
    }
}
