//! In-flight requests per callback origin (scheme, host, port) are bounded. A notification whose
//! origin is at its bound is not waited for — that would hold a worker and delay other origins —
//! but held: put in the retry schedule for a moment, without counting an attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct OriginLimits {
    per_origin: usize,
    map: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// `scheme://host:port` of a URL (the URL itself if it does not parse).
pub fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_string(),
    }
}

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

    /// A slot for one request to `url`'s origin, if one is free now.
    pub fn try_acquire(&self, url: &str) -> Option<OwnedSemaphorePermit> {
        self.semaphore(&origin_of(url)).try_acquire_owned().ok()
    }

    /// Waits for a slot (for rare, user-triggered resends).
    pub async fn acquire(&self, url: &str) -> Option<OwnedSemaphorePermit> {
        self.semaphore(&origin_of(url)).acquire_owned().await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_port() {
        assert_eq!(origin_of("https://a.example/x?y"), "https://a.example:443");
        assert_eq!(
            origin_of("http://a.example:8080/z"),
            "http://a.example:8080"
        );
        let limits = OriginLimits::new(1);
        let held = limits.try_acquire("http://a.example/1");
        assert!(held.is_some());
        assert!(
            limits.try_acquire("http://a.example/2").is_none(),
            "bounded per origin"
        );
        assert!(
            limits.try_acquire("http://b.example/1").is_some(),
            "other origins unaffected"
        );
        drop(held);
        assert!(limits.try_acquire("http://a.example/3").is_some());
    }
}
