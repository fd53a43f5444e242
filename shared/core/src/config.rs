//! Typed configuration from `HERALD_*` environment variables.
//!
//! Every process builds its config from an [`Env`] snapshot (the real environment in `main`,
//! a map in tests) and fails fast with the variable's name when a value is bad. Fields shared
//! by every process live in [`CommonConfig`]; each service adds its own struct beside it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::crypto::SecretBox;

/// A bad configuration value; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration {var}: {message}")]
pub struct ConfigError {
    pub var: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(var: &str, message: impl Into<String>) -> Self {
        Self {
            var: var.to_string(),
            message: message.into(),
        }
    }
}

/// A snapshot of environment variables.
#[derive(Debug, Clone, Default)]
pub struct Env(HashMap<String, String>);

impl Env {
    /// The process environment.
    pub fn from_process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// Every variable of the snapshot.
    pub fn vars(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.0.insert(key.to_string(), value.into());
    }

    /// The value, `None` when unset or blank.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn string(&self, key: &str, default: &str) -> String {
        self.get(key).unwrap_or(default).to_string()
    }

    pub fn parse<T: FromStr>(&self, key: &str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(key) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e: T::Err| ConfigError::new(key, format!("{raw:?}: {e}"))),
        }
    }

    pub fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "1" | "yes" | "on") => Ok(true),
            Some("false" | "0" | "no" | "off") => Ok(false),
            Some(other) => Err(ConfigError::new(
                key,
                format!("{other:?} is not a boolean (true/false)"),
            )),
        }
    }

    pub fn addr(&self, key: &str, default: &str) -> Result<SocketAddr, ConfigError> {
        let raw = self.get(key).unwrap_or(default);
        raw.parse()
            .map_err(|_| ConfigError::new(key, format!("{raw:?} is not host:port")))
    }

    pub fn millis(&self, key: &str, default_ms: u64) -> Result<Duration, ConfigError> {
        let ms: u64 = self.parse(key, default_ms)?;
        if ms == 0 {
            return Err(ConfigError::new(key, "must be greater than 0"));
        }
        Ok(Duration::from_millis(ms))
    }

    /// A duration written `<n>s`, `<n>m`, `<n>h`, `<n>d`, or a bare number of seconds.
    pub fn duration(&self, key: &str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.get(key).unwrap_or(default).trim();
        let (num, unit) = match raw.char_indices().last() {
            Some((i, c)) if c.is_ascii_alphabetic() => (&raw[..i], c),
            _ => (raw, 's'),
        };
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => 0,
        };
        match num.trim().parse::<u64>() {
            Ok(n) if n > 0 && secs > 0 => Ok(Duration::from_secs(n * secs)),
            _ => Err(ConfigError::new(
                key,
                format!("{raw:?} is not a duration like 7d, 36h, 90m or 600s"),
            )),
        }
    }

    /// An absolute http(s) URL, without a trailing slash.
    pub fn base_url(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        let raw = self.get(key).unwrap_or(default);
        let url = url::Url::parse(raw)
            .map_err(|e| ConfigError::new(key, format!("{raw:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(ConfigError::new(
                key,
                format!("{raw:?} must be http(s)://host…"),
            ));
        }
        Ok(raw.trim_end_matches('/').to_string())
    }
}

/// Settings every process reads.
#[derive(Clone)]
pub struct CommonConfig {
    /// `HERALD_NATS_URL`: the NATS server (JetStream enabled).
    pub nats_url: String,
    /// `HERALD_REDIS_URL`: the Redis server.
    pub redis_url: String,
    /// `HERALD_OPS_ADDR`: `/healthz`, `/readyz`, `/metrics`.
    pub ops_addr: SocketAddr,
    /// `HERALD_PREFIX`: namespaces every subject, stream and key (tests use a unique one).
    pub prefix: String,
    /// `HERALD_SECRET_KEY`: encrypts secrets at rest (32 bytes, base64 or 64 hex digits);
    /// `HERALD_SECRET_KEY_PREVIOUS` (optional): the key being rotated away from, still read.
    pub secret_box: SecretBox,
    /// `HERALD_SHUTDOWN_GRACE_MS`: how long in-flight work may take to drain on SIGTERM.
    pub shutdown_grace: Duration,
    /// `HERALD_EVENTS_RETENTION` (default `7d`): how long notifications stay — their delivery
    /// records, date indexes and the EVENTS stream. Keep it longer than the retry schedule.
    pub events_retention: Duration,
    /// `HERALD_STREAM_REPLICAS` (default 1, at most 5): copies of each JetStream stream Herald
    /// creates; 3 on a 3-server NATS cluster.
    pub stream_replicas: usize,
    /// `HERALD_MAX_CONNECTIONS` (default 4096) and `HERALD_HEADER_READ_TIMEOUT_MS` (default
    /// 30000, also the idle limit of a kept-alive connection): what a listener allows its clients.
    pub server_limits: crate::http_server::ServerLimits,
}

/// The development key `make run` and tests use when `HERALD_SECRET_KEY` is unset and
/// `HERALD_ALLOW_DEV_SECRET_KEY` is true. Never for production.
pub const DEV_SECRET_KEY: &str = "aGVyYWxkLWRldmVsb3BtZW50LWtleS0zMi1ieXRlcyE=";

