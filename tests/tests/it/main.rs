//! End-to-end tests against real nats-server and redis-server, with fake providers.

mod async_requests;
mod breaker;
mod compat;
mod console;
mod delivery;
mod documents;
mod faults;
mod helpers;
mod identity;
mod lifecycle;
mod metrics;
mod pacing;
mod polling;
mod process;
mod provider_addresses;
mod providers;
mod replay;
mod replicas;
mod seed_flow;
mod traces;
mod webhook_world;
mod webhooks_box;
mod webhooks_hubspot;
mod webhooks_quickbooks;
