//! Provider base URLs. Defaults are the providers' real hosts; `HERALD_ELEMENT_<KEY>_API_URL`
//! and `HERALD_ELEMENT_<KEY>_AUTH_URL` replace them (for a fake, or a proxy). Adapters append
//! the provider's documented paths. Where a provider has several API hosts (Dropbox's RPC and
//! content hosts, QuickBooks' API and token hosts), an API override replaces all of them.
//! A `{docushare.domain}`-style placeholder stands for an instance configuration value
//! (see [`ProviderUrls::for_instance`]). [`ElementUrls::for_record`] is the one rule for the
//! hosts an instance's calls go to: placeholders filled from its configuration, and the API
//! host the provider named at connect time (Salesforce `instance_url`) unless the operator
//! overrode the element's API URL (a fake, a proxy), which always wins.

use std::collections::HashMap;

use herald_core::config::{ConfigError, Env};

use herald_core::address::AddressRule;
use herald_core::model::InstanceRecord;

use crate::catalog;
use crate::key::ElementKey;
use crate::ElementError;

/// One element's hosts.
#[derive(Debug, Clone)]
pub struct ProviderUrls {
    pub api: String,
    pub auth: String,
    /// A second API host (Dropbox and Box uploads); equals `api` when overridden.
    pub content: String,
    /// The OAuth token host; equals `api` when overridden.
    pub token: String,
    /// `HERALD_ELEMENT_<KEY>_API_URL` was set.
    pub overridden: bool,
}

/// (api, auth, content, token) of each element.
fn defaults(key: ElementKey) -> [&'static str; 4] {
    match key {
        ElementKey::Dropbox => [
            "https://api.dropboxapi.com",
            "https://www.dropbox.com",
            "https://content.dropboxapi.com",
            "https://api.dropboxapi.com",
        ],
        ElementKey::Box => [
            "https://api.box.com",
            "https://account.box.com",
            "https://upload.box.com",
            "https://api.box.com",
        ],
        ElementKey::DocuShareFlex => ["https://{docushare.domain}"; 4],
        ElementKey::HubSpot => [
            "https://api.hubapi.com",
            "https://app.hubspot.com",
            "https://api.hubapi.com",
            "https://api.hubapi.com",
        ],
        ElementKey::QuickBooks => [
            "https://quickbooks.api.intuit.com",
            "https://appcenter.intuit.com",
            "https://quickbooks.api.intuit.com",
            "https://oauth.platform.intuit.com",
        ],
        ElementKey::Sfdc => ["https://login.salesforce.com"; 4],
    }
}

impl ProviderUrls {
    /// The URLs with `{entry}` placeholders filled from an instance's configuration.
    pub fn for_instance<'a>(&self, config: impl Fn(&str) -> Option<&'a str>) -> ProviderUrls {
        let fill = |u: &str| -> String {
            let Some(start) = u.find('{') else {
                return u.to_string();
            };
            let Some(len) = u[start..].find('}') else {
                return u.to_string();
            };
            let key = &u[start + 1..start + len];
            let value = config(key).unwrap_or_default().trim().trim_end_matches('/');
            let value = value
                .strip_prefix("https://")
                .or_else(|| value.strip_prefix("http://"))
                .unwrap_or(value);
            format!("{}{}{}", &u[..start], value, &u[start + len + 1..])
        };
        ProviderUrls {
            api: fill(&self.api),
            auth: fill(&self.auth),
            content: fill(&self.content),
            token: fill(&self.token),
            overridden: self.overridden,
        }
    }
}

/// Every element's hosts, and whether private addresses may be called at all
/// (`HERALD_ALLOW_PRIVATE_CALLBACKS`).
#[derive(Debug, Clone, Default)]
pub struct ElementUrls {
    by_element: HashMap<ElementKey, ProviderUrls>,
    allow_private: bool,
}

impl ElementUrls {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut map = HashMap::new();
        for def in catalog::all() {
            let upper = def.key.as_str().to_ascii_uppercase();
            let [api, auth, content, token] = defaults(def.key);
            let api_var = format!("HERALD_ELEMENT_{upper}_API_URL");
            let auth_var = format!("HERALD_ELEMENT_{upper}_AUTH_URL");
            let auth = match env.get(&auth_var) {
                Some(_) => env.base_url(&auth_var, auth)?,
                None => auth.to_string(),
            };
            let urls = match env.get(&api_var) {
                Some(_) => {
                    let api = env.base_url(&api_var, api)?;
                    ProviderUrls {
                        content: api.clone(),
                        token: api.clone(),
                        auth,
                        api,
                        overridden: true,
                    }
                }
                None => ProviderUrls {
                    api: api.into(),
                    auth,
                    content: content.into(),
                    token: token.into(),
                    overridden: false,
                },
            };
            map.insert(def.key, urls);
        }
        Ok(Self {
            by_element: map,
            allow_private: env.bool("HERALD_ALLOW_PRIVATE_CALLBACKS", false)?,
        })
    }

    /// The operator's hosts (every base URL without an instance placeholder) are trusted;
    /// anything else must be public (see `herald_core::address`).
    pub fn address_rule(&self) -> AddressRule {
        let fixed = self.by_element.values().flat_map(|u| {
            [&u.api, &u.auth, &u.content, &u.token]
                .into_iter()
                .filter(|b| !b.contains('{'))
                .map(String::as_str)
        });
        AddressRule::new(fixed, self.allow_private)
    }

    pub fn get(&self, key: ElementKey) -> Option<&ProviderUrls> {
        self.by_element.get(&key)
    }

    /// The hosts an instance's calls go to (see the module doc).
    pub fn for_record(&self, inst: &InstanceRecord) -> Result<ProviderUrls, ElementError> {
        let key = ElementKey::parse(&inst.element_key).ok_or_else(|| {
            ElementError::Unsupported(format!("{} is not in the catalog", inst.element_key))
        })?;
        let base = self
            .get(key)
            .ok_or_else(|| ElementError::Unsupported(format!("{key} has no provider URLs here")))?;
        let mut urls = base.for_instance(|k| inst.config_str(k));
        if let (false, Some(api)) = (urls.overridden, inst.provider.api_base.as_deref()) {
            urls.api = api.trim_end_matches('/').to_string();
        }
        Ok(urls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_every_api_host_and_placeholders_fill() {
        let env = Env::from_pairs([(
            "HERALD_ELEMENT_QUICKBOOKS_API_URL",
            "http://127.0.0.1:9/qb/",
        )]);
        let urls = ElementUrls::from_env(&env).expect("valid");
        let qb = urls.get(ElementKey::QuickBooks).expect("qb");
        assert_eq!(qb.token, "http://127.0.0.1:9/qb");
        assert_eq!(qb.auth, "https://appcenter.intuit.com");
        let ds = urls
            .get(ElementKey::DocuShareFlex)
            .expect("ds")
            .for_instance(|k| {
                (k == "docushare.domain").then_some("https://acme.docushareflex.com/")
            });
        assert_eq!(ds.api, "https://acme.docushareflex.com");
        let bad = Env::from_pairs([("HERALD_ELEMENT_BOX_AUTH_URL", "ftp://x")]);
        assert_eq!(
            ElementUrls::from_env(&bad).expect_err("bad").var,
            "HERALD_ELEMENT_BOX_AUTH_URL"
        );
    }
}
