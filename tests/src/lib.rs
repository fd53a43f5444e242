//! Herald's end-to-end harness.
//!
//! - [`procs`]: real nats-server (JetStream) and redis-server on free ports, temp data dirs.
//! - [`stack`]: all five services in-process under a unique `HERALD_PREFIX`.
//! - [`fake_dropbox`]: a Dropbox that behaves as `PROVIDERS.md` documents (OAuth, list_folder
//!   cursors and paging, signed webhooks retried with backoff), with knobs to misbehave.
//! - [`receiver`]: a callback receiver that records every request and answers as told.
//! - [`wait`]: waiting for a condition with a deadline (never a bare sleep).

pub mod fake_box;
pub mod fake_docushare;
pub mod fake_dropbox;
pub mod fake_oauth;
pub mod fake_oauth_apps;
pub mod fake_records;
pub mod logs;
pub mod procs;
pub mod receiver;
pub mod stack;
pub mod wait;
