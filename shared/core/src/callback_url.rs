//! Callback URL safety: Herald only calls public addresses unless `HERALD_ALLOW_PRIVATE_CALLBACKS`.
//!
//! Hosts are parsed as a WHATWG URL parser does (the `url` crate: `2130706433`, `0x7f000001`,
//! `0177.0.0.1` and `127.1` are all 127.0.0.1). Non-public: 0/8, 10/8, 100.64/10, 127/8,
//! 169.254/16, 172.16/12, 192.168/16, multicast and broadcast, `::`, `::1`, fc00::/7, fe80::/10
//! and IPv4-mapped forms of those; `localhost`, `localhost.` and `*.localhost` by name. Other names
//! are resolved at validation (one that does not resolve is accepted) and again at delivery, where
//! only public addresses are connected to (so DNS rebinding gains nothing).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Whether an address is outside the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return private_v4(v4);
            }
            let seg = v6.segments();
            let o = v6.octets();
            let embedded = |at: usize| Ipv4Addr::new(o[at], o[at + 1], o[at + 2], o[at + 3]);
            // Forms that carry an IPv4 address: NAT64 64:ff9b::/96, IPv4-compatible ::/96,
            // 6to4 2002::/16 — judged by the address they carry.
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                return private_v4(embedded(12));
            }
            if seg[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_unspecified() && !v6.is_loopback() {
                return private_v4(embedded(12));
            }
            if seg[0] == 0x2002 {
                return private_v4(embedded(2));
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
                || (seg[0] & 0xff00) == 0xff00
        }
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..=127).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 224
}

/// `localhost`, `localhost.` and `*.localhost`: loopback by name.
pub fn local_name(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "localhost" || h.ends_with(".localhost")
}

/// Checks a callback URL; the error says why, for a 400 naming the field.
pub async fn check(raw: &str, allow_private: bool) -> Result<(), String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http(s) URL".into());
    }
    let host = url.host().ok_or_else(|| "must name a host".to_string())?;
    if allow_private {
        return Ok(());
    }
    let refuse = || Err("must not point at a private, loopback or link-local address".to_string());
    match host {
        url::Host::Ipv4(ip) if is_private(IpAddr::V4(ip)) => refuse(),
        url::Host::Ipv6(ip) if is_private(IpAddr::V6(ip)) => refuse(),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => Ok(()),
        url::Host::Domain(name) => {
            if local_name(name) {
                return refuse();
            }
            let port = url.port_or_known_default().unwrap_or(80);
            let resolved = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::lookup_host((name, port)),
            )
            .await;
            match resolved {
                Ok(Ok(addrs)) => {
                    let addrs: Vec<SocketAddr> = addrs.collect();
                    if addrs.iter().any(|a| is_private(a.ip())) {
                        refuse()
                    } else {
                        Ok(())
                    }
                }
                // A name that does not resolve (now) is accepted; delivery checks again.
                _ => Ok(()),
            }
        }
    }
}

/// The public addresses among `addrs` (all of them when private ones are allowed).
pub fn connectable(
    addrs: impl Iterator<Item = SocketAddr>,
    allow_private: bool,
) -> Vec<SocketAddr> {
    addrs
        .filter(|a| allow_private || !is_private(a.ip()))
        .collect()
}

/// For an IP-literal URL (which skips DNS): whether delivery may connect to it.
pub fn literal_allowed(raw: &str, allow_private: bool) -> bool {
    if allow_private {
        return true;
    }
    match url::Url::parse(raw)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Ipv4(ip)) => !is_private(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => !is_private(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => !local_name(&name),
        None => false,
    }
}

/// `scheme://host:port` of a callback URL (the URL itself if it does not parse): what delivery
/// bounds and breaks circuits per.
pub fn origin_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port_or_known_default().unwrap_or(0)
        ),
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_port() {
        assert_eq!(origin_of("https://a.example/x?y"), "https://a.example:443");
        assert_eq!(
            origin_of("http://a.example:8080/z"),
            "http://a.example:8080"
        );
    }

    #[tokio::test]
    async fn whatwg_forms_and_private_ranges_are_refused() {
        for bad in [
            "http://127.0.0.1/cb",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://localhost/",
            "http://localhost./",
            "http://api.localhost/",
            "http://[::1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://100.64.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://0.0.0.0/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[::7f00:1]/",
            "http://[::a00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a9fe:a9fe::1]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://198.19.255.254/",
        ] {
            assert!(check(bad, false).await.is_err(), "{bad}");
            assert!(
                check(bad, true).await.is_ok(),
                "{bad} allowed when private callbacks are"
            );
            assert!(!literal_allowed(bad, false), "{bad}");
        }
        for good in [
            "https://93.184.216.34/hook",
            "http://172.32.0.1/",
            "http://[2606:4700::1111]/",
            "http://[64:ff9b::5db8:d822]/",
            "http://[2002:5db8:d822::1]/",
            "http://198.20.0.1/",
        ] {
            assert!(check(good, false).await.is_ok(), "{good}");
        }
        assert!(check("ftp://example.com/", true).await.is_err());
        assert!(check("mailto:a@b.c", true).await.is_err());
        // A name that does not resolve here is accepted.
        assert!(check("https://does-not-resolve.invalid/hook", false)
            .await
            .is_ok());
    }
}
