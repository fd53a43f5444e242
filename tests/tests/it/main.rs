//! End-to-end tests against real nats-server and redis-server, with a fake Dropbox.

mod delivery;
mod faults;
mod helpers;
mod identity;
mod lifecycle;
mod polling;
mod process;
mod providers;
mod seed_flow;
