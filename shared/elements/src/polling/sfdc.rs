//! Salesforce: SOQL ordered by `SystemModstamp` (datetime literals unquoted, UTC), paging by
//! `nextRecordsUrl`; CREATED when `CreatedDate` equals `LastModifiedDate` (within tolerance);
//! deletions from `sobjects/{Object}/deleted/?start&end` (at most 15 days back).

use super::dates;
use super::fetch::{Context, Record};
use super::http::get_json;
use crate::ElementError;

pub const API_VERSION: &str = "v59.0";
/// Objects polled when the instance names none.
pub const DEFAULT_OBJECTS: &[&str] = &["Account", "Contact", "Lead", "Opportunity"];
const DELETED_WINDOW_MS: i64 = 15 * 86_400_000;

fn soql_time(ms: i64) -> String {
    dates::format(ms, "yyyy-MM-dd'T'HH:mm:ss'Z'", Some("UTC")).unwrap_or_default()
}

/// Changed and deleted records of one object since `since_ms`.
pub async fn fetch_object(
    cx: &Context<'_>,
    object: &str,
    since_ms: i64,
    now_ms: i64,
) -> Result<Vec<Record>, ElementError> {
    let soql = format!(
        "SELECT Id, CreatedDate, LastModifiedDate, SystemModstamp FROM {object} WHERE SystemModstamp > {} ORDER BY SystemModstamp",
        soql_time(since_ms)
    );
    let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
    let mut next = Some(format!(
        "{}/services/data/{API_VERSION}/query?q={q}",
        cx.api_base
    ));
    let mut out = Vec::new();
    while let Some(url) = next.take() {
        let (body, _) = get_json(cx.http, &url, cx.token).await?;
        for r in body["records"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let Some(id) = r["Id"].as_str() else { continue };
            let created = dates::parse(&r["CreatedDate"], None, None);
            let modified = dates::parse(&r["LastModifiedDate"], None, None);
            let stamp = dates::parse(&r["SystemModstamp"], None, None).or(modified);
            out.push(Record {
                object_type: object.to_string(),
                object_id: id.to_string(),
                // Classified on LastModifiedDate vs CreatedDate; filtered on SystemModstamp.
                updated_ms: modified.or(stamp),
                created_ms: created,
                deleted: false,
            });
        }
        if body["done"].as_bool() == Some(false) {
            if let Some(path) = body["nextRecordsUrl"].as_str() {
                next = Some(format!("{}{path}", cx.api_base));
            }
        }
    }
    let start = since_ms.max(now_ms - DELETED_WINDOW_MS);
    let url = format!(
        "{}/services/data/{API_VERSION}/sobjects/{object}/deleted/?start={}&end={}",
        cx.api_base,
        url::form_urlencoded::byte_serialize(soql_time(start).as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(soql_time(now_ms).as_bytes()).collect::<String>(),
    );
    let (body, _) = get_json(cx.http, &url, cx.token).await?;
    for d in body["deletedRecords"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        if let Some(id) = d["id"].as_str() {
            out.push(Record {
                object_type: object.to_string(),
                object_id: id.to_string(),
                updated_ms: dates::parse(&d["deletedDate"], None, None),
                created_ms: None,
                deleted: true,
            });
        }
    }
    Ok(out)
}
