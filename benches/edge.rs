//! The edge, measured: a queue status call over HTTP through the node's real router (its
//! middleware, token check, the EventActor's mailbox) beside a bare axum handler that
//! answers a same-sized JSON body on a server of the same process, the ceiling for any
//! handler on this stack. Both are driven by the same client at the same concurrency, in
//! one run, one after the other.
//!
//! Where the machine has two cores or more, both servers run on one runtime whose threads
//! are pinned to core 0 (`sched_setaffinity`), and the client runs on the main thread,
//! pinned to core 1, so the client's work does not dilute the ratio (PostgreSQL, Redis
//! and anything else on the machine are not pinned). With one core nothing is pinned; the
//! bench says which it did.
//!
//! After criterion's figures it prints p50/p99 of each from an HDR histogram.
//! Needs PostgreSQL and Redis as the tests use them.
//! Run: `cargo bench --bench edge`.
//!
//! For instruction counts under callgrind, `URR_EDGE_CALLGRIND=<requests>` with
//! `URR_EDGE_TARGET=node|bare` skips criterion and sends that many requests (after a
//! warm-up of 256) to the one server (see `BENCHMARKS.md` for the command).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use hdrhistogram::Histogram;
use urr_actors::event::QueueSettings;
use urr_actors::ids::UserId;
use urr_auth::{Role, TokenKeys};

mod support;

/// Requests in flight at once.
const CONCURRENT: usize = 32;
/// People in the event's line (the measured users are spread through it).
const QUEUED: usize = 10_000;

struct Target {
    url: String,
    tokens: Arc<Vec<String>>,
}

async fn bare_status() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "eventId": "01a20cc0-1aa2-74c7-894d-1f730b2d10e7",
        "queued": true,
        "status": "queued",
        "position": 4242,
        "peopleAhead": 4241,
        "peopleBehind": 5757,
        "estimatedWait": 42,
        "nextPoll": 5
    }))
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(urr_http::serve(listener, router, std::future::pending()));
    format!("http://{address}")
}

async fn setup() -> (support::BenchDb, urr::node::Running, Target, Target) {
    let base = support::bench_db(20).await;
    let (event, _) = support::on_sale_event(&base.db, Some((10, 10))).await;
    // Threshold 1: everyone after the first waits, so status walks the queue.
    let settings = QueueSettings {
        threshold: 1,
        active_ttl: Duration::from_secs(3600),
        queue_ttl: Duration::from_secs(3600),
        ..QueueSettings::default()
    };
    urr_store::queue_settings::put(&base.db, event, &settings)
        .await
        .expect("settings");
    let secret = b"edge-bench-secret-edge-bench-secret";
    let config = urr_http::HttpConfig {
        listen: "127.0.0.1:0".parse().expect("address"),
        ..urr_http::HttpConfig::default()
    };
    let options = urr::node::NodeOptions {
        http: config,
        vwr: urr_vwr::VwrConfig::default(),
        jwt_secret: secret.to_vec(),
        bus: urr_bus::ConsumerConfig::default(),
        cluster: urr::node::cluster_config("edge-bench", "http://127.0.0.1:0", "edge-bench"),
    };
    let node = urr::node::Node::assemble(base.db.clone(), base.kv.clone(), options)
        .await
        .expect("node");
    let handle = node.state.events.event(event);
    let keys = TokenKeys::new(secret);
    let mut tokens = Vec::new();
    let joins = (0..QUEUED).map(|i| {
        let handle = handle.clone();
        async move {
            let id = uuid::Uuid::now_v7();
            handle
                .join(UserId::from(id), Some(i as u64))
                .await
                .expect("join");
            id
        }
    });
    let ids: Vec<uuid::Uuid> = futures::future::join_all(joins).await;
    for id in ids.iter().step_by(QUEUED / 1_000) {
        let (token, _) = keys
            .issue_access(*id, "bench@urr.test", Role::User)
            .expect("token");
        tokens.push(token);
    }
    // Run as `urr serve` runs it: with its background work, among it the lease renewal
    // that keeps the event served here past the first lease.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let running = node.run(listener, secret.to_vec()).expect("run the node");
    let node_url = running.url();
    let bare_url = serve(axum::Router::new().route("/status", get(bare_status))).await;
    let tokens = Arc::new(tokens);
    (
        base,
        running,
        Target {
            url: format!("{node_url}/api/v1/queue/status/{event}"),
            tokens: tokens.clone(),
        },
        Target {
            url: format!("{bare_url}/status"),
            tokens,
        },
    )
}

