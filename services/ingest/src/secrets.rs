//! The webhook signing secrets of each element's apps, opened from Redis and cached briefly so a
//! burst of deliveries costs one Redis read, while a new instance's secret works within a second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_core::brokers::Brokers;
use herald_core::crypto::SecretBox;
use herald_core::store::{instances, StoreError};
use secrecy::ExposeSecret;
use tokio::sync::Mutex;

const TTL: Duration = Duration::from_millis(500);

/// Element key → (when read, opened secrets).
type Cache = HashMap<String, (Instant, Arc<Vec<String>>)>;

#[derive(Clone)]
pub struct WebhookSecrets {
    brokers: Brokers,
    secret_box: SecretBox,
    cache: Arc<Mutex<Cache>>,
}

impl WebhookSecrets {
    pub fn new(brokers: Brokers, secret_box: SecretBox) -> Self {
        Self {
            brokers,
            secret_box,
            cache: Arc::default(),
        }
    }

    pub async fn for_element(&self, element: &str) -> Result<Arc<Vec<String>>, StoreError> {
        if let Some((at, v)) = self.cache.lock().await.get(element) {
            if at.elapsed() < TTL {
                return Ok(v.clone());
            }
        }
        let mut conn = self.brokers.redis.clone();
        let sealed = instances::webhook_secrets(&mut conn, &self.brokers.keys, element).await?;
        let mut opened: Vec<String> = sealed
            .iter()
            .filter_map(|s| self.secret_box.open(s).ok())
            .map(|s| s.expose_secret().to_string())
            .collect();
        opened.sort();
        opened.dedup();
        let v = Arc::new(opened);
        self.cache
            .lock()
            .await
            .insert(element.to_string(), (Instant::now(), v.clone()));
        Ok(v)
    }
}
