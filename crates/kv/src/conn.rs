//! One connection type for one Redis and for a Redis Cluster, so every store, script and
//! stream call is written once (`docs/operations.md#redis-cluster`).
//!
//! A cluster is named by `redis+cluster://[user:password@]host:port[,host:port...]`: the
//! listed nodes are only the seeds; the client learns the slot map from them and follows
//! MOVED/ASK and failovers by itself.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

/// The scheme that selects the cluster client.
pub const CLUSTER_SCHEME: &str = "redis+cluster://";

const TIMEOUT: Duration = Duration::from_secs(3);

/// A handle for issuing commands, to one Redis or to a cluster; cheap to clone, reconnects
/// by itself.
#[derive(Clone)]
pub enum KvConn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl KvConn {
    /// Connects to what `url` names, failing after a few seconds when nothing answers.
    pub async fn connect(url: &str) -> Result<Self, RedisError> {
        match cluster_nodes(url)? {
            Some(nodes) => {
                // Retries span a failover: a master's replica takes over about two
                // cluster-node-timeouts after it dies (docs/operations.md#redis-cluster),
                // and commands sent meanwhile back off (jittered; about 8 s in all on
                // average, at most about 12 s) instead of failing at once.
                let client = ClusterClientBuilder::new(nodes)
                    .connection_timeout(TIMEOUT)
                    .response_timeout(TIMEOUT)
                    .retries(12)
                    .min_retry_wait(300)
                    .max_retry_wait(2000)
                    .build()?;
                Ok(Self::Cluster(client.get_async_connection().await?))
            }
            None => {
                let client = redis::Client::open(url)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(2);
                Ok(Self::Single(
                    ConnectionManager::new_with_config(client, config).await?,
                ))
            }
        }
    }

    pub fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }
}

impl ConnectionLike for KvConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}

/// The seed nodes of a `redis+cluster://` URL as plain `redis://` URLs, or `None` for any
/// other URL (one server).
pub fn cluster_nodes(url: &str) -> Result<Option<Vec<String>>, RedisError> {
    let Some(rest) = url.strip_prefix(CLUSTER_SCHEME) else {
        return Ok(None);
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') || rest.contains('?') {
        return Err(bad_url(
            "a cluster URL names no database or options: redis+cluster://host:port[,host:port]",
        ));
    }
    let (credentials, hosts) = match rest.rsplit_once('@') {
        Some((credentials, hosts)) => (Some(credentials), hosts),
        None => (None, rest),
    };
    let nodes: Vec<String> = hosts
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(|host| match credentials {
            Some(c) => format!("redis://{c}@{host}/"),
            None => format!("redis://{host}/"),
        })
        .collect();
    if nodes.is_empty() {
        return Err(bad_url("a cluster URL names at least one host:port"));
    }
    // Each seed must parse on its own, so a typo fails here and not on first use.
    for node in &nodes {
        redis::Client::open(node.as_str())?;
    }
    Ok(Some(nodes))
}

fn bad_url(why: &'static str) -> RedisError {
    RedisError::from((
        ErrorKind::InvalidClientConfig,
        "bad Redis URL",
        why.to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::cluster_nodes;

    #[test]
    fn plain_urls_are_one_server() {
        assert_eq!(
            cluster_nodes("redis://127.0.0.1:6379/").expect("parses"),
            None
        );
    }

    #[test]
    fn cluster_urls_list_their_seeds() {
        let nodes = cluster_nodes("redis+cluster://127.0.0.1:7100,127.0.0.1:7101/")
            .expect("parses")
            .expect("a cluster");
        assert_eq!(
            nodes,
            vec!["redis://127.0.0.1:7100/", "redis://127.0.0.1:7101/"]
        );
    }

    #[test]
    fn cluster_credentials_apply_to_every_seed() {
        let nodes = cluster_nodes("redis+cluster://:s3cret@a:7000,b:7001")
            .expect("parses")
            .expect("a cluster");
        assert_eq!(
            nodes,
            vec!["redis://:s3cret@a:7000/", "redis://:s3cret@b:7001/"]
        );
    }

    #[test]
    fn bad_cluster_urls_are_refused() {
        assert!(cluster_nodes("redis+cluster://").is_err());
        assert!(cluster_nodes("redis+cluster://a:7000/2").is_err());
        assert!(cluster_nodes("redis+cluster://a:notaport").is_err());
    }
}
