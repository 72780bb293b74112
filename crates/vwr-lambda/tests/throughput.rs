//! Assignment throughput, for BENCHMARKS.md. Ignored by default; run with
//! `cargo test -p urr-vwr --release --test throughput -- --ignored --nocapture --test-threads 1`.
//!
//! `clients` tasks each join in a loop through the library (room read, block claim,
//! position write), once with block claiming and once with one ticket per counter write,
//! the seed's design (`docs/architecture.md#the-design-urr-rebuilds`).

mod support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use support::{Harness, Kind};
use urr_vwr::{RoomDefaults, VwrStore};

async fn measure(kind: Kind, joins: usize, clients: usize, max_block: usize) {
    let defaults = RoomDefaults {
        max_block,
        ..RoomDefaults::default()
    };
    let h = Harness::with(kind, defaults).await;
    let event = Harness::event();
    h.admin(&event, "open", serde_json::json!({})).await;
    let per_client = joins / clients;
    let start = Instant::now();
    let workers = (0..clients).map(|c| {
        let room = h.room.clone();
        let event = event.clone();
        tokio::spawn(async move {
            for i in 0..per_client {
                room.assign(&event, &format!("c{c}-{i}"))
                    .await
                    .expect("join");
            }
        })
    });
    for worker in join_all(workers).await {
        worker.expect("worker");
    }
    let elapsed = start.elapsed();
    let total = per_client * clients;
    let writes = h.room.store().counter_writes();
    println!(
        "{kind:?} max_block={max_block:>3} clients={clients:>4}: {total} joins in {:.2}s = {:.0} joins/s, {writes} counter writes ({:.4} per join)",
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64(),
        writes as f64 / total as f64,
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn redis_joins_per_second() {
    measure(Kind::Redis, 50_000, 1000, 500).await;
    measure(Kind::Redis, 20_000, 1000, 1).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn dynamodb_emulator_joins_per_second() {
    measure(Kind::Dynamo, 5_000, 200, 500).await;
    measure(Kind::Dynamo, 2_000, 200, 1).await;
}
