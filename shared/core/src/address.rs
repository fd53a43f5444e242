//! Where Herald may connect on a tenant's behalf: callbacks, and provider calls whose URL a
//! tenant or a provider can influence (poll URLs, next-page URLs, `docushare.domain`, download
//! redirects). The rule is the callback rule (`callback_url`): only public addresses, unless
//! `HERALD_ALLOW_PRIVATE_CALLBACKS`. The operator's own hosts — each element's configured base
//! URLs, defaults or `HERALD_ELEMENT_*_URL` overrides — are trusted as configured, at their port.
//!
//! Names are checked when they are resolved, at connect time ([`Resolver`]: only public
//! addresses come back), so DNS rebinding gains nothing; IP literals and `localhost` names skip
//! DNS and are checked before the request ([`AddressRule::check`]).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::callback_url::{connectable, is_private, local_name};

/// The operator's trusted hosts and whether private addresses are allowed at all.
#[derive(Debug, Clone, Default)]
pub struct AddressRule {
    /// `(host, port)` of every configured base URL (lower-case host).
    trusted: HashSet<(String, u16)>,
    /// Their hosts alone, for the resolver (which sees no port).
    trusted_hosts: HashSet<String>,
    allow_private: bool,
}

impl AddressRule {
    /// Trusts the hosts of `base_urls` (unparsable ones are skipped) at their ports.
    pub fn new<'a>(base_urls: impl IntoIterator<Item = &'a str>, allow_private: bool) -> Self {
        let mut rule = Self {
            allow_private,
            ..Self::default()
        };
        for raw in base_urls {
            if let Some((host, port)) = host_port(raw) {
                rule.trusted_hosts.insert(host.clone());
                rule.trusted.insert((host, port));
            }
        }
        rule
    }

    /// Whether `url` may be requested; `Err` names its host. Names other than `localhost` are
    /// left to the resolver.
    pub fn check(&self, url: &url::Url) -> Result<(), String> {
        let Some((host, port)) = host_port(url.as_str()) else {
            return Err(url.host_str().unwrap_or_default().to_string());
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(host);
        }
        if self.allow_private || self.trusted.contains(&(host.clone(), port)) {
            return Ok(());
        }
        // A trusted host at another port is not the configured service.
        if self.trusted_hosts.contains(&host) {
            return Err(host);
        }
        let private = match url.host() {
            Some(url::Host::Ipv4(ip)) => is_private(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => is_private(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => local_name(name),
            None => true,
        };
        if private {
            Err(host)
        } else {
            Ok(())
        }
    }

    /// The DNS resolver that goes with the rule.
    pub fn resolver(&self) -> Arc<Resolver> {
        Arc::new(Resolver {
            trusted_hosts: self.trusted_hosts.clone(),
            allow_private: self.allow_private,
        })
    }
}

fn host_port(raw: &str) -> Option<(String, u16)> {
    let url = url::Url::parse(raw).ok()?;
    let host = match url.host()? {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    };
    Some((host, url.port_or_known_default()?))
}

/// Resolves names to public addresses only (all addresses for trusted hosts, or when private
/// ones are allowed).
pub struct Resolver {
    trusted_hosts: HashSet<String>,
    allow_private: bool,
}

impl Resolver {
    /// The callback resolver: no trusted hosts.
    pub fn public_only(allow_private: bool) -> Arc<Self> {
        Arc::new(Self {
            trusted_hosts: HashSet::new(),
            allow_private,
        })
    }
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private
            || self
                .trusted_hosts
                .contains(&name.as_str().to_ascii_lowercase());
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let ok: Vec<SocketAddr> = connectable(found, allow);
            if ok.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(ok.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).expect("url")
    }

    #[test]
    fn configured_hosts_are_trusted_at_their_port_only() {
        let rule = AddressRule::new(["http://127.0.0.1:9000/box", "https://api.box.com"], false);
        assert!(rule.check(&url("http://127.0.0.1:9000/2.0/x")).is_ok());
        assert!(rule.check(&url("https://api.box.com/2.0/x")).is_ok());
        assert_eq!(
            rule.check(&url("http://127.0.0.1:6379/")),
            Err("127.0.0.1".into())
        );
        for internal in [
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.7/",
            "http://[::1]:8080/",
            "http://localhost:9000/",
            "http://2130706433/",
        ] {
            assert!(rule.check(&url(internal)).is_err(), "{internal}");
        }
        assert!(rule.check(&url("https://example.com/x")).is_ok());
        assert!(rule.check(&url("ftp://example.com/x")).is_err());
        let open = AddressRule::new([], true);
        assert!(open.check(&url("http://10.0.0.7/")).is_ok());
    }
}
