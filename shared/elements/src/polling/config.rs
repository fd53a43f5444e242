//! `event.poller.configuration`: an object keyed by resource name (sometimes sent as a JSON
//! string), each with a `url` template and how to read ids and dates. The legacy
//! `event.poller.urls` form is one resource per line,
//! `resource|url|filter|updatedField|updatedFormat|tz|createdField|createdFormat|tz`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::java_date;
use crate::key::ElementKey;

/// Where a resource's dates are and how they are written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DatesConfiguration {
    pub updated_date_field: Option<String>,
    pub updated_date_format: Option<String>,
    pub updated_date_timezone: Option<String>,
    pub created_date_field: Option<String>,
    pub created_date_format: Option<String>,
    pub created_date_timezone: Option<String>,
}

/// One polled resource.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub url: String,
    #[serde(default)]
    pub id_field: Option<String>,
    #[serde(default)]
    pub dates_configuration: Option<DatesConfiguration>,
    #[serde(default)]
    pub filter_by_updated_date: Option<FlexBool>,
    #[serde(default)]
    pub created_check_tolerance: Option<FlexNumber>,
    #[serde(default)]
    pub page_size: Option<FlexNumber>,
    #[serde(default)]
    pub poll_delay: Option<FlexNumber>,
    /// Our extension (off by default; the original has none): list the whole resource each poll
    /// (the URL filled with the epoch as its date) and report ids gone since the last poll as
    /// DELETED.
    #[serde(default)]
    pub detect_deletions: Option<FlexBool>,
}

/// A boolean given as `true` or `"true"`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FlexBool {
    Bool(bool),
    Text(String),
}

/// A number given as `5` or `"5"`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum FlexNumber {
    Number(f64),
    Text(String),
}

impl FlexBool {
    pub fn value(&self) -> bool {
        match self {
            Self::Bool(b) => *b,
            Self::Text(t) => t.trim().eq_ignore_ascii_case("true"),
        }
    }
}

impl FlexNumber {
    pub fn value(&self) -> Option<f64> {
        match self {
            Self::Number(n) => Some(*n),
            Self::Text(s) => s.trim().parse().ok(),
        }
    }
}

/// Whether an element's resources may omit `url` (its own poller knows how to ask).
pub fn url_optional(element: ElementKey) -> bool {
    matches!(element, ElementKey::Sfdc | ElementKey::QuickBooks)
}

/// Parses and validates a configuration value (object or JSON text); every resource needs a `url`.
pub fn parse(value: &Value) -> Result<BTreeMap<String, Resource>, String> {
    parse_with(value, true)
}

/// As [`parse`]; with `url_required` false a resource without `url` names an object to poll.
pub fn parse_with(value: &Value, url_required: bool) -> Result<BTreeMap<String, Resource>, String> {
    let owned;
    let value = match value {
        Value::String(text) => {
            owned = serde_json::from_str::<Value>(text)
                .map_err(|e| format!("event.poller.configuration is not valid JSON: {e}"))?;
            &owned
        }
        v => v,
    };
    let Value::Object(map) = value else {
        return Err("event.poller.configuration must be an object keyed by resource name".into());
    };
    let mut out = BTreeMap::new();
    for (name, raw) in map {
        let missing_url = raw
            .get("url")
            .and_then(Value::as_str)
            .is_none_or(|u| u.trim().is_empty());
        if missing_url && url_required {
            return Err(format!("event.poller.configuration.{name}: missing url"));
        }
        let mut raw = raw.clone();
        if missing_url {
            match raw.as_object_mut() {
                Some(m) => {
                    m.insert("url".into(), Value::String(String::new()));
                }
                None => raw = serde_json::json!({"url": ""}),
            }
        }
        if !missing_url {
            if let Some(url) = raw.get("url").and_then(Value::as_str) {
                super::fetch::fill_template(url, 0, None)
                    .map_err(|e| format!("event.poller.configuration.{name}.url: {e}"))?;
            }
        }
        let r: Resource = serde_json::from_value(raw)
            .map_err(|e| format!("event.poller.configuration.{name}: {e}"))?;
        if let Some(d) = &r.dates_configuration {
            for f in [&d.updated_date_format, &d.created_date_format]
                .into_iter()
                .flatten()
            {
                if f != "milliseconds" {
                    java_date::to_chrono(f)
                        .map_err(|e| format!("event.poller.configuration.{name}: {e}"))?;
                }
            }
            for tz in [&d.updated_date_timezone, &d.created_date_timezone]
                .into_iter()
                .flatten()
            {
                if !valid_timezone(tz) {
                    return Err(format!(
                        "event.poller.configuration.{name}: unknown time zone {tz:?}"
                    ));
                }
            }
        }
        for (field, n) in [
            ("pageSize", &r.page_size),
            ("pollDelay", &r.poll_delay),
            ("createdCheckTolerance", &r.created_check_tolerance),
        ] {
            if let Some(n) = n {
                if n.value().is_none_or(|v| v < 0.0) {
                    return Err(format!(
                        "event.poller.configuration.{name}.{field} must be a non-negative number"
                    ));
                }
            }
        }
        out.insert(name.clone(), r);
    }
    Ok(out)
}

