//! Every Redis key Herald uses, built in one place.
//!
//! ```text
//! herald:v1:[<prefix>:]seq:<kind>                      INCR id sequences (org, user, instance, event, notification)
//! herald:v1:[<prefix>:]{o:<org>}:org                   HASH organization {id,name,secret_hash}
//! herald:v1:[<prefix>:]org-secret:<sha256>             STRING secret hash → org id
//! herald:v1:[<prefix>:]{u:<user>}:user                 HASH user {id,org_id,email,…,secret_hash}
//! herald:v1:[<prefix>:]user-secret:<sha256>            STRING secret hash → user id
//! herald:v1:[<prefix>:]{u:<user>}:instances            SET the user's instance ids
//! herald:v1:[<prefix>:]{u:<user>}:events               ZSET eventDate(ms) → event id, the user's events
//! herald:v1:[<prefix>:]{i:<inst>}:instance             STRING instance record (JSON, secrets sealed)
//! herald:v1:[<prefix>:]instance-token:<sha256>         STRING instance token hash → instance id
//! herald:v1:[<prefix>:]route:<element>:<account>       SET instance ids behind a provider account
//!                                                      (Box v2 also `route:box:webhook:<webhook id>`)
//! herald:v1:[<prefix>:]webhook-secrets:<element>       HASH "<instance id>[:<n>]" → sealed webhook signing secret
//! herald:v1:[<prefix>:]{i:<inst>}:provider-webhooks    SET ids of the provider-side webhooks Herald created
//! herald:v1:[<prefix>:]{i:<inst>}:accepted             ZSET change key → when accepted(ms): pushed changes already notified
//! herald:v1:[<prefix>:]{i:<inst>}:sync                 HASH change-feed state {cursor, pending}
//! herald:v1:[<prefix>:]{i:<inst>}:seen                 HASH object key → version (CREATED vs UPDATED)
//! herald:v1:[<prefix>:]{i:<inst>}:lock:<lease>         STRING a lease on the instance ([`InstanceLease`])
//! herald:v1:[<prefix>:]{i:<inst>}:events               ZSET eventDate(ms) → event id
//! herald:v1:[<prefix>:]{i:<inst>}:pending              ZSET unsettled notification ids of an ordered instance
//! herald:v1:[<prefix>:]{i:<inst>}:rate                 HASH {tat}: the rate limit's next free slot (ms)
//! herald:v1:[<prefix>:]{i:<inst>}:slots                HASH event id → its reserved send time (ms)
//! herald:v1:[<prefix>:]{e:<event>}:event               HASH delivery record (status, body, attempts, …)
//! herald:v1:[<prefix>:]{e:<event>}:attempts            LIST one JSON entry per attempt, oldest first
//! herald:v1:[<prefix>:]retries                         ZSET due(ms) → event id, the retry schedule
//! herald:v1:[<prefix>:]retries:claimed                 ZSET event id → lease expiry, schedule members being attempted
//! herald:v1:[<prefix>:]{b:<origin>}:breaker            HASH circuit breaker of a callback origin {failures, open, next_probe}
//! herald:v1:[<prefix>:]{b:<origin>}:inflight           ZSET attempt token → lease expiry, attempts out to the origin
//! herald:v1:[<prefix>:]{b:<origin>}:held               ZSET event id → hold end, notifications held by the open breaker
//! herald:v1:[<prefix>:]{poll}:due                      ZSET next slot(ms) → instance id, the poll schedule
//! herald:v1:[<prefix>:]{poll}:interval                 HASH instance id → interval (ms), who polls at all
//! herald:v1:[<prefix>:]{poll}:claimed                  ZSET "<id>:<slot>" → lease expiry, claimed slots not yet queued
//! herald:v1:[<prefix>:]{i:<inst>}:poll                 HASH poll status (last poll, error, failures, done slot)
//! ```
//!
//! Keys that change together share a hash tag (`{i:…}`, `{e:…}`, `{u:…}`), so the layout runs
//! on Redis Cluster unchanged; the few global keys (sequences, secret lookups, routes, retry
//! schedule) are each touched alone.

/// The `<account>` part of the route of a provider-side webhook Herald created (Box v2
/// deliveries name their webhook, not an account).
pub fn webhook_account(webhook_id: &str) -> String {
    format!("webhook:{webhook_id}")
}

