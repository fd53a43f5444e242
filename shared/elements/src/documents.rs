//! The documents hub: one [`DocumentStore`] trait, implemented by each documents element
//! (Dropbox, Box, DocuShare Flex) against its own API, and [`Documents`], the store of one
//! instance. Paths are the hub's (`/` is the root, `/a/b` below it); entries carry at least
//! `path`, `name` and `directory`. A missing object is a 404, an existing target a 409, other
//! provider refusals keep their status and reason (`ElementError::Rejected`).

use std::future::Future;

use bytes::Bytes;
use serde_json::{json, Value};

use crate::http::Http;
use crate::key::ElementKey;
use crate::urls::ProviderUrls;
use crate::ElementError;
use crate::{boxcom, docushare, dropbox};

/// One file or folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: Option<String>,
    pub path: String,
    pub name: String,
    pub directory: bool,
    pub size: Option<u64>,
    pub modified: Option<String>,
}

impl Entry {
    /// The hub's JSON for an entry.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "path": self.path,
            "name": self.name,
            "directory": self.directory,
            "size": self.size.unwrap_or(0),
            "modifiedDate": self.modified,
            "tags": [],
        })
    }
}

/// A file's bytes as the provider sends them (read them as a stream).
pub struct Download {
    pub content_type: String,
    pub length: Option<u64>,
    pub body: reqwest::Response,
}

/// A file to store.
#[derive(Clone)]
pub struct Upload {
    pub bytes: Bytes,
    pub content_type: String,
}

/// What every documents element does.
pub trait DocumentStore: Sync {
    fn list(&self, path: &str) -> impl Future<Output = Result<Vec<Entry>, ElementError>> + Send;
    fn create_folder(&self, path: &str)
        -> impl Future<Output = Result<Entry, ElementError>> + Send;
    fn delete_folder(&self, path: &str) -> impl Future<Output = Result<(), ElementError>> + Send;
    fn copy_folder(
        &self,
        from: &str,
        to: &str,
    ) -> impl Future<Output = Result<Entry, ElementError>> + Send;
    fn upload(
        &self,
        path: &str,
        file: Upload,
    ) -> impl Future<Output = Result<Entry, ElementError>> + Send;
    fn download(&self, path: &str) -> impl Future<Output = Result<Download, ElementError>> + Send;
    fn delete_file(&self, path: &str) -> impl Future<Output = Result<(), ElementError>> + Send;
}

/// Where and as whom an adapter calls its provider.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    pub http: &'a Http,
    pub urls: &'a ProviderUrls,
    pub token: &'a str,
}

/// The documents store of one instance.
pub enum Documents<'a> {
    Dropbox(dropbox::docs::Docs<'a>),
    Box(boxcom::docs::Docs<'a>),
    DocuShare(docushare::docs::Docs<'a>),
}

impl<'a> Documents<'a> {
    pub fn of(element: ElementKey, cx: Context<'a>) -> Result<Self, ElementError> {
        match element {
            ElementKey::Dropbox => Ok(Self::Dropbox(dropbox::docs::Docs(cx))),
            ElementKey::Box => Ok(Self::Box(boxcom::docs::Docs(cx))),
            ElementKey::DocuShareFlex => Ok(Self::DocuShare(docushare::docs::Docs(cx))),
            ElementKey::HubSpot | ElementKey::QuickBooks | ElementKey::Sfdc => Err(
                ElementError::Unsupported(format!("{element} is not a documents element")),
            ),
        }
    }
}

/// Runs `$call` on whichever store `$docs` is.
macro_rules! each {
    ($docs:expr, $d:ident => $call:expr) => {
        match $docs {
            Documents::Dropbox($d) => $call.await,
            Documents::Box($d) => $call.await,
            Documents::DocuShare($d) => $call.await,
        }
    };
}

impl DocumentStore for Documents<'_> {
    async fn list(&self, path: &str) -> Result<Vec<Entry>, ElementError> {
        let path = hub_path(path)?;
        each!(self, d => d.list(&path))
    }
    async fn create_folder(&self, path: &str) -> Result<Entry, ElementError> {
        let path = below_root(path)?;
        each!(self, d => d.create_folder(&path))
    }
    async fn delete_folder(&self, path: &str) -> Result<(), ElementError> {
        let path = below_root(path)?;
        each!(self, d => d.delete_folder(&path))
    }
    async fn copy_folder(&self, from: &str, to: &str) -> Result<Entry, ElementError> {
        let (from, to) = (below_root(from)?, below_root(to)?);
        each!(self, d => d.copy_folder(&from, &to))
    }
    async fn upload(&self, path: &str, file: Upload) -> Result<Entry, ElementError> {
        let path = below_root(path)?;
        each!(self, d => d.upload(&path, file))
    }
    async fn download(&self, path: &str) -> Result<Download, ElementError> {
        let path = below_root(path)?;
        each!(self, d => d.download(&path))
    }
    async fn delete_file(&self, path: &str) -> Result<(), ElementError> {
        let path = below_root(path)?;
        each!(self, d => d.delete_file(&path))
    }
}

/// A hub path: starts with `/`, no empty, `.` or `..` segments; `/` is the root.
pub fn hub_path(raw: &str) -> Result<String, ElementError> {
    let raw = raw.trim();
    if !raw.starts_with('/') {
        return Err(ElementError::Invalid(format!(
            "path must start with /, e.g. /reports (got {raw:?})"
        )));
    }
    let segments: Vec<&str> = raw.split('/').filter(|s| !s.is_empty()).collect();
    if segments.iter().any(|s| *s == "." || *s == "..") {
        return Err(ElementError::Invalid(
            "path must not contain . or .. segments".into(),
        ));
    }
    Ok(format!("/{}", segments.join("/")))
}

/// A hub path that names something below the root.
pub fn below_root(raw: &str) -> Result<String, ElementError> {
    let p = hub_path(raw)?;
    if p == "/" {
        return Err(ElementError::Invalid(
            "path must name an object below the root, e.g. /reports".into(),
        ));
    }
    Ok(p)
}

/// `(parent, name)` of a path below the root.
pub fn split(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}

/// `parent/name` as a hub path.
pub fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// A `Content-Type` for a file by its name (providers send `application/octet-stream`).
pub fn content_type_of(path: &str) -> String {
    let ext = path
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "txt" | "log" | "md" | "csv" => "text/plain",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// A 404 for a path.
pub fn not_found(path: &str) -> ElementError {
    ElementError::Rejected {
        status: 404,
        message: format!("No object at {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_paths_are_normalized_and_checked() {
        assert_eq!(hub_path("/").ok().as_deref(), Some("/"));
        assert_eq!(hub_path(" /a//b/ ").ok().as_deref(), Some("/a/b"));
        assert!(hub_path("a/b").is_err());
        assert!(hub_path("/a/../etc").is_err());
        assert!(below_root("/").is_err());
        assert_eq!(split("/a/b.txt"), ("/a", "b.txt"));
        assert_eq!(split("/b.txt"), ("/", "b.txt"));
        assert_eq!(join("/", "x"), "/x");
        assert_eq!(join("/a", "x"), "/a/x");
    }
}
