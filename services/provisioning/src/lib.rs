//! herald-provisioning: owns the instance lifecycle. Answers `herald.v1.rpc.provisioning.<op>`
//! requests (queue group `provisioning`, so replicas share the load) and announces lifecycle
//! facts on the INSTANCES stream.
//!
//! - [`create`]: the create flow (code exchange, change-feed start, store, announce).
//! - [`lifecycle`]: PATCH, DELETE, enable/disable (under the record lease).
//! - [`refresh`]: single-flight token refresh per instance.
//! - [`request`]: reading and validating instance bodies.
//! - [`schedule`]: the poll schedule kept in step with each instance.
//! - [`error`]: failures with their HTTP status and stable code.

pub mod create;
pub mod error;
pub mod lifecycle;
pub mod refresh;
pub mod request;
pub mod reseal;
pub mod schedule;

use herald_elements::http::Http;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use herald_core::brokers::Brokers;
use herald_core::bus::{ensure_stream, StreamKind};
use herald_core::config::{CommonConfig, ConfigError, Env};
use herald_core::crypto::SecretBox;
use herald_core::metrics::Metrics;
use herald_core::model::InstanceRecord;
use herald_core::model::{ProvisioningRequest, RpcReply};
use herald_core::ops::OpsServer;
use herald_core::process::supervise;
use herald_elements::urls::ElementUrls;
use herald_elements::ElementKey;

use crate::error::ProvisionError;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Provisioning settings.
#[derive(Clone)]
pub struct Config {
    pub common: CommonConfig,
    pub urls: ElementUrls,
    /// `HERALD_PROVIDER_TIMEOUT_MS`: one call to a provider.
    pub provider_timeout: Duration,
    /// `HERALD_POLL_MIN_INTERVAL_SECONDS`: the floor on `event.poller.refresh_interval`.
    pub limits: request::Limits,
    /// `HERALD_ALLOW_PRIVATE_CALLBACKS`: accept callback URLs on private addresses (default false).
    pub allow_private_callbacks: bool,
}

impl Config {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env, "127.0.0.1:9182")?,
            urls: ElementUrls::from_env(env)?,
            provider_timeout: env.millis("HERALD_PROVIDER_TIMEOUT_MS", 30_000)?,
            limits: request::Limits {
                min_interval_minutes: min_interval_minutes(env)?,
            },
            allow_private_callbacks: env.bool("HERALD_ALLOW_PRIVATE_CALLBACKS", false)?,
        })
    }
}

fn min_interval_minutes(env: &Env) -> Result<f64, ConfigError> {
    let var = "HERALD_POLL_MIN_INTERVAL_SECONDS";
    let secs: f64 = env.parse(var, 60.0)?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err(ConfigError::new(
            var,
            "must be a positive number of seconds",
        ));
    }
    Ok(secs / 60.0)
}

/// What request handlers share.
pub struct Ctx {
    pub brokers: Brokers,
    pub secret_box: SecretBox,
    pub urls: ElementUrls,
    pub http: Http,
    pub metrics: Metrics,
    pub limits: request::Limits,
    pub allow_private_callbacks: bool,
}

pub struct App {
    ctx: Arc<Ctx>,
    ops: OpsServer,
    grace: Duration,
}

/// Requests handled at once by one replica.
const CONCURRENCY: usize = 64;

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let c = &config.common;
        let brokers = Brokers::for_service(c, "herald-provisioning").await?;
        let metrics = Metrics::new();
        let ops = OpsServer::bind(c.ops_addr, brokers.clone(), metrics.clone()).await?;
        let ctx = Arc::new(Ctx {
            brokers,
            secret_box: c.secret_box.clone(),
            urls: config.urls.clone(),
            http: herald_elements::http::Http::new(config.provider_timeout, &config.urls)?,
            metrics,
            limits: config.limits,
            allow_private_callbacks: config.allow_private_callbacks,
        });
        Ok(Self {
            ctx,
            ops,
            grace: c.shutdown_grace,
        })
    }

    pub fn ops_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.ops.local_addr()
    }

    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let rpc = tokio::spawn(serve_rpc(self.ctx.clone(), shutdown.clone(), self.grace));
        // In the background: requests are served meanwhile (each value opens either way).
        let ctx = self.ctx.clone();
        tokio::spawn(async move {
            match reseal::sweep(&ctx).await {
                Ok((changed, unopened)) => tracing::info!(
                    instances = changed,
                    unopened,
                    "secrets re-sealed under the current HERALD_SECRET_KEY"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "re-sealing secrets stopped; the next start resumes")
                }
            }
        });
        let ops = self.ops.spawn(shutdown.clone());
        supervise(shutdown, vec![("rpc", rpc), ("ops", ops)]).await
    }
}

