//! OAuth2 for every element: the authorize URL a user is sent to, the token endpoint (code
//! exchange, refresh, client credentials), revocation, and learning which provider account an
//! instance is connected to (the webhook routing key).
//!
//! Per element, [`spec`] names the paths and how the client authenticates; everything else is
//! the same RFC 6749 exchange. Provider errors come back in their own shapes
//! (`{"error","error_description"}`, HubSpot's `{"status","message"}`) and are mapped to
//! [`ElementError::Rejected`] with the provider's reason.

use crate::http::Http;
use serde_json::{Map, Value};

use crate::answer::Answer;
use crate::catalog::ElementDef;
use crate::key::ElementKey;
use crate::urls::ProviderUrls;
use crate::ElementError;

/// How the client proves itself at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClientAuth {
    /// `client_id` and `client_secret` form fields.
    Body,
    /// HTTP Basic with client id and secret.
    Basic,
}

/// How tokens are revoked.
#[derive(Debug, Clone, Copy)]
pub enum Revoke {
    None,
    /// `POST <token host><path>` with the access token as bearer (Dropbox).
    Bearer(&'static str),
    /// `POST <token host><path>` form `token=<refresh or access>` plus client credentials.
    Form(&'static str),
    /// `DELETE <token host><path>/<refresh token>` (HubSpot).
    DeleteRefresh(&'static str),
}

/// One element's OAuth2 endpoints.
#[derive(Debug, Clone, Copy)]
pub struct OAuthSpec {
    pub authorize_path: &'static str,
    pub token_path: &'static str,
    pub client_auth: ClientAuth,
    pub revoke: Revoke,
    /// Extra authorize parameters (Dropbox needs `token_access_type=offline` for a refresh token).
    pub authorize_extra: &'static [(&'static str, &'static str)],
}

pub fn spec(element: ElementKey) -> OAuthSpec {
    let s = |authorize_path, token_path, client_auth, revoke, authorize_extra| OAuthSpec {
        authorize_path,
        token_path,
        client_auth,
        revoke,
        authorize_extra,
    };
    match element {
        ElementKey::Dropbox => s(
            "/oauth2/authorize",
            "/oauth2/token",
            ClientAuth::Body,
            Revoke::Bearer("/2/auth/token/revoke"),
            &[("token_access_type", "offline")],
        ),
        ElementKey::Box => s(
            "/api/oauth2/authorize",
            "/oauth2/token",
            ClientAuth::Body,
            Revoke::Form("/oauth2/revoke"),
            &[],
        ),
        ElementKey::DocuShareFlex => s(
            "/oauth2/authorize",
            "/oauth2/token",
            ClientAuth::Body,
            Revoke::Form("/oauth2/revoke"),
            &[],
        ),
        ElementKey::HubSpot => s(
            "/oauth/authorize",
            "/oauth/v1/token",
            ClientAuth::Body,
            Revoke::DeleteRefresh("/oauth/v1/refresh-tokens"),
            &[],
        ),
        ElementKey::QuickBooks => s(
            "/connect/oauth2",
            "/oauth2/v1/tokens/bearer",
            ClientAuth::Basic,
            Revoke::Form("/oauth2/v1/tokens/revoke"),
            &[],
        ),
        ElementKey::Sfdc => s(
            "/services/oauth2/authorize",
            "/services/oauth2/token",
            ClientAuth::Body,
            Revoke::Form("/services/oauth2/revoke"),
            &[],
        ),
    }
}

/// The client app registered at the provider.
pub struct OAuthApp<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// What the token endpoint answered.
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in_secs: Option<u64>,
    /// The rest of the answer (Dropbox `account_id`, Salesforce `instance_url` and `id`, …).
    pub extra: Map<String, Value>,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet")
            .field("expires_in_secs", &self.expires_in_secs)
            .finish_non_exhaustive()
    }
}

/// The grant presented at the token endpoint.
pub enum Grant<'a> {
    Code(&'a str),
    Refresh(&'a str),
    ClientCredentials,
}

/// The provider's authorize URL for a client app.
pub fn authorize_url(
    def: &ElementDef,
    urls: &ProviderUrls,
    client_id: &str,
    redirect_uri: &str,
    state: Option<&str>,
    scope: Option<&str>,
) -> Result<String, ElementError> {
    if !def.type_oauth {
        return Err(ElementError::Unsupported(format!(
            "{} has no OAuth flow",
            def.key
        )));
    }
    let spec = spec(def.key);
    let base = format!("{}{}", urls.auth, spec.authorize_path);
    let mut url = url::Url::parse(&base).map_err(|e| ElementError::Invalid(e.to_string()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri);
        if let Some(state) = state {
            q.append_pair("state", state);
        }
        if let Some(scope) = scope {
            q.append_pair("scope", scope);
        }
        for (k, v) in spec.authorize_extra {
            q.append_pair(k, v);
        }
    }
    Ok(url.into())
}

/// Presents a grant at the element's token endpoint.
pub async fn token(
    http: &Http,
    element: ElementKey,
    urls: &ProviderUrls,
    app: &OAuthApp<'_>,
    grant: Grant<'_>,
) -> Result<TokenSet, ElementError> {
    let spec = spec(element);
    let mut form: Vec<(&str, &str)> = match grant {
        Grant::Code(code) => vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", app.redirect_uri),
        ],
        Grant::Refresh(rt) => vec![("grant_type", "refresh_token"), ("refresh_token", rt)],
        Grant::ClientCredentials => vec![("grant_type", "client_credentials")],
    };
    let mut req = http
        .post(format!("{}{}", urls.token, spec.token_path))
        .header("Accept", "application/json");
    match spec.client_auth {
        ClientAuth::Body => {
            form.push(("client_id", app.client_id));
            form.push(("client_secret", app.client_secret));
        }
        ClientAuth::Basic => req = req.basic_auth(app.client_id, Some(app.client_secret)),
    }
    let answer = http.answer(req.form(&form)).await?;
    let mut v: Map<String, Value> =
        serde_json::from_str(&answer.text).map_err(|_| ElementError::Provider {
            status: 502,
            message: "unreadable token answer".into(),
        })?;
    let access_token = v
        .remove("access_token")
        .and_then(|t| t.as_str().map(str::to_string))
        .ok_or_else(|| ElementError::Provider {
            status: 502,
            message: "token answer without access_token".into(),
        })?;
    let refresh_token = v
        .remove("refresh_token")
        .and_then(|t| t.as_str().map(str::to_string));
    // A provider's number, clamped (a year at most), so no date arithmetic overflows.
    let expires_in_secs = v
        .remove("expires_in")
        .and_then(|e| {
            e.as_u64()
                .or_else(|| e.as_str().and_then(|s| s.parse().ok()))
        })
        .map(|s: u64| s.min(365 * 86_400));
    Ok(TokenSet {
        access_token,
        refresh_token,
        expires_in_secs,
        extra: v,
    })
}

/// Revokes an instance's tokens at the provider (best effort is the caller's choice).
pub async fn revoke(
    http: &Http,
    element: ElementKey,
    urls: &ProviderUrls,
    app: &OAuthApp<'_>,
    access_token: &str,
    refresh_token: Option<&str>,
) -> Result<(), ElementError> {
    let spec = spec(element);
    let resp = match spec.revoke {
        Revoke::None => return Ok(()),
        Revoke::Bearer(path) => {
            http.send(
                http.post(format!("{}{}", urls.token, path))
                    .bearer_auth(access_token),
            )
            .await?
        }
        Revoke::Form(path) => {
            let token = refresh_token.unwrap_or(access_token);
            let mut req = http.post(format!("{}{}", urls.token, path));
            let mut form = vec![("token", token)];
            match spec.client_auth {
                ClientAuth::Body => {
                    form.push(("client_id", app.client_id));
                    form.push(("client_secret", app.client_secret));
                }
                ClientAuth::Basic => req = req.basic_auth(app.client_id, Some(app.client_secret)),
            }
            http.send(req.form(&form)).await?
        }
        Revoke::DeleteRefresh(path) => {
            let Some(rt) = refresh_token else {
                return Ok(());
            };
            http.send(http.delete(format!("{}{}/{}", urls.token, path, rt)))
                .await?
        }
    };
    Answer::read(resp).await?.success().map(|_| ())
}
