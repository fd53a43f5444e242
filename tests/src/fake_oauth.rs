//! The OAuth2 half every provider fake shares, with each provider's documented quirks as a
//! profile: how the client authenticates, token lifetimes, Box's single-use refresh tokens,
//! Dropbox's refresh tokens only for `token_access_type=offline`, HubSpot's error shape,
//! DocuShare Flex's client-credentials grant. Codes are single use and bound to the client and
//! redirect URI; access tokens expire (or are expired on demand) and are then refused with 401.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde_json::{json, Map, Value};

/// How a provider's client authenticates at its token endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuth {
    Body,
    Basic,
}

/// A provider's OAuth behaviour.
#[derive(Debug, Clone)]
pub struct OAuthProfile {
    pub client_auth: ClientAuth,
    pub access_ttl: Duration,
    /// Box: each refresh returns a new pair and the old refresh token dies.
    pub refresh_single_use: bool,
    /// Dropbox: a refresh token only when authorize had `token_access_type=offline`.
    pub refresh_needs_offline: bool,
    /// HubSpot answers `{"status","message"}` instead of `{"error","error_description"}`.
    pub hubspot_errors: bool,
    /// DocuShare Flex [assumed]: `grant_type=client_credentials` with the client's own secret.
    pub client_credentials: bool,
    /// Fields added to every token answer (Dropbox `account_id`, Salesforce `instance_url`).
    pub extra: Map<String, Value>,
    /// Query parameters added to the authorize redirect (QuickBooks `realmId`).
    pub redirect_extra: Vec<(String, String)>,
}

impl OAuthProfile {
    pub fn standard(ttl_secs: u64) -> Self {
        Self {
            client_auth: ClientAuth::Body,
            access_ttl: Duration::from_secs(ttl_secs),
            refresh_single_use: false,
            refresh_needs_offline: false,
            hubspot_errors: false,
            client_credentials: false,
            extra: Map::new(),
            redirect_extra: Vec::new(),
        }
    }
}

#[derive(Default)]
struct State {
    codes: HashMap<String, (String, bool)>,
    /// Codes accepted with any redirect URI (the seeds' literal codes).
    seeded_codes: HashSet<String>,
    access: HashMap<String, Instant>,
    refresh: HashSet<String>,
    refresh_grants: usize,
    revoked: Vec<String>,
}

