//! Fakes of the OAuth side of HubSpot, QuickBooks Online, Salesforce and DocuShare Flex, each at
//! its documented paths with its documented quirks (see `fake_oauth`):
//!
//! - HubSpot: `/oauth/authorize`, `/oauth/v1/token` (tokens ≈30 min, `{"status","message"}`
//!   errors), `GET /oauth/v1/access-tokens/{token}` → `hub_id`, `DELETE /oauth/v1/refresh-tokens/{t}`,
//!   and the portal id also from `GET /account-info/v3/details` and the legacy
//!   `GET /integrations/v1/me` (both bearer-checked). Each of the three portal-id routes can be
//!   switched off ([`PortalRoute`]) so a test can check every way Herald learns the portal.
//! - QuickBooks: `/connect/oauth2` (the redirect carries `realmId`), `/oauth2/v1/tokens/bearer`
//!   with HTTP Basic client auth, `/oauth2/v1/tokens/revoke`.
//! - Salesforce: `/services/oauth2/{authorize,token,revoke}`; the token answer names the
//!   instance's API host (`instance_url`).
//! - DocuShare Flex [assumed]: `/oauth2/{authorize,token,revoke}`, client-credentials allowed;
//!   its `events` resource and library routes live in `fake_docushare`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

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
    hubspot: Arc<Mutex<HubSpotAccount>>,
}

/// The three HubSpot routes that tell an app its portal (hub) id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortalRoute {
    /// `GET /account-info/v3/details`; switched off it answers 403 `MISSING_SCOPES`.
    AccountInfo,
    /// `GET /oauth/v1/access-tokens/{token}`; switched off it answers 404.
    AccessTokens,
    /// `GET /integrations/v1/me` (legacy); switched off it answers 404, as once retired.
    IntegrationsMe,
}

struct HubSpotAccount {
    portal: u64,
    off: HashSet<PortalRoute>,
}

pub const HUBSPOT_PORTAL: u64 = 62515;
pub const QUICKBOOKS_REALM: &str = "310687";

impl FakeOAuthApp {
    pub async fn start(provider: Provider, client_id: &str, client_secret: &str) -> Self {
        Self::start_at("127.0.0.1:0", provider, client_id, client_secret).await
    }

    /// Starts on a given address.
    pub async fn start_at(
        bind: &str,
        provider: Provider,
        client_id: &str,
        client_secret: &str,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind(bind).await.expect("bind");
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
            hubspot: Arc::new(Mutex::new(HubSpotAccount {
                portal: HUBSPOT_PORTAL,
                off: HashSet::new(),
            })),
        };
        let app = match provider {
            Provider::HubSpot => Router::new()
                .route("/oauth/authorize", get(authorize))
                .route("/oauth/v1/token", post(token))
                .route("/oauth/v1/access-tokens/{token}", get(hubspot_token_info))
                .route("/oauth/v1/refresh-tokens/{token}", delete(hubspot_revoke))
                .route("/account-info/v3/details", get(hubspot_account_info))
                .route("/integrations/v1/me", get(hubspot_me)),
            Provider::QuickBooks => Router::new()
                .route("/connect/oauth2", get(authorize))
                .route("/oauth2/v1/tokens/bearer", post(token))
                .route("/oauth2/v1/tokens/revoke", post(revoke))
                .route("/v3/company/{realm}/cdc", get(crate::fake_records::qb_cdc)),
            Provider::DocuShareFlex => Router::new()
                .route("/oauth2/authorize", get(authorize))
                .route("/oauth2/token", post(token))
                .route("/oauth2/revoke", post(revoke))
                .route("/api/v1/events", get(crate::fake_docushare::events))
                .merge(crate::fake_docushare::routes()),
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

    /// HubSpot: the portal (hub) id every portal-id route reports (default [`HUBSPOT_PORTAL`]).
    pub fn set_hubspot_portal(&self, portal: u64) {
        self.account().portal = portal;
    }
    pub fn hubspot_portal(&self) -> u64 {
        self.account().portal
    }
    /// HubSpot: switches one portal-id route on or off (all are on at start).
    pub fn set_portal_route(&self, route: PortalRoute, on: bool) {
        let mut g = self.account();
        if on {
            g.off.remove(&route);
        } else {
            g.off.insert(route);
        }
    }

    fn account(&self) -> std::sync::MutexGuard<'_, HubSpotAccount> {
        self.hubspot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// HubSpot's refusal when `route` is switched off.
    fn refusal(&self, route: PortalRoute) -> Option<Response> {
        if !self.account().off.contains(&route) {
            return None;
        }
        Some(match route {
            PortalRoute::AccountInfo => hubspot_error(
                StatusCode::FORBIDDEN,
                "MISSING_SCOPES",
                "This app hasn't been granted all required scopes to make this call.",
            ),
            PortalRoute::AccessTokens | PortalRoute::IntegrationsMe => hubspot_error(
                StatusCode::NOT_FOUND,
                "OBJECT_NOT_FOUND",
                "resource not found",
            ),
        })
    }
}

fn hubspot_error(status: StatusCode, category: &str, message: &str) -> Response {
    let body = json!({"status": "error", "message": message, "category": category,
        "correlationId": "00000000-0000-4000-8000-000000000000"});
    (status, Json(body)).into_response()
}

/// HubSpot's answer to a missing, invalid or expired bearer token.
fn hubspot_unauthorized() -> Response {
    hubspot_error(
        StatusCode::UNAUTHORIZED,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
    )
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
    if let Some(refused) = f.refusal(PortalRoute::AccessTokens) {
        return refused;
    }
    if !f.oauth.token_ok(&token) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"status": "error", "message": "The access token is expired or invalid"})),
        )
            .into_response();
    }
    Json(
        json!({"token": token, "user": "dev@example.com", "hub_domain": "dev.hubspot.com",
        "scopes": ["crm.objects.contacts.read"], "hub_id": f.hubspot_portal(), "app_id": 54321,
        "expires_in": 1800, "user_id": 123, "token_type": "access"}),
    )
    .into_response()
}

