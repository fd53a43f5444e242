//! The start of every binary: logs, config from the environment (a bad value exits 2 naming
//! the variable), the shutdown token tied to SIGTERM/SIGINT, then the service until it ends.

use std::future::Future;
use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, Env};
use crate::shutdown::cancel_on_signal;
use crate::telemetry;

/// Runs a service: `configure` validates the environment, `run` serves until `shutdown`.
pub async fn run_service<C, F, Fut>(
    service: &'static str,
    configure: impl FnOnce(&Env) -> Result<C, ConfigError>,
    run: F,
) -> ExitCode
where
    F: FnOnce(C, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let telemetry = telemetry::init(service);
    let config = match configure(&Env::from_process()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{service}: {e}");
            tracing::error!(variable = %e.var, error = %e, "invalid configuration");
            return ExitCode::from(2);
        }
    };
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let code = match run(config, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "service ended with an error");
            ExitCode::FAILURE
        }
    };
    // The spans of the last moments are exported too.
    telemetry.shutdown();
    code
}

/// Runs a service's tasks until shutdown; if one ends early, stops the rest and says which.
pub async fn supervise(
    shutdown: CancellationToken,
    tasks: Vec<(&'static str, tokio::task::JoinHandle<anyhow::Result<()>>)>,
) -> anyhow::Result<()> {
    let mut set = tokio::task::JoinSet::new();
    for (name, handle) in tasks {
        set.spawn(async move { (name, handle.await) });
    }
    let mut first_error = None;
    while let Some(joined) = set.join_next().await {
        let (name, result) = match joined {
            Ok(r) => r,
            Err(e) => ("supervisor", Err(e)),
        };
        let outcome = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(anyhow::anyhow!("task {name} failed: {e:#}")),
            Err(e) => Some(anyhow::anyhow!("task {name} panicked: {e}")),
        };
        if !shutdown.is_cancelled() {
            tracing::warn!(
                task = name,
                "task ended before shutdown; stopping the others"
            );
            shutdown.cancel();
        }
        if let Some(e) = outcome {
            tracing::error!(task = name, error = %e, "task ended with an error");
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}
