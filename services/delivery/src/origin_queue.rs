//! This replica's queue per callback origin: a notification whose origin is at its in-flight
//! bound waits here, woken as soon as one of this replica's attempts to that origin gets its
//! answer, instead of going back to the retry schedule for a fixed pause. The queue is bounded
//! per origin (the rest are parked durably in the retry schedule, as before), and each wait is
//! bounded too (another replica's answer wakes nobody here; the wait's end asks again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// At most this many notifications wait in process for one origin, and for all origins together
/// (so waiting workers never keep other origins' notifications from the rest).
pub const MAX_WAITING: usize = 32;
pub const MAX_WAITING_ALL: usize = 64;

#[derive(Default)]
struct Origin {
    notify: Arc<Notify>,
    waiting: usize,
}

#[derive(Default)]
struct Waiting {
    origins: HashMap<String, Origin>,
    all: usize,
}

#[derive(Default)]
pub struct OriginQueue(Mutex<Waiting>);

impl OriginQueue {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot of `origin` to free (or `at_most`); false at once when the queue for it
    /// is full (the caller parks the notification durably instead).
    pub async fn wait(&self, origin: &str, at_most: Duration) -> bool {
        let notify = {
            let mut w = self.waiting();
            if w.all >= MAX_WAITING_ALL {
                return false;
            }
            let o = w.origins.entry(origin.to_string()).or_default();
            if o.waiting >= MAX_WAITING {
                return false;
            }
            o.waiting += 1;
            let notify = o.notify.clone();
            w.all += 1;
            notify
        };
        let _ = tokio::time::timeout(at_most, notify.notified()).await;
        let mut w = self.waiting();
        w.all -= 1;
        if let Some(o) = w.origins.get_mut(origin) {
            o.waiting -= 1;
            if o.waiting == 0 {
                w.origins.remove(origin);
            }
        }
        true
    }

    /// A slot of `origin` was freed here: the longest waiter asks again.
    pub fn freed(&self, origin: &str) {
        if let Some(o) = self.waiting().origins.get(origin) {
            o.notify.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lets the spawned waiters run until `n` of them wait for `origin`.
    async fn until_waiting(q: &OriginQueue, origin: &str, n: usize) {
        while q.waiting().origins.get(origin).map_or(0, |o| o.waiting) < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_freed_slot_wakes_a_waiter_at_once_and_waits_are_bounded() {
        let q = Arc::new(OriginQueue::default());
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move {
                let started = tokio::time::Instant::now();
                q.wait("https://a.example:443", Duration::from_secs(5))
                    .await;
                started.elapsed()
            })
        };
        until_waiting(&q, "https://a.example:443", 1).await;
        q.freed("https://a.example:443");
        let waited = waiter.await.expect("waiter");
        assert!(
            waited < Duration::from_secs(1),
            "woken by the freed slot: {waited:?}"
        );

        // Nobody frees a slot: the wait ends at its bound.
        let started = tokio::time::Instant::now();
        assert!(
            q.wait("https://b.example:443", Duration::from_millis(300))
                .await
        );
        assert_eq!(started.elapsed(), Duration::from_millis(300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_answers_at_once() {
        let q = Arc::new(OriginQueue::default());
        let mut waiters = Vec::new();
        for _ in 0..MAX_WAITING {
            let q = q.clone();
            waiters.push(tokio::spawn(async move {
                q.wait("https://a.example:443", Duration::from_secs(60))
                    .await
            }));
        }
        until_waiting(&q, "https://a.example:443", MAX_WAITING).await;
        assert!(
            !q.wait("https://a.example:443", Duration::from_secs(60))
                .await
        );
        assert!(
            q.wait("https://c.example:443", Duration::from_millis(1))
                .await,
            "other origins are not held up"
        );
        // Each freed slot wakes one waiter, long before its 60 s bound (time is paused: a wait
        // that ran to its bound would show as 60 s passed).
        let freeing = tokio::time::Instant::now();
        for _ in 0..MAX_WAITING {
            q.freed("https://a.example:443");
            tokio::task::yield_now().await;
        }
        for w in waiters {
            assert!(w.await.expect("waiter"));
        }
        assert!(
            freeing.elapsed() < Duration::from_secs(60),
            "{:?}",
            freeing.elapsed()
        );
    }
}
