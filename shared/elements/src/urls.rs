//! Provider base URLs. Defaults are the providers' real hosts; `HERALD_ELEMENT_<KEY>_API_URL`
//! and `HERALD_ELEMENT_<KEY>_AUTH_URL` replace them (for a fake, or a proxy). Adapters append
//! the provider's documented paths. Where a provider has several API hosts (Dropbox's RPC and
//! content hosts), an API override replaces all of them.

use std::collections::HashMap;

use herald_core::config::{ConfigError, Env};

use crate::catalog;

/// One element's hosts.
#[derive(Debug, Clone)]
pub struct ProviderUrls {
    pub api: String,
    pub auth: String,
    /// A second API host (Dropbox content); equals `api` when overridden.
    pub content: String,
}

fn defaults(key: &str) -> (&'static str, &'static str, &'static str) {
    match key {
        "dropbox" => (
            "https://api.dropboxapi.com",
            "https://www.dropbox.com",
            "https://content.dropboxapi.com",
        ),
        _ => (
            "https://invalid.example",
            "https://invalid.example",
            "https://invalid.example",
        ),
    }
}

/// Every element's hosts.
#[derive(Debug, Clone, Default)]
pub struct ElementUrls(HashMap<&'static str, ProviderUrls>);

impl ElementUrls {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut map = HashMap::new();
        for def in catalog::all() {
            let upper = def.key.to_ascii_uppercase();
            let (api, auth, content) = defaults(def.key);
            let api_var = format!("HERALD_ELEMENT_{upper}_API_URL");
            let overridden = env.get(&api_var).is_some();
            let api = env.base_url(&api_var, api)?;
            let auth = env.base_url(&format!("HERALD_ELEMENT_{upper}_AUTH_URL"), auth)?;
            let content = if overridden {
                api.clone()
            } else {
                content.to_string()
            };
            map.insert(def.key, ProviderUrls { api, auth, content });
        }
        Ok(Self(map))
    }

    pub fn get(&self, key: &str) -> Option<&ProviderUrls> {
        self.0.get(key)
    }
}
