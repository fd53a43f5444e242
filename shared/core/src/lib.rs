//! Herald platform core: the pieces every service shares.
//!
//! - [`config`]: typed `HERALD_*` environment parsing, validated at start-up.
//! - [`telemetry`]: JSON logs on stdout with a `service` field; OpenTelemetry traces over OTLP
//!   when configured, and the `traceparent` that carries a trace across processes.
//! - [`shutdown`]: the one `CancellationToken` a process runs under, tripped by SIGTERM/SIGINT.
//! - [`callback_url`]: which callback addresses Herald may call (public only, by default).
//! - [`address`]: the same rule at connect time, for callbacks and provider calls (resolver).
//! - [`brokers`]: NATS and Redis handles that connect in the background and never end the process.
//! - [`consume`]: the one JetStream consume loop (bounded concurrency, graceful drain).
//! - [`bus`]: every NATS subject, stream and consumer name, and the stream definitions.
//! - [`keys`]: every Redis key.
//! - [`model`]: the versioned messages that travel on the bus and the records kept in Redis.
//! - [`store`]: typed Redis repositories (identity, instances, delivery records, retries).
//! - [`crypto`]: secrets at rest (XChaCha20-Poly1305) and secret hashing.
//! - [`signing`]: callback signatures (Cloud Elements header and Standard Webhooks).
//! - [`ids`]: id sequences and random secrets.
//! - [`http_server`]: the accept loop of every listener (connection limit, header timeout).
//! - [`http`]: request ids and the JSON error body every HTTP answer uses.
//! - [`process`]: the start of every binary (config, logs, signal, exit code).
//! - [`rate_limit`]: per-caller request rate limits (token buckets) for the HTTP servers.
//! - [`rpc`]: requests to provisioning over NATS (with patience while it starts).
//! - [`live_token`]: calling a provider with an instance's token, refreshed ahead and on a 401.
//! - [`outbox`]: found changes → staged batch → delivery records + EVENTS → committed cursor.
//! - [`ops`]: the ops listener (`/healthz`, `/readyz`, `/metrics`).
//! - [`metrics`]: the Prometheus registry and every metric family.
//!
//! Not here: anything provider-specific (that is `herald-elements`), HTTP routes of a service,
//! or a service's own loops. This crate holds names, shapes and plumbing, not behaviour.

pub mod address;
pub mod brokers;
pub mod bus;
pub mod callback_url;
pub mod config;
pub mod consume;
pub mod crypto;
pub mod http;
pub mod http_server;
pub mod ids;
pub mod keys;
pub mod live_token;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod outbox;
pub mod process;
pub mod rate_limit;
pub mod rpc;
pub mod shutdown;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod time;
