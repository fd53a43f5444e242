//! Connecting an instance: the code exchange, then learning which provider account it is (the
//! key webhooks are routed by) and any per-instance API host.
//!
//! - Dropbox: `account_id` from the token answer.
//! - Box: `GET <API>/2.0/users/me` → `id`.
//! - HubSpot: `GET <API>/oauth/v1/access-tokens/{token}` → `hub_id` (the portal).
//! - QuickBooks: `providerData.realmId` (Intuit's redirect carries it beside the code).
//! - Salesforce: `instance_url` from the token answer is the instance's API host.
//! - DocuShare Flex: no routing key (it is polled). An empty code means the app uses the
//!   client-credentials grant [assumed; the seed provisions it with `"code": ""`].

use serde_json::{Map, Value};

use crate::oauth::{self, Grant, OAuthApp, TokenSet};
use crate::urls::ProviderUrls;
use crate::ElementError;

/// A connected instance's provider side.
#[derive(Debug)]
pub struct Connection {
    pub tokens: TokenSet,
    pub account_id: Option<String>,
    pub api_base: Option<String>,
}

/// What provisioning needs from `providerData` besides the code, per element.
pub fn required_provider_data(element: &str) -> &'static [&'static str] {
    match element {
        "quickbooks" => &["realmId"],
        _ => &[],
    }
}

/// Whether the element can connect without an authorization code.
pub fn code_optional(element: &str) -> bool {
    element == "docushareflex"
}

pub async fn connect(
    http: &reqwest::Client,
    element: &str,
    urls: &ProviderUrls,
    app: &OAuthApp<'_>,
    code: Option<&str>,
    provider_data: &Map<String, Value>,
) -> Result<Connection, ElementError> {
    let grant = match code.filter(|c| !c.is_empty()) {
        Some(c) => Grant::Code(c),
        None if code_optional(element) => Grant::ClientCredentials,
        None => {
            return Err(ElementError::Invalid(
                "Missing required field: providerData.code".into(),
            ))
        }
    };
    let tokens = oauth::token(http, element, urls, app, grant).await?;
    let str_of = |v: Option<&Value>| {
        v.and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        })
    };
    let (account_id, api_base) = match element {
        "dropbox" => (str_of(tokens.extra.get("account_id")), None),
        "box" => {
            let me = get_json(
                http,
                &format!("{}/2.0/users/me", urls.api),
                &tokens.access_token,
            )
            .await?;
            (str_of(me.get("id")), None)
        }
        "hubspot" => {
            let info = get_json(
                http,
                &format!(
                    "{}/oauth/v1/access-tokens/{}",
                    urls.api, tokens.access_token
                ),
                &tokens.access_token,
            )
            .await?;
            (str_of(info.get("hub_id")), None)
        }
        "quickbooks" => (str_of(provider_data.get("realmId")), None),
        "sfdc" => (None, str_of(tokens.extra.get("instance_url"))),
        _ => (None, None),
    };
    Ok(Connection {
        tokens,
        account_id,
        api_base,
    })
}

async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Result<Value, ElementError> {
    let resp = http.get(url).bearer_auth(token).send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    if !(200..300).contains(&status) {
        return Err(oauth::provider_error(status, &text));
    }
    // The URL may hold a token (HubSpot's access-token lookup): never echo it.
    serde_json::from_str(&text).map_err(|_| ElementError::Provider {
        status: 502,
        message: "unreadable answer while identifying the provider account".into(),
    })
}
