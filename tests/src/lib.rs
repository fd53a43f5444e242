//! Herald's end-to-end harness.
//!
//! - [`procs`]: real nats-server (JetStream) and redis-server on free ports, temp data dirs.
//! - [`stack`]: all five services in-process under a unique `HERALD_PREFIX`.
//! - [`fake_dropbox`]: a Dropbox that behaves as `PROVIDERS.md` documents (OAuth, the files API
//!   with file bytes, list_folder cursors and paging over one change log, upload/download on the
//!   content host, signed webhooks retried with backoff), with knobs to misbehave.
//! - [`fake_box`]: a Box with OAuth, folders and files by id (multipart upload, download through
//!   a redirect), the webhooks v2 API, and signed v2 deliveries retried with a new delivery id
//!   each time (plus unsigned v1 callbacks).
//! - [`fake_docushare`]: DocuShare Flex's polled `events` resource and its library by path
//!   [assumed API]; served by a [`fake_oauth_apps`] app.
//! - [`fake_hubspot`]: HubSpot's webhook sender (event batches, v1/v3 signatures, retries that
//!   bump `attemptNumber`).
//! - [`fake_quickbooks`]: QuickBooks' webhook sender (legacy and CloudEvents bodies,
//!   `intuit-signature`, retries).
//! - [`webhook_sender`]: what every provider-side sender shares: retry policy, attempt records,
//!   independent HMAC.
//! - [`browser`]: headless Chromium through chromedriver (WebDriver), finding controls by their
//!   accessible names, for the console's tests.
//! - [`receiver`]: a callback receiver that records every request and answers as told.
//! - [`otlp_collector`]: an OTLP/HTTP trace collector stand-in that keeps what it receives.
//! - [`wait`]: waiting for a condition with a deadline (never a bare sleep).

pub mod browser;
pub mod fake_box;
pub mod fake_docushare;
pub mod fake_dropbox;
pub mod fake_hubspot;
pub mod fake_oauth;
pub mod fake_oauth_apps;
pub mod fake_quickbooks;
pub mod fake_records;
pub mod logs;
pub mod otlp_collector;
pub mod procs;
pub mod receiver;
pub mod stack;
pub mod wait;
pub mod webhook_sender;
