//! Connecting an instance: the code exchange, then learning which provider account it is (the
//! key webhooks are routed by) and any per-instance API host.
//!
//! - Dropbox: `account_id` from the token answer.
//! - Box: `GET <API>/2.0/users/me` → `id`.
//! - HubSpot: the portal id, from `GET <API>/account-info/v3/details` (`portalId`), else
//!   `GET <API>/oauth/v1/access-tokens/{token}` (`hub_id`), else the legacy
//!   `GET <API>/integrations/v1/me` (`portalId`).
//! - QuickBooks: `providerData.realmId` (Intuit's redirect carries it beside the code).
//! - Salesforce: `instance_url` from the token answer is the instance's API host.
//! - DocuShare Flex: no routing key (it is polled). An empty code means the app uses the
//!   client-credentials grant [assumed; the seed provisions it with `"code": ""`].

use crate::http::Http;
use serde_json::{Map, Value};

use crate::key::ElementKey;
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
pub fn required_provider_data(element: ElementKey) -> &'static [&'static str] {
    match element {
        ElementKey::QuickBooks => &["realmId"],
        ElementKey::Dropbox
        | ElementKey::Box
        | ElementKey::DocuShareFlex
        | ElementKey::HubSpot
        | ElementKey::Sfdc => &[],
    }
}

/// Whether the element can connect without an authorization code.
pub fn code_optional(element: ElementKey) -> bool {
    element == ElementKey::DocuShareFlex
}

pub async fn connect(
    http: &Http,
    element: ElementKey,
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
    let token = &tokens.access_token;
    let (account_id, api_base) = match element {
        ElementKey::Dropbox => (str_of(tokens.extra.get("account_id")), None),
        ElementKey::Box => {
            let me = get_json(http, &format!("{}/2.0/users/me", urls.api), token).await?;
            (str_of(me.get("id")), None)
        }
        ElementKey::HubSpot => (Some(hubspot_portal(http, urls, token).await?), None),
        ElementKey::QuickBooks => (str_of(provider_data.get("realmId")), None),
        ElementKey::Sfdc => (None, str_of(tokens.extra.get("instance_url"))),
        ElementKey::DocuShareFlex => (None, None),
    };
    Ok(Connection {
        tokens,
        account_id,
        api_base,
    })
}

fn str_of(v: Option<&Value>) -> Option<String> {
    v.and_then(|v| {
        v.as_str()
            .map(str::to_string)
            .or_else(|| v.as_u64().map(|n| n.to_string()))
    })
}

/// The HubSpot portal (hub) id, asked the three ways HubSpot offers, newest first; an endpoint
/// the account cannot use (404, 403) passes to the next.
async fn hubspot_portal(
    http: &Http,
    urls: &ProviderUrls,
    token: &str,
) -> Result<String, ElementError> {
    let ways = [
        (format!("{}/account-info/v3/details", urls.api), "portalId"),
        (
            format!("{}/oauth/v1/access-tokens/{token}", urls.api),
            "hub_id",
        ),
        (format!("{}/integrations/v1/me", urls.api), "portalId"),
    ];
    let mut last = None;
    for (url, field) in &ways {
        match get_json(http, url, token).await {
            Ok(v) => {
                if let Some(id) = str_of(v.get(*field)) {
                    return Ok(id);
                }
            }
            Err(ElementError::Rejected { status, message }) if status != 401 => {
                last = Some(ElementError::Rejected { status, message });
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ElementError::Provider {
        status: 502,
        message: "HubSpot did not name the portal".into(),
    }))
}

async fn get_json(http: &Http, url: &str, token: &str) -> Result<Value, ElementError> {
    // The URL may hold a token (HubSpot's access-token lookup): never echo it.
    http.answer(http.get(url).bearer_auth(token))
        .await?
        .json("answer while identifying the provider account")
}
