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

/// The masters serving slots, as the cluster's slot map (`CLUSTER SLOTS`) names them: the
/// map the client routes by, so each is a node it holds a connection to. (`CLUSTER NODES`
/// would also list a fresh replica that still calls itself master.)
async fn masters(cluster: &mut ClusterConnection) -> Result<Vec<(String, u16)>, RedisError> {
    let reply: Value = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(cluster)
        .await?;
    Ok(parse_masters(reply))
}

/// Reads `CLUSTER SLOTS`: `[start, end, [host, port, id, ...], replicas...]` per range.
fn parse_masters(reply: Value) -> Vec<(String, u16)> {
    let Value::Array(ranges) = reply else {
        return Vec::new();
    };
    let mut masters = Vec::new();
    for range in ranges {
        let Value::Array(range) = range else { continue };
        let Some(Value::Array(master)) = range.get(2) else {
            continue;
        };
        let (Some(host), Some(Value::Int(port))) = (master.first(), master.get(1)) else {
            continue;
        };
        let host = match host {
            Value::BulkString(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Value::SimpleString(text) => text.clone(),
            _ => continue,
        };
        let Ok(port) = u16::try_from(*port) else {
            continue;
        };
        if !masters.contains(&(host.clone(), port)) {
            masters.push((host, port));
        }
    }
    masters
}

#[cfg(test)]
mod tests {
    use redis::Value;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    fn range(start: i64, end: i64, master: Value, replica: Value) -> Value {
        Value::Array(vec![Value::Int(start), Value::Int(end), master, replica])
    }

    #[test]
    fn masters_are_read_from_the_slot_map_once_each() {
        let reply = Value::Array(vec![
            range(0, 5460, node("127.0.0.1", 7100), node("127.0.0.1", 7103)),
            range(
                5461,
                10922,
                node("127.0.0.1", 7101),
                node("127.0.0.1", 7104),
            ),
            // A master may serve several ranges.
            range(
                10923,
                12000,
                node("127.0.0.1", 7100),
                node("127.0.0.1", 7103),
            ),
            Value::Nil,
        ]);
        assert_eq!(
            super::parse_masters(reply),
            vec![
                ("127.0.0.1".to_owned(), 7100),
                ("127.0.0.1".to_owned(), 7101)
            ]
        );
        assert!(super::parse_masters(Value::Nil).is_empty());
    }
}
