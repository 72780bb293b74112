//! Redis, the durable lock and fencing source, behind a key prefix. Every key URR writes
//! goes through [`Kv::key`], so tests (and tenants) can share one server under distinct
//! prefixes.
//!
//! It is its own crate because the Tier-1 waiting room (an AWS Lambda) needs Redis and
//! nothing else of the node: linking the store would drag sqlx and the actors into it.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A Redis failure: unreachable, timed out, or an error reply.
#[derive(Debug, thiserror::Error)]
#[error("redis error: {0}")]
pub struct KvError(#[from] pub redis::RedisError);

/// A Redis connection with the key prefix of this deployment.
#[derive(Clone)]
pub struct Kv {
    conn: ConnectionManager,
    prefix: String,
}

impl Kv {
    /// Connects, failing after a few seconds when the server does not answer.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, KvError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(3)))
            .set_response_timeout(Some(Duration::from_secs(3)))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config).await?;
        Ok(Self {
            conn,
            prefix: prefix.into(),
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
    pub fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// A round trip for readiness checks.
    pub async fn ping(&self) -> Result<(), KvError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}

/// Tries a connection and a PING, for deciding whether a server is reachable at all.
pub async fn reachable(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let attempt = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(_))
    )
}
