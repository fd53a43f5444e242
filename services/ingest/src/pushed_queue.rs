//! This replica's waiting pushed deliveries, per instance: the first worker to arrive for an
//! instance runs rounds for it, each taking every delivery queued meanwhile (up to a cap), so a
//! burst of provider deliveries to one instance costs one lease and one outbox round per batch
//! of them instead of one each. The others wait for their answer. The lease still decides
//! between replicas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use herald_elements::ElementKey;
use tokio::sync::oneshot;

use crate::feed_sync::SyncError;

/// One stored provider delivery waiting for its instance's round.
pub struct Job {
    pub element: ElementKey,
    pub id: String,
    pub body: String,
    pub received_at_ms: i64,
    pub trace_parent: Option<String>,
    pub answer: oneshot::Sender<Answer>,
}

/// What a round made of a job: events sent, or why not (one failure shared by the round's jobs).
pub type Answer = Result<usize, Arc<SyncError>>;

/// Queues per instance; an entry exists while a runner works on that instance.
#[derive(Clone, Default)]
pub struct PushedQueues(Arc<Mutex<HashMap<u64, Vec<Job>>>>);

impl PushedQueues {
    fn queues(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Job>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `job`; true when no runner works on the instance here (the caller becomes it).
    pub fn push(&self, instance: u64, job: Job) -> bool {
        let mut q = self.queues();
        match q.get_mut(&instance) {
            Some(waiting) => {
                waiting.push(job);
                false
            }
            None => {
                q.insert(instance, vec![job]);
                true
            }
        }
    }

    /// The next jobs, oldest first, at most `max`; `None` when none are left, and then the
    /// runner is done (the next arrival becomes the runner).
    pub fn take(&self, instance: u64, max: usize) -> Option<Vec<Job>> {
        let mut q = self.queues();
        let waiting = q.get_mut(&instance)?;
        if waiting.is_empty() {
            q.remove(&instance);
            return None;
        }
        let n = waiting.len().min(max);
        Some(waiting.drain(..n).collect())
    }

    /// A runner that stops early (its task cancelled) gives up the instance: the jobs still
    /// queued are dropped, so their workers get no answer and retry their deliveries.
    pub fn abandon(&self, instance: u64) {
        self.queues().remove(&instance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> (Job, oneshot::Receiver<Answer>) {
        let (answer, rx) = oneshot::channel();
        let job = Job {
            element: ElementKey::HubSpot,
            id: "d".into(),
            body: "[]".into(),
            received_at_ms: 0,
            trace_parent: None,
            answer,
        };
        (job, rx)
    }

    #[test]
    fn the_first_arrival_runs_and_takes_everything_queued_meanwhile() {
        let q = PushedQueues::default();
        assert!(q.push(1, job().0), "first in runs");
        assert!(!q.push(1, job().0), "then it queues");
        assert!(!q.push(1, job().0));
        assert!(q.push(2, job().0), "another instance has its own runner");
        assert_eq!(q.take(1, 2).map(|j| j.len()), Some(2), "capped");
        assert_eq!(q.take(1, 2).map(|j| j.len()), Some(1));
        assert!(q.take(1, 2).is_none(), "drained: the runner stops");
        assert!(q.push(1, job().0), "and the next arrival runs");
    }

    #[tokio::test]
    async fn an_abandoned_queue_drops_its_jobs_so_their_workers_retry() {
        let q = PushedQueues::default();
        assert!(q.push(1, job().0));
        let (waiting, rx) = job();
        assert!(!q.push(1, waiting));
        q.abandon(1);
        assert!(rx.await.is_err(), "no answer: the worker naks and retries");
        assert!(q.push(1, job().0), "a new runner can start");
    }
}
