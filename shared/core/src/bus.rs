//! The NATS topology: every subject, stream and consumer name, and each stream's definition.
//!
//! ```text
//!  gateway ──request──▶ herald.v1.rpc.provisioning.<op>   (queue group "provisioning")
//!  provisioning ──▶ INSTANCES  herald.v1.instances.<created|updated|deleted>   limits, 7 days
//!  ingest ───────▶ WEBHOOKS   herald.v1.webhooks.<element>   work queue → consumer "normalizer"
//!  scheduler ────▶ POLLS      herald.v1.polls.<instance>     work queue → consumer "poller"
//!  normalizer,
//!  poller, jobs ─▶ EVENTS     herald.v1.events.<instance>    limits, 7 days → consumer "delivery"
//!  gateway ──────▶ JOBS       herald.v1.jobs.<instance>      work queue → consumer "jobs"
//! ```
//!
//! With a non-empty `HERALD_PREFIX` every subject starts with `<prefix>.` and every stream name
//! with `<PREFIX>_`, so any number of stacks (and test runs) share one server. Streams are file
//! backed with a two-minute duplicate window: a publisher that repeats a `Nats-Msg-Id` within it
//! (a retry after a lost ack) is stored once. Any service that publishes to or consumes from a
//! stream ensures it at start (create-if-missing with the one definition below), so start order
//! does not matter.

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};

/// Why a JetStream publish (or its ack) failed, for services that keep it as an error's cause.
pub use async_nats::jetstream::context::PublishError;

/// Header carrying the W3C trace context across the bus.
pub const HDR_TRACEPARENT: &str = "traceparent";
/// Header naming the element of a raw webhook body.
pub const HDR_ELEMENT: &str = "Herald-Element";
/// Header listing the instances (comma-separated ids) whose own secrets verified a delivery:
/// the normalizer routes it to these and no others.
pub const HDR_INSTANCES: &str = "Herald-Instances";
/// Header: JetStream's message-id deduplication (a provider's retry of a stored delivery).
pub const HDR_MSG_ID: &str = "Nats-Msg-Id";
/// Header with the request id ingest gave the provider's call.
pub const HDR_REQUEST_ID: &str = "Elements-Request-Id";
/// Header: when ingest accepted the provider delivery (RFC 3339).
pub const HDR_RECEIVED_AT: &str = "Herald-Received-At";
/// Header carrying an async hub request's description (`model::AsyncJob`, JSON).
pub const HDR_JOB: &str = "Herald-Job";
/// Header: the provider delivery's content type.
pub const HDR_CONTENT_TYPE: &str = "Content-Type";

/// The streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Instances,
    Webhooks,
    Polls,
    Events,
    Jobs,
}

impl StreamKind {
    /// The stream's name without the prefix (`EVENTS`).
    pub fn base_name(self) -> &'static str {
        match self {
            Self::Instances => "INSTANCES",
            Self::Webhooks => "WEBHOOKS",
            Self::Polls => "POLLS",
            Self::Events => "EVENTS",
            Self::Jobs => "JOBS",
        }
    }

    fn subject_root(self) -> &'static str {
        match self {
            Self::Instances => "instances",
            Self::Webhooks => "webhooks",
            Self::Polls => "polls",
            Self::Events => "events",
            Self::Jobs => "jobs",
        }
    }

    fn work_queue(self) -> bool {
        matches!(self, Self::Webhooks | Self::Polls | Self::Jobs)
    }
}

/// How long streams keep messages unless told otherwise (EVENTS: `HERALD_EVENTS_RETENTION`).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// Names under one prefix.
#[derive(Debug, Clone)]
pub struct Topology {
    subject_base: String,
    stream_base: String,
    events_retention: Duration,
    replicas: usize,
}

impl Topology {
    pub fn new(prefix: &str) -> Self {
        if prefix.is_empty() {
            Self {
                subject_base: "herald.v1.".into(),
                stream_base: "HERALD_".into(),
                events_retention: DEFAULT_RETENTION,
                replicas: 1,
            }
        } else {
            Self {
                subject_base: format!("{prefix}.herald.v1."),
                stream_base: format!("{}_HERALD_", prefix.to_ascii_uppercase()),
                events_retention: DEFAULT_RETENTION,
                replicas: 1,
            }
        }
    }

