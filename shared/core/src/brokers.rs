//! Connections to NATS and Redis that survive the brokers going away.
//!
//! Both handles are created without waiting for the broker: NATS retries its initial connect and
//! reconnects forever; the Redis connection manager connects lazily and reconnects on I/O errors.
//! A call made while a broker is down fails fast with an error the caller maps to "retry later"
//! (HTTP 503, a NATS nak), and no process exits because a broker is unreachable.

use std::time::Duration;

use async_nats::jetstream;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::bus::Topology;
use crate::keys::Keys;

/// How long one JetStream API call or publish ack may take before it counts as a failure.
const JETSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("bad NATS URL: {0}")]
    NatsUrl(#[source] async_nats::ConnectError),
    #[error("bad Redis URL: {0}")]
    RedisUrl(#[source] redis::RedisError),
}

/// A process's handles on the brokers, cheap to clone.
#[derive(Clone)]
pub struct Brokers {
    pub nats: async_nats::Client,
    pub js: jetstream::Context,
    pub redis: ConnectionManager,
    pub keys: Keys,
    pub topo: Topology,
    /// How long notifications are kept (`HERALD_EVENTS_RETENTION`).
    pub events_retention: Duration,
}

impl Brokers {
    /// Connects (in the background) to both brokers; returns at once.
    pub async fn connect(
        nats_url: &str,
        redis_url: &str,
        prefix: &str,
        client_name: &str,
    ) -> Result<Self, BrokerError> {
        let nats = async_nats::ConnectOptions::new()
            .name(client_name)
            .retry_on_initial_connect()
            .max_reconnects(None)
            .connection_timeout(Duration::from_secs(2))
            .reconnect_delay_callback(|attempt| {
                // Reconnect within 5 s of the server answering again, without hammering it.
                Duration::from_millis((250 * attempt as u64).min(2_000))
            })
            .connect(nats_url)
            .await
            .map_err(BrokerError::NatsUrl)?;
        let mut js = jetstream::new(nats.clone());
        js.set_timeout(JETSTREAM_TIMEOUT);

        let client = redis::Client::open(redis_url).map_err(BrokerError::RedisUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let redis = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(BrokerError::RedisUrl)?;
        Ok(Self {
            nats,
            js,
            redis,
            keys: Keys::new(prefix),
            topo: Topology::new(prefix),
            events_retention: crate::bus::DEFAULT_RETENTION,
        })
    }

    /// Connects as a service does: the brokers, prefix, stream replicas and events retention of
    /// its common configuration, every one applied.
    pub async fn for_service(
        c: &crate::config::CommonConfig,
        client_name: &str,
    ) -> Result<Self, BrokerError> {
        Ok(
            Self::connect(&c.nats_url, &c.redis_url, &c.prefix, client_name)
                .await?
                .with_events_retention(c.events_retention)
                .with_stream_replicas(c.stream_replicas),
        )
    }

    /// Creates streams with this many replicas (`HERALD_STREAM_REPLICAS`).
    pub fn with_stream_replicas(mut self, replicas: usize) -> Self {
        self.topo = self.topo.with_replicas(replicas);
        self
    }

    /// Keeps notifications this long (records, indexes, the EVENTS stream).
    pub fn with_events_retention(mut self, retention: Duration) -> Self {
        self.events_retention = retention;
        self.topo = self.topo.with_events_retention(retention);
        self
    }

    pub fn nats_connected(&self) -> bool {
        matches!(
            self.nats.connection_state(),
            async_nats::connection::State::Connected
        )
    }

    pub async fn redis_answers(&self) -> bool {
        let mut conn = self.redis.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        matches!(
            tokio::time::timeout(Duration::from_secs(2), ping).await,
            Ok(Ok(_))
        )
    }

    /// NATS connected and Redis answering.
    pub async fn ready(&self) -> bool {
        self.nats_connected() && self.redis_answers().await
    }
}
