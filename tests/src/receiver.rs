//! A callback receiver: records every request and answers with the next scripted status
//! (200 once the script is used up).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// The path it was posted to.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Default)]
struct Inner {
    in_flight: usize,
    max_in_flight: usize,
    got: Vec<Received>,
    script: VecDeque<(u16, Duration)>,
}

#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_at("127.0.0.1:0").await
    }

    pub async fn start_at(bind: &str) -> Self {
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let r = Self {
            inner: Arc::default(),
            url: format!("http://{addr}/callback"),
        };
        let app = Router::new()
            .route("/callback", post(receive))
            .route("/callback/{*rest}", post(receive))
            .with_state(r.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        r
    }

    /// The next answers, in order (then 200).
    pub fn script(&self, statuses: &[u16]) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .script
            .extend(statuses.iter().map(|s| (*s, Duration::ZERO)));
    }

    /// Forgets the scripted answers: 200 from now on.
    pub fn clear_script(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .script
            .clear();
    }

    /// The next `n` requests get no answer for `delay` (then 200).
    pub fn script_hang(&self, n: usize, delay: Duration) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..n {
            g.script.push_back((200, delay));
        }
    }

    /// The most requests it was answering at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .max_in_flight
    }

    /// Every event of every notification received, in arrival order (retries included).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.received()
            .iter()
            .flat_map(|r| {
                r.json()["response"]["events"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .collect()
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .got
            .clone()
    }
}

async fn receive(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let (status, delay) = {
        let mut g = r.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.got.push(Received {
            path: uri.path().to_string(),
            headers,
            body,
            at: std::time::Instant::now(),
        });
        g.in_flight += 1;
        g.max_in_flight = g.max_in_flight.max(g.in_flight);
        g.script.pop_front().unwrap_or((200, Duration::ZERO))
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    r.inner.lock().unwrap_or_else(|p| p.into_inner()).in_flight -= 1;
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
