//! Callback origins (scheme, host, port). First attempts and retries are bounded per origin
//! across replicas by `store::breakers`; resends (a user's retry or replay) wait here for one of
//! this replica's slots for the origin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct OriginLimits {
    per_origin: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

use herald_core::callback_url::origin_of;

impl OriginLimits {
    pub fn new(per_origin: usize) -> Self {
        Self {
            per_origin: per_origin.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn semaphore(&self, origin: &str) -> Arc<Semaphore> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(origin.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.per_origin)))
            .clone()
    }

    /// Waits for a slot (for rare, user-triggered resends).
    pub async fn acquire(&self, url: &str) -> Option<OwnedSemaphorePermit> {
        self.semaphore(&origin_of(url)).acquire_owned().await.ok()
    }
}
