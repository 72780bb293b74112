//! The gateway's sliding-window rate limit in Redis: one sorted set per (class, subject)
//! whose members are the hits of the last window, checked and updated by one atomic
//! script so concurrent requests on any node cannot both take the last slot.
//!
//! The script takes a batch of hits, on any mix of windows, and decides them in order:
//! a node sends whatever hits queued up while its previous call was out as one call
//! (`docs/architecture.md#the-gateway`), so Redis starts one script per batch rather
//! than one per request, and a hit later in a batch sees the ones before it.

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

/// One hit to decide: the logical key of its window (prefixed through [`Kv::key`]) and the
/// hits that window allows.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub name: &'a str,
    pub limit: u64,
}

/// KEYS: one window per hit (a key may repeat); ARGV[1] the window in ms, then per hit its
/// limit and a member unique to it. Three numbers per hit come back, in order.
/// Time comes from the Redis server so every node shares one clock.
static SLIDING_WINDOWS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local window = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count < limit then
    redis.call('ZADD', key, now, ARGV[2 * i + 1])
    redis.call('PEXPIRE', key, window)
    out[#out + 1] = 1
    out[#out + 1] = count + 1
    out[#out + 1] = 0
  else
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local retry = window
    if oldest[2] then
      retry = tonumber(oldest[2]) + window - now
    end
    if retry < 1 then retry = 1 end
    out[#out + 1] = 0
    out[#out + 1] = count
    out[#out + 1] = retry
  end
end
return out
",
    )
});

/// Records a hit for `name` (a logical key, prefixed through [`Kv::key`]) if fewer than
/// `limit` hits happened in the last `window_ms`.
pub async fn hit(kv: &Kv, name: &str, limit: u64, window_ms: u64) -> Result<Decision, StoreError> {
    let decisions = hit_many(kv, &[Hit { name, limit }], window_ms).await?;
    decisions.into_iter().next().ok_or_else(short_reply)
}

/// Decides `hits` in order, each as [`hit`] would, in one script call per hash slot (one
/// call on a single Redis). The decisions come back in the order of `hits`.
pub async fn hit_many(
    kv: &Kv,
    hits: &[Hit<'_>],
    window_ms: u64,
) -> Result<Vec<Decision>, StoreError> {
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = hits.iter().map(|hit| kv.key(hit.name)).collect();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let groups = kv.group_by_slot(&key_refs);
    if groups.len() <= 1 {
        return decide(kv, hits.iter().zip(&keys), window_ms).await;
    }
    // A cluster: each slot's hits in one call, the calls at once, the answers put back in
    // the order they were asked.
    let group_of: std::collections::HashMap<&str, usize> = groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.iter().map(move |key| (*key, g)))
        .collect();
    let slot_of = keys
        .iter()
        .map(|key| group_of.get(key.as_str()).copied().ok_or_else(short_reply))
        .collect::<Result<Vec<usize>, _>>()?;
    let calls = (0..groups.len()).map(|g| {
        let members = hits
            .iter()
            .zip(&keys)
            .zip(&slot_of)
            .filter(move |(_, slot)| **slot == g)
            .map(|(pair, _)| pair);
        decide(kv, members, window_ms)
    });
    let answers = futures::future::try_join_all(calls).await?;
    let mut answers: Vec<std::vec::IntoIter<Decision>> =
        answers.into_iter().map(Vec::into_iter).collect();
    slot_of
        .iter()
        .map(|g| answers[*g].next().ok_or_else(short_reply))
        .collect()
}

async fn decide<'a, 'h: 'a>(
    kv: &Kv,
    hits: impl Iterator<Item = (&'a Hit<'h>, &'a String)>,
    window_ms: u64,
) -> Result<Vec<Decision>, StoreError> {
    let mut invocation = SLIDING_WINDOWS.prepare_invoke();
    invocation.arg(window_ms);
    let mut asked = 0;
    for (hit, key) in hits {
        invocation
            .key(key)
            .arg(hit.limit)
            .arg(uuid::Uuid::new_v4().simple().to_string());
        asked += 1;
    }
    let mut conn = kv.conn();
    let flat: Vec<i64> = invocation.invoke_async(&mut conn).await?;
    if flat.len() != asked * 3 {
        return Err(short_reply());
    }
    Ok(flat
        .chunks_exact(3)
        .map(|d| Decision {
            allowed: d[0] == 1,
            count: d[1].max(0) as u64,
            retry_after_ms: d[2].max(0) as u64,
        })
        .collect())
}

fn short_reply() -> StoreError {
    StoreError::Redis(redis::RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "the rate-limit script answered a different number of hits",
    )))
}
