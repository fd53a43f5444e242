//! Polling, provider side: configuration (`event.poller.configuration`, legacy
//! `event.poller.urls`), fetching changed records (generic REST, Salesforce SOQL, QuickBooks CDC),
//! and classifying them into events. Scheduling, cursors and delivery are the poller's.
//!
//! - [`config`]: resources, URL templates, id and date fields, options.
//! - [`java_date`]: Java `SimpleDateFormat` patterns translated to chrono formats.
//! - [`dates`]: reading and writing record dates (patterns, `milliseconds`, zones).
//! - [`fetch`]: the generic REST resource poller (templates, paging, ids, dates).
//! - [`sfdc`]: Salesforce objects by SOQL, deletions from `deleted/`.
//! - [`quickbooks`]: QuickBooks change data capture.
//! - [`classify`]: records → CREATED/UPDATED/DELETED events, overlap dedupe.
//! - [`plan`]: what one instance polls, and the poll itself.
//! - [`http`]: GETs with provider errors mapped.

pub mod classify;
pub mod config;
pub mod dates;
pub mod fetch;
pub mod http;
pub mod java_date;
pub mod plan;
pub mod quickbooks;
pub mod sfdc;
