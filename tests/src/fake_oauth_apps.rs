//! Fakes of the OAuth side of HubSpot, QuickBooks Online, Salesforce and DocuShare Flex, each at
//! its documented paths with its documented quirks (see `fake_oauth`):
//!
//! - HubSpot: `/oauth/authorize`, `/oauth/v1/token` (tokens ≈30 min, `{"status","message"}`
//!   errors), `GET /oauth/v1/access-tokens/{token}` → `hub_id`, `DELETE /oauth/v1/refresh-tokens/{t}`.
//! - QuickBooks: `/connect/oauth2` (the redirect carries `realmId`), `/oauth2/v1/tokens/bearer`
//!   with HTTP Basic client auth, `/oauth2/v1/tokens/revoke`.
//! - Salesforce: `/services/oauth2/{authorize,token,revoke}`; the token answer names the
//!   instance's API host (`instance_url`).
//! - DocuShare Flex [assumed]: `/oauth2/{authorize,token,revoke}`, client-credentials allowed.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use serde_json::json;

use crate::fake_oauth::{ClientAuth, FakeOAuth, OAuthProfile};

/// Which provider a [`FakeOAuthApp`] plays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Provider {
    HubSpot,
    QuickBooks,
    Salesforce,
    DocuShareFlex,
}

#[derive(Clone)]
pub struct FakeOAuthApp {
    pub oauth: FakeOAuth,
    pub addr: SocketAddr,
    pub provider: Provider,
    /// DocuShare Flex documents (the polled `events` resource) and API misbehaviour.
    pub docs: crate::fake_docushare::Documents,
    /// Salesforce objects and QuickBooks entities.
    pub records: crate::fake_records::Records,
}

pub const HUBSPOT_PORTAL: u64 = 62515;
pub const QUICKBOOKS_REALM: &str = "310687";

impl FakeOAuthApp {
    pub async fn start(provider: Provider, client_id: &str, client_secret: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let (profile, prefix) = match provider {
            Provider::HubSpot => {
                let mut p = OAuthProfile::standard(1800);
                p.hubspot_errors = true;
                (p, "")
            }
            Provider::QuickBooks => {
                let mut p = OAuthProfile::standard(3600);
                p.client_auth = ClientAuth::Basic;
                p.extra
                    .insert("x_refresh_token_expires_in".into(), json!(8_726_400));
                p.redirect_extra
                    .push(("realmId".into(), QUICKBOOKS_REALM.into()));
                (p, "")
            }
            Provider::Salesforce => {
                let mut p = OAuthProfile::standard(7200);
                p.extra.insert("instance_url".into(), json!(base));
                p.extra.insert(
                    "id".into(),
                    json!(format!("{base}/id/00D5g000001abcdEAA/0055g000001xyzAAA")),
                );
                (p, "/services")
            }
            Provider::DocuShareFlex => {
                let mut p = OAuthProfile::standard(3600);
                p.client_credentials = true;
                (p, "")
            }
        };
        let fake = Self {
            oauth: FakeOAuth::new(client_id, client_secret, profile),
            addr,
            provider,
            docs: crate::fake_docushare::Documents::default(),
            records: crate::fake_records::Records::default(),
        };
        let app = match provider {
            Provider::HubSpot => Router::new()
                .route("/oauth/authorize", get(authorize))
                .route("/oauth/v1/token", post(token))
                .route("/oauth/v1/access-tokens/{token}", get(hubspot_token_info))
                .route("/oauth/v1/refresh-tokens/{token}", delete(hubspot_revoke)),
            Provider::QuickBooks => Router::new()
                .route("/connect/oauth2", get(authorize))
                .route("/oauth2/v1/tokens/bearer", post(token))
                .route("/oauth2/v1/tokens/revoke", post(revoke))
                .route("/v3/company/{realm}/cdc", get(crate::fake_records::qb_cdc)),
            Provider::DocuShareFlex => Router::new()
                .route("/oauth2/authorize", get(authorize))
                .route("/oauth2/token", post(token))
                .route("/oauth2/revoke", post(revoke))
                .route("/api/v1/events", get(crate::fake_docushare::events)),
            Provider::Salesforce => Router::new()
                .route(&format!("{prefix}/oauth2/authorize"), get(authorize))
                .route(&format!("{prefix}/oauth2/token"), post(token))
                .route(&format!("{prefix}/oauth2/revoke"), post(revoke))
                .route(
                    "/services/data/v59.0/query",
                    get(crate::fake_records::sf_query),
                )
                .route(
                    "/services/data/v59.0/query/{locator}",
                    get(crate::fake_records::sf_query_more),
                )
                .route(
                    "/services/data/v59.0/sobjects/{object}/deleted/",
                    get(crate::fake_records::sf_deleted),
                ),
        }
        .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn authorize(
    State(f): State<FakeOAuthApp>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    f.oauth.authorize(&q, false)
}

async fn token(
    State(f): State<FakeOAuthApp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    f.oauth.token(&headers, &form)
}

async fn revoke(
    State(f): State<FakeOAuthApp>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    f.oauth
        .revoke(form.get("token").map(String::as_str).unwrap_or_default());
    StatusCode::OK.into_response()
}

async fn hubspot_token_info(State(f): State<FakeOAuthApp>, Path(token): Path<String>) -> Response {
    if !f.oauth.token_ok(&token) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"status": "error", "message": "The access token is expired or invalid"})),
        )
            .into_response();
    }
    Json(
        json!({"token": token, "user": "dev@example.com", "hub_domain": "dev.hubspot.com",
        "scopes": ["crm.objects.contacts.read"], "hub_id": HUBSPOT_PORTAL, "app_id": 54321,
        "expires_in": 1800, "user_id": 123, "token_type": "access"}),
    )
    .into_response()
}

async fn hubspot_revoke(State(f): State<FakeOAuthApp>, Path(token): Path<String>) -> Response {
    f.oauth.revoke(&token);
    StatusCode::NO_CONTENT.into_response()
}
