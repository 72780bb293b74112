//! The gateway's rate limit on real Redis (`urr_store::rate_limit`): of concurrent hits,
//! exactly the limit get through; refused hits do not count; the window slides; a batch
//! of hits is decided in order, each as if it had come alone.

use std::time::Duration;

use urr_store::Kv;
use urr_store::rate_limit::{Hit, hit, hit_many};
use uuid::Uuid;

async fn kv() -> Kv {
    let redis =
        std::env::var("URR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into());
    Kv::connect(
        &redis,
        format!("urr-store-test:{}:", Uuid::new_v4().simple()),
    )
    .await
    .expect("connect to Redis (is it running?)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_hits_exactly_the_limit_get_through() {
    let kv = kv().await;
    let calls = (0..60).map(|_| {
        let kv = kv.clone();
        tokio::spawn(async move { hit(&kv, "ratelimit:test:user", 20, 60_000).await })
    });
    let mut allowed_counts = Vec::new();
    let mut refused = 0;
    for call in calls {
        let decision = call.await.expect("task").expect("hit");
        if decision.allowed {
            allowed_counts.push(decision.count);
        } else {
            refused += 1;
            assert!(
                (1..=60_000).contains(&decision.retry_after_ms),
                "retry after {} ms",
                decision.retry_after_ms
            );
        }
    }
    allowed_counts.sort_unstable();
    assert_eq!(
        allowed_counts,
        (1..=20).collect::<Vec<u64>>(),
        "each allowed hit saw its own place in the window"
    );
    assert_eq!(refused, 40);
    // The refused hits were taken out: the window holds the 20 that got through.
    let mut conn = kv.conn();
    let held: u64 = redis::cmd("ZCARD")
        .arg(kv.key("ratelimit:test:user"))
        .query_async(&mut conn)
        .await
        .expect("zcard");
    assert_eq!(held, 20);
}

#[tokio::test]
async fn refused_hits_do_not_count_and_the_window_slides() {
    let kv = kv().await;
    let name = "ratelimit:test:slide";
    for n in 1..=2 {
        let decision = hit(&kv, name, 2, 400).await.expect("hit");
        assert!(decision.allowed);
        assert_eq!(decision.count, n);
    }
    for _ in 0..5 {
        let refused = hit(&kv, name, 2, 400).await.expect("hit");
        assert!(!refused.allowed, "the third hit in the window is refused");
        assert_eq!(refused.count, 2, "refusals are not counted");
        assert!((1..=400).contains(&refused.retry_after_ms));
    }
    // Once the first two leave the window, the caller gets through again: the refusals
    // meanwhile did not push the window on.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let again = hit(&kv, name, 2, 400).await.expect("hit");
    assert!(again.allowed);
    assert_eq!(again.count, 1);
}

#[tokio::test]
async fn a_batch_decides_its_hits_in_order_each_on_its_own_window() {
    let kv = kv().await;
    // Nine hits on window a (limit 5) among three on window b (limit 2), one batch.
    let mut hits = Vec::new();
    for i in 0..12 {
        let (name, limit) = if i % 4 == 3 {
            ("ratelimit:test:b", 2)
        } else {
            ("ratelimit:test:a", 5)
        };
        hits.push(Hit { name, limit });
    }
    let decisions = hit_many(&kv, &hits, 60_000).await.expect("batch");
    assert_eq!(decisions.len(), hits.len(), "one decision per hit");
    let of = |name: &str| -> Vec<(bool, u64)> {
        hits.iter()
            .zip(&decisions)
            .filter(|(hit, _)| hit.name == name)
            .map(|(_, d)| (d.allowed, d.count))
            .collect()
    };
    assert_eq!(
        of("ratelimit:test:a"),
        vec![
            (true, 1),
            (true, 2),
            (true, 3),
            (true, 4),
            (true, 5),
            (false, 5),
            (false, 5),
            (false, 5),
            (false, 5)
        ],
        "window a: the first five of its hits, in the batch's order"
    );
    assert_eq!(
        of("ratelimit:test:b"),
        vec![(true, 1), (true, 2), (false, 2)],
        "window b counted apart from a"
    );
    for refused in decisions.iter().filter(|d| !d.allowed) {
        assert!((1..=60_000).contains(&refused.retry_after_ms));
    }
    // A single hit afterwards sees the batch's hits: the windows are the same sets.
    let after = hit(&kv, "ratelimit:test:b", 3, 60_000).await.expect("hit");
    assert_eq!((after.allowed, after.count), (true, 3));
    assert!(hit_many(&kv, &[], 60_000).await.expect("empty").is_empty());
}