async fn serve_rpc(
    ctx: Arc<Ctx>,
    shutdown: CancellationToken,
    grace: Duration,
) -> anyhow::Result<()> {
    // The stream we announce on; retried until NATS answers (it may start after us).
    loop {
        match ensure_stream(&ctx.brokers.js, &ctx.brokers.topo, StreamKind::Instances).await {
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "INSTANCES stream not ready; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }
    let subject = ctx.brokers.topo.rpc_provisioning_all();
    let mut sub = ctx
        .brokers
        .nats
        .queue_subscribe(subject, "provisioning".to_string())
        .await?;
    tracing::info!("provisioning answering requests");
    let tracker = TaskTracker::new();
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = sub.next() => match m { Some(m) => m, None => break },
        };
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let ctx = ctx.clone();
        tracker.spawn(async move {
            let _permit = permit;
            let reply = handle(&ctx, &msg.payload).await;
            if let (Some(to), Ok(bytes)) = (msg.reply, serde_json::to_vec(&reply)) {
                if let Err(e) = ctx.brokers.nats.publish(to, bytes.into()).await {
                    tracing::warn!(error = %e, "could not send provisioning reply");
                }
            }
        });
    }
    let _ = sub.unsubscribe().await;
    tracker.close();
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!("provisioning requests still running at the end of the grace period");
    }
    Ok(())
}

async fn handle(ctx: &Ctx, payload: &[u8]) -> RpcReply {
    let req: ProvisioningRequest = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(e) => {
            return RpcReply::Error(
                error::ProvisionError::Internal(format!("unreadable request: {e}")).to_rpc(),
            )
        }
    };
    // The op names the request's subject: the same string in logs and metrics.
    let op = req.op();
    let (subject, result) = match req {
        ProvisioningRequest::CreateV1 {
            user_id,
            org_id,
            request_id,
            body,
        } => {
            let body = body.as_object().cloned().unwrap_or_default();
            (
                request_id,
                create::create(ctx, user_id, org_id, &body).await,
            )
        }
        ProvisioningRequest::UpdateV1 {
            instance_id,
            user_id,
            body,
            mode,
        } => {
            let body = body.as_object().cloned().unwrap_or_default();
            let r = lifecycle::update(ctx, instance_id, user_id, &body, mode).await;
            (instance_id.to_string(), r)
        }
        ProvisioningRequest::DeleteV1 {
            instance_id,
            user_id,
        } => (
            instance_id.to_string(),
            lifecycle::delete(ctx, instance_id, user_id).await,
        ),
        ProvisioningRequest::SetEnabledV1 {
            instance_id,
            enabled,
        } => (
            instance_id.to_string(),
            lifecycle::set_enabled(ctx, instance_id, enabled).await,
        ),
        ProvisioningRequest::RefreshV1 {
            instance_id,
            seen_version,
        } => (
            instance_id.to_string(),
            refresh::refresh(ctx, instance_id, seen_version).await,
        ),
    };
    log_outcome(op, &subject, &result);
    ctx.metrics
        .provisioning_requests
        .inc(&[op, if result.is_ok() { "ok" } else { "error" }]);
    match result {
        Ok(v) => RpcReply::Ok(v),
        Err(e) => RpcReply::Error(e.to_rpc()),
    }
}

fn log_outcome(op: &str, subject: &str, r: &Result<serde_json::Value, error::ProvisionError>) {
    match r {
        Ok(_) => {}
        Err(
            e @ (error::ProvisionError::Internal(_)
            | error::ProvisionError::Unavailable(_)
            | error::ProvisionError::Publish(_)
            | error::ProvisionError::Encode(_)),
        ) => {
            tracing::error!(op, subject, error = ?e, "request failed")
        }
        Err(e) => tracing::info!(op, subject, error = %e, "request refused"),
    }
}

/// The element of a stored instance (every stored key is in the catalog).
pub(crate) fn element_of(rec: &InstanceRecord) -> Result<ElementKey, ProvisionError> {
    ElementKey::parse(&rec.element_key)
        .ok_or_else(|| ProvisionError::Internal(format!("unknown element {}", rec.element_key)))
}
