//! One callback attempt: the exact stored body, POSTed with the Cloud Elements and Standard
//! Webhooks headers, signed when the instance has a signature key. Any 2xx within the timeout
//! succeeds; anything else (3xx included: redirects are not followed) is a failed attempt.

use std::time::{Duration, Instant};

use herald_core::model::{Attempt, EventRecord, InstanceRecord};
use herald_core::signing::{elements_signature, standard_webhooks_signature};
use herald_core::telemetry::trace::{self, TraceParent};
use herald_core::time::now_rfc3339;
use secrecy::ExposeSecret;
use tracing::Instrument;

use crate::Shared;

/// How much of a callback's answer is read before the connection is let go.
const DRAIN_LIMIT: usize = 64 * 1024;

/// What an attempt came to.
#[derive(Debug)]
pub struct AttemptResult {
    pub attempt: Attempt,
    pub success: bool,
    pub retry_after: Option<Duration>,
    pub gone: bool,
    pub outcome: &'static str,
}

/// The id receivers deduplicate by, stable across retries.
pub fn webhook_id(rec: &EventRecord) -> String {
    format!("msg_{}_{}", rec.id, rec.notification_id)
}

pub async fn attempt(
    s: &Shared,
    rec: &EventRecord,
    inst: &InstanceRecord,
    callback: &str,
    replay: bool,
) -> AttemptResult {
    // The client span of this attempt, in the trace the event was found under.
    let span = herald_core::exported_span!(
        "delivery",
        otel.name = "delivery POST",
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        herald.stage = "deliver",
        herald.event_id = rec.id,
        herald.notification_id = rec.notification_id,
        herald.instance_id = inst.id,
        http.request.method = "POST",
        server.address = %reqwest::Url::parse(callback)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default(),
        http.response.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    );
    trace::set_parent(&span, rec.trace_parent.as_deref());
    let result = send(s, rec, inst, callback, replay)
        .instrument(span.clone())
        .await;
    if let Some(code) = result.attempt.status_code {
        span.record("http.response.status_code", code);
    }
    if !result.success {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", result.outcome);
    }
    result
}

async fn send(
    s: &Shared,
    rec: &EventRecord,
    inst: &InstanceRecord,
    callback: &str,
    replay: bool,
) -> AttemptResult {
    // An IP-literal or localhost URL skips DNS: check it here (names go through the resolver).
    if !herald_core::callback_url::literal_allowed(callback, s.allow_private_callbacks) {
        return refused(s, "blocked: the callback address is not public");
    }
    // A configured key that cannot be opened never means "send unsigned".
    let Ok(key) = signature_key(s, inst) else {
        tracing::error!(
            instance_id = inst.id,
            event_id = rec.id,
            "the signature key does not open with HERALD_SECRET_KEY; not sent unsigned"
        );
        return refused(s, "the signature key cannot be opened; not sent unsigned");
    };
    let id = webhook_id(rec);
    let ts = chrono::Utc::now().timestamp();
    let mut req = s
        .http
        .post(callback)
        .header("Content-Type", "application/json")
        .header("Elements-Webhook-Id", &id)
        .header("webhook-id", &id)
        .header("webhook-timestamp", ts.to_string());
    if let Some(key) = key {
        let body = rec.body.as_bytes();
        req = req
            .header(
                "Elements-Webhook-Signature",
                elements_signature(key.as_bytes(), body),
            )
            .header(
                "webhook-signature",
                standard_webhooks_signature(key.as_bytes(), &id, ts, body),
            );
    }
    if replay {
        // Same ids, so a receiver deduplicating by id is not fooled; this says it is a replay.
        req = req.header("Elements-Replay", "true");
    }
    // The event's trace, the same on every attempt.
    let trace = match &rec.trace_parent {
        Some(tp) => tp.clone(),
        None => TraceParent::derived(&id).to_string(),
    };
    req = req.header("traceparent", trace);
    let started = Instant::now();
    let date = now_rfc3339();
    let sent = req.body(rec.body.clone()).send().await;
    let duration = started.elapsed();
    let mut result = match sent {
        Ok(resp) => {
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            // Read a little (so a short answer's connection can be reused), never a whole
            // large one: the body is not used.
            let mut resp = resp;
            let mut read = 0usize;
            while read < DRAIN_LIMIT {
                match resp.chunk().await {
                    Ok(Some(c)) => read += c.len(),
                    _ => break,
                }
            }
            let success = status.is_success();
            AttemptResult {
                attempt: Attempt {
                    date,
                    status_code: Some(status.as_u16()),
                    duration_ms: 0,
                    error: (!success).then(|| format!("HTTP {}", status.as_u16())),
                },
                success,
                retry_after: if success { None } else { retry_after },
                gone: status.as_u16() == 410,
                outcome: if success { "success" } else { "http_error" },
            }
        }
        Err(e) => {
            let (error, outcome) = if e.is_timeout() {
                ("timeout".to_string(), "timeout")
            } else {
                (
                    format!("connection error: {}", e.without_url()),
                    "connection_error",
                )
            };
            AttemptResult {
                attempt: Attempt {
                    date,
                    status_code: None,
                    duration_ms: 0,
                    error: Some(error),
                },
                success: false,
                retry_after: None,
                gone: false,
                outcome,
            }
        }
    };
    result.attempt.duration_ms = duration.as_millis() as u64;
    s.metrics.delivery_attempts.inc(&[result.outcome]);
    s.metrics
        .delivery_duration
        .observe(&[result.outcome], duration.as_secs_f64());
    result
}

/// An attempt refused before any request (counted as a failed attempt).
fn refused(s: &Shared, why: &str) -> AttemptResult {
    s.metrics.delivery_attempts.inc(&["blocked"]);
    AttemptResult {
        attempt: Attempt {
            date: now_rfc3339(),
            status_code: None,
            duration_ms: 0,
            error: Some(why.into()),
        },
        success: false,
        retry_after: None,
        gone: false,
        outcome: "blocked",
    }
}

/// The instance's signature key: none configured, the key, or `Err` when it is configured but
/// does not open.
fn signature_key(s: &Shared, inst: &InstanceRecord) -> Result<Option<String>, ()> {
    let key = s
        .secret_box
        .entry(inst, "event.notification.signature.key")
        .map_err(|_| ())?;
    Ok(key
        .map(|k| k.expose_secret().to_string())
        .filter(|k| !k.is_empty()))
}

/// `Retry-After` as seconds or an HTTP date; capped at one hour.
pub fn parse_retry_after(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let d = if let Ok(secs) = raw.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(raw).ok()?;
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default()
    };
    Some(d.min(Duration::from_secs(3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("99999"), Some(Duration::from_secs(3600)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
