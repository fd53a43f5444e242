//! Turning `list_folder/continue` entries into normalized events.
//!
//! Every entry after the stored cursor is exactly one event: a path not seen before → CREATED,
//! a seen path → UPDATED (a file's new `rev`, a folder touched again), a `deleted` entry →
//! DELETED. The seen map (path_lower → `folder` | `file:<rev>`) is stored with the cursor, so a
//! restart never changes a classification. Deleted entries carry no id: they are keyed by path.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::api::Entry;
use super::KEY;

/// Events and the seen-map changes that go with them.
#[derive(Debug, Default)]
pub struct Classified {
    pub events: Vec<Value>,
    pub seen_set: Vec<(String, String)>,
    pub seen_del: Vec<String>,
}

fn path_key(e: &Entry) -> String {
    e.path_lower
        .clone()
        .unwrap_or_else(|| format!("/{}", e.name.to_lowercase()))
}

fn version(e: &Entry) -> String {
    match e.tag.as_str() {
        "folder" => "folder".to_string(),
        _ => format!("file:{}", e.rev.clone().unwrap_or_default()),
    }
}

/// The seen-map keys a batch needs looked up.
pub fn lookup_keys(entries: &[Entry]) -> Vec<String> {
    let mut keys: Vec<String> = entries.iter().map(path_key).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The seen map of a full listing (at provisioning, or after a cursor reset).
pub fn seen_of(entries: &[Entry]) -> Vec<(String, String)> {
    entries
        .iter()
        .filter(|e| e.tag != "deleted")
        .map(|e| (path_key(e), version(e)))
        .collect()
}

/// Classifies entries in order; `seen` holds the stored versions of their paths.
pub fn classify(entries: &[Entry], seen: &HashMap<String, String>, now: &str) -> Classified {
    // Overlay so a path created and changed within one batch is classified in order.
    let mut state: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Classified::default();
    for e in entries {
        let key = path_key(e);
        let known = state
            .get(&key)
            .cloned()
            .unwrap_or_else(|| seen.get(&key).cloned());
        let (event_type, object_type) = match e.tag.as_str() {
            "deleted" => {
                let ty = match known.as_deref() {
                    Some("folder") => "folder",
                    _ => "file",
                };
                if ty == "folder" {
                    // Dropbox reports a deleted folder as one entry: what was inside is gone too.
                    let prefix = format!("{key}/");
                    let inside: Vec<String> = seen
                        .keys()
                        .chain(state.keys())
                        .filter(|k| k.starts_with(&prefix))
                        .cloned()
                        .collect();
                    for k in inside {
                        state.insert(k, None);
                    }
                }
                state.insert(key.clone(), None);
                ("DELETED", ty)
            }
            tag => {
                let ty = if tag == "folder" { "folder" } else { "file" };
                let ev = if known.is_some() {
                    "UPDATED"
                } else {
                    "CREATED"
                };
                state.insert(key.clone(), Some(version(e)));
                (ev, ty)
            }
        };
        let display = e.path_display.clone().unwrap_or_else(|| key.clone());
        out.events.push(json!({
            "path": key,
            "metadata": {"path": display, "name": e.name, "type": object_type},
            "eventType": event_type,
            "objectType": object_type,
            "objectId": e.id.clone().unwrap_or_else(|| key.clone()),
            "date": e.server_modified.clone().unwrap_or_else(|| now.to_string()),
            "elementKey": KEY,
        }));
    }
    for (k, v) in state {
        match v {
            Some(v) => out.seen_set.push((k, v)),
            None => out.seen_del.push(k),
        }
    }
    out.seen_set.sort();
    out.seen_del.sort();
    out
}

/// After a cursor reset: compares a fresh full listing with the seen map.
pub fn reconcile(listing: &[Entry], seen_all: &HashMap<String, String>, now: &str) -> Classified {
    let mut changed: Vec<Entry> = listing
        .iter()
        .filter(|e| seen_all.get(&path_key(e)) != Some(&version(e)))
        .cloned()
        .collect();
    let present: std::collections::HashSet<String> = listing.iter().map(path_key).collect();
    let mut gone: Vec<&String> = seen_all.keys().filter(|k| !present.contains(*k)).collect();
    gone.sort();
    for path in gone {
        changed.push(Entry {
            tag: "deleted".into(),
            name: path.rsplit('/').next().unwrap_or_default().to_string(),
            path_lower: Some(path.clone()),
            path_display: Some(path.clone()),
            id: None,
            rev: None,
            server_modified: None,
            size: None,
        });
    }
    classify(&changed, seen_all, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tag: &str, path: &str, rev: Option<&str>) -> Entry {
        Entry {
            tag: tag.into(),
            name: path.rsplit('/').next().unwrap_or_default().into(),
            path_lower: Some(path.to_lowercase()),
            path_display: Some(path.into()),
            id: (tag != "deleted").then(|| format!("id:{path}")),
            rev: rev.map(str::to_string),
            server_modified: None,
            size: None,
        }
    }

    #[test]
    fn classifies_in_order_with_seen_state() {
        let seen = HashMap::from([("/old.txt".to_string(), "file:1".to_string())]);
        let entries = vec![
            entry("folder", "/New", None),
            entry("file", "/old.txt", Some("2")),
            entry("file", "/a.txt", Some("1")),
            entry("file", "/a.txt", Some("2")),
            entry("deleted", "/old.txt", None),
        ];
        let c = classify(&entries, &seen, "2026-01-01T00:00:00Z");
        let types: Vec<&str> = c
            .events
            .iter()
            .map(|e| e["eventType"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            types,
            ["CREATED", "UPDATED", "CREATED", "UPDATED", "DELETED"]
        );
        assert_eq!(c.events[0]["metadata"]["path"], "/New");
        assert_eq!(c.events[0]["path"], "/new");
        assert_eq!(c.seen_del, vec!["/old.txt".to_string()]);

        // Deleting a folder forgets what was inside it.
        let seen2 = HashMap::from([
            ("/dir".to_string(), "folder".to_string()),
            ("/dir/a.txt".to_string(), "file:1".to_string()),
            ("/dirx.txt".to_string(), "file:1".to_string()),
        ]);
        let c2 = classify(
            &[
                entry("deleted", "/dir", None),
                entry("file", "/dir/a.txt", Some("9")),
            ],
            &seen2,
            "now",
        );
        let types: Vec<&str> = c2
            .events
            .iter()
            .map(|e| e["eventType"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            types,
            ["DELETED", "CREATED"],
            "a file in a re-made folder is new"
        );
        assert_eq!(c2.seen_del, vec!["/dir".to_string()]);
        assert!(c
            .seen_set
            .contains(&("/a.txt".to_string(), "file:2".to_string())));
    }

    #[test]
    fn reconcile_finds_changes_and_deletions() {
        let seen = HashMap::from([
            ("/keep".to_string(), "folder".to_string()),
            ("/gone.txt".to_string(), "file:1".to_string()),
            ("/edit.txt".to_string(), "file:1".to_string()),
        ]);
        let listing = vec![
            entry("folder", "/keep", None),
            entry("file", "/edit.txt", Some("2")),
            entry("file", "/new.txt", Some("1")),
        ];
        let c = reconcile(&listing, &seen, "now");
        let got: Vec<(String, String)> = c
            .events
            .iter()
            .map(|e| {
                (
                    e["path"].as_str().unwrap_or("").into(),
                    e["eventType"].as_str().unwrap_or("").into(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("/edit.txt".into(), "UPDATED".into()),
                ("/new.txt".into(), "CREATED".into()),
                ("/gone.txt".into(), "DELETED".into())
            ]
        );
    }
}
