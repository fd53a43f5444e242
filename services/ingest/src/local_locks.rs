//! One replica's own queue per instance: workers of this process that handle deliveries for the
//! same instance wait here, on an in-process mutex, instead of polling the instance's Redis lease
//! every few milliseconds. The lease still decides between replicas.
//!
//! The queue also knows, in memory, which calls a finished round covered: each call takes a
//! local ticket when it arrives, each round notes the last ticket taken when it starts, and a
//! waiter whose ticket a completed round noted leaves without any Redis command (the round that
//! covered it started after it arrived, so it saw every change the provider announced).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Default)]
struct Queue {
    turn: Arc<AsyncMutex<()>>,
    /// The last local ticket taken.
    requested: AtomicU64,
    /// The last local ticket a completed round covered.
    completed: AtomicU64,
}

/// Per-instance queues, dropped when no worker holds or waits for them.
#[derive(Clone, Default)]
pub struct InstanceLocks(Arc<Mutex<HashMap<u64, Weak<Queue>>>>);

/// This worker's turn on an instance: the only one in this process until dropped.
pub struct Turn {
    queue: Arc<Queue>,
    _guard: OwnedMutexGuard<()>,
}

impl Turn {
    /// Starts a round: returns the mark to hand to [`Turn::covered`] once it completes.
    pub fn round_starts(&self) -> u64 {
        self.queue.requested.load(Ordering::SeqCst)
    }

    /// A round that started at `mark` completed: every call that arrived before it is covered.
    pub fn covered(&self, mark: u64) {
        self.queue.completed.fetch_max(mark, Ordering::SeqCst);
    }
}

impl InstanceLocks {
    /// Waits for this process's turn on the instance; `None` when a round of this process that
    /// started after this call completed while it waited (nothing left to do).
    pub async fn turn(&self, instance: u64) -> Option<Turn> {
        let queue = {
            let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() > 1024 {
                map.retain(|_, w| w.strong_count() > 0);
            }
            match map.get(&instance).and_then(Weak::upgrade) {
                Some(q) => q,
                None => {
                    let q = Arc::new(Queue::default());
                    map.insert(instance, Arc::downgrade(&q));
                    q
                }
            }
        };
        let ticket = queue.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let guard = queue.turn.clone().lock_owned().await;
        if queue.completed.load(Ordering::SeqCst) >= ticket {
            return None;
        }
        Some(Turn {
            queue,
            _guard: guard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn within<T>(f: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(Duration::from_millis(50), f)
            .await
            .ok()
    }

    #[tokio::test(start_paused = true)]
    async fn one_holder_per_instance_others_unaffected() {
        let locks = InstanceLocks::default();
        let held = locks.turn(1).await;
        assert!(held.is_some());
        assert!(
            within(locks.turn(2)).await.is_some(),
            "another instance is not held up"
        );
        assert!(
            within(locks.turn(1)).await.is_none(),
            "the same instance waits"
        );
        drop(held);
        assert!(matches!(within(locks.turn(1)).await, Some(Some(_))));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_covered_by_a_round_that_started_after_it_leaves_without_a_turn() {
        let locks = InstanceLocks::default();
        let holder = locks.turn(7).await.expect("first turn");
        // Arrives before the holder's round starts: that round covers it.
        let early = tokio::spawn({
            let locks = locks.clone();
            async move { locks.turn(7).await.is_some() }
        });
        tokio::task::yield_now().await;
        let mark = holder.round_starts();
        // Arrives while the round runs: the round may have missed its change.
        let late = tokio::spawn({
            let locks = locks.clone();
            async move { locks.turn(7).await.is_some() }
        });
        tokio::task::yield_now().await;
        holder.covered(mark);
        drop(holder);
        assert!(!early.await.expect("early"), "covered: no turn");
        assert!(late.await.expect("late"), "not covered: its turn");
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_that_failed_covers_nobody() {
        let locks = InstanceLocks::default();
        let holder = locks.turn(7).await.expect("first turn");
        let waiter = tokio::spawn({
            let locks = locks.clone();
            async move { locks.turn(7).await.is_some() }
        });
        tokio::task::yield_now().await;
        let _mark = holder.round_starts();
        drop(holder);
        assert!(waiter.await.expect("waiter"), "it runs its own round");
    }
}
