//! The lease per event in Redis, and the epoch key beside the event's other keys
//! (`docs/architecture.md#ownership`). Every change is one script that compares the
//! lease's value first, so a node only ever renews or releases its own lease.
//!
//! A lease's value names its holder: `node incarnation epoch url` (none of them holds a
//! space). The epoch is 0 while the acquisition is under way (between taking the key and
//! raising the epoch in PostgreSQL).

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;
use uuid::Uuid;

use crate::{Kv, StoreError, fencing};

/// Who holds a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseValue {
    pub node: String,
    /// Tells two runs of one node id apart: a lease of an earlier run is a dead process's.
    pub incarnation: String,
    pub epoch: u64,
    pub url: String,
}

impl fmt::Display for LeaseValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.node, self.incarnation, self.epoch, self.url
        )
    }
}

impl LeaseValue {
    /// Reads a stored value; `None` when it is not one of ours.
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(' ');
        let node = parts.next()?.to_owned();
        let incarnation = parts.next()?.to_owned();
        let epoch = parts.next()?.parse().ok()?;
        let url = parts.next()?.to_owned();
        if parts.next().is_some() || node.is_empty() {
            return None;
        }
        Some(Self {
            node,
            incarnation,
            epoch,
            url,
        })
    }
}

fn lease_key(kv: &Kv, event: Uuid) -> String {
    kv.key(&format!("lease:{{{event}}}"))
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Sets KEYS[1] to ARGV[1] for ARGV[2] ms when it is free, or when it holds exactly
/// ARGV[3] (a dead run's lease); returns the value it holds afterwards.
static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('GET', KEYS[1])
if (not current) or (ARGV[3] ~= '' and current == ARGV[3]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return current
",
    )
});

/// Completes an acquisition: when KEYS[1] still holds ARGV[1], it becomes ARGV[2] for
/// ARGV[4] ms, and the epoch key KEYS[2] is raised to ARGV[3] (never lowered).
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[4])
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[3]) > current then
  redis.call('SET', KEYS[2], ARGV[3])
end
return 1
",
    )
});

/// Extends KEYS[1] by ARGV[2] ms when it still holds ARGV[1].
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
",
    )
});

/// Deletes KEYS[1] when it still holds ARGV[1] (compare and delete).
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
    )
});

/// Takes the event's lease for `value` unless someone holds it; a lease holding exactly
/// `stale` (one this node gave up: a dead run's, or this run's that lapsed by its clock)
/// is taken over. `Ok(None)`: taken; `Ok(Some(holder))`:
/// held by `holder` (its raw value when it is not one of ours).
pub async fn take(
    kv: &Kv,
    event: Uuid,
    value: &LeaseValue,
    ttl: Duration,
    stale: Option<&str>,
) -> Result<Option<String>, StoreError> {
    let mine = value.to_string();
    let holder: String = TAKE
        .key(lease_key(kv, event))
        .arg(&mine)
        .arg(ms(ttl))
        .arg(stale.unwrap_or_default())
        .invoke_async(&mut kv.conn())
        .await?;
    Ok((holder != mine).then_some(holder))
}

/// Completes an acquisition taken as `taken`: the lease now names `epoch` (as `done`)
/// and the event's epoch key is raised to it. False when the lease lapsed meanwhile.
pub async fn complete(
    kv: &Kv,
    event: Uuid,
    taken: &LeaseValue,
    done: &LeaseValue,
    ttl: Duration,
) -> Result<bool, StoreError> {
    let completed: i64 = COMPLETE
        .key(lease_key(kv, event))
        .key(fencing::epoch_key(kv, event))
        .arg(taken.to_string())
        .arg(done.to_string())
        .arg(done.epoch)
        .arg(ms(ttl))
        .invoke_async(&mut kv.conn())
        .await?;
    Ok(completed == 1)
}

/// Extends the lease by `ttl` if it still holds `value`; false when it does not.
pub async fn renew(
    kv: &Kv,
    event: Uuid,
    value: &LeaseValue,
    ttl: Duration,
) -> Result<bool, StoreError> {
    let renewed: i64 = RENEW
        .key(lease_key(kv, event))
        .arg(value.to_string())
        .arg(ms(ttl))
        .invoke_async(&mut kv.conn())
        .await?;
    Ok(renewed == 1)
}

/// Gives the lease back if it still holds `value`; false when it did not.
pub async fn release(kv: &Kv, event: Uuid, value: &LeaseValue) -> Result<bool, StoreError> {
    let released: i64 = RELEASE
        .key(lease_key(kv, event))
        .arg(value.to_string())
        .invoke_async(&mut kv.conn())
        .await?;
    Ok(released == 1)
}

/// Who holds the event's lease now: the raw value, if any.
pub async fn holder(kv: &Kv, event: Uuid) -> Result<Option<String>, StoreError> {
    let value: Option<String> = redis::cmd("GET")
        .arg(lease_key(kv, event))
        .query_async(&mut kv.conn())
        .await?;
    Ok(value)
}

/// The epoch key's value (0 when the event was never owned).
pub async fn epoch(kv: &Kv, event: Uuid) -> Result<u64, StoreError> {
    let value: Option<u64> = redis::cmd("GET")
        .arg(fencing::epoch_key(kv, event))
        .query_async(&mut kv.conn())
        .await?;
    Ok(value.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::LeaseValue;

    #[test]
    fn a_lease_value_reads_back() {
        let value = LeaseValue {
            node: "urr-0".into(),
            incarnation: "3f2a".into(),
            epoch: 42,
            url: "http://10.0.3.7:8080".into(),
        };
        assert_eq!(LeaseValue::parse(&value.to_string()), Some(value));
        assert_eq!(LeaseValue::parse("urr-0 3f2a x http://a"), None);
        assert_eq!(LeaseValue::parse("garbage"), None);
    }
}
