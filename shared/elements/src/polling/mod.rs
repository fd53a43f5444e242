//! Polling configuration as the original platform takes it (`event.poller.configuration`, and
//! the legacy `event.poller.urls`), parsed and validated; the engine that runs it is the poller's.
//!
//! - [`config`]: resources, URL templates, id and date fields, options.
//! - [`java_date`]: Java `SimpleDateFormat` patterns translated to chrono formats.

pub mod config;
pub mod java_date;