/// What a lease on one instance guards: one holder at a time, across every replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceLease {
    /// Bringing its change feed up to date, or notifying its pushed changes (ingest).
    Feed,
    /// One poll (poller).
    Poll,
    /// Every write of its record (provisioning).
    Record,
}

impl InstanceLease {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "feed",
            Self::Poll => "poll",
            Self::Record => "record",
        }
    }
}

/// Builds keys under one prefix.
#[derive(Debug, Clone)]
pub struct Keys {
    base: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        let base = if prefix.is_empty() {
            "herald:v1:".to_string()
        } else {
            format!("herald:v1:{prefix}:")
        };
        Self { base }
    }

    /// Everything this prefix owns (for tests that scan a namespace).
    pub fn pattern_all(&self) -> String {
        format!("{}*", self.base)
    }

    /// Every instance record (the re-seal sweep scans them).
    pub fn instance_pattern(&self) -> String {
        format!("{}{{i:*}}:instance", self.base)
    }

    pub fn seq(&self, kind: &str) -> String {
        format!("{}seq:{kind}", self.base)
    }
    pub fn org(&self, org: u64) -> String {
        format!("{}{{o:{org}}}:org", self.base)
    }
    pub fn org_secret(&self, hash: &str) -> String {
        format!("{}org-secret:{hash}", self.base)
    }
    pub fn user(&self, user: u64) -> String {
        format!("{}{{u:{user}}}:user", self.base)
    }
    pub fn user_secret(&self, hash: &str) -> String {
        format!("{}user-secret:{hash}", self.base)
    }
    pub fn user_instances(&self, user: u64) -> String {
        format!("{}{{u:{user}}}:instances", self.base)
    }
    pub fn user_events(&self, user: u64) -> String {
        format!("{}{{u:{user}}}:events", self.base)
    }
    pub fn instance(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:instance", self.base)
    }
    pub fn instance_token(&self, hash: &str) -> String {
        format!("{}instance-token:{hash}", self.base)
    }
    pub fn route(&self, element: &str, account: &str) -> String {
        format!("{}route:{element}:{account}", self.base)
    }
    pub fn webhook_secrets(&self, element: &str) -> String {
        format!("{}webhook-secrets:{element}", self.base)
    }
    pub fn sync_state(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:sync", self.base)
    }
    pub fn provider_webhooks(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:provider-webhooks", self.base)
    }
    pub fn accepted(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:accepted", self.base)
    }
    pub fn seen(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:seen", self.base)
    }
    pub fn lock(&self, inst: u64, lease: InstanceLease) -> String {
        format!("{}{{i:{inst}}}:lock:{}", self.base, lease.as_str())
    }
    pub fn pending(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:pending", self.base)
    }
    pub fn rate(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:rate", self.base)
    }
    pub fn rate_slots(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:slots", self.base)
    }
    pub fn instance_events(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:events", self.base)
    }
    pub fn event(&self, event: u64) -> String {
        format!("{}{{e:{event}}}:event", self.base)
    }
    pub fn event_attempts(&self, event: u64) -> String {
        format!("{}{{e:{event}}}:attempts", self.base)
    }
    pub fn retries(&self) -> String {
        format!("{}retries", self.base)
    }
    /// The schedule's members being handled now: event id → lease expiry.
    pub fn retries_claimed(&self) -> String {
        format!("{}retries:claimed", self.base)
    }
    pub fn breaker(&self, origin: &str) -> String {
        format!("{}{{b:{origin}}}:breaker", self.base)
    }
    pub fn breaker_inflight(&self, origin: &str) -> String {
        format!("{}{{b:{origin}}}:inflight", self.base)
    }
    pub fn breaker_held(&self, origin: &str) -> String {
        format!("{}{{b:{origin}}}:held", self.base)
    }
    pub fn poll_due(&self) -> String {
        format!("{}{{poll}}:due", self.base)
    }
    pub fn poll_interval(&self) -> String {
        format!("{}{{poll}}:interval", self.base)
    }
    pub fn poll_claimed(&self) -> String {
        format!("{}{{poll}}:claimed", self.base)
    }
    pub fn poll_status(&self, inst: u64) -> String {
        format!("{}{{i:{inst}}}:poll", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_and_tagged() {
        let k = Keys::new("t1");
        assert_eq!(k.instance(7), "herald:v1:t1:{i:7}:instance");
        assert_eq!(Keys::new("").retries(), "herald:v1:retries");
        assert!(k.event_attempts(3).contains("{e:3}"));
    }
}
