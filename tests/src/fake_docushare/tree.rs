//! The library's objects by path [assumed]: collections (folders) and documents (files with
//! bytes and a content type), each with a handle — `Collection-<n>` or `Document-<n>`. Paths
//! start with `/` (the root collection), compare exactly (case kept), and have no empty, `.`
//! or `..` segments. A document here is also a document of the polled `events` resource (same
//! handle, its name as the title), so uploads and copies show up in polls and deletions leave
//! them.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{now_s, Inner, FMT};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Collection,
    Document,
}

#[derive(Debug, Clone)]
pub(super) struct Obj {
    pub kind: Kind,
    pub handle: String,
    pub bytes: Bytes,
    pub content_type: String,
    /// A collection's time; a document's lives with its `events` record.
    pub modified: DateTime<Utc>,
}

/// The objects, by path (the root `/` is implied).
pub(super) type Objects = BTreeMap<String, Obj>;

/// The parent of a normalized path (`/` for a top-level one).
pub(super) fn parent_of(path: &str) -> &str {
    match path.rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((p, _)) => p,
    }
}

fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// A path as the API takes it, or why not.
pub(super) fn valid_path(path: &str) -> Result<&str, String> {
    if path == "/" {
        return Ok(path);
    }
    let ok = path.starts_with('/')
        && path[1..]
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    if ok {
        Ok(path)
    } else {
        Err(format!(
            "Invalid path {path:?}: absolute, no empty, '.' or '..' segments"
        ))
    }
}

/// Whether `path` is `ancestor` or below it.
pub(super) fn within(path: &str, ancestor: &str) -> bool {
    ancestor == "/" || path == ancestor || path.starts_with(&format!("{ancestor}/"))
}

impl Inner {
    /// `Some(kind)` of the object at a path (the root is a collection).
    pub(super) fn kind_at(&self, path: &str) -> Option<Kind> {
        if path == "/" {
            return Some(Kind::Collection);
        }
        self.objects.get(path).map(|o| o.kind)
    }

    fn fresh_handle(&mut self, kind: Kind) -> String {
        self.next += 1;
        match kind {
            Kind::Collection => format!("Collection-{}", 100 + self.next),
            Kind::Document => format!("Document-{}", 100 + self.next),
        }
    }

    /// Adds an object (parent checked by the caller); a document also enters `events`.
    pub(super) fn add(&mut self, kind: Kind, path: &str, bytes: Bytes, content_type: &str) {
        let handle = self.fresh_handle(kind);
        let at = now_s();
        if kind == Kind::Document {
            self.docs
                .insert(handle.clone(), (name_of(path).to_string(), at, at));
        }
        let obj = Obj {
            kind,
            handle,
            bytes,
            content_type: content_type.to_string(),
            modified: at,
        };
        self.objects.insert(path.to_string(), obj);
    }

    /// Removes the object at `path` and everything below it (documents leave `events`).
    pub(super) fn remove(&mut self, path: &str) {
        let gone: Vec<String> = self
            .objects
            .keys()
            .filter(|p| within(p, path))
            .cloned()
            .collect();
        for p in gone {
            if let Some(o) = self.objects.remove(&p) {
                self.docs.remove(&o.handle);
            }
        }
    }

    /// Copies the collection at `from` with everything in it to `to`, all under new handles.
    pub(super) fn copy(&mut self, from: &str, to: &str) {
        let sources: Vec<(String, Obj)> = self
            .objects
            .iter()
            .filter(|(p, _)| within(p, from))
            .map(|(p, o)| (p.clone(), o.clone()))
            .collect();
        for (p, o) in sources {
            let target = format!("{to}{}", &p[from.len()..]);
            self.add(o.kind, &target, o.bytes, &o.content_type);
        }
    }

    /// The object as the API shows it.
    pub(super) fn item(&self, path: &str) -> Value {
        let Some(o) = self.objects.get(path) else {
            return json!({"handle": "Collection-1", "name": "", "type": "collection", "path": "/",
                "modified": now_s().format(FMT).to_string()});
        };
        let modified = self
            .docs
            .get(&o.handle)
            .map_or(o.modified, |d| d.2)
            .format(FMT)
            .to_string();
        let mut v =
            json!({"handle": o.handle, "name": name_of(path), "path": path, "modified": modified});
        match o.kind {
            Kind::Collection => v["type"] = json!("collection"),
            Kind::Document => {
                v["type"] = json!("document");
                v["size"] = json!(o.bytes.len());
            }
        }
        v
    }

    /// The objects directly in a collection: collections first, then by name.
    pub(super) fn contents(&self, path: &str) -> Vec<Value> {
        let mut found: Vec<(&String, &Obj)> = self
            .objects
            .iter()
            .filter(|(p, _)| parent_of(p) == path)
            .collect();
        found.sort_by_key(|(p, o)| (o.kind == Kind::Document, name_of(p).to_string()));
        found.iter().map(|(p, _)| self.item(p)).collect()
    }
}
