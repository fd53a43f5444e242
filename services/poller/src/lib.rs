//! herald-poller: the polling engine's home. This build runs the process shell — config, ops
//! listener, brokers, and the POLLS work queue it will consume — and waits for shutdown; the
//! scheduler and workers arrive with the polling issue (#4).

use std::time::Duration;

use herald_core::brokers::Brokers;
use herald_core::bus::{ensure_stream, StreamKind};
use herald_core::config::{CommonConfig, ConfigError, Env};
use herald_core::metrics::Metrics;
use herald_core::ops::OpsServer;
use herald_core::process::supervise;
use tokio_util::sync::CancellationToken;

/// Poller settings.
#[derive(Clone)]
pub struct Config {
    pub common: CommonConfig,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env, "127.0.0.1:9183")?,
        })
    }
}

pub struct App {
    brokers: Brokers,
    ops: OpsServer,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let c = &config.common;
        let brokers =
            Brokers::connect(&c.nats_url, &c.redis_url, &c.prefix, "herald-poller").await?;
        let ops = OpsServer::bind(c.ops_addr, brokers.clone(), Metrics::new()).await?;
        Ok(Self { brokers, ops })
    }

    pub fn ops_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.ops.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let brokers = self.brokers.clone();
        let setup = tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                while !shutdown.is_cancelled() {
                    match ensure_stream(&brokers.js, &brokers.topo, StreamKind::Polls).await {
                        Ok(_) => break,
                        Err(e) => tracing::warn!(error = %e, "POLLS stream not ready; retrying"),
                    }
                    tokio::select! {
                        _ = shutdown.cancelled() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                shutdown.cancelled().await;
                Ok(())
            }
        });
        let ops = self.ops;
        let s = shutdown.clone();
        let ops = tokio::spawn(async move { ops.run(s).await.map_err(anyhow::Error::from) });
        supervise(shutdown, vec![("streams", setup), ("ops", ops)]).await
    }
}
