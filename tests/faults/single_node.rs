//! One node, killed with SIGKILL and started again twice mid-rush (docs/operations.md#faults):
//! buyers wait it out; every charge ends in a ticket or a refund, no seat is sold twice,
//! no queue place is lost.

use std::time::{Duration, Instant};

use crate::services::{FaultPostgres, FaultRedis};
use crate::site::{Backing, Site};
use crate::{ONE_AT_A_TIME, checker, rush};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_twice_mid_rush_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut site = Site::start(1, 1_500).await;
    let rush = rush::start(&site, 160, 80).await;
    let event = rush.event;

    for (round, sales) in [(1, 5), (2, 20)] {
        rush::until_sales(&site, event, sales).await;
        let killed = Instant::now();
        site.kill(0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        site.restart(0).await;
        println!("kill {round}: back serving after {:?}", killed.elapsed());
    }

    let report = rush::finish(rush).await;
    let verdict = checker::assert_nothing_lost(&site, event, &report).await;
    println!(
        "sold {} of {} seats; calls retried through the outage: {}",
        verdict.seats_sold, verdict.capacity, report.retries
    );
    assert!(verdict.seats_sold > 0, "the rush sold seats");
    assert!(report.retries > 0, "the kills were felt by the buyers");
}

/// Redis killed with SIGKILL mid-rush and started again on its append-only file: the
/// queue log, seat locks and leases it held come back; the node serves nothing while it
/// is gone (it cannot hold a lease) and resumes after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_rush_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut redis = FaultRedis::start();
    let backing = Backing {
        redis: redis.url(),
        ..Backing::shared()
    };
    rush_through_an_outage(backing, "redis", || {
        redis.kill();
        std::thread::sleep(Duration::from_secs(1));
        redis.restart();
    })
    .await;
}

/// Redis paused (SIGSTOP) past the node's lease mid-rush: the node stops serving the event
/// by its own clock. The renewals it sent into the pause run when Redis resumes and
/// extend the key by a full TTL, so the key still names this run; the node takes it back
/// at a new epoch at once (docs/architecture.md#ownership) instead of staying dark until
/// the key expires. Nothing is lost across the two actors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_lapsed_while_redis_was_paused_is_taken_back_when_it_answers() {
    const LEASE_TTL_MS: u64 = 8_000;
    let _turn = ONE_AT_A_TIME.lock().await;
    let redis = FaultRedis::start();
    let backing = Backing {
        redis: redis.url(),
        ..Backing::shared()
    };
    let site = Site::start_on(backing, 1, LEASE_TTL_MS).await;
    let rush = rush::start(&site, 160, 80).await;
    let event = rush.event;
    rush::until_sales(&site, event, 5).await;
    let epoch = rush::epoch(&site, event).await;

    // Paused from just after a renewal until past the node's validity (the TTL less a
    // fifth, from when the renewal was sent) and the watchdog's next look, yet resumed
    // before the key expires by Redis's clock: the renewals queued meanwhile then find the
    // key and extend it.
    let key = format!("{}lease:{{{event}}}", site.prefix);
    let left = loop {
        let left = redis.pttl(&key);
        if left > LEASE_TTL_MS as i64 - 200 {
            break left as u64;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    redis.pause();
    tokio::time::sleep(Duration::from_millis(left - LEASE_TTL_MS / 10)).await;
    redis.resume();
    let resumed = Instant::now();
    let back = rush::failover_time(&site, event, &site.nodes[0].url(), epoch, resumed).await;
    println!("served again at a new epoch {back:?} after Redis resumed");
    // Left to expire, the key renewed on resuming would keep it dark a whole TTL.
    assert!(
        back < Duration::from_millis(LEASE_TTL_MS / 2),
        "the event came back {back:?} after Redis did"
    );

    let report = rush::finish(rush).await;
    let verdict = checker::assert_nothing_lost(&site, event, &report).await;
    assert!(verdict.seats_sold > 0, "the rush sold seats");
    let log = site.log_of(0);
    assert!(
        log.contains("the lease lapsed by this node's clock"),
        "the node stopped serving while Redis was paused"
    );
    assert!(
        log.contains("taking back a lease that lapsed here"),
        "the node took its own lease back"
    );
}

/// PostgreSQL killed with SIGKILL (postmaster and backends) mid-rush and started again:
/// what it acknowledged is replayed from its WAL; requests in between fail with 503 and
/// are tried again; nothing half-done survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_rush_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let postgres = FaultPostgres::start();
    let backing = Backing {
        postgres: postgres.server(),
        ..Backing::shared()
    };
    rush_through_an_outage(backing, "postgres", || {
        postgres.kill();
        std::thread::sleep(Duration::from_secs(1));
        postgres.restart();
    })
    .await;
}

/// One node on `backing`, a rush, and `outage` (a store killed and started again) once
/// the first sales are in; then nothing may be lost.
async fn rush_through_an_outage(backing: Backing, store: &str, outage: impl FnOnce()) {
    let site = Site::start_on(backing, 1, 1_500).await;
    let rush = rush::start(&site, 160, 80).await;
    let event = rush.event;
    rush::until_sales(&site, event, 5).await;
    let killed = Instant::now();
    tokio::task::block_in_place(outage);
    println!("{store} back after {:?}", killed.elapsed());
    let report = rush::finish(rush).await;
    let verdict = checker::assert_nothing_lost(&site, event, &report).await;
    assert!(verdict.seats_sold > 0, "the rush sold seats");
}
