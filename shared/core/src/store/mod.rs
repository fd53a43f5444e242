//! Typed Redis repositories. Each file owns one key space from [`crate::keys`]; nothing outside
//! this module spells a Redis command against those keys.
//!
//! - [`identity`]: organizations and users (secret hashes only).
//! - [`instances`]: instance records and their lookup indexes (token, user, routes, secrets).
//! - [`events`]: delivery records and their attempts, listed per instance and per user.
//! - [`retries`]: the retry schedule.
//! - [`polls`]: the poll schedule (claims with leases) and poll status.
//! - [`sync`]: per-instance change-feed state (cursor, staged batch, seen objects) and leases.

pub mod breakers;
pub mod events;
pub mod identity;
pub mod instances;
pub mod pacing;
pub mod polls;
pub mod retries;
pub mod sync;

/// The connection every repository takes.
pub type Conn = redis::aio::ConnectionManager;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis unavailable: {0}")]
    Unavailable(#[from] redis::RedisError),
    #[error("corrupt record at {key}: {reason}")]
    Corrupt { key: String, reason: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) fn corrupt(key: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        key: key.to_string(),
        reason: reason.to_string(),
    }
}

/// A Lua script hashed once per process (not on every call).
pub struct LuaScript {
    source: &'static str,
    script: std::sync::OnceLock<redis::Script>,
}

impl LuaScript {
    pub const fn new(source: &'static str) -> Self {
        Self {
            source,
            script: std::sync::OnceLock::new(),
        }
    }

    pub fn get(&self) -> &redis::Script {
        self.script.get_or_init(|| redis::Script::new(self.source))
    }
}
