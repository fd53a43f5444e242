//! The documents hub (`/hubs/documents/...`), on the instance named by the `Element` token, for
//! every documents element through `herald_elements::documents`. File downloads are streamed
//! from the provider to the caller, never held whole in memory.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use axum::body::Body;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use herald_core::model::InstanceRecord;
use herald_elements::documents::{
    content_type_of, split, Context, DocumentStore, Documents, Entry, Upload,
};
use herald_elements::{ElementError, ElementKey};
use serde_json::{json, Value};

use crate::auth::InstanceAuth;
use crate::error::ApiError;
use crate::provider::with_token;
use crate::state::AppState;

type Query_ = Query<HashMap<String, String>>;
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, ElementError>> + Send + 'a>>;

fn path_param(q: &HashMap<String, String>) -> Result<String, ApiError> {
    q.get("path")
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Query parameter path is required".into()))
}

/// Runs `op` on the instance's documents store with a live token, for the hub path `path`.
async fn with_docs<T, F>(
    state: &AppState,
    inst: &InstanceRecord,
    path: &str,
    op: F,
) -> Result<T, ApiError>
where
    F: for<'a> Fn(Documents<'a>, &'a str) -> Boxed<'a, T>,
{
    let element = ElementKey::parse(&inst.element_key).ok_or_else(|| {
        ApiError::BadRequest(format!("{} is not in the catalog", inst.element_key))
    })?;
    let op = &op;
    with_token(state, inst, |token, urls| {
        let http = state.http.clone();
        async move {
            let cx = Context {
                http: &http,
                urls: &urls,
                token: &token,
            };
            op(Documents::of(element, cx)?, path).await
        }
    })
    .await
}

fn entries(list: Vec<Entry>) -> Json<Value> {
    Json(Value::Array(list.iter().map(Entry::json).collect()))
}

fn deleted(path: &str) -> Json<Value> {
    Json(json!({"path": path, "deleted": true}))
}

/// `GET /hubs/documents/folders/contents?path=`.
pub async fn list(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
) -> Result<Json<Value>, ApiError> {
    let path = path_param(&q)?;
    let found = with_docs(&state, &auth.instance, &path, |d, p| {
        Box::pin(async move { d.list(p).await })
    })
    .await?;
    Ok(entries(found))
}

/// `POST /hubs/documents/folders?path=`: the body (the seed's folder JSON) is accepted as is;
/// the query's `path` names the folder.
pub async fn create_folder(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    if !raw.is_empty() {
        serde_json::from_slice::<Value>(&raw)
            .map_err(|e| ApiError::BadRequest(format!("Invalid folder JSON: {e}")))?;
    }
    let path = path_param(&q)?;
    let folder = with_docs(&state, &auth.instance, &path, |d, p| {
        Box::pin(async move { d.create_folder(p).await })
    })
    .await?;
    Ok(Json(folder.json()))
}

/// `DELETE /hubs/documents/folders?path=`.
pub async fn delete_folder(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
) -> Result<Json<Value>, ApiError> {
    let path = path_param(&q)?;
    with_docs(&state, &auth.instance, &path, |d, p| {
        Box::pin(async move { d.delete_folder(p).await })
    })
    .await?;
    Ok(deleted(&path))
}

/// `POST /hubs/documents/folders/copy?path=` `{"path": <target>}`.
pub async fn copy_folder(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
    raw: Bytes,
) -> Result<Json<Value>, ApiError> {
    let from = path_param(&q)?;
    let body: Value = serde_json::from_slice(&raw)
        .map_err(|e| ApiError::BadRequest(format!("Invalid copy JSON: {e}")))?;
    let to = body["path"]
        .as_str()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::BadRequest("Body field path (the target) is required".into()))?
        .to_string();
    let copy = with_docs(&state, &auth.instance, &from, |d, p| {
        let to = to.clone();
        Box::pin(async move { d.copy_folder(p, &to).await })
    })
    .await?;
    Ok(Json(copy.json()))
}

/// `POST /hubs/documents/files?path=` with a multipart part `file`.
pub async fn upload(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
    mut form: Multipart,
) -> Result<Json<Value>, ApiError> {
    let path = path_param(&q)?;
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::BadRequest(format!("Invalid multipart body: {}", e.body_text()))
    };
    let mut file = None;
    while let Some(field) = form.next_field().await.map_err(bad)? {
        if field.name() == Some("file") {
            let content_type = field
                .content_type()
                .filter(|ct| ct.contains('/') && *ct != "application/octet-stream")
                .map(str::to_string)
                .unwrap_or_else(|| content_type_of(&path));
            let bytes = field.bytes().await.map_err(bad)?;
            file = Some(Upload {
                bytes,
                content_type,
            });
        }
    }
    let file = file
        .ok_or_else(|| ApiError::BadRequest("The multipart body needs a part named file".into()))?;
    let stored = with_docs(&state, &auth.instance, &path, |d, p| {
        let file = file.clone();
        Box::pin(async move { d.upload(p, file).await })
    })
    .await?;
    Ok(Json(stored.json()))
}

/// `GET /hubs/documents/files?path=`: the bytes exactly, streamed.
pub async fn download(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
) -> Result<Response, ApiError> {
    let path = path_param(&q)?;
    let file = with_docs(&state, &auth.instance, &path, |d, p| {
        Box::pin(async move { d.download(p).await })
    })
    .await?;
    let (_, name) = split(&path);
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\', '\r', '\n'], "_")
    );
    let mut resp = Body::from_stream(file.body.bytes_stream()).into_response();
    let h = resp.headers_mut();
    let value = |v: &str| {
        HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("application/octet-stream"))
    };
    h.insert(header::CONTENT_TYPE, value(&file.content_type));
    if let Some(len) = file.length {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    if let Ok(d) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, d);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

/// `DELETE /hubs/documents/files?path=`.
pub async fn delete_file(
    State(state): State<AppState>,
    auth: InstanceAuth,
    Query(q): Query_,
) -> Result<Json<Value>, ApiError> {
    let path = path_param(&q)?;
    with_docs(&state, &auth.instance, &path, |d, p| {
        Box::pin(async move { d.delete_file(p).await })
    })
    .await?;
    Ok(deleted(&path))
}
