//! Dropbox: OAuth2, signed webhooks that say *who* changed, and the `list_folder` change feed
//! that says *what*.
//!
//! - [`api`]: RPC calls at `<API_URL>/2/...` with Dropbox's error shapes mapped.
//! - [`webhook`]: `X-Dropbox-Signature` and the accounts a notification names.
//! - [`docs`]: the documents hub (folders, files, copy, upload, download).
//! - [`changes`]: entries after a cursor turned into normalized events.

pub mod api;
pub mod changes;
pub mod docs;
pub mod webhook;

use crate::key::ElementKey;

pub const KEY: ElementKey = ElementKey::Dropbox;
