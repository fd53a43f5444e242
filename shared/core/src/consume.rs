//! The one way Herald consumes a JetStream work stream: a durable pull consumer, created (and
//! re-created) until the broker answers; messages handled concurrently up to a bound; on
//! shutdown no new message is taken and those in hand get the grace period, after which
//! anything unacked is simply redelivered by JetStream.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::Message;
use futures::StreamExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Retries `attempt` every second until it succeeds or shutdown (then `None`).
pub async fn until_ready<T, F, Fut>(
    what: &str,
    shutdown: &CancellationToken,
    mut attempt: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, async_nats::Error>>,
{
    loop {
        match attempt().await {
            Ok(v) => return Some(v),
            Err(e) => tracing::warn!(what, error = %e, "not ready; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Pulls from `consumer` and runs `handle` on each message, at most `concurrency` at once.
pub async fn run<F, Fut>(
    what: &'static str,
    consumer: PullConsumer,
    concurrency: usize,
    shutdown: CancellationToken,
    grace: Duration,
    handle: F,
) where
    F: Fn(Message) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tracing::info!(what, "consuming");
    let handle = Arc::new(handle);
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(concurrency.max(1)));
    'outer: while !shutdown.is_cancelled() {
        let mut messages = match consumer.messages().await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(what, error = %e, "pull failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                }
            }
        };
        loop {
            // A slot first, then a message: nothing is taken that no worker can start on, and
            // shutdown is honoured while waiting for either.
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break 'outer,
                p = limit.clone().acquire_owned() => match p {
                    Ok(p) => p,
                    Err(_) => break 'outer,
                },
            };
            let next = tokio::select! {
                _ = shutdown.cancelled() => break 'outer,
                m = messages.next() => m,
            };
            let msg = match next {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::warn!(what, error = %e, "stream error");
                    continue;
                }
                None => break,
            };
            let handle = handle.clone();
            tracker.spawn(async move {
                let _permit = permit;
                handle(msg).await;
            });
        }
    }
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            what,
            "work still running at the end of the grace period; it will be redelivered"
        );
    }
}