/// One provider's OAuth server state.
#[derive(Clone)]
pub struct FakeOAuth {
    pub client_id: String,
    pub client_secret: String,
    pub profile: OAuthProfile,
    state: Arc<Mutex<State>>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeOAuth {
    pub fn new(client_id: &str, client_secret: &str, profile: OAuthProfile) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            profile,
            state: Arc::default(),
        }
    }

    /// Accepts `code` once, whatever the redirect URI (for fixtures that carry a literal code).
    pub fn seed_code(&self, code: &str) {
        lock(&self.state).seeded_codes.insert(code.into());
    }
    /// Every access token issued so far stops working (as after its expiry).
    pub fn expire_access_tokens(&self) {
        let past = Instant::now();
        for exp in lock(&self.state).access.values_mut() {
            *exp = past;
        }
    }
    /// Every refresh token stops working (revoked at the provider).
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.state).refresh.clear();
    }
    /// How many refresh grants were honoured.
    pub fn refresh_grants(&self) -> usize {
        lock(&self.state).refresh_grants
    }
    /// A valid access token issued out of band (benchmarks seed instances with these).
    pub fn mint_access_token(&self) -> String {
        let access = format!("at-{}", herald_core::crypto::random_secret());
        lock(&self.state)
            .access
            .insert(access.clone(), Instant::now() + self.profile.access_ttl);
        access
    }

    /// Every access and refresh token issued so far.
    pub fn issued_tokens(&self) -> Vec<String> {
        let g = lock(&self.state);
        g.access.keys().chain(g.refresh.iter()).cloned().collect()
    }

    /// Tokens revoked through the revoke endpoint.
    pub fn revoked(&self) -> Vec<String> {
        lock(&self.state).revoked.clone()
    }

    /// `GET authorize`: redirect with a code (or `error=access_denied` when `deny`).
    pub fn authorize(&self, q: &HashMap<String, String>, deny: bool) -> Response {
        let Some(redirect) = q.get("redirect_uri") else {
            return (StatusCode::BAD_REQUEST, "missing redirect_uri").into_response();
        };
        if q.get("client_id") != Some(&self.client_id)
            || q.get("response_type").map(String::as_str) != Some("code")
        {
            return (
                StatusCode::BAD_REQUEST,
                "invalid client_id or response_type",
            )
                .into_response();
        }
        let Ok(mut url) = url::Url::parse(redirect) else {
            return (StatusCode::BAD_REQUEST, "bad redirect_uri").into_response();
        };
        let state = q.get("state").cloned().unwrap_or_default();
        if deny {
            url.query_pairs_mut()
                .append_pair("error", "access_denied")
                .append_pair("state", &state);
        } else {
            let code = herald_core::crypto::random_secret();
            let offline = q.get("token_access_type").map(String::as_str) == Some("offline");
            lock(&self.state)
                .codes
                .insert(code.clone(), (redirect.clone(), offline));
            url.query_pairs_mut()
                .append_pair("code", &code)
                .append_pair("state", &state);
            for (k, v) in &self.profile.redirect_extra {
                url.query_pairs_mut().append_pair(k, v);
            }
        }
        (
            StatusCode::FOUND,
            [(axum::http::header::LOCATION, url.to_string())],
        )
            .into_response()
    }

    fn error(&self, status: StatusCode, error: &str, description: &str) -> Response {
        let body = if self.profile.hubspot_errors {
            json!({"status": error.to_ascii_uppercase(), "message": description})
        } else {
            json!({"error": error, "error_description": description})
        };
        (status, Json(body)).into_response()
    }

    fn client_ok(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
        let (id, secret) = match self.profile.client_auth {
            ClientAuth::Body => (
                form.get("client_id").cloned(),
                form.get("client_secret").cloned(),
            ),
            ClientAuth::Basic => {
                let decoded = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Basic "))
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .and_then(|b| String::from_utf8(b).ok())
                    .unwrap_or_default();
                let (i, s) = decoded.split_once(':').unwrap_or(("", ""));
                (Some(i.to_string()), Some(s.to_string()))
            }
        };
        id.as_deref() == Some(self.client_id.as_str())
            && secret.as_deref() == Some(self.client_secret.as_str())
    }

    fn issue(&self, with_refresh: bool) -> Response {
        let access = format!("at-{}", herald_core::crypto::random_secret());
        let mut g = lock(&self.state);
        g.access
            .insert(access.clone(), Instant::now() + self.profile.access_ttl);
        let mut body = json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.profile.access_ttl.as_secs(),
        });
        if with_refresh {
            let rt = format!("rt-{}", herald_core::crypto::random_secret());
            g.refresh.insert(rt.clone());
            body["refresh_token"] = json!(rt);
        }
        if let Value::Object(m) = &mut body {
            m.extend(self.profile.extra.clone());
        }
        Json(body).into_response()
    }

    /// `POST token`: code, refresh and client-credentials grants.
    pub fn token(&self, headers: &HeaderMap, form: &HashMap<String, String>) -> Response {
        if !self.client_ok(headers, form) {
            return self.error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            );
        }
        match form.get("grant_type").map(String::as_str) {
            Some("authorization_code") => {
                let code = form.get("code").cloned().unwrap_or_default();
                let mut g = lock(&self.state);
                let (redirect_ok, offline) = if g.seeded_codes.remove(&code) {
                    (true, true)
                } else {
                    match g.codes.remove(&code) {
                        Some((redirect, offline)) => {
                            (form.get("redirect_uri") == Some(&redirect), offline)
                        }
                        None => {
                            drop(g);
                            return self.error(
                                StatusCode::BAD_REQUEST,
                                "invalid_grant",
                                "code doesn't exist or has expired",
                            );
                        }
                    }
                };
                drop(g);
                if !redirect_ok {
                    return self.error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "redirect_uri mismatch",
                    );
                }
                self.issue(offline || !self.profile.refresh_needs_offline)
            }
            Some("refresh_token") => {
                let rt = form.get("refresh_token").cloned().unwrap_or_default();
                let mut g = lock(&self.state);
                if !g.refresh.contains(&rt) {
                    drop(g);
                    return self.error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        "refresh token is invalid or expired",
                    );
                }
                g.refresh_grants += 1;
                if self.profile.refresh_single_use {
                    g.refresh.remove(&rt);
                    drop(g);
                    return self.issue(true);
                }
                drop(g);
                // The same refresh token stays valid; only a new access token is issued.
                self.issue(false)
            }
            Some("client_credentials") if self.profile.client_credentials => self.issue(false),
            _ => self.error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant type not supported",
            ),
        }
    }

    /// Whether a token request's code or refresh token is one this server issued (and has not
    /// used up), so a provider with several accounts knows which one answers it.
    pub fn issued_grant(&self, form: &HashMap<String, String>) -> bool {
        let g = lock(&self.state);
        let code = form
            .get("code")
            .is_some_and(|c| g.codes.contains_key(c) || g.seeded_codes.contains(c));
        let refresh = form
            .get("refresh_token")
            .is_some_and(|rt| g.refresh.contains(rt));
        code || refresh
    }

    /// Revokes a token (access or refresh).
    pub fn revoke(&self, token: &str) {
        let mut g = lock(&self.state);
        g.access.remove(token);
        g.refresh.remove(token);
        g.revoked.push(token.to_string());
    }

    /// The bearer token of a request, if valid and unexpired.
    pub fn bearer_ok(&self, headers: &HeaderMap) -> bool {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        self.token_ok(given)
    }

    pub fn token_ok(&self, token: &str) -> bool {
        lock(&self.state)
            .access
            .get(token)
            .is_some_and(|exp| *exp > Instant::now())
    }
}
