//! urr-kv against a real Redis Cluster (`scripts/redis-cluster.sh`), named by
//! `URR_TEST_REDIS_CLUSTER_URL`; each test skips with a note when it is unset.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::AsyncCommands;
use urr_kv::Kv;

async fn cluster() -> Option<Kv> {
    let Ok(url) = std::env::var("URR_TEST_REDIS_CLUSTER_URL") else {
        eprintln!("URR_TEST_REDIS_CLUSTER_URL is unset: skipping a Redis Cluster test");
        return None;
    };
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    let kv = Kv::connect(&url, format!("urr-kv-test:{nanos}:"))
        .await
        .expect("connect to the Redis Cluster");
    assert!(kv.is_cluster(), "{url} should select the cluster client");
    Some(kv)
}

#[tokio::test]
async fn scan_finds_keys_on_every_master() {
    let Some(kv) = cluster().await else { return };
    let mut conn = kv.conn();
    // Forty plain keys spread over all three masters' slots.
    for i in 0..40 {
        let _: () = conn.set(kv.key(&format!("k{i}")), i).await.expect("SET");
    }
    let mut found = kv
        .scan(&format!("{}k*", kv.prefix()), Some("string"))
        .await
        .expect("scan");
    found.sort();
    found.dedup();
    assert_eq!(found.len(), 40, "{found:?}");
    assert!(
        kv.scan(&format!("{}k*", kv.prefix()), Some("stream"))
            .await
            .expect("scan")
            .is_empty()
    );
}

#[tokio::test]
async fn keys_group_by_slot_and_each_group_takes_one_command() {
    let Some(kv) = cluster().await else { return };
    let keys: Vec<String> = ["a", "b", "c", "{e1}:x", "{e1}:y", "d"]
        .iter()
        .map(|k| kv.key(k))
        .collect();
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let groups = kv.group_by_slot(&names);
    assert!(groups.len() > 1, "plain keys spread over slots: {groups:?}");
    assert!(
        groups
            .iter()
            .any(|g| g.len() == 2 && g[0].ends_with("{e1}:x")),
        "keys sharing a hash tag share a group: {groups:?}"
    );
    let mut conn = kv.conn();
    let mut pipe = redis::pipe();
    for key in &names {
        pipe.cmd("SET").arg(*key).arg(1).ignore();
    }
    let refused: Result<(), _> = pipe.query_async(&mut conn).await;
    assert!(
        refused.is_err(),
        "a pipeline over several slots fails (CROSSSLOT)"
    );
    // One pipeline per group is what it takes.
    for group in &groups {
        let mut pipe = redis::pipe();
        for key in group {
            pipe.cmd("SET").arg(*key).arg(2).ignore();
        }
        let _: () = pipe.query_async(&mut conn).await.expect("one slot");
    }
    let script =
        redis::Script::new("return redis.call('GET', KEYS[1]) + redis.call('GET', KEYS[2])");
    let sum: i64 = script
        .key(&keys[3])
        .key(&keys[4])
        .invoke_async(&mut conn)
        .await
        .expect("a script over one hash tag");
    assert_eq!(sum, 4);
}

#[tokio::test]
async fn reachable_and_ping_work_on_a_cluster() {
    let Some(kv) = cluster().await else { return };
    kv.ping().await.expect("PING every master");
    let url = std::env::var("URR_TEST_REDIS_CLUSTER_URL").expect("set");
    assert!(urr_kv::reachable(&url).await);
    assert!(!urr_kv::reachable("redis+cluster://127.0.0.1:1").await);
}

#[tokio::test]
async fn a_prefix_with_braces_is_refused() {
    let url = std::env::var("URR_TEST_REDIS_CLUSTER_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    assert!(Kv::connect(&url, "urr:{tenant}:").await.is_err());
}
