//! End-to-end tests against real nats-server and redis-server, with a fake Dropbox.

mod delivery;
mod helpers;
mod identity;
mod seed_flow;
