//! Dropbox's token endpoint: `POST <API_URL>/oauth2/token`, form-encoded.

use serde::Deserialize;

use crate::oauth::{Connection, OAuthApp};
use crate::urls::ProviderUrls;
use crate::ElementError;

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    account_id: Option<String>,
}

#[derive(Deserialize)]
struct TokenError {
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn exchange_code(
    http: &reqwest::Client,
    urls: &ProviderUrls,
    app: &OAuthApp<'_>,
    code: &str,
) -> Result<Connection, ElementError> {
    let resp = http
        .post(format!("{}/oauth2/token", urls.api))
        .form(&[
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", app.redirect_uri),
            ("client_id", app.client_id),
            ("client_secret", app.client_secret),
        ])
        .send()
        .await?;
    let status = resp.status();
    if status.is_success() {
        let t: TokenResponse = resp.json().await?;
        return Ok(Connection {
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            expires_in_secs: t.expires_in,
            account_id: t.account_id,
        });
    }
    let text = resp.text().await.unwrap_or_default();
    let reason = serde_json::from_str::<TokenError>(&text)
        .ok()
        .map(|e| {
            [e.error, e.error_description]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| text.chars().take(200).collect());
    if status.is_server_error() {
        Err(ElementError::Provider {
            status: status.as_u16(),
            message: reason,
        })
    } else {
        Err(ElementError::Rejected {
            status: status.as_u16(),
            message: reason,
        })
    }
}
