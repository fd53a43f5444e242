//! The generic REST poller: fill a resource's URL template from the cursor, page through the
//! answers, and read each record's id and dates as the configuration says.
//!
//! Placeholders: `${date:<pattern>}` (the instance's time zone), `${gmtDate:<pattern>}` (GMT),
//! the pattern being a Java `SimpleDateFormat` or `milliseconds`; values are percent-encoded.
//! A URL starting with `/` is resolved against the element's API base. Paging follows a
//! `nextPage`/`next` token or `nextRecordsUrl` in the body, or the `Elements-Next-Page-Token`
//! header, passing `pageSize` when configured.

use crate::http::Http;
use serde_json::Value;

use super::config::Resource;
use super::dates;
use super::http::get_json;
use crate::ElementError;

/// Pages one resource may take in one poll.
const MAX_PAGES: usize = 1000;

/// One changed record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub object_type: String,
    pub object_id: String,
    pub updated_ms: Option<i64>,
    pub created_ms: Option<i64>,
    pub deleted: bool,
}

/// What a resource's poll needs besides its configuration.
pub struct Context<'a> {
    pub http: &'a Http,
    pub api_base: &'a str,
    pub token: &'a str,
    /// The instance's time zone for `${date:…}`.
    pub timezone: Option<&'a str>,
}

/// Fills `${date:…}` and `${gmtDate:…}` with `since_ms`.
pub fn fill_template(url: &str, since_ms: i64, tz: Option<&str>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed placeholder in {url}"))?;
        let inner = &after[..end];
        let (kind, pattern) = inner
            .split_once(':')
            .ok_or_else(|| format!("bad placeholder ${{{inner}}}"))?;
        let value = match kind {
            "date" => dates::format(since_ms, pattern, tz)?,
            "gmtDate" => dates::format(since_ms, pattern, Some("GMT"))?,
            other => return Err(format!("unknown placeholder kind {other:?}")),
        };
        out.push_str(&url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// A JSON path like `user.id`.
pub fn at_path<'v>(v: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(v, |v, part| v.get(part))
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The records of an answer: the array itself, or the first array under a usual name.
fn records_of<'v>(body: &'v Value, resource: &str) -> &'v [Value] {
    if let Some(a) = body.as_array() {
        return a;
    }
    for key in [
        resource, "records", "items", "data", "results", "events", "entries",
    ] {
        if let Some(a) = body.get(key).and_then(Value::as_array) {
            return a;
        }
    }
    body.as_object()
        .and_then(|m| m.values().find_map(Value::as_array))
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn with_param(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let v: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
    format!("{url}{sep}{key}={v}")
}

/// Polls one configured resource for records changed since `since_ms`.
pub async fn fetch_resource(
    cx: &Context<'_>,
    name: &str,
    r: &Resource,
    since_ms: i64,
) -> Result<Vec<Record>, ElementError> {
    let filled = fill_template(&r.url, since_ms, cx.timezone).map_err(ElementError::Invalid)?;
    let mut url = if filled.starts_with('/') {
        format!("{}{filled}", cx.api_base)
    } else {
        filled
    };
    if let Some(size) = r.page_size.as_ref().and_then(|p| p.value()) {
        url = with_param(&url, "pageSize", &(size as u64).to_string());
    }
    let dates = r.dates_configuration.clone().unwrap_or_default();
    let id_field = r.id_field.as_deref().unwrap_or("id");
    let mut out = Vec::new();
    let mut next_url = Some(url.clone());
    let mut pages = 0;
    while let Some(current) = next_url.take() {
        pages += 1;
        if pages > MAX_PAGES {
            break;
        }
        let (body, header_token) = get_json(cx.http, &current, cx.token).await?;
        for rec in records_of(&body, name) {
            let Some(object_id) = at_path(rec, id_field).and_then(id_text) else {
                continue;
            };
            // A date that is there but does not read with the configured pattern is an error
            // (shown on the poll status), never "no date": that would misclassify the record.
            let date = |field: &Option<String>,
                        fmt: &Option<String>,
                        tz: &Option<String>|
             -> Result<Option<i64>, ElementError> {
                let Some((f, v)) = field
                    .as_deref()
                    .and_then(|f| at_path(rec, f).map(|v| (f, v)))
                    .filter(|(_, v)| !v.is_null())
                else {
                    return Ok(None);
                };
                dates::parse(v, fmt.as_deref(), tz.as_deref())
                    .map(Some)
                    .ok_or_else(|| {
                        ElementError::Invalid(format!(
                            "{name}: {f} value {v} does not read with the date pattern {}",
                            fmt.as_deref().unwrap_or("(RFC 3339)")
                        ))
                    })
            };
            out.push(Record {
                object_type: name.to_string(),
                object_id,
                updated_ms: date(
                    &dates.updated_date_field,
                    &dates.updated_date_format,
                    &dates.updated_date_timezone,
                )?,
                created_ms: date(
                    &dates.created_date_field,
                    &dates.created_date_format,
                    &dates.created_date_timezone,
                )?,
                deleted: false,
            });
        }
        let token = ["nextPage", "next", "nextPageToken"]
            .iter()
            .find_map(|k| body.get(*k).and_then(id_text))
            .or(header_token);
        if let Some(path) = body.get("nextRecordsUrl").and_then(Value::as_str) {
            next_url = Some(if path.starts_with('/') {
                format!("{}{path}", cx.api_base)
            } else {
                path.to_string()
            });
        } else if let Some(t) = token.filter(|t| !t.is_empty()) {
            next_url = Some(if t.starts_with("http") {
                t
            } else {
                with_param(&url, "nextPage", &t)
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_fill_and_encode() {
        let url = "/events?since=${gmtDate:yyyy-MM-dd'T'HH:mm:ss'Z'}&ms=${date:milliseconds}";
        assert_eq!(
            fill_template(url, 1_700_000_000_000, None).as_deref(),
            Ok("/events?since=2023-11-14T22%3A13%3A20Z&ms=1700000000000")
        );
        assert!(fill_template("/x?${nope:y}", 0, None).is_err());
        assert_eq!(
            at_path(&json!({"user": {"id": 7}}), "user.id"),
            Some(&json!(7))
        );
    }
}
