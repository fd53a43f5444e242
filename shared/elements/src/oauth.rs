//! OAuth2: the authorize URL a user is sent to, and the code exchange provisioning performs.

use crate::catalog::ElementDef;
use crate::urls::ProviderUrls;
use crate::{dropbox, ElementError};

/// The client app registered at the provider.
pub struct OAuthApp<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// What a successful code exchange yields.
pub struct Connection {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in_secs: Option<u64>,
    /// The provider account (webhook routing key), when the provider names it.
    pub account_id: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("account_id", &self.account_id)
            .field("expires_in_secs", &self.expires_in_secs)
            .finish_non_exhaustive()
    }
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
    let base = match def.key {
        "dropbox" => format!("{}/oauth2/authorize", urls.auth),
        other => {
            return Err(ElementError::Unsupported(format!(
                "{other} has no OAuth flow"
            )))
        }
    };
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
        if def.key == "dropbox" {
            // Without it Dropbox issues no refresh token and the instance dies in 4 hours.
            q.append_pair("token_access_type", "offline");
        }
    }
    Ok(url.into())
}

/// Exchanges an authorization code for tokens at the element's token endpoint.
pub async fn exchange_code(
    http: &reqwest::Client,
    def: &ElementDef,
    urls: &ProviderUrls,
    app: &OAuthApp<'_>,
    code: &str,
) -> Result<Connection, ElementError> {
    match def.key {
        "dropbox" => dropbox::oauth::exchange_code(http, urls, app, code).await,
        other => Err(ElementError::Unsupported(format!(
            "{other} does not support OAuth code exchange"
        ))),
    }
}
