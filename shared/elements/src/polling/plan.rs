//! What one instance polls, and one poll of it.
//!
//! Resources come from `event.poller.configuration` (or the legacy `event.poller.urls`); an
//! element's own poller applies where the user gave no URL: Salesforce objects by SOQL,
//! QuickBooks entities by CDC, and DocuShare Flex's `events` resource by default.

use crate::http::Http;
use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::classify::Rules;
use super::config::{self, Resource};
use super::fetch::{self, Context, Record};
use super::{quickbooks, sfdc};
use crate::key::ElementKey;
use crate::ElementError;

/// Default tolerance for CREATED vs UPDATED when a resource sets none.
const DEFAULT_TOLERANCE_MS: i64 = 1_000;

/// DocuShare Flex's `events` resource [assumed: little is public; override per instance].
pub fn docushare_default() -> Value {
    json!({"events": {
        "url": "/api/v1/events?modifiedSince=${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}",
        "idField": "handle",
        "datesConfiguration": {
            "updatedDateField": "modified", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'", "updatedDateTimezone": "GMT",
            "createdDateField": "created", "createdDateFormat": "yyyy-MM-dd'T'HH:mm:ss'Z'", "createdDateTimezone": "GMT"
        },
        "createdCheckTolerance": 0,
        "pageSize": 100
    }})
}

/// What a poll needs to know about the instance.
pub struct PollInput<'a> {
    pub element: ElementKey,
    pub configuration: &'a BTreeMap<String, Value>,
    /// The API base (after overrides and per-instance hosts).
    pub api_base: &'a str,
    /// The provider account (QuickBooks realm).
    pub account: Option<&'a str>,
    pub token: &'a str,
}

/// Records found, each with the rules to classify it, and where the cursor may go if not to
/// the poll's start (a capped answer moves it only as far as what was read).
pub struct Polled {
    pub records: Vec<(Record, Rules)>,
    pub cursor_ms: Option<i64>,
    /// Resources listed whole (`detectDeletions`): every id that exists now.
    pub snapshots: Vec<(String, std::collections::HashSet<String>)>,
}

fn resources(input: &PollInput<'_>) -> Result<BTreeMap<String, Resource>, ElementError> {
    if let Some(v) = input
        .configuration
        .get("event.poller.configuration")
        .filter(|v| !v.is_null())
    {
        if !matches!(v, Value::String(s) if s.trim().is_empty()) {
            return config::parse_with(v, !config::url_optional(input.element))
                .map_err(ElementError::Invalid);
        }
    }
    if let Some(text) = input
        .configuration
        .get("event.poller.urls")
        .and_then(Value::as_str)
    {
        if !text.trim().is_empty() {
            return config::parse_legacy_urls(text).map_err(ElementError::Invalid);
        }
    }
    match input.element {
        ElementKey::DocuShareFlex => {
            config::parse(&docushare_default()).map_err(ElementError::Invalid)
        }
        _ => Ok(BTreeMap::new()),
    }
}

fn rules(r: Option<&Resource>, cursor_ms: i64) -> Rules {
    let delay_ms = r
        .and_then(|r| r.poll_delay.as_ref())
        .and_then(|d| d.value())
        .map(|s| (s * 1000.0) as i64)
        .unwrap_or(0);
    let filter = match r.and_then(|r| r.filter_by_updated_date.as_ref()) {
        Some(config::FlexBool::Bool(b)) => *b,
        Some(config::FlexBool::Text(t)) => !t.eq_ignore_ascii_case("false"),
        None => true,
    };
    Rules {
        since_ms: cursor_ms - delay_ms,
        filter_by_updated_date: filter,
        created_tolerance_ms: r
            .and_then(|r| r.created_check_tolerance.as_ref())
            .and_then(|t| t.value())
            .map(|s| (s * 1000.0) as i64)
            .unwrap_or(DEFAULT_TOLERANCE_MS),
    }
}

/// Polls every resource of the instance for changes since `cursor_ms`.
pub async fn poll(
    http: &Http,
    input: &PollInput<'_>,
    cursor_ms: i64,
    now_ms: i64,
) -> Result<Polled, ElementError> {
    let cx = Context {
        http,
        api_base: input.api_base,
        token: input.token,
        timezone: None,
    };
    let configured = resources(input)?;
    let (with_url, names_only): (HashMap<&String, &Resource>, Vec<&String>) = {
        let mut w = HashMap::new();
        let mut n = Vec::new();
        for (k, r) in &configured {
            if r.url.trim().is_empty() {
                n.push(k);
            } else {
                w.insert(k, r);
            }
        }
        (w, n)
    };
    let mut out = Vec::new();
    let mut cursor_override = None;
    let mut snapshots = Vec::new();
    for (name, r) in &with_url {
        let rl = rules(Some(r), cursor_ms);
        for rec in fetch::fetch_resource(&cx, name, r, rl.since_ms).await? {
            out.push((rec, rl));
        }
        if r.detect_deletions
            .as_ref()
            .is_some_and(config::FlexBool::value)
        {
            let all = fetch::fetch_resource(&cx, name, r, 0).await?;
            snapshots.push((
                name.to_string(),
                all.into_iter().map(|r| r.object_id).collect(),
            ));
        }
    }
    match input.element {
        ElementKey::Sfdc if with_url.is_empty() => {
            let objects: Vec<String> = if names_only.is_empty() {
                sfdc::DEFAULT_OBJECTS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                names_only.iter().map(|s| s.to_string()).collect()
            };
            let rl = rules(None, cursor_ms);
            for o in objects {
                for rec in sfdc::fetch_object(&cx, &o, rl.since_ms, now_ms).await? {
                    out.push((rec, rl));
                }
            }
        }
        ElementKey::QuickBooks if with_url.is_empty() => {
            let realm = input.account.ok_or_else(|| {
                ElementError::Invalid("QuickBooks instance without a realm".into())
            })?;
            let entities =
                quickbooks::entities(input.configuration.get("event.poller.configuration"));
            let rl = rules(None, cursor_ms);
            let (records, truncated) =
                quickbooks::fetch(&cx, realm, &entities, rl.since_ms, now_ms).await?;
            if truncated {
                // The rest comes next poll: move the cursor only to what was read.
                cursor_override = records.iter().filter_map(|r| r.updated_ms).max();
            }
            out.extend(records.into_iter().map(|r| (r, rl)));
        }
        _ => {}
    }
    Ok(Polled {
        records: out,
        cursor_ms: cursor_override,
        snapshots,
    })
}
