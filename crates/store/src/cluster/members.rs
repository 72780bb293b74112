//! The cluster's membership in Redis (`docs/architecture.md#ownership`): each node's last
//! heartbeat (a sorted set scored by Redis's own clock, so the nodes' clocks never
//! matter), its advertised URL, its counters, and the set of events that have a live
//! actor somewhere. All keys share the `{cluster}` hash tag.

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use uuid::Uuid;

use crate::{Kv, StoreError};

fn members_key(kv: &Kv) -> String {
    kv.key("{cluster}:members")
}

fn addresses_key(kv: &Kv) -> String {
    kv.key("{cluster}:addresses")
}

fn counters_key(kv: &Kv) -> String {
    kv.key("{cluster}:counters")
}

fn live_events_key(kv: &Kv) -> String {
    kv.key("{cluster}:live-events")
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What a node counts about its ownership, published with each heartbeat.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeCounters {
    pub acquisitions: u64,
    pub releases: u64,
    pub handoffs: u64,
    pub refused_writes: u64,
    pub failovers: u64,
    /// Events it owns now.
    pub owned: u64,
}

impl fmt::Display for NodeCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "acquisitions={} releases={} handoffs={} refused_writes={} failovers={} owned={}",
            self.acquisitions,
            self.releases,
            self.handoffs,
            self.refused_writes,
            self.failovers,
            self.owned
        )
    }
}

impl NodeCounters {
    /// Reads what [`Display`](fmt::Display) wrote; unknown or broken fields read as 0.
    pub fn parse(text: &str) -> Self {
        let mut counters = Self::default();
        for (name, value) in text.split(' ').filter_map(|pair| pair.split_once('=')) {
            let value = value.parse().unwrap_or(0);
            match name {
                "acquisitions" => counters.acquisitions = value,
                "releases" => counters.releases = value,
                "handoffs" => counters.handoffs = value,
                "refused_writes" => counters.refused_writes = value,
                "failovers" => counters.failovers = value,
                "owned" => counters.owned = value,
                _ => {}
            }
        }
        counters
    }
}

/// A live member as the others see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMember {
    pub node: String,
    pub url: String,
}

/// Records the node's heartbeat (at Redis's time), its URL and counters, forgets members
/// silent for ARGV[5] ms, and returns the members heard from within ARGV[4] ms as
/// node, url pairs. KEYS: members, addresses, counters.
static HEARTBEAT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[5]))
for _, node in ipairs(gone) do
  redis.call('ZREM', KEYS[1], node)
  redis.call('HDEL', KEYS[2], node)
  redis.call('HDEL', KEYS[3], node)
end
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[4]), '+inf')) do
  table.insert(out, node)
  table.insert(out, redis.call('HGET', KEYS[2], node) or '')
end
return out
",
    )
});

/// The members heard from within ARGV[1] ms, as node, url pairs. KEYS: members,
/// addresses.
static LIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - tonumber(ARGV[1]), '+inf')) do
  table.insert(out, node)
  table.insert(out, redis.call('HGET', KEYS[2], node) or '')
end
return out
",
    )
});

fn pairs(flat: Vec<String>) -> Vec<LiveMember> {
    flat.chunks_exact(2)
        .map(|pair| LiveMember {
            node: pair[0].clone(),
            url: pair[1].clone(),
        })
        .collect()
}

/// The node's heartbeat; returns the live members (heard from within `member_ttl`).
/// Members silent for `forget_after` leave the records.
pub async fn heartbeat(
    kv: &Kv,
    node: &str,
    url: &str,
    counters: &NodeCounters,
    member_ttl: Duration,
    forget_after: Duration,
) -> Result<Vec<LiveMember>, StoreError> {
    let flat: Vec<String> = HEARTBEAT
        .key(members_key(kv))
        .key(addresses_key(kv))
        .key(counters_key(kv))
        .arg(node)
        .arg(url)
        .arg(counters.to_string())
        .arg(ms(member_ttl))
        .arg(ms(forget_after))
        .invoke_async(&mut kv.conn())
        .await?;
    Ok(pairs(flat))
}

