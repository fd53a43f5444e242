//! The ops listener every process runs: `/healthz` (alive), `/readyz` (NATS and Redis answer),
//! `/metrics` (Prometheus text 0.0.4). At each scrape it also reads what lives elsewhere: the
//! NATS client's reconnections and the lag of the consumers the service pulls from.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::brokers::Brokers;
use crate::bus::StreamKind;
use crate::metrics::Metrics;

#[derive(Clone)]
struct OpsState {
    brokers: Brokers,
    metrics: Metrics,
    consumers: &'static [(StreamKind, &'static str)],
}

/// How long a scrape waits for JetStream's consumer info before rendering without it.
const CONSUMER_INFO_TIMEOUT: Duration = Duration::from_secs(1);

/// A bound ops listener, not yet serving.
pub struct OpsServer {
    listener: TcpListener,
    router: Router,
}

impl OpsServer {
    pub async fn bind(
        addr: SocketAddr,
        brokers: Brokers,
        metrics: Metrics,
    ) -> std::io::Result<Self> {
        Self::bind_watching(addr, brokers, metrics, &[]).await
    }

    /// As [`OpsServer::bind`], reporting the lag of `consumers` (stream, durable name).
    pub async fn bind_watching(
        addr: SocketAddr,
        brokers: Brokers,
        metrics: Metrics,
        consumers: &'static [(StreamKind, &'static str)],
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let router = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(render_metrics))
            .with_state(OpsState {
                brokers,
                metrics,
                consumers,
            });
        Ok(Self { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until shutdown, as a task for [`crate::process::supervise`].
    pub fn spawn(self, shutdown: CancellationToken) -> tokio::task::JoinHandle<anyhow::Result<()>> {
        tokio::spawn(async move { self.run(shutdown).await.map_err(anyhow::Error::from) })
    }

    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        crate::http_server::serve(
            self.listener,
            self.router,
            crate::http_server::ServerLimits::default(),
            shutdown,
            std::time::Duration::from_secs(5),
        )
        .await;
        Ok(())
    }
}

async fn readyz(State(s): State<OpsState>) -> impl IntoResponse {
    let nats = s.brokers.nats_connected();
    let redis = s.brokers.redis_answers().await;
    s.metrics
        .broker_up
        .set(&["nats"], f64::from(u8::from(nats)));
    s.metrics
        .broker_up
        .set(&["redis"], f64::from(u8::from(redis)));
    let body = serde_json::json!({"nats": nats, "redis": redis});
    let status = if nats && redis {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

async fn render_metrics(State(s): State<OpsState>) -> impl IntoResponse {
    let connects = s.brokers.nats.statistics().connects.load(Ordering::Relaxed);
    s.metrics
        .nats_reconnects
        .set_total(&[], connects.saturating_sub(1) as f64);
    for (kind, durable) in s.consumers {
        let stream = s.brokers.topo.stream_name(*kind);
        let info = async {
            let st = s.brokers.js.get_stream(&stream).await.ok()?;
            st.consumer_info(durable).await.ok()
        };
        if let Ok(Some(info)) = tokio::time::timeout(CONSUMER_INFO_TIMEOUT, info).await {
            let labels = [kind.base_name(), *durable];
            s.metrics
                .consumer_pending
                .set(&labels, info.num_pending as f64);
            s.metrics
                .consumer_ack_pending
                .set(&labels, info.num_ack_pending as f64);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.render(),
    )
}