async fn hubspot_revoke(State(f): State<FakeOAuthApp>, Path(token): Path<String>) -> Response {
    f.oauth.revoke(&token);
    StatusCode::NO_CONTENT.into_response()
}

async fn hubspot_account_info(State(f): State<FakeOAuthApp>, headers: HeaderMap) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return hubspot_unauthorized();
    }
    if let Some(refused) = f.refusal(PortalRoute::AccountInfo) {
        return refused;
    }
    Json(
        json!({"portalId": f.hubspot_portal(), "accountType": "STANDARD",
        "timeZone": "US/Eastern", "companyCurrency": "USD", "uiDomain": "app.hubspot.com",
        "dataHostingLocation": "na1"}),
    )
    .into_response()
}

async fn hubspot_me(State(f): State<FakeOAuthApp>, headers: HeaderMap) -> Response {
    if !f.oauth.bearer_ok(&headers) {
        return hubspot_unauthorized();
    }
    if let Some(refused) = f.refusal(PortalRoute::IntegrationsMe) {
        return refused;
    }
    Json(
        json!({"portalId": f.hubspot_portal(), "timeZone": "US/Eastern",
        "currency": "USD", "utcOffsetMilliseconds": -18_000_000, "utcOffset": "-05:00"}),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_hubspot_portal_route_tells_the_portal_until_switched_off() {
        let app = FakeOAuthApp::start(Provider::HubSpot, "id", "secret").await;
        app.set_hubspot_portal(777);
        let token = app.oauth.mint_access_token();
        let http = reqwest::Client::new();
        let get = |path: String, bearer: bool| {
            let mut rb = http.get(format!("{}{path}", app.url()));
            if bearer {
                rb = rb.bearer_auth(&token);
            }
            async move {
                let r = rb.send().await.expect("send");
                let status = r.status().as_u16();
                (status, r.json::<serde_json::Value>().await.expect("json"))
            }
        };
        let routes = [
            (
                PortalRoute::AccountInfo,
                "/account-info/v3/details".to_string(),
                "portalId",
                403,
            ),
            (
                PortalRoute::AccessTokens,
                format!("/oauth/v1/access-tokens/{token}"),
                "hub_id",
                404,
            ),
            (
                PortalRoute::IntegrationsMe,
                "/integrations/v1/me".to_string(),
                "portalId",
                404,
            ),
        ];
        for (route, path, field, off) in routes {
            let (st, v) = get(path.clone(), true).await;
            assert_eq!((st, &v[field]), (200, &json!(777)), "{path}: {v}");
            app.set_portal_route(route, false);
            assert_eq!(get(path.clone(), true).await.0, off, "{path} switched off");
            app.set_portal_route(route, true);
        }
        assert_eq!(get("/account-info/v3/details".into(), false).await.0, 401);
        assert_eq!(get("/integrations/v1/me".into(), false).await.0, 401);
    }
}
