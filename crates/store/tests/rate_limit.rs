//! The gateway's rate limit on real Redis (`urr_store::rate_limit`): of concurrent hits,
//! exactly the limit get through; refused hits do not count; the window slides.

use std::time::Duration;

use urr_store::Kv;
use urr_store::rate_limit::hit;
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
