//! Dropbox RPC endpoints (`POST <API_URL>/2/<route>`, JSON in and out) with errors mapped:
//! 401 → token rejected, 409 → the route's error (`reset` on a dead cursor), 429 → slow down,
//! 5xx → try later.

use crate::http::Http;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::answer::Answer;
use crate::urls::ProviderUrls;
use crate::ElementError;

/// One `list_folder` entry, as Dropbox returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    #[serde(rename = ".tag")]
    pub tag: String,
    pub name: String,
    pub path_lower: Option<String>,
    pub path_display: Option<String>,
    pub id: Option<String>,
    pub rev: Option<String>,
    pub server_modified: Option<String>,
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct ListPage {
    pub entries: Vec<Entry>,
    pub cursor: String,
    pub has_more: bool,
}

/// Calls an RPC route.
pub async fn rpc(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    route: &str,
    body: &Value,
) -> Result<Value, ElementError> {
    let req = http
        .post(format!("{}/2/{route}", urls.api))
        .bearer_auth(token)
        .json(body);
    let answer = Answer::read(http.send(req).await?).await?;
    if answer.status == 409 {
        let v: Value = serde_json::from_str(&answer.text).unwrap_or(Value::Null);
        if v.pointer("/error/.tag").and_then(Value::as_str) == Some("reset") {
            return Err(ElementError::CursorReset);
        }
    }
    checked(answer)?.json("Dropbox answer")
}

/// A 2xx answer, else its error; Dropbox answers every route error with a 409 whose
/// `error_summary` says what it is (`path/not_found/…`, `to/conflict/folder/…`), mapped here to
/// the status a caller expects (404, 409, 400).
pub fn checked(answer: Answer) -> Result<Answer, ElementError> {
    if answer.status != 409 {
        return answer.success();
    }
    match answer.error() {
        ElementError::Rejected { message, .. } => {
            let status = if message.contains("not_found") {
                404
            } else if message.contains("conflict") {
                409
            } else if [
                "not_folder",
                "not_file",
                "malformed_path",
                "disallowed_name",
            ]
            .iter()
            .any(|m| message.contains(m))
            {
                400
            } else {
                409
            };
            Err(ElementError::Rejected { status, message })
        }
        other => Err(other),
    }
}

pub async fn page_through(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    first: ListPage,
) -> Result<(Vec<Entry>, String), ElementError> {
    let mut entries = first.entries;
    let mut cursor = first.cursor;
    let mut has_more = first.has_more;
    while has_more {
        let v = rpc(
            http,
            urls,
            token,
            "files/list_folder/continue",
            &json!({ "cursor": cursor }),
        )
        .await?;
        let page: ListPage = parse(v)?;
        entries.extend(page.entries);
        cursor = page.cursor;
        has_more = page.has_more;
    }
    Ok((entries, cursor))
}

pub fn parse(v: Value) -> Result<ListPage, ElementError> {
    serde_json::from_value(v).map_err(|e| ElementError::Provider {
        status: 502,
        message: format!("unexpected list_folder answer: {e}"),
    })
}

/// Everything in the account (recursive), and the cursor after it.
pub async fn list_all(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
) -> Result<(Vec<Entry>, String), ElementError> {
    let body = json!({"path": "", "recursive": true, "include_deleted": false});
    let first = parse(rpc(http, urls, token, "files/list_folder", &body).await?)?;
    page_through(http, urls, token, first).await
}

/// Every change after `cursor`, and the cursor after them.
pub async fn changes_since(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    cursor: &str,
) -> Result<(Vec<Entry>, String), ElementError> {
    let v = rpc(
        http,
        urls,
        token,
        "files/list_folder/continue",
        &json!({ "cursor": cursor }),
    )
    .await?;
    page_through(http, urls, token, parse(v)?).await
}

/// Creates a folder; returns its metadata.
pub async fn create_folder(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
    path: &str,
) -> Result<Entry, ElementError> {
    let v = rpc(
        http,
        urls,
        token,
        "files/create_folder_v2",
        &json!({"path": path, "autorename": false}),
    )
    .await?;
    let mut meta = v.get("metadata").cloned().unwrap_or(Value::Null);
    if meta.get(".tag").is_none() {
        meta[".tag"] = json!("folder");
    }
    serde_json::from_value(meta).map_err(|e| ElementError::Provider {
        status: 502,
        message: format!("unexpected create_folder answer: {e}"),
    })
}
