//! Who may have sent a delivery: the candidate instances behind a route (a provider account, a
//! Herald-created webhook, an instance id in the path) with their opened signing secrets, and
//! the secrets of every instance of an element. Both are cached briefly, so a burst of
//! deliveries costs one Redis read per route, while a new instance is seen within a second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::brokers::Brokers;
use herald_core::crypto::{SealedFor, SecretBox};
use herald_core::model::InstanceRecord;
use herald_core::store::{instances, StoreError};
use herald_elements::{webhooks, ElementKey};
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

const TTL: Duration = Duration::from_millis(500);
/// Cached routes at most; past this the cache starts over (a flood of made-up accounts must
/// not grow memory).
const MAX_ENTRIES: usize = 10_000;

/// An instance that may have been the target of a delivery.
#[derive(Debug)]
pub struct Candidate {
    pub id: u64,
    /// Its signing secrets, in the order of `webhooks::signing_entries`.
    pub secrets: Vec<Option<String>>,
}

impl Candidate {
    pub fn secret_refs(&self) -> Vec<Option<&str>> {
        self.secrets.iter().map(Option::as_deref).collect()
    }
}

type Entry<T> = (Instant, Arc<T>);
/// (element, route or instance) → its candidates.
type RouteCache = HashMap<(ElementKey, String), Entry<Vec<Candidate>>>;

#[derive(Clone)]
pub struct Directory {
    brokers: Brokers,
    secret_box: SecretBox,
    routes: Arc<Mutex<RouteCache>>,
    elements: Arc<Mutex<HashMap<ElementKey, Entry<Vec<String>>>>>,
}

/// Which instances a route names.
pub enum Lookup<'a> {
    Route(&'a str),
    Instance(u64),
}

impl Directory {
    pub fn new(brokers: Brokers, secret_box: SecretBox) -> Self {
        Self {
            brokers,
            secret_box,
            routes: Arc::default(),
            elements: Arc::default(),
        }
    }

    /// The element's instances behind a route.
    pub async fn candidates(
        &self,
        element: ElementKey,
        lookup: Lookup<'_>,
    ) -> Result<Arc<Vec<Candidate>>, StoreError> {
        let cache_key = match &lookup {
            Lookup::Route(r) => (element, format!("r:{r}")),
            Lookup::Instance(id) => (element, format!("i:{id}")),
        };
        if let Some((at, v)) = self.routes.lock().await.get(&cache_key) {
            if at.elapsed() < TTL {
                return Ok(v.clone());
            }
        }
        let mut conn = self.brokers.redis.clone();
        let keys = &self.brokers.keys;
        let ids = match lookup {
            Lookup::Route(r) => instances::routed(&mut conn, keys, element.as_str(), r).await?,
            Lookup::Instance(id) => vec![id],
        };
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match instances::get(&mut conn, keys, id).await? {
                Some(inst) if inst.element_key == element.as_str() => {
                    found.push(self.candidate(element, &inst));
                }
                _ => {}
            }
        }
        let v = Arc::new(found);
        let mut cache = self.routes.lock().await;
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(cache_key, (Instant::now(), v.clone()));
        Ok(v)
    }

    fn candidate(&self, element: ElementKey, inst: &InstanceRecord) -> Candidate {
        let secrets = webhooks::signing_entries(element)
            .iter()
            .map(|entry| {
                let value = self.secret_box.entry(inst, entry).ok().flatten()?;
                Some(value.expose_secret().to_string())
            })
            .collect();
        Candidate {
            id: inst.id,
            secrets,
        }
    }

    /// Every signing secret of the element's instances (any app Herald knows for it).
    pub async fn element_secrets(
        &self,
        element: ElementKey,
    ) -> Result<Arc<Vec<String>>, StoreError> {
        if let Some((at, v)) = self.elements.lock().await.get(&element) {
            if at.elapsed() < TTL {
                return Ok(v.clone());
            }
        }
        let mut conn = self.brokers.redis.clone();
        let sealed =
            instances::webhook_secrets(&mut conn, &self.brokers.keys, element.as_str()).await?;
        let mut opened: Vec<String> = sealed
            .iter()
            .filter_map(|(inst, s)| {
                self.secret_box
                    .open(s, SealedFor::webhook_secret(*inst))
                    .ok()
            })
            .map(|s| s.expose_secret().to_string())
            .collect();
        opened.sort();
        opened.dedup();
        let v = Arc::new(opened);
        self.elements
            .lock()
            .await
            .insert(element, (Instant::now(), v.clone()));
        Ok(v)
    }
}
