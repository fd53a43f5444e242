//! From polled records to events: drop what did not change since the last poll, drop what was
//! already emitted (same object, same updated date: the overlap `pollDelay` re-reads), and tell
//! CREATED from UPDATED.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::dates::iso;
use super::fetch::Record;
use crate::key::ElementKey;

/// How one resource classifies.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Records updated before this (the cursor minus `pollDelay`) are dropped, if filtering.
    pub since_ms: i64,
    pub filter_by_updated_date: bool,
    /// CREATED when |updated − created| ≤ this.
    pub created_tolerance_ms: i64,
}

/// How much older than the cursor a record may look and still be kept.
const FILTER_SLACK_MS: i64 = 1_000;

/// Objects of a snapshotted resource that were seen (and not deleted) but are gone now.
pub fn vanished(
    resource: &str,
    present: &std::collections::HashSet<String>,
    seen: &HashMap<String, String>,
    now_ms: i64,
) -> Vec<Record> {
    let prefix = format!("{resource}|");
    let mut gone: Vec<Record> = seen
        .iter()
        .filter(|(k, v)| *v != "deleted" && k.starts_with(&prefix))
        .filter_map(|(k, _)| k.strip_prefix(&prefix))
        .filter(|id| !present.contains(*id))
        .map(|id| Record {
            object_type: resource.to_string(),
            object_id: id.to_string(),
            updated_ms: Some(now_ms),
            created_ms: None,
            deleted: true,
        })
        .collect();
    gone.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    gone
}

/// The seen-map key of a record.
pub fn seen_key(r: &Record) -> String {
    format!("{}|{}", r.object_type, r.object_id)
}

/// Events, and the seen-map entries to store with them.
pub fn classify(
    element: ElementKey,
    records: &[(Record, Rules)],
    seen: &HashMap<String, String>,
    now_ms: i64,
) -> (Vec<Value>, Vec<(String, String)>) {
    let mut events = Vec::new();
    let mut seen_set: Vec<(String, String)> = Vec::new();
    let mut batch: HashMap<String, String> = HashMap::new();
    for (r, rules) in records {
        let key = seen_key(r);
        let version = if r.deleted {
            "deleted".to_string()
        } else {
            r.updated_ms
                .map(|u| u.to_string())
                .unwrap_or_else(|| "?".into())
        };
        if !r.deleted && rules.filter_by_updated_date {
            if let Some(u) = r.updated_ms {
                // Providers often keep whole seconds: a slack keeps a record updated in the
                // cursor's second; the seen map drops it if it was already sent.
                if u < rules.since_ms - FILTER_SLACK_MS {
                    continue;
                }
            }
        }
        // A deleted object that reappears is new again.
        let known = batch
            .get(&key)
            .or_else(|| seen.get(&key))
            .filter(|v| *v != "deleted");
        let last = batch.get(&key).or_else(|| seen.get(&key));
        if last == Some(&version) {
            continue;
        }
        let event_type = if r.deleted {
            "DELETED"
        } else if known.is_some() {
            // Sent before with another version: whatever the dates say, it is an update.
            "UPDATED"
        } else {
            match (r.created_ms, r.updated_ms) {
                (Some(c), Some(u)) if (u - c).abs() > rules.created_tolerance_ms => "UPDATED",
                _ => "CREATED",
            }
        };
        events.push(json!({
            "eventType": event_type,
            "objectType": r.object_type,
            "objectId": r.object_id,
            "date": iso(r.updated_ms.unwrap_or(now_ms)),
            "elementKey": element,
        }));
        batch.insert(key.clone(), version.clone());
        seen_set.push((key, version));
    }
    (events, seen_set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, created: i64, updated: i64) -> Record {
        Record {
            object_type: "contacts".into(),
            object_id: id.into(),
            updated_ms: Some(updated),
            created_ms: Some(created),
            deleted: false,
        }
    }

    #[test]
    fn created_updated_overlap_and_filtering() {
        let rules = Rules {
            since_ms: 3_000,
            filter_by_updated_date: true,
            created_tolerance_ms: 500,
        };
        let seen = HashMap::from([("contacts|2".to_string(), "5000".to_string())]);
        let records = vec![
            (rec("1", 4_000, 4_200), rules),
            (rec("2", 1_500, 5_000), rules), // already emitted at 5000: overlap
            (rec("3", 100, 900), rules),     // not updated since the cursor
            (rec("4", 1_000, 9_000), rules),
        ];
        let (events, seen_set) = classify(ElementKey::Sfdc, &records, &seen, 0);
        let kinds: Vec<(&str, &str)> = events
            .iter()
            .map(|e| {
                (
                    e["objectId"].as_str().unwrap_or(""),
                    e["eventType"].as_str().unwrap_or(""),
                )
            })
            .collect();
        assert_eq!(kinds, vec![("1", "CREATED"), ("4", "UPDATED")]);
        assert_eq!(seen_set.len(), 2);
    }
}
