//! Shapes that cross process boundaries: bus messages (versioned; change one by adding a
//! variant) and the records kept in Redis.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request on `herald.v1.rpc.provisioning.<op>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum ProvisioningRequest {
    /// Create an instance from a `POST /instances` body.
    #[serde(rename = "create.1")]
    CreateV1 {
        user_id: u64,
        org_id: u64,
        request_id: String,
        body: Value,
    },
    /// Refresh an instance's access token, unless it changed since `seen_version`.
    #[serde(rename = "refresh.1")]
    RefreshV1 { instance_id: u64, seen_version: u64 },
    /// `PATCH /instances/{id}` (name, tags, configuration entries) or, with
    /// [`UpdateMode::Replace`], `PUT /instances/{id}`.
    #[serde(rename = "update.1")]
    UpdateV1 {
        instance_id: u64,
        user_id: u64,
        body: Value,
        /// Absent in requests from before `PUT` existed: a patch.
        #[serde(default)]
        mode: UpdateMode,
    },
    /// `DELETE /instances/{id}`.
    #[serde(rename = "delete.1")]
    DeleteV1 { instance_id: u64, user_id: u64 },
    /// `PUT|DELETE /instances/enabled`.
    #[serde(rename = "enabled.1")]
    SetEnabledV1 { instance_id: u64, enabled: bool },
}

impl ProvisioningRequest {
    /// The last token of the request's subject (`herald.v1.rpc.provisioning.<op>`).
    pub const fn op(&self) -> &'static str {
        match self {
            Self::CreateV1 { .. } => "create",
            Self::RefreshV1 { .. } => "refresh",
            Self::UpdateV1 { .. } => "update",
            Self::DeleteV1 { .. } => "delete",
            Self::SetEnabledV1 { .. } => "enabled",
        }
    }
}

/// How an update treats what its body leaves out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdateMode {
    /// `PATCH`: only what the body names changes.
    #[default]
    Patch,
    /// `PUT`: name, tags and configuration become what the body says (secrets left out or
    /// masked keep their values).
    Replace,
}

/// The reply to any provisioning request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RpcReply {
    Ok(Value),
    Error(RpcError),
}

/// A failure an HTTP caller can show as is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpcError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// A lifecycle fact on the INSTANCES stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum InstanceFact {
    #[serde(rename = "created.1")]
    CreatedV1 {
        instance_id: u64,
        element_key: String,
    },
    #[serde(rename = "updated.1")]
    UpdatedV1 {
        instance_id: u64,
        element_key: String,
    },
    #[serde(rename = "deleted.1")]
    DeletedV1 {
        instance_id: u64,
        element_key: String,
    },
}

/// A message on the EVENTS stream: one notification to deliver. The notification itself lives
/// in its delivery record (Redis), written before this message is published.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum NotificationMessage {
    #[serde(rename = "notification.1")]
    V1 {
        event_id: u64,
        instance_id: u64,
        /// The callback's origin when it was published: delivery asks the origin's gate while
        /// it reads the record (absent in older messages: asked after).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        origin: Option<String>,
    },
    /// Send a notification once more now (a user's retry, or a replay with `Elements-Replay`),
    /// whatever its status; its ids and body stay the same.
    #[serde(rename = "resend.1")]
    ResendV1 {
        event_id: u64,
        instance_id: u64,
        replay: bool,
    },
    /// A replay: send these once more, one after the other, in this order (`eventId` order),
    /// each with `Elements-Replay: true`.
    #[serde(rename = "replay.1")]
    ReplayV1 {
        instance_id: u64,
        event_ids: Vec<u64>,
    },
}

/// A message on the POLLS work queue: poll this instance for this slot (or now, if manual).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum PollJob {
    #[serde(rename = "poll.1")]
    V1 {
        instance_id: u64,
        slot_ms: i64,
        manual: bool,
    },
}

/// Provider-side state of an instance. Token values are sealed (`enc:v1:…`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProviderState {
    pub access_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_at_ms: Option<i64>,
    /// The provider account this instance is connected to (routing key for webhooks).
    pub account_id: Option<String>,
    /// A per-instance API host the provider named (Salesforce `instance_url`).
    #[serde(default)]
    pub api_base: Option<String>,
    /// Bumped on every token refresh, so concurrent refreshers see one already happened.
    #[serde(default)]
    pub token_version: u64,
}

