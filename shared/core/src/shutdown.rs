//! The one shutdown signal of a process.
//!
//! `main` creates a `CancellationToken`, hands clones to every server and loop, and trips it on
//! SIGTERM or SIGINT. Loops stop taking work when it fires and drain what they hold, bounded by
//! `HERALD_SHUTDOWN_GRACE_MS`.

use tokio_util::sync::CancellationToken;

/// Cancels `token` when SIGTERM or SIGINT arrives.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        token.cancel();
        tracing::info!("shutdown signal received");
    });
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
