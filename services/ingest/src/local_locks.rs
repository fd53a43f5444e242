//! One replica's own queue per instance: workers of this process that handle deliveries for the
//! same instance wait here, on an in-process mutex, instead of polling the instance's Redis lease
//! every few milliseconds. The lease still decides between replicas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// Per-instance mutexes, dropped when no worker holds or waits for them.
#[derive(Clone, Default)]
pub struct InstanceLocks(Arc<Mutex<HashMap<u64, Weak<AsyncMutex<()>>>>>);

impl InstanceLocks {
    /// Waits for this process's turn on the instance.
    pub async fn lock(&self, instance: u64) -> OwnedMutexGuard<()> {
        let mutex = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 1024 {
                map.retain(|_, w| w.strong_count() > 0);
            }
            match map.get(&instance).and_then(Weak::upgrade) {
                Some(m) => m,
                None => {
                    let m = Arc::new(AsyncMutex::new(()));
                    map.insert(instance, Arc::downgrade(&m));
                    m
                }
            }
        };
        mutex.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_holder_per_instance_others_unaffected() {
        let locks = InstanceLocks::default();
        let held = locks.lock(1).await;
        let other = tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock(2)).await;
        assert!(other.is_ok(), "another instance is not held up");
        let same = tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock(1)).await;
        assert!(same.is_err(), "the same instance waits");
        drop(held);
        let again = tokio::time::timeout(std::time::Duration::from_millis(50), locks.lock(1)).await;
        assert!(again.is_ok());
    }
}
