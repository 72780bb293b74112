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