impl CommonConfig {
    pub fn from_env(env: &Env, default_ops: &str) -> Result<Self, ConfigError> {
        let prefix = env.string("HERALD_PREFIX", "");
        if prefix.len() > 48
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConfigError::new(
                "HERALD_PREFIX",
                "use at most 48 letters, digits, '-' or '_'",
            ));
        }
        let key = match env.get("HERALD_SECRET_KEY") {
            Some(k) => k.to_string(),
            None if env.bool("HERALD_ALLOW_DEV_SECRET_KEY", false)? => DEV_SECRET_KEY.to_string(),
            None => {
                return Err(ConfigError::new(
                    "HERALD_SECRET_KEY",
                    "is required (32 bytes as base64 or 64 hex digits)",
                ))
            }
        };
        let mut secret_box = SecretBox::from_config(&SecretString::from(key))
            .map_err(|m| ConfigError::new("HERALD_SECRET_KEY", m))?;
        if let Some(previous) = env
            .get("HERALD_SECRET_KEY_PREVIOUS")
            .filter(|v| !v.trim().is_empty())
        {
            secret_box = secret_box
                .with_previous(&SecretString::from(previous.to_string()))
                .map_err(|m| ConfigError::new("HERALD_SECRET_KEY_PREVIOUS", m))?;
        }
        Ok(Self {
            nats_url: env.string("HERALD_NATS_URL", "nats://127.0.0.1:4222"),
            redis_url: env.string("HERALD_REDIS_URL", "redis://127.0.0.1:6379"),
            ops_addr: env.addr("HERALD_OPS_ADDR", default_ops)?,
            prefix,
            secret_box,
            shutdown_grace: env.millis("HERALD_SHUTDOWN_GRACE_MS", 20_000)?,
            events_retention: env.duration("HERALD_EVENTS_RETENTION", "7d")?,
            stream_replicas: match env.parse("HERALD_STREAM_REPLICAS", 1usize)? {
                n @ 1..=5 => n,
                _ => {
                    return Err(ConfigError::new(
                        "HERALD_STREAM_REPLICAS",
                        "must be between 1 and 5",
                    ))
                }
            },
            server_limits: crate::http_server::ServerLimits {
                max_connections: match env.parse("HERALD_MAX_CONNECTIONS", 4096usize)? {
                    0 => {
                        return Err(ConfigError::new(
                            "HERALD_MAX_CONNECTIONS",
                            "must be at least 1",
                        ))
                    }
                    n => n,
                },
                header_read_timeout: env.millis("HERALD_HEADER_READ_TIMEOUT_MS", 30_000)?,
            },
        })
    }
}

/// `HERALD_PUBLIC_URL`: the external base URL providers reach ingest at (webhook addresses
/// Herald registers, and the URL HubSpot signs).
pub fn public_url(env: &Env) -> Result<String, ConfigError> {
    env.base_url("HERALD_PUBLIC_URL", "http://127.0.0.1:8081")
}

/// `HERALD_DELIVERY_SCHEDULE`: waits in seconds (decimals allowed) before the 2nd, 3rd, … attempt.
pub fn parse_schedule(var: &str, raw: &str) -> Result<Vec<Duration>, ConfigError> {
    let mut out = Vec::new();
    for part in raw.split(',') {
        let part = part.trim();
        let secs: f64 = part
            .parse()
            .map_err(|_| ConfigError::new(var, format!("{part:?} is not a number of seconds")))?;
        if !secs.is_finite() || !(0.0..=10.0 * 365.0 * 86_400.0).contains(&secs) {
            return Err(ConfigError::new(var, format!("{part:?} is out of range")));
        }
        out.push(Duration::from_secs_f64(secs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_parses_decimals_and_rejects_garbage() {
        let s = parse_schedule("X", "4, 16,0.5").expect("valid");
        assert_eq!(s[2], Duration::from_millis(500));
        let err = parse_schedule("HERALD_DELIVERY_SCHEDULE", "4,x").expect_err("invalid");
        assert_eq!(err.var, "HERALD_DELIVERY_SCHEDULE");
        assert!(parse_schedule("X", "4,-1").is_err());
        assert!(parse_schedule("X", "").is_err());
    }

    #[test]
    fn durations_take_units() {
        let env = Env::from_pairs([
            ("A", "7d"),
            ("B", "36h"),
            ("C", "600"),
            ("D", "3w"),
            ("E", "0s"),
        ]);
        assert_eq!(
            env.duration("A", "1s").ok(),
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(
            env.duration("B", "1s").ok(),
            Some(Duration::from_secs(36 * 3600))
        );
        assert_eq!(env.duration("C", "1s").ok(), Some(Duration::from_secs(600)));
        assert_eq!(
            env.duration("X", "90m").ok(),
            Some(Duration::from_secs(5400))
        );
        assert_eq!(
            env.duration("D", "1s").err().map(|e| e.var),
            Some("D".to_string())
        );
        assert!(env.duration("E", "1s").is_err());
    }

    #[test]
    fn bad_values_name_their_variable() {
        let env = Env::from_pairs([
            ("HERALD_OPS_ADDR", "nope"),
            ("HERALD_SECRET_KEY", DEV_SECRET_KEY),
        ]);
        let err = CommonConfig::from_env(&env, "127.0.0.1:0")
            .err()
            .expect("bad");
        assert_eq!(err.var, "HERALD_OPS_ADDR");
        let env = Env::from_pairs([("HERALD_SECRET_KEY", "short")]);
        let err = CommonConfig::from_env(&env, "127.0.0.1:0")
            .err()
            .expect("bad");
        assert_eq!(err.var, "HERALD_SECRET_KEY");
        let env = Env::from_pairs([
            ("HERALD_PREFIX", "a.b"),
            ("HERALD_SECRET_KEY", DEV_SECRET_KEY),
        ]);
        let err = CommonConfig::from_env(&env, "127.0.0.1:0")
            .err()
            .expect("bad");
        assert_eq!(err.var, "HERALD_PREFIX");
    }
}