    /// EVENTS keeps notifications this long (a stream created earlier keeps its own setting).
    pub fn with_events_retention(mut self, retention: Duration) -> Self {
        self.events_retention = retention;
        self
    }

    /// Streams are created with this many copies in a NATS cluster (3 in production: a stream
    /// stays available while one server is down). A stream created earlier keeps its own.
    pub fn with_replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    pub fn stream_name(&self, kind: StreamKind) -> String {
        format!("{}{}", self.stream_base, kind.base_name())
    }

    /// All subjects a stream captures.
    pub fn stream_subjects(&self, kind: StreamKind) -> String {
        format!("{}{}.>", self.subject_base, kind.subject_root())
    }

    pub fn rpc_provisioning(&self, op: &str) -> String {
        format!("{}rpc.provisioning.{op}", self.subject_base)
    }
    pub fn rpc_provisioning_all(&self) -> String {
        format!("{}rpc.provisioning.>", self.subject_base)
    }
    pub fn instances(&self, fact: &str) -> String {
        format!("{}instances.{fact}", self.subject_base)
    }
    pub fn webhooks(&self, element: &str) -> String {
        format!("{}webhooks.{element}", self.subject_base)
    }
    pub fn polls(&self, instance: u64) -> String {
        format!("{}polls.{instance}", self.subject_base)
    }
    pub fn events(&self, instance: u64) -> String {
        format!("{}events.{instance}", self.subject_base)
    }
    pub fn jobs(&self, instance: u64) -> String {
        format!("{}jobs.{instance}", self.subject_base)
    }

    /// The stream's one definition.
    pub fn stream_config(&self, kind: StreamKind) -> stream::Config {
        let max_age = if kind == StreamKind::Events {
            self.events_retention
        } else {
            DEFAULT_RETENTION
        };
        stream::Config {
            name: self.stream_name(kind),
            subjects: vec![self.stream_subjects(kind)],
            retention: if kind.work_queue() {
                stream::RetentionPolicy::WorkQueue
            } else {
                stream::RetentionPolicy::Limits
            },
            storage: stream::StorageType::File,
            max_age,
            // JetStream wants the window within the age limit.
            duplicate_window: Duration::from_secs(120).min(max_age),
            num_replicas: self.replicas,
            ..Default::default()
        }
    }

    /// A durable pull consumer with explicit ack.
    pub fn consumer_config(
        &self,
        durable: &str,
        ack_wait: Duration,
        max_ack_pending: i64,
    ) -> consumer::pull::Config {
        consumer::pull::Config {
            durable_name: Some(durable.to_string()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait,
            max_ack_pending,
            max_deliver: -1,
            ..Default::default()
        }
    }
}

/// Consumer names.
pub mod consumers {
    pub const NORMALIZER: &str = "normalizer";
    pub const DELIVERY: &str = "delivery";
    pub const POLLER: &str = "poller";
    pub const JOBS: &str = "jobs";
}

/// Creates the stream if it is missing (idempotent; an existing stream is left as it is).
pub async fn ensure_stream(
    js: &jetstream::Context,
    topo: &Topology,
    kind: StreamKind,
) -> Result<stream::Stream, async_nats::Error> {
    Ok(js.get_or_create_stream(topo.stream_config(kind)).await?)
}

/// Creates the durable consumer if it is missing and returns it.
pub async fn ensure_consumer(
    stream: &stream::Stream,
    config: consumer::pull::Config,
) -> Result<consumer::PullConsumer, async_nats::Error> {
    let name = config.durable_name.clone().unwrap_or_default();
    Ok(stream.get_or_create_consumer(&name, config).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_get_the_configured_replicas() {
        let t = Topology::new("").with_replicas(3);
        assert_eq!(t.stream_config(StreamKind::Events).num_replicas, 3);
        assert_eq!(
            Topology::new("")
                .stream_config(StreamKind::Webhooks)
                .num_replicas,
            1
        );
    }

    #[test]
    fn names_carry_the_prefix() {
        let t = Topology::new("t-1");
        assert_eq!(t.stream_name(StreamKind::Events), "T-1_HERALD_EVENTS");
        assert_eq!(t.events(5), "t-1.herald.v1.events.5");
        assert_eq!(
            t.stream_subjects(StreamKind::Webhooks),
            "t-1.herald.v1.webhooks.>"
        );
        assert_eq!(
            Topology::new("").rpc_provisioning("create"),
            "herald.v1.rpc.provisioning.create"
        );
    }
}
