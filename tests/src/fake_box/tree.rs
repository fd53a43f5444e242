//! The account's items: folders and files by id, each with its parent's id, a name unique in
//! its folder without regard to case (as Box compares names), and a file's bytes. Folder `0`
//! ("All Files") is the root and is not stored. Items render as Box's mini and full objects.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::deliveries::box_time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Folder,
    File,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Folder => "folder",
            Kind::File => "file",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Node {
    pub kind: Kind,
    pub parent: String,
    pub name: String,
    pub bytes: Bytes,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    /// Bumped on every change (Box's `etag` and `sequence_id`).
    pub etag: u64,
    /// Id of the file's current version.
    pub version: u64,
}

#[derive(Default)]
pub(super) struct Tree {
    pub items: HashMap<String, Node>,
    pub next: u64,
}

pub(super) const ROOT: &str = "0";

impl Tree {
    fn fresh_id(&mut self) -> String {
        self.next += 1;
        format!("{}", 100_000 + self.next)
    }

    /// Whether `id` names a folder (the root included).
    pub fn is_folder(&self, id: &str) -> bool {
        id == ROOT || self.items.get(id).is_some_and(|n| n.kind == Kind::Folder)
    }

    pub fn node(&self, id: &str, kind: Kind) -> Option<&Node> {
        self.items.get(id).filter(|n| n.kind == kind)
    }

    /// The items directly in a folder: folders first, then by name (Box lists folders before
    /// files).
    pub fn children(&self, folder: &str) -> Vec<String> {
        let mut ids: Vec<&String> = self
            .items
            .iter()
            .filter(|(_, n)| n.parent == folder)
            .map(|(id, _)| id)
            .collect();
        ids.sort_by_key(|id| {
            let n = &self.items[*id];
            (n.kind == Kind::File, n.name.to_lowercase(), (*id).clone())
        });
        ids.into_iter().cloned().collect()
    }

    /// The item in `folder` whose name equals `name` without regard to case.
    pub fn clash(&self, folder: &str, name: &str) -> Option<String> {
        let lower = name.to_lowercase();
        self.items
            .iter()
            .find(|(_, n)| n.parent == folder && n.name.to_lowercase() == lower)
            .map(|(id, _)| id.clone())
    }

    /// Adds an item; the caller has checked the parent and the name.
    pub fn add(&mut self, kind: Kind, parent: &str, name: &str, bytes: Bytes) -> String {
        let id = self.fresh_id();
        let now = Utc::now();
        let version = self.next;
        self.items.insert(
            id.clone(),
            Node {
                kind,
                parent: parent.to_string(),
                name: name.to_string(),
                bytes,
                created: now,
                modified: now,
                etag: 0,
                version,
            },
        );
        id
    }

    /// A new version of a file's content.
    pub fn replace(&mut self, id: &str, bytes: Bytes) {
        self.next += 1;
        let version = self.next;
        if let Some(n) = self.items.get_mut(id) {
            n.bytes = bytes;
            n.modified = Utc::now();
            n.etag += 1;
            n.version = version;
        }
    }

    /// Removes an item and everything in it.
    pub fn remove(&mut self, id: &str) {
        for child in self.children(id) {
            self.remove(&child);
        }
        self.items.remove(id);
    }

    /// Copies an item (a folder with everything in it, all under new ids) into `parent` as
    /// `name`; returns the copy's id.
    pub fn copy(&mut self, id: &str, parent: &str, name: &str) -> String {
        let Some(source) = self.items.get(id).cloned() else {
            return String::new();
        };
        let copy = self.add(source.kind, parent, name, source.bytes.clone());
        for child in self.children(id) {
            let child_name = self.items[&child].name.clone();
            self.copy(&child, &copy, &child_name);
        }
        copy
    }

    /// Whether `id` is `ancestor` or inside it.
    pub fn within(&self, id: &str, ancestor: &str) -> bool {
        let mut at = id;
        loop {
            if at == ancestor {
                return true;
            }
            match self.items.get(at) {
                Some(n) => at = &n.parent,
                None => return false,
            }
        }
    }

    /// The folders from the root down to `id`'s parent (Box's `path_collection`).
    fn ancestors(&self, id: &str) -> Vec<String> {
        let mut chain = Vec::new();
        let mut at = self.items.get(id).map(|n| n.parent.clone());
        while let Some(p) = at {
            at = self.items.get(&p).map(|n| n.parent.clone());
            chain.push(p);
        }
        chain.reverse();
        chain
    }

    /// `/Reports/a.txt` for an item.
    pub fn path_of(&self, id: &str) -> String {
        let mut names: Vec<&str> = self
            .ancestors(id)
            .iter()
            .filter_map(|a| self.items.get(a).map(|n| n.name.as_str()))
            .collect();
        names.push(self.items.get(id).map_or("", |n| n.name.as_str()));
        format!("/{}", names.join("/"))
    }

    /// The id at a path (`/` is the root), names compared without regard to case.
    pub fn id_at(&self, path: &str) -> Option<String> {
        let mut at = ROOT.to_string();
        for name in path.split('/').filter(|s| !s.is_empty()) {
            if !self.is_folder(&at) {
                return None;
            }
            at = self.clash(&at, name)?;
        }
        Some(at)
    }

    /// Box's mini object (`type`, `id`, `sequence_id`, `etag`, `name`, and a file's version).
    pub fn mini(&self, id: &str) -> Value {
        let Some(n) = self.items.get(id) else {
            return json!({"type": "folder", "id": ROOT, "sequence_id": null, "etag": null, "name": "All Files"});
        };
        let mut v = json!({"type": n.kind.as_str(), "id": id, "sequence_id": n.etag.to_string(),
            "etag": n.etag.to_string(), "name": n.name});
        if n.kind == Kind::File {
            v["file_version"] = json!({"type": "file_version", "id": n.version.to_string()});
        }
        v
    }

    /// Box's full object.
    pub fn full(&self, id: &str) -> Value {
        let mut v = self.mini(id);
        let ancestors: Vec<Value> = self.ancestors(id).iter().map(|a| self.mini(a)).collect();
        v["path_collection"] = json!({"total_count": ancestors.len(), "entries": ancestors});
        let Some(n) = self.items.get(id) else {
            for field in ["created_at", "modified_at", "parent"] {
                v[field] = Value::Null;
            }
            v["size"] = json!(self.size(id));
            v["item_status"] = json!("active");
            return v;
        };
        v["size"] = json!(self.size(id));
        v["created_at"] = json!(box_time(n.created));
        v["modified_at"] = json!(box_time(n.modified));
        v["content_created_at"] = json!(box_time(n.created));
        v["content_modified_at"] = json!(box_time(n.modified));
        v["trashed_at"] = Value::Null;
        v["purged_at"] = Value::Null;
        v["description"] = json!("");
        v["item_status"] = json!("active");
        v["parent"] = self.mini(&n.parent);
        v
    }

    /// A file's size, or the total of everything in a folder (as Box reports it).
    pub fn size(&self, id: &str) -> usize {
        match self.items.get(id) {
            Some(n) if n.kind == Kind::File => n.bytes.len(),
            _ => self.children(id).iter().map(|c| self.size(c)).sum(),
        }
    }

    /// The mini object plus the requested fields of the full one (Box's `fields=` rule); the
    /// full object when none are requested.
    pub fn with_fields(&self, id: &str, fields: Option<&str>) -> Value {
        let full = self.full(id);
        let Some(fields) = fields else {
            return full;
        };
        let mut v = self.mini(id);
        for f in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            if let Some(value) = full.get(f) {
                v[f] = value.clone();
            }
        }
        v
    }
}