/// UTC/GMT, fixed offsets (`+02:00`, `GMT-5`) are understood; zone names need the poller's table.
fn valid_timezone(tz: &str) -> bool {
    let t = tz.trim();
    if matches!(t.to_ascii_uppercase().as_str(), "UTC" | "GMT" | "Z") {
        return true;
    }
    let rest = t
        .strip_prefix("GMT")
        .or_else(|| t.strip_prefix("UTC"))
        .unwrap_or(t);
    let rest = rest.strip_prefix(['+', '-']);
    rest.is_some_and(|r| {
        let digits: String = r.chars().filter(|c| *c != ':').collect();
        !digits.is_empty() && digits.len() <= 4 && digits.chars().all(|c| c.is_ascii_digit())
    })
}

/// Parses the legacy one-line-per-resource form.
pub fn parse_legacy_urls(text: &str) -> Result<BTreeMap<String, Resource>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let parts: Vec<&str> = line.split('|').collect();
        let (Some(name), Some(url)) = (parts.first(), parts.get(1)) else {
            return Err(format!(
                "event.poller.urls line {}: expected resource|url|…",
                n + 1
            ));
        };
        if url.trim().is_empty() {
            return Err(format!("event.poller.urls line {}: missing url", n + 1));
        }
        super::fetch::fill_template(url.trim(), 0, None)
            .map_err(|e| format!("event.poller.urls line {}: {e}", n + 1))?;
        let get = |i: usize| {
            parts
                .get(i)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let dates = DatesConfiguration {
            updated_date_field: get(3),
            updated_date_format: get(4),
            updated_date_timezone: get(5),
            created_date_field: get(6),
            created_date_format: get(7),
            created_date_timezone: get(8),
        };
        for f in [&dates.updated_date_format, &dates.created_date_format]
            .into_iter()
            .flatten()
        {
            if f != "milliseconds" {
                java_date::to_chrono(f)
                    .map_err(|e| format!("event.poller.urls line {}: {e}", n + 1))?;
            }
        }
        out.insert(
            name.trim().to_string(),
            Resource {
                url: url.trim().to_string(),
                id_field: None,
                dates_configuration: Some(dates),
                filter_by_updated_date: None,
                created_check_tolerance: None,
                page_size: None,
                poll_delay: None,
                detect_deletions: None,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_objects_and_json_text_and_names_errors() {
        let cfg = json!({"contacts": {"url": "/hubs/crm/contacts?where=lastmodifieddate>'${date:yyyy-MM-dd'T'HH:mm:ssXXX}'",
            "idField": "id", "datesConfiguration": {"updatedDateField": "lastModified", "updatedDateFormat": "yyyy-MM-dd'T'HH:mm:ssXXX", "updatedDateTimezone": "GMT"},
            "pageSize": "200"}});
        let parsed = parse(&cfg).expect("valid");
        assert_eq!(
            parsed["contacts"]
                .page_size
                .as_ref()
                .and_then(FlexNumber::value),
            Some(200.0)
        );
        assert!(parse(&Value::String(cfg.to_string())).is_ok());
        assert!(parse(&json!("{not json"))
            .expect_err("bad")
            .contains("not valid JSON"));
        assert!(parse(&json!({"x": {"idField": "id"}}))
            .expect_err("bad")
            .contains("missing url"));
        let bad_date =
            json!({"x": {"url": "/x", "datesConfiguration": {"updatedDateFormat": "yyyy-qq"}}});
        assert!(parse(&bad_date)
            .expect_err("bad")
            .contains("unsupported letter"));
        assert!(parse_legacy_urls("contacts|/contacts|x|updated|yyyy-MM-dd|GMT").is_ok());
        assert!(parse_legacy_urls("contacts").is_err());
        let bad_template = json!({"x": {"url": "/x?since=${when:yyyy}"}});
        assert!(parse(&bad_template)
            .expect_err("bad")
            .contains("unknown placeholder"));
        let unclosed = json!({"x": {"url": "/x?since=${date:yyyy"}});
        assert!(parse(&unclosed).expect_err("bad").contains("unclosed"));
    }
}