/// The members heard from within `member_ttl`.
pub async fn live(kv: &Kv, member_ttl: Duration) -> Result<Vec<LiveMember>, StoreError> {
    let flat: Vec<String> = LIVE
        .key(members_key(kv))
        .key(addresses_key(kv))
        .arg(ms(member_ttl))
        .invoke_async(&mut kv.conn())
        .await?;
    Ok(pairs(flat))
}

/// The node leaves the membership at once (a drain), instead of after `member_ttl`.
pub async fn leave(kv: &Kv, node: &str) -> Result<(), StoreError> {
    let _: () = redis::pipe()
        .atomic()
        .cmd("ZREM")
        .arg(members_key(kv))
        .arg(node)
        .ignore()
        .cmd("HDEL")
        .arg(addresses_key(kv))
        .arg(node)
        .ignore()
        .cmd("HDEL")
        .arg(counters_key(kv))
        .arg(node)
        .ignore()
        .query_async(&mut kv.conn())
        .await?;
    Ok(())
}

/// Every recorded member, live or not, for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub node: String,
    pub url: String,
    /// Milliseconds since the epoch, by Redis's clock.
    pub last_heartbeat_ms: u64,
    pub counters: NodeCounters,
}

/// Heartbeats, addresses, counters and Redis's `TIME`, as one pipeline reads them.
type Records = (
    Vec<(String, f64)>,
    HashMap<String, String>,
    HashMap<String, String>,
    (u64, u64),
);

/// All recorded members and Redis's time now (ms), so ages need no other clock.
pub async fn records(kv: &Kv) -> Result<(Vec<MemberRecord>, u64), StoreError> {
    let mut conn = kv.conn();
    let (beats, addresses, counters, time): Records = redis::pipe()
        .cmd("ZRANGE")
        .arg(members_key(kv))
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .cmd("HGETALL")
        .arg(addresses_key(kv))
        .cmd("HGETALL")
        .arg(counters_key(kv))
        .cmd("TIME")
        .query_async(&mut conn)
        .await?;
    let now = time.0 * 1000 + time.1 / 1000;
    let records = beats
        .into_iter()
        .map(|(node, score)| MemberRecord {
            url: addresses.get(&node).cloned().unwrap_or_default(),
            counters: counters
                .get(&node)
                .map(|c| NodeCounters::parse(c))
                .unwrap_or_default(),
            last_heartbeat_ms: score.max(0.0) as u64,
            node,
        })
        .collect();
    Ok((records, now))
}

/// Marks the event as having a live actor: its preferred owner takes it over even when
/// no request comes (its line must keep moving).
pub async fn mark_live(kv: &Kv, event: Uuid) -> Result<(), StoreError> {
    let _: i64 = redis::cmd("SADD")
        .arg(live_events_key(kv))
        .arg(event.to_string())
        .query_async(&mut kv.conn())
        .await?;
    Ok(())
}

/// The event's actor stopped idle: nobody needs to take it over.
pub async fn mark_idle(kv: &Kv, event: Uuid) -> Result<(), StoreError> {
    let _: i64 = redis::cmd("SREM")
        .arg(live_events_key(kv))
        .arg(event.to_string())
        .query_async(&mut kv.conn())
        .await?;
    Ok(())
}

/// Every event with a live actor somewhere.
pub async fn live_events(kv: &Kv) -> Result<Vec<Uuid>, StoreError> {
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(live_events_key(kv))
        .query_async(&mut kv.conn())
        .await?;
    Ok(members.iter().filter_map(|m| m.parse().ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::NodeCounters;

    #[test]
    fn counters_read_back() {
        let counters = NodeCounters {
            acquisitions: 7,
            releases: 3,
            handoffs: 2,
            refused_writes: 1,
            failovers: 4,
            owned: 5,
        };
        assert_eq!(NodeCounters::parse(&counters.to_string()), counters);
        assert_eq!(NodeCounters::parse("owned=x junk"), NodeCounters::default());
    }
}
