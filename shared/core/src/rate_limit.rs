//! Request rate limits for the HTTP servers: token buckets per caller key (the client's IP, and
//! on the gateway also the tenant user), refilled at `rate` per second with a burst of `rate`.
//! A request over its limit is answered 429 with `Retry-After` before any work is done.
//!
//! Buckets live in the process (each replica limits what reaches it); their table is bounded,
//! so a flood of distinct keys cannot grow memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Keys tracked at most; past this the oldest state is dropped (a new key starts full).
const MAX_KEYS: usize = 100_000;

#[derive(Clone)]
pub struct RateLimiter {
    rate: f64,
    buckets: Arc<Mutex<HashMap<String, (f64, Instant)>>>,
}

impl RateLimiter {
    /// `rate` requests per second per key; `None` for 0 (no limit).
    pub fn new(rate: u32) -> Option<Self> {
        (rate > 0).then(|| Self {
            rate: f64::from(rate),
            buckets: Arc::default(),
        })
    }

    /// Takes a token for `key`: `Ok` to go on, `Err(seconds)` to wait before trying again.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.clear();
        }
        let (tokens, at) = buckets.entry(key.to_string()).or_insert((self.rate, now));
        *tokens =
            (*tokens + now.saturating_duration_since(*at).as_secs_f64() * self.rate).min(self.rate);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

/// The limits one server applies.
#[derive(Clone, Default)]
pub struct Limits {
    pub per_ip: Option<RateLimiter>,
    /// By the `User` part of `Authorization` (the tenant user), on the gateway.
    pub per_tenant: Option<RateLimiter>,
}

/// The middleware: 429 with `Retry-After` for a caller over a limit.
pub async fn enforce(
    axum::extract::State(limits): axum::extract::State<Limits>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let now = Instant::now();
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let mut wait = None;
    if let (Some(limiter), Some(ip)) = (&limits.per_ip, &ip) {
        wait = limiter.check(ip, now).err();
    }
    if let (None, Some(limiter), Some(user)) = (wait, &limits.per_tenant, tenant_key(&req)) {
        wait = limiter.check(&user, now).err();
    }
    match wait {
        None => next.run(req).await,
        Some(secs) => {
            let mut resp = crate::http::error_response(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("Too many requests; retry after {secs} s"),
            );
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(secs),
            );
            resp
        }
    }
}

/// The tenant user a request claims to be (hashed: the key is never a secret).
fn tenant_key(req: &axum::extract::Request) -> Option<String> {
    let auth = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    auth.split(',').find_map(|part| {
        let part = part.trim();
        let rest = part.strip_prefix("User")?;
        let secret = rest.trim_start_matches([' ', ':']).trim();
        (!secret.is_empty()).then(|| crate::crypto::secret_hash(secret)[..16].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_of_rate_then_refill_at_rate() {
        let limiter = RateLimiter::new(5).expect("limited");
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limiter.check("ip", t0).is_ok());
        }
        assert_eq!(limiter.check("ip", t0), Err(1));
        assert!(limiter.check("other", t0).is_ok(), "keys are separate");
        assert!(limiter.check("ip", t0 + Duration::from_millis(200)).is_ok());
        assert!(limiter
            .check("ip", t0 + Duration::from_millis(200))
            .is_err());
        assert!(RateLimiter::new(0).is_none());
    }
}