/// The delivery options' configuration entries.
pub const RATE_LIMIT: &str = "event.notification.rate.limit";
pub const ORDERED: &str = "event.notification.ordered";

/// An element instance as stored. Secret configuration values are sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub id: u64,
    pub name: String,
    pub user_id: u64,
    pub org_id: u64,
    pub element_key: String,
    pub tags: Vec<String>,
    pub created_date: String,
    pub configuration: BTreeMap<String, Value>,
    /// Configuration keys whose values are sealed.
    pub secret_keys: Vec<String>,
    pub provider: ProviderState,
    pub valid: bool,
    pub invalid_reason: Option<String>,
    pub disabled: bool,
    pub events_enabled: bool,
    /// SHA-256 of the instance token (to drop its lookup on delete).
    #[serde(default)]
    pub token_hash: String,
}

impl InstanceRecord {
    pub fn config_str(&self, key: &str) -> Option<&str> {
        self.configuration.get(key).and_then(Value::as_str)
    }

    /// The access token expires within a minute (or has): refresh it before using it.
    pub fn token_expiring(&self, now_ms: i64) -> bool {
        /// Refresh this long before expiry, so no call meets an expired token.
        const MARGIN_MS: i64 = 60_000;
        self.provider
            .expires_at_ms
            .is_some_and(|at| at - now_ms < MARGIN_MS)
    }

    /// `event.notification.rate.limit`: at most this many notifications per second.
    pub fn rate_limit(&self) -> Option<u64> {
        self.configuration
            .get(RATE_LIMIT)
            .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()))
            .filter(|n| *n > 0)
    }

    /// `event.notification.ordered`: one notification at a time, in `eventId` order.
    pub fn ordered(&self) -> bool {
        match self.configuration.get(ORDERED) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// Events flow only to an enabled, valid instance with events on.
    pub fn accepts_events(&self) -> bool {
        self.events_enabled && !self.disabled && self.valid
    }
}

/// Delivery status of one notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventStatus {
    Received,
    Dispatched,
    Notified,
    Retrying,
    Failed,
}

impl EventStatus {
    pub const ALL: [Self; 5] = [
        Self::Received,
        Self::Dispatched,
        Self::Notified,
        Self::Retrying,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "RECEIVED",
            Self::Dispatched => "DISPATCHED",
            Self::Notified => "NOTIFIED",
            Self::Retrying => "RETRYING",
            Self::Failed => "FAILED",
        }
    }

    /// A status by its name, in any case.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// No further automatic attempt follows.
    pub fn is_settled(self) -> bool {
        matches!(self, Self::Notified | Self::Failed)
    }
}

/// One callback attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub date: String,
    pub status_code: Option<u16>,
    pub duration_ms: u64,
    pub error: Option<String>,
}

/// A notification's delivery record.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: u64,
    pub notification_id: u64,
    pub instance_id: u64,
    pub user_id: u64,
    pub element_key: String,
    pub event_date_ms: i64,
    pub status: EventStatus,
    pub attempts: u32,
    pub last_attempt: Option<Attempt>,
    pub next_attempt_ms: Option<i64>,
    pub failure_reason: Option<String>,
    /// The exact callback body (JSON text).
    pub body: String,
    /// The provider's raw body, as received (text).
    pub provider_data: String,
    pub trace_parent: Option<String>,
    /// Where this one goes instead of the instance's callback URL (an async hub request's
    /// `Elements-Async-Callback-Url`).
    pub callback_url: Option<String>,
}

/// A message on the JOBS work queue: an asynchronous hub request to run. The request body is
/// the message payload; this travels in the `Herald-Job` header.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum AsyncJob {
    #[serde(rename = "hub.1")]
    HubV1 {
        event_id: u64,
        notification_id: u64,
        instance_id: u64,
        user_id: u64,
        element_key: String,
        method: String,
        /// Path and query below the API base, as the caller sent them.
        uri: String,
        content_type: Option<String>,
        /// Where the result goes (the header's URL, else the instance's callback URL).
        callback_url: String,
        /// When the gateway accepted the request (the item's `eventDate`).
        accepted_ms: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::EventStatus;

    #[test]
    fn every_event_status_is_read_back_by_its_name_in_any_case() {
        for s in EventStatus::ALL {
            assert_eq!(EventStatus::parse(s.as_str()), Some(s));
            assert_eq!(EventStatus::parse(&s.as_str().to_lowercase()), Some(s));
        }
        assert_eq!(EventStatus::parse("DELIVERED"), None);
    }
}
