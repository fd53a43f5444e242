//! Numeric ids from Redis sequences (JSON numbers, as the original platform's).
//!
//! Event and notification ids must never repeat, even if Redis restarts having lost its last
//! second of writes (AOF `everysec`): their sequences never go below a floor that moves with the
//! clock (1,000 per millisecond since the epoch, well under 2^53), so a counter rolled back by a
//! second is already behind the floor and jumps past every id it gave out.

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

static FLOORED: crate::store::LuaScript = crate::store::LuaScript::new(
    r#"
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if cur < floor then cur = floor end
local last = cur + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', last))
return last
"#,
);

/// Ids per millisecond the clock floor makes room for.
const PER_MS: i64 = 1000;

/// `n` consecutive ids of a kind in one command; answers the first (`n` ≥ 1).
pub async fn next_ids(
    conn: &mut redis::aio::ConnectionManager,
    keys: &Keys,
    kind: IdKind,
    n: u64,
) -> redis::RedisResult<u64> {
    let n = n.max(1);
    let last: u64 = match kind {
        IdKind::Event | IdKind::Notification => {
            FLOORED
                .get()
                .key(keys.seq(kind.name()))
                .arg(n)
                .arg(crate::time::now_ms() * PER_MS)
                .invoke_async(conn)
                .await?
        }
        IdKind::Organization | IdKind::User | IdKind::Instance => {
            conn.incr(keys.seq(kind.name()), n).await?
        }
    };
    Ok(last + 1 - n)
}

/// The next id of a kind.
pub async fn next_id(
    conn: &mut redis::aio::ConnectionManager,
    keys: &Keys,
    kind: IdKind,
) -> redis::RedisResult<u64> {
    next_ids(conn, keys, kind, 1).await
}
