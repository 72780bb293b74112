//! The gateway's sliding-window rate limit in Redis: one sorted set per (class, subject)
//! whose members are the hits of the last window, checked and updated by one atomic
//! script so concurrent requests on any node cannot both take the last slot.

use std::sync::LazyLock;

use redis::Script;

use crate::{Kv, StoreError};

/// What one hit decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Hits in the window, this one included when allowed.
    pub count: u64,
    /// When refused: milliseconds until the oldest hit leaves the window.
    pub retry_after_ms: u64,
}

/// KEYS[1] the window's sorted set; ARGV: window ms, limit, a unique member.
/// Time comes from the Redis server so every node shares one clock.
static SLIDING_WINDOW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local key = KEYS[1]
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local retry = window
if oldest[2] then
  retry = tonumber(oldest[2]) + window - now
end
if retry < 1 then retry = 1 end
return {0, count, retry}
",
    )
});

/// Records a hit for `name` (a logical key, prefixed through [`Kv::key`]) if fewer than
/// `limit` hits happened in the last `window_ms`.
pub async fn hit(kv: &Kv, name: &str, limit: u64, window_ms: u64) -> Result<Decision, StoreError> {
    let member = uuid::Uuid::new_v4().simple().to_string();
    let mut conn = kv.conn();
    let (allowed, count, retry): (i64, i64, i64) = SLIDING_WINDOW
        .key(kv.key(name))
        .arg(window_ms)
        .arg(limit)
        .arg(member)
        .invoke_async(&mut conn)
        .await?;
    Ok(Decision {
        allowed: allowed == 1,
        count: count.max(0) as u64,
        retry_after_ms: retry.max(0) as u64,
    })
}
