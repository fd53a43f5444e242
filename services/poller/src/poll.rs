//! One poll of one instance: finish any staged batch, ask the provider for what changed since the
//! cursor (minus each resource's `pollDelay`), classify, and hand the events to the outbox, which
//! publishes them durably before moving the cursor to this poll's *start* (so a record changed
//! while the poll ran is read again next time, and the seen map keeps it from being sent twice).

use herald_core::live_token::{call_with_token, CallError, TokenError};
use herald_core::model::InstanceRecord;
use herald_core::outbox::{self, Found, OutboxError};
use herald_core::store::{sync, StoreError};
use herald_core::time::now_ms;
use herald_elements::polling::classify::{classify, seen_key, vanished};
use herald_elements::polling::plan::{self, PollInput};
use herald_elements::{ElementError, ElementKey};
use serde_json::json;

use crate::Shared;

/// Events per notification from polling.
pub const POLL_BATCH: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("{0}")]
    Provider(#[from] ElementError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("outbox: {0}")]
    Outbox(#[from] OutboxError),
    #[error("{0}")]
    Token(#[from] TokenError),
    #[error("{0}")]
    Unusable(String),
}

impl From<redis::RedisError> for PollError {
    fn from(e: redis::RedisError) -> Self {
        Self::Store(e.into())
    }
}

/// Polls once; returns the number of events produced.
pub async fn poll_once(
    s: &Shared,
    inst: &InstanceRecord,
    fence: &sync::Fence,
) -> Result<usize, PollError> {
    let mut conn = s.brokers.redis.clone();
    let keys = &s.brokers.keys;
    let resumed = outbox::resume(&s.brokers, inst, fence).await?;
    let started = now_ms();
    let cursor_text = resumed.unwrap_or_else(|| started.to_string());
    let cursor_ms: i64 = cursor_text.parse().unwrap_or(started);
    let element = ElementKey::parse(&inst.element_key).ok_or_else(|| {
        PollError::Unusable(format!("{} is not in the catalog", inst.element_key))
    })?;
    let urls = s.urls.for_record(inst)?;
    let (http, urls) = (&s.http, &urls);
    let polled = call_with_token(&s.brokers, &s.secret_box, inst, |token| async move {
        let input = PollInput {
            element,
            configuration: &inst.configuration,
            api_base: &urls.api,
            account: inst.provider.account_id.as_deref(),
            token: &token,
        };
        plan::poll(http, &input, cursor_ms, started).await
    })
    .await;
    let mut polled = match polled {
        Ok(p) => p,
        Err(CallError::Provider(e)) => return Err(PollError::Provider(e)),
        Err(CallError::Token(e)) => return Err(PollError::Token(e)),
    };
    let seen = if polled.snapshots.is_empty() {
        let lookup: Vec<String> = polled.records.iter().map(|(r, _)| seen_key(r)).collect();
        sync::seen(&mut conn, keys, inst.id, &lookup).await?
    } else {
        // Snapshot diff: what was seen and is not listed any more was deleted.
        let all = sync::seen_all(&mut conn, keys, inst.id).await?;
        let rules = herald_elements::polling::classify::Rules {
            since_ms: cursor_ms,
            filter_by_updated_date: false,
            created_tolerance_ms: 0,
        };
        for (resource, present) in &polled.snapshots {
            for gone in vanished(resource, present, &all, started) {
                polled.records.push((gone, rules));
            }
        }
        all
    };
    let (events, seen_set) = classify(element, &polled.records, &seen, started);
    let produced = events.len();
    s.metrics
        .events_normalized
        .add(&[&inst.element_key], produced as f64);
    let found = Found {
        events,
        from_cursor: cursor_text,
        to_cursor: polled.cursor_ms.unwrap_or(started).to_string(),
        event_date_ms: started,
        seen_set,
        seen_del: Vec::new(),
        provider_data: json!({"polledAt": herald_core::time::ms_to_rfc3339(started),
            "since": herald_core::time::ms_to_rfc3339(cursor_ms), "records": polled.records.len()})
        .to_string(),
        trace_parent: Some(herald_core::telemetry::trace::start(
            &tracing::Span::current(),
        )),
        accepted: Vec::new(),
    };
    let batch = outbox::build(&s.brokers, inst, found, POLL_BATCH).await?;
    outbox::deliver(&s.brokers, inst, &batch, fence).await?;
    Ok(produced)
}
