//! Change feeds, dispatched per element: for providers whose webhooks say *who* changed,
//! Herald keeps a cursor and asks *what* changed since it.

use crate::http::Http;
use std::collections::HashMap;

use crate::dropbox;
use crate::key::ElementKey;
use crate::urls::ProviderUrls;
use crate::ElementError;

/// The starting point of a feed: its cursor and what exists now.
pub struct FeedStart {
    pub cursor: String,
    pub seen: Vec<(String, String)>,
}

/// Changes after a cursor, still to be classified against the seen map.
pub enum Fetched {
    Dropbox(Vec<dropbox::api::Entry>),
    /// The cursor was dead: a full listing to reconcile with the whole seen map.
    DropboxRelisted(Vec<dropbox::api::Entry>),
}

/// Normalized events and the seen-map changes that go with them.
pub use dropbox::changes::Classified;

/// Whether an element keeps a change feed.
pub fn has_feed(element: ElementKey) -> bool {
    element == dropbox::KEY
}

/// Lists everything to start a feed.
pub async fn start(
    http: &Http,
    element: ElementKey,
    urls: &ProviderUrls,
    token: &str,
) -> Result<FeedStart, ElementError> {
    match element {
        dropbox::KEY => {
            let (entries, cursor) = dropbox::api::list_all(http, urls, token).await?;
            Ok(FeedStart {
                cursor,
                seen: dropbox::changes::seen_of(&entries),
            })
        }
        other => Err(ElementError::Unsupported(format!(
            "{other} has no change feed"
        ))),
    }
}

/// Fetches every change after `cursor`; returns them and the new cursor.
pub async fn fetch(
    http: &Http,
    element: ElementKey,
    urls: &ProviderUrls,
    token: &str,
    cursor: &str,
) -> Result<(Fetched, String), ElementError> {
    match element {
        dropbox::KEY => match dropbox::api::changes_since(http, urls, token, cursor).await {
            Ok((entries, next)) => Ok((Fetched::Dropbox(entries), next)),
            Err(ElementError::CursorReset) => {
                let (entries, next) = dropbox::api::list_all(http, urls, token).await?;
                Ok((Fetched::DropboxRelisted(entries), next))
            }
            Err(e) => Err(e),
        },
        other => Err(ElementError::Unsupported(format!(
            "{other} has no change feed"
        ))),
    }
}

/// Which seen-map entries classification needs; `None` means the whole map.
pub fn seen_lookup(fetched: &Fetched) -> Option<Vec<String>> {
    match fetched {
        // A deletion may be a folder's, which needs every key below it.
        Fetched::Dropbox(entries) if entries.iter().any(|e| e.tag == "deleted") => None,
        Fetched::Dropbox(entries) => Some(dropbox::changes::lookup_keys(entries)),
        Fetched::DropboxRelisted(_) => None,
    }
}

/// Turns fetched changes into events, in the provider's order.
pub fn classify(fetched: &Fetched, seen: &HashMap<String, String>, now: &str) -> Classified {
    match fetched {
        Fetched::Dropbox(entries) => dropbox::changes::classify(entries, seen, now),
        Fetched::DropboxRelisted(entries) => dropbox::changes::reconcile(entries, seen, now),
    }
}

/// Events per notification for webhook elements.
pub const WEBHOOK_BATCH: usize = 20;
