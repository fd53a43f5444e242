//! The account's namespace and change log.
//!
//! Items are keyed by `path_lower`; a folder's contents are the keys below `<key>/`. Every
//! write appends the written item's metadata to the log (parents made on the way first), and a
//! delete appends one `deleted` entry (no id) for the path alone — as Dropbox reports a deleted
//! folder without its contents. Cursors are positions in this log.

use bytes::Bytes;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Inner;

/// One file or folder.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub tag: &'static str,
    pub path_display: String,
    pub id: String,
    /// Unique in the account; shown as 9+ hex digits, as Dropbox's revs are.
    pub rev: u64,
    pub modified: String,
    pub bytes: Bytes,
}

/// The key of the folder holding `key` (`""` for the root).
pub(super) fn parent_of(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(p, _)| p)
}

pub(super) fn name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// Dropbox's `content_hash`: SHA-256 over the concatenated SHA-256 digests of 4 MiB blocks.
pub(super) fn content_hash(bytes: &[u8]) -> String {
    let mut outer = Sha256::new();
    for block in bytes.chunks(4 * 1024 * 1024) {
        outer.update(Sha256::digest(block));
    }
    hex::encode(outer.finalize())
}

/// An item's metadata as list_folder, get_metadata, delete_v2 and copy_v2 show it (`.tag`
/// included; the routes that answer a bare FileMetadata/FolderMetadata remove it).
pub(super) fn metadata(key: &str, i: &Item) -> Value {
    let name = name_of(&i.path_display);
    let mut v = json!({".tag": i.tag, "name": name, "path_lower": key, "path_display": i.path_display, "id": i.id});
    if i.tag == "file" {
        v["rev"] = json!(format!("{:09x}", i.rev));
        v["size"] = json!(i.bytes.len());
        v["server_modified"] = json!(i.modified);
        v["client_modified"] = json!(i.modified);
        v["is_downloadable"] = json!(true);
        v["content_hash"] = json!(content_hash(&i.bytes));
    }
    v
}

/// Metadata without `.tag` (the bare `FileMetadata`/`FolderMetadata` some routes answer).
pub(super) fn untagged(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove(".tag");
    }
    v
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `path` split after its first `n` components: the display suffix a copy keeps.
fn tail_after(path: &str, n: usize) -> String {
    path.split('/').skip(n).collect::<Vec<_>>().join("/")
}

impl Inner {
    /// The key of the item a path argument names: a path (any case) or `id:…`.
    pub(super) fn key_of(&self, path: &str) -> Option<String> {
        if path.starts_with("id:") {
            return self
                .items
                .iter()
                .find(|(_, i)| i.id == path)
                .map(|(k, _)| k.clone());
        }
        let key = path.to_lowercase();
        self.items.contains_key(&key).then_some(key)
    }

    /// What stands in the way of creating an item at `key`: `file` when it or a parent is a
    /// file, `folder` when a folder is there.
    pub(super) fn conflict_at(&self, key: &str) -> Option<&'static str> {
        if let Some(i) = self.items.get(key) {
            return Some(i.tag);
        }
        let mut at = parent_of(key);
        while !at.is_empty() {
            if self.items.get(at).is_some_and(|i| i.tag == "file") {
                return Some("file");
            }
            at = parent_of(at);
        }
        None
    }

    /// Writes an item at `path` (creating missing parent folders first, as Dropbox does); a
    /// file already there keeps its id and gets a new rev. Logs each write; returns the
    /// item's metadata.
    pub(super) fn put(&mut self, tag: &'static str, path: &str, bytes: Bytes) -> Value {
        let parts: Vec<&str> = path.split('/').collect();
        for depth in 2..parts.len() {
            let parent = parts[..depth].join("/");
            if !self.items.contains_key(&parent.to_lowercase()) {
                self.write("folder", &parent, Bytes::new());
            }
        }
        self.write(tag, path, bytes)
    }

    fn write(&mut self, tag: &'static str, path: &str, bytes: Bytes) -> Value {
        self.next_id += 1;
        let key = path.to_lowercase();
        let id = match self.items.get(&key) {
            Some(i) => i.id.clone(),
            None => format!("id:fake{}", self.next_id),
        };
        let item = Item {
            tag,
            path_display: path.to_string(),
            id,
            rev: self.next_id,
            modified: now(),
            bytes,
        };
        let meta = metadata(&key, &item);
        self.items.insert(key, item);
        self.log.push(meta.clone());
        meta
    }

    /// Removes the item at `key` and everything in it; logs one `deleted` entry for `key`.
    /// Returns the removed item's metadata.
    pub(super) fn remove(&mut self, key: &str) -> Option<Value> {
        let item = self.items.remove(key)?;
        let inside = format!("{key}/");
        self.items.retain(|k, _| !k.starts_with(&inside));
        let name = name_of(&item.path_display);
        self.log.push(json!({".tag": "deleted", "name": name, "path_lower": key, "path_display": item.path_display}));
        Some(metadata(key, &item))
    }

    /// Copies the item at `from` (a folder with everything in it, each with a new id) to
    /// `to` (a display path); returns the copy's metadata.
    pub(super) fn copy(&mut self, from: &str, to: &str) -> Value {
        let inside = format!("{from}/");
        let sources: Vec<Item> = self
            .items
            .iter()
            .filter(|(k, _)| *k == from || k.starts_with(&inside))
            .map(|(_, i)| i.clone())
            .collect();
        let depth = sources
            .first()
            .map_or(0, |s| s.path_display.split('/').count());
        let mut copied = Value::Null;
        for source in sources {
            let tail = tail_after(&source.path_display, depth);
            let path = if tail.is_empty() {
                to.to_string()
            } else {
                format!("{to}/{tail}")
            };
            let meta = self.put(source.tag, &path, source.bytes.clone());
            if copied.is_null() {
                copied = meta;
            }
        }
        copied
    }
}