/// `CONCURRENT` requests at once; each latency goes into `histogram` when given.
async fn burst(
    client: &reqwest::Client,
    target: &Target,
    round: usize,
    histogram: Option<&std::sync::Mutex<Histogram<u64>>>,
) {
    let calls = (0..CONCURRENT).map(|k| {
        let token = &target.tokens[(round * CONCURRENT + k) % target.tokens.len()];
        async move {
            let started = Instant::now();
            let response = client
                .get(&target.url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request");
            let status = response.status();
            let body = response.bytes().await.expect("body");
            assert!(
                status.is_success(),
                "{status}: {}",
                String::from_utf8_lossy(&body)
            );
            if let Some(h) = histogram {
                let micros = started.elapsed().as_micros() as u64;
                h.lock()
                    .expect("histogram")
                    .saturating_record(micros.max(1));
            }
        }
    });
    futures::future::join_all(calls).await;
}

/// The core both servers' runtime is pinned to, and the client's.
const SERVER_CORE: usize = 0;
const CLIENT_CORE: usize = 1;

/// Pins the calling thread to `core`; false when the system refused (e.g. no such core).
#[allow(unsafe_code)] // libc has no safe wrapper for the affinity call
fn pin_to(core: usize) -> bool {
    // SAFETY: `cpu_set_t` is plain bits (all zero is the empty set); `CPU_SET` writes inside
    // it, and `sched_setaffinity` (0: this thread) only reads the set of the size given.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// Both servers' runtime and the client's: pinned apart when there are two cores.
fn runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Runtime) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = cores >= 2 && pin_to(CLIENT_CORE);
    let mut server = tokio::runtime::Builder::new_multi_thread();
    if pinned {
        // One worker, and every thread of the runtime (the blocking pool's too) on the
        // servers' core; the client's core stays the client's.
        server.worker_threads(1).on_thread_start(|| {
            pin_to(SERVER_CORE);
        });
    }
    let server = server.enable_all().build().expect("server runtime");
    // The client runs on this (pinned) thread: criterion's loop, reqwest and its
    // connections.
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    if pinned {
        println!(
            "edge: both servers on core {SERVER_CORE} (one runtime worker), the client on core {CLIENT_CORE}"
        );
    } else {
        println!("edge: {cores} core(s): servers and client not pinned");
    }
    (server, client)
}

/// The callgrind mode: `requests` to one server after a warm-up, no criterion.
fn count_instructions(
    client_rt: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    target: &Target,
    requests: usize,
) {
    client_rt.block_on(async {
        for round in 0..256 / CONCURRENT {
            burst(client, target, round, None).await;
        }
        for round in 0..requests.div_ceil(CONCURRENT) {
            burst(client, target, round, None).await;
        }
    });
}

fn compare(c: &mut Criterion) {
    let (server_rt, client_rt) = runtimes();
    let (base, _running, node, bare) = server_rt.block_on(setup());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENT)
        .build()
        .expect("client");
    if let Some(requests) = std::env::var("URR_EDGE_CALLGRIND")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let which = std::env::var("URR_EDGE_TARGET").unwrap_or_default();
        let target = if which == "bare" { &bare } else { &node };
        count_instructions(&client_rt, &client, target, requests);
        println!("edge callgrind: {requests} requests to {}", target.url);
        server_rt.block_on(base.drop_database());
        return;
    }
    let mut group = c.benchmark_group("edge_queue_status");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(6));
    for (name, target) in [("node router", &node), ("bare axum", &bare)] {
        group.bench_function(format!("{name} x{CONCURRENT}"), |b| {
            let mut round = 0;
            b.to_async(&client_rt).iter(|| {
                round += 1;
                burst(&client, target, round, None)
            });
        });
    }
    group.finish();

    // Latency percentiles and throughput over a fixed number of requests, side by side.
    let mut rates = Vec::new();
    client_rt.block_on(async {
        for (name, target) in [("node router", &node), ("bare axum", &bare)] {
            let histogram = std::sync::Mutex::new(
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("bounds"),
            );
            let rounds = 600;
            let started = Instant::now();
            for round in 0..rounds {
                burst(&client, target, round, Some(&histogram)).await;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let h = histogram.lock().expect("histogram");
            let rate = (rounds * CONCURRENT) as f64 / elapsed;
            rates.push(rate);
            println!(
                "edge {name}: {rate:.0} requests/s at {CONCURRENT} in flight; p50 {:.2} ms, p99 {:.2} ms",
                h.value_at_quantile(0.5) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
            );
        }
    });
    if let [node_rate, bare_rate] = rates[..] {
        println!(
            "edge fixed run: node / bare = {:.2}x",
            node_rate / bare_rate
        );
    }
    server_rt.block_on(base.drop_database());
}

criterion_group!(benches, compare);
criterion_main!(benches);
