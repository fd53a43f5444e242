//! Numeric ids from Redis sequences (JSON numbers, as the original platform's).

use redis::AsyncCommands;

use crate::keys::Keys;

/// The id kinds with a sequence each.
#[derive(Debug, Clone, Copy)]
pub enum IdKind {
    Organization,
    User,
    Instance,
    Event,
    Notification,
}

impl IdKind {
    fn name(self) -> &'static str {
        match self {
            Self::Organization => "org",
            Self::User => "user",
            Self::Instance => "instance",
            Self::Event => "event",
            Self::Notification => "notification",
        }
    }
}

/// `n` consecutive ids of a kind in one command; answers the first (`n` ≥ 1).
pub async fn next_ids(
    conn: &mut redis::aio::ConnectionManager,
    keys: &Keys,
    kind: IdKind,
    n: u64,
) -> redis::RedisResult<u64> {
    let last: u64 = conn.incr(keys.seq(kind.name()), n.max(1)).await?;
    Ok(last + 1 - n.max(1))
}

/// The next id of a kind.
pub async fn next_id(
    conn: &mut redis::aio::ConnectionManager,
    keys: &Keys,
    kind: IdKind,
) -> redis::RedisResult<u64> {
    conn.incr(keys.seq(kind.name()), 1u64).await
}
