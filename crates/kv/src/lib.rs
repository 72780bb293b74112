//! Redis, the durable lock and fencing source, behind a key prefix. Every key URR writes
//! goes through [`Kv::key`], so tests (and tenants) can share one server under distinct
//! prefixes.
//!
//! The same [`Kv`] talks to one Redis or to a Redis Cluster (`redis+cluster://` URLs, see
//! [`conn`]). On a cluster a script or a multi-key command must touch one hash slot: every
//! key of one event carries the `{eventId}` hash tag, the cluster's own keys `{cluster}`,
//! and the prefix may hold no braces (it would become every key's tag).
//!
//! It is its own crate because the Tier-1 waiting room (an AWS Lambda) needs Redis and
//! nothing else of the node: linking the store would drag sqlx and the actors into it.

pub mod conn;
mod scan;

use std::time::Duration;

use redis::cluster_routing::Slot;
use redis::{ErrorKind, RedisError};

pub use conn::{CLUSTER_SCHEME, KvConn};

/// A Redis failure: unreachable, timed out, or an error reply.
#[derive(Debug, thiserror::Error)]
#[error("redis error: {0}")]
pub struct KvError(#[from] pub redis::RedisError);

/// A Redis connection with the key prefix of this deployment.
#[derive(Clone)]
pub struct Kv {
    conn: KvConn,
    prefix: String,
}

impl Kv {
    /// Connects, failing after a few seconds when the server does not answer.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, KvError> {
        let prefix = prefix.into();
        if prefix.contains(['{', '}']) {
            return Err(KvError(RedisError::from((
                ErrorKind::InvalidClientConfig,
                "bad Redis prefix",
                "a key prefix may not contain { or }: it would replace every key's hash tag"
                    .to_owned(),
            ))));
        }
        Ok(Self {
            conn: KvConn::connect(url).await?,
            prefix,
        })
    }

    /// The full key for a logical name, e.g. `key("seat:{event}:seat")`.
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    /// The prefix every key of this deployment starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A handle for issuing commands; cheap to clone, reconnects by itself.
    pub fn conn(&self) -> KvConn {
        self.conn.clone()
    }

    /// True when this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.conn.is_cluster()
    }

    /// A round trip for readiness checks (to every master of a cluster).
    pub async fn ping(&self) -> Result<(), KvError> {
        let mut conn = self.conn.clone();
        let _: redis::Value = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    /// Every key matching the glob `pattern` (of Redis type `kind` when given), scanning
    /// every master of a cluster. Keys may repeat.
    pub async fn scan(&self, pattern: &str, kind: Option<&str>) -> Result<Vec<String>, KvError> {
        let mut conn = self.conn.clone();
        Ok(scan::scan(&mut conn, pattern, kind).await?)
    }

    /// Splits `keys` into groups a single multi-key command may name: all of them on one
    /// Redis, one group per hash slot on a cluster. Groups and keys keep their order.
    pub fn group_by_slot<'a>(&self, keys: &[&'a str]) -> Vec<Vec<&'a str>> {
        if !self.is_cluster() {
            return if keys.is_empty() {
                Vec::new()
            } else {
                vec![keys.to_vec()]
            };
        }
        let mut groups: Vec<(Slot, Vec<&'a str>)> = Vec::new();
        for key in keys {
            let slot = Slot::for_key(key);
            match groups.iter_mut().find(|(s, _)| *s == slot) {
                Some((_, group)) => group.push(key),
                None => groups.push((slot, vec![key])),
            }
        }
        groups.into_iter().map(|(_, group)| group).collect()
    }
}

/// Tries a connection and a PING, for deciding whether a server (or cluster) is reachable.
pub async fn reachable(url: &str) -> bool {
    let attempt = async {
        let mut conn = KvConn::connect(url).await?;
        redis::cmd("PING")
            .query_async::<redis::Value>(&mut conn)
            .await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}
