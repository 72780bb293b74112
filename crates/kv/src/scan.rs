//! SCAN on one Redis or on every master of a cluster. A cluster's SCAN only walks the node
//! it is sent to, so a scan over the whole keyspace asks each master in turn.

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{Cmd, FromRedisValue, RedisError, Value};

use crate::KvConn;

/// Every key matching `pattern` (and of `kind`, e.g. `stream`, when given). Keys may repeat
/// (SCAN's own promise, and a failover mid-scan); callers dedupe.
pub(crate) async fn scan(
    conn: &mut KvConn,
    pattern: &str,
    kind: Option<&str>,
) -> Result<Vec<String>, RedisError> {
    match conn {
        KvConn::Single(single) => {
            let mut found = Vec::new();
            let mut cursor = 0;
            loop {
                let (next, keys): (u64, Vec<String>) =
                    scan_cmd(cursor, pattern, kind).query_async(single).await?;
                found.extend(keys);
                if next == 0 {
                    return Ok(found);
                }
                cursor = next;
            }
        }
        KvConn::Cluster(cluster) => {
            let mut found = Vec::new();
            for (host, port) in masters(cluster).await? {
                let mut cursor = 0;
                loop {
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                        host: host.clone(),
                        port,
                    });
                    let reply = cluster
                        .route_command(scan_cmd(cursor, pattern, kind), route)
                        .await?;
                    let (next, keys): (u64, Vec<String>) = FromRedisValue::from_redis_value(reply)?;
                    found.extend(keys);
                    if next == 0 {
                        break;
                    }
                    cursor = next;
                }
            }
            Ok(found)
        }
    }
}

fn scan_cmd(cursor: u64, pattern: &str, kind: Option<&str>) -> Cmd {
    let mut cmd = redis::cmd("SCAN");
    cmd.arg(cursor)
        .arg("MATCH")
        .arg(pattern)
        .arg("COUNT")
        .arg(500);
    if let Some(kind) = kind {
        cmd.arg("TYPE").arg(kind);
    }
    cmd
}

/// The cluster's masters that are not failed, as the cluster itself reports them.
async fn masters(cluster: &mut ClusterConnection) -> Result<Vec<(String, u16)>, RedisError> {
    let reply: Value = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(cluster)
        .await?;
    let text: String = FromRedisValue::from_redis_value(reply)?;
    Ok(parse_masters(&text))
}

/// Reads `CLUSTER NODES`: `id host:port@bus[,hostname] flags master ...` per line.
fn parse_masters(text: &str) -> Vec<(String, u16)> {
    let mut masters = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let (Some(_id), Some(address), Some(flags)) = (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let flags: Vec<&str> = flags.split(',').collect();
        if !flags.contains(&"master") || flags.iter().any(|f| f.starts_with("fail")) {
            continue;
        }
        let address = address.split(['@', ',']).next().unwrap_or_default();
        let Some((host, port)) = address.rsplit_once(':') else {
            continue;
        };
        if let Ok(port) = port.parse() {
            masters.push((host.to_owned(), port));
        }
    }
    masters
}

#[cfg(test)]
mod tests {
    #[test]
    fn masters_are_read_from_cluster_nodes() {
        let text = "\
a1 127.0.0.1:7100@17100 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7103@17103 slave a1 0 1 1 connected
c3 127.0.0.1:7101@17101,node-b master - 0 1 2 connected 5461-10922
d4 127.0.0.1:7102@17102 master,fail - 0 1 3 disconnected
";
        assert_eq!(
            super::parse_masters(text),
            vec![
                ("127.0.0.1".to_owned(), 7100),
                ("127.0.0.1".to_owned(), 7101)
            ]
        );
    }
}
