//! Cluster figures for BENCHMARKS.md, printed, never asserted (the machine is noisy):
//! forwarding overhead (a call through a node that does not own the event beside the
//! same call through its owner, interleaved in one run) and a three-node rush beside a
//! one-node rush. Ignored in CI; `scripts/faults.sh measure` runs them in release.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::site::{Backing, Site, size};
use crate::{ONE_AT_A_TIME, rush};

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/faults.sh measure"]
async fn forwarding_overhead() {
    let _turn = ONE_AT_A_TIME.lock().await;
    // Rate limits off: one caller asks thousands of times in a row.
    let site = Site::start_with(
        Backing::shared(),
        vec!["127.0.0.1".to_owned(); 2],
        5_000,
        vec!["--rate-limits=false".to_owned()],
    )
    .await;
    let token = site.operator_token().await;
    let client = reqwest::Client::new();
    let event = site.create_event(&token, "Forwarding", 100).await;
    // Queue status of a signed-in person: a call the owning actor answers.
    let path = format!("/api/v1/queue/status/{event}");
    let call = |base: String| {
        let client = client.clone();
        let token = token.clone();
        let path = path.clone();
        async move {
            let started = Instant::now();
            let reply = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("status");
            assert!(reply.status().is_success(), "{}", reply.status());
            let _ = reply.bytes().await;
            started.elapsed()
        }
    };
    call(site.nodes[0].url()).await;
    let owner = rush::owner(&site, event).await;
    let (owner_url, other_url) = (site.nodes[owner].url(), site.nodes[1 - owner].url());
    let rounds = size("URR_MEASURE_CALLS", 2_000);
    let mut direct = Histogram::<u64>::new(3).expect("histogram");
    let mut forwarded = Histogram::<u64>::new(3).expect("histogram");
    for _ in 0..100 {
        call(owner_url.clone()).await;
        call(other_url.clone()).await;
    }
    for _ in 0..rounds {
        let d = call(owner_url.clone()).await;
        let f = call(other_url.clone()).await;
        direct.record(d.as_micros() as u64).expect("record");
        forwarded.record(f.as_micros() as u64).expect("record");
    }
    println!(
        "MEASURE forwarding, {rounds} sequential queue-status calls each, interleaved: \
         owner p50 {:.2} ms p99 {:.2} ms; non-owner p50 {:.2} ms p99 {:.2} ms; \
         ratio p50 {:.2}x p99 {:.2}x",
        ms(&direct, 0.5),
        ms(&direct, 0.99),
        ms(&forwarded, 0.5),
        ms(&forwarded, 0.99),
        ms(&forwarded, 0.5) / ms(&direct, 0.5),
        ms(&forwarded, 0.99) / ms(&direct, 0.99),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: scripts/faults.sh measure"]
async fn three_nodes_beside_one() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let users = size("URR_MEASURE_USERS", 2_000);
    let seats = size("URR_MEASURE_SEATS", 1_000);
    for nodes in [1, 3] {
        let site = Site::start(nodes, 5_000).await;
        let rush = rush::start(&site, users, seats).await;
        let report = rush::finish(rush).await;
        let hold = report.calls.iter().find(|c| c.call == "hold");
        let requests: u64 = report.calls.iter().map(|c| c.count).sum();
        println!(
            "MEASURE rush on {nodes} node(s): {users} users, {} seats: sold out {}, \
             {} requests in {:.1} s ({:.0}/s), hold p50 {:.1} ms p99 {:.1} ms, oversold {}",
            report.seats,
            report
                .sold_out_secs
                .map_or("never".to_owned(), |s| format!("{s:.1} s")),
            requests,
            report.rush_secs,
            requests as f64 / report.rush_secs.max(0.001),
            hold.map_or(0.0, |h| h.p50_ms),
            hold.map_or(0.0, |h| h.p99_ms),
            report.checks.oversold_postgres,
        );
        drop(site);
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
