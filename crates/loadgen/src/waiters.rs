//! `urr waiters`: holds N people waiting in one event's Tier-2 queue on one node, each
//! polling its place at the pace the server asks (`nextPoll`), and measures what that
//! costs the node: memory per waiting person, CPU, and the status latency the waiting
//! see. The line never moves (one person active at a time, nobody leaves the active set),
//! so everyone waits for the whole run.
//!
//! The polls come from several loopback source addresses (127.0.0.2, .3, ...), each with
//! its own connection pool, as people behind different homes' addresses would; each
//! person also names their own address in `X-Forwarded-For`, so the node's per-address
//! limits see separate people.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};
use uuid::Uuid;

use crate::client::ensure_loopback;
use crate::config::{Accounts, LoadgenConfig};
use crate::setup::{self, Account, Backend};
use crate::{LoadgenError, client};

#[derive(Debug, Clone, Args)]
pub struct WaitersConfig {
    /// The node (loopback only).
    #[arg(
        long,
        env = "URR_WAITERS_TARGET",
        default_value = "http://127.0.0.1:8080"
    )]
    pub target: String,
    /// People kept waiting.
    #[arg(long, env = "URR_WAITERS_USERS", default_value_t = 50_000)]
    pub users: usize,
    /// People joining per second until all have.
    #[arg(long, env = "URR_WAITERS_JOIN_RATE", default_value_t = 2_000)]
    pub join_rate: u32,
    /// Seconds everyone stays waiting after the last has joined; the figures are of
    /// this stretch.
    #[arg(long, env = "URR_WAITERS_HOLD_SECS", default_value_t = 120)]
    pub hold_secs: u64,
    /// The queue's patience with a silent person; the node asks for polls at most a third
    /// of it apart, so a larger one thins the polls of a big line.
    #[arg(long, env = "URR_WAITERS_QUEUE_TTL_SECS", default_value_t = 300)]
    pub queue_ttl_secs: u64,
    /// Loopback source addresses the polls come from (127.0.0.2 onwards).
    #[arg(long, env = "URR_WAITERS_SOURCES", default_value_t = 8)]
    pub sources: u8,
    /// Connections per source address.
    #[arg(long, env = "URR_WAITERS_CONNECTIONS", default_value_t = 32)]
    pub connections: usize,
    /// The node's process id, to read its memory and CPU time from /proc.
    #[arg(long, env = "URR_WAITERS_NODE_PID")]
    pub node_pid: Option<u32>,
    /// Where report.json goes.
    #[arg(long, env = "URR_WAITERS_OUT", default_value = "target/waiters")]
    pub out: std::path::PathBuf,
}

/// What holding them cost.
#[derive(Debug, Clone, Serialize)]
pub struct WaitersReport {
    pub users: usize,
    pub joined: u64,
    pub join_failures: u64,
    pub join_secs: f64,
    pub hold_secs: f64,
    /// Status polls during the hold, and per second.
    pub polls: u64,
    pub polls_per_sec: f64,
    pub poll_failures: u64,
    /// People the queue no longer knew (dropped for silence): must be 0.
    pub lost_places: u64,
    pub status_p50_ms: f64,
    pub status_p99_ms: f64,
    pub status_max_ms: f64,
    /// The node's resident memory before anyone joined and at the end of the hold.
    pub node_rss_before_mb: Option<f64>,
    pub node_rss_after_mb: Option<f64>,
    pub rss_per_waiting_user_bytes: Option<f64>,
    /// The node's CPU during the hold, in cores (1.0 = one core busy).
    pub node_cpu_cores: Option<f64>,
}

impl WaitersReport {
    pub fn summary(&self) -> String {
        let opt = |v: Option<f64>, unit: &str| v.map_or("n/a".into(), |v| format!("{v:.1}{unit}"));
        format!(
            "{} waiting ({} joined in {:.1} s, {} failed) for {:.0} s: {} polls ({:.0}/s, {} failed), \
             status p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; lost places {}; node RSS {} -> {} \
             ({} per waiting person); node CPU {} cores",
            self.users,
            self.joined,
            self.join_secs,
            self.join_failures,
            self.hold_secs,
            self.polls,
            self.polls_per_sec,
            self.poll_failures,
            self.status_p50_ms,
            self.status_p99_ms,
            self.status_max_ms,
            self.lost_places,
            opt(self.node_rss_before_mb, " MB"),
            opt(self.node_rss_after_mb, " MB"),
            opt(self.rss_per_waiting_user_bytes, " B"),
            opt(self.node_cpu_cores, ""),
        )
    }
}

/// The node's resident memory (bytes) and CPU time (seconds) from /proc.
fn node_usage(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces, hence the last ')').
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after the name.
    let cpu_ticks = ticks(11)? + ticks(12)?;
    Some((rss_kb * 1024.0, cpu_ticks / 100.0))
}

struct Shared {
    clients: Vec<(reqwest::Client, Semaphore)>,
    base: String,
    event: Uuid,
    latency: Mutex<Histogram<u64>>,
    polls: AtomicU64,
    poll_failures: AtomicU64,
    lost: AtomicU64,
    joined: AtomicU64,
    join_failures: AtomicU64,
    /// Polls count only once everyone has joined.
    measuring: std::sync::atomic::AtomicBool,
}

impl Shared {
    async fn call(
        &self,
        index: usize,
        account: &Account,
        method: Method,
        path: &str,
    ) -> Option<(u16, Value, Duration)> {
        let (client, slots) = &self.clients[index % self.clients.len()];
        let _slot = slots.acquire().await.ok()?;
        let mut request = client
            .request(method, format!("{}{path}", self.base))
            .header("x-forwarded-for", setup::address_of(index));
        if let Some(access) = &account.caller.access {
            request = request.bearer_auth(access);
        }
        let started = Instant::now();
        let response = request.send().await.ok()?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        Some((status, body, started.elapsed()))
    }
}

/// One waiting person: joins, then polls as told until `until`.
async fn wait(
    shared: Arc<Shared>,
    index: usize,
    account: Account,
    join_at: Duration,
    start: tokio::time::Instant,
    until: tokio::time::Instant,
) {
    tokio::time::sleep_until(start + join_at).await;
    let event = shared.event;
    let joined = shared
        .call(
            index,
            &account,
            Method::POST,
            &format!("/api/v1/queue/check/{event}"),
        )
        .await;
    let mut next = match joined {
        Some((200, body, _)) => {
            shared.joined.fetch_add(1, Ordering::Relaxed);
            body["nextPoll"].as_u64().unwrap_or(5)
        }
        _ => {
            shared.join_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    loop {
        // A little jitter, as real clocks have: polls do not arrive in lockstep.
        let jitter = 0.9 + 0.2 * ((index as u64 * 2_654_435_761 + next) % 1000) as f64 / 1000.0;
        let wake = tokio::time::Instant::now() + Duration::from_secs(next).mul_f64(jitter);
        if wake >= until {
            return;
        }
        tokio::time::sleep_until(wake).await;
        let polled = shared
            .call(
                index,
                &account,
                Method::GET,
                &format!("/api/v1/queue/status/{event}"),
            )
            .await;
        let measuring = shared.measuring.load(Ordering::Relaxed);
        match polled {
            Some((200, body, took)) => {
                if measuring {
                    shared.polls.fetch_add(1, Ordering::Relaxed);
                    let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                    let _ = shared.latency.lock().await.record(micros.max(1));
                }
                if body["status"] == "none" {
                    shared.lost.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                next = body["nextPoll"].as_u64().unwrap_or(5);
            }
            _ => {
                if measuring {
                    shared.poll_failures.fetch_add(1, Ordering::Relaxed);
                }
                next = 5;
            }
        }
    }
}

/// Creates the event whose line never moves: one person active at a time, for a day.
async fn still_line(
    api: &client::Api,
    operator: &client::Caller,
    queue_ttl_secs: u64,
) -> Result<Uuid, LoadgenError> {
    let now = chrono::Utc::now();
    let body = json!({
        "title": format!("Waiters {}", now.timestamp()),
        "venue": "Loopback Hall",
        "address": "127.0.0.1",
        "startsAt": (now + chrono::Duration::days(14)).to_rfc3339(),
        "saleStartsAt": (now - chrono::Duration::hours(1)).to_rfc3339(),
        "status": "on_sale",
        "seatLayout": setup::layout(10),
    });
    let created = api
        .call(
            "setup",
            api.request(Method::POST, "/api/v1/admin/events", operator)
                .json(&body),
        )
        .await?;
    let event = created
        .parse::<urr_wire::events::EventDetailView>()
        .map_err(|_| {
            LoadgenError::Setup(format!(
                "creating the event: {} {}",
                created.status, created.body
            ))
        })?
        .event
        .id;
    let settings = json!({
        "enabled": true, "threshold": 1, "batch": 1, "tickMs": 1000,
        "activeTtlSecs": 86_400, "queueTtlSecs": queue_ttl_secs,
    });
    let set = api
        .call(
            "setup",
            api.request(
                Method::PUT,
                &format!("/api/v1/admin/events/{event}/queue"),
                operator,
            )
            .json(&settings),
        )
        .await?;
    if !set.ok() {
        return Err(LoadgenError::Setup(format!(
            "queue settings: {} {}",
            set.status, set.body
        )));
    }
    Ok(event)
}

pub async fn run(config: &WaitersConfig, backend: &Backend) -> Result<WaitersReport, LoadgenError> {
    ensure_loopback(&config.target)?;
    let metrics = Arc::new(crate::Metrics::new());
    let api = client::Api::new(&config.target, 64, metrics)?;
    let operator = setup::operator(backend).await?;
    let event = still_line(&api, &operator, config.queue_ttl_secs).await?;
    let accounts_config = LoadgenConfig {
        users: config.users,
        accounts: Accounts::Provisioned,
        ..LoadgenConfig::default()
    };
    let accounts = setup::accounts(&api, backend, &accounts_config, || {}).await?;
    // One person is let in at once and stays: everyone else waits behind them.
    let first = accounts
        .first()
        .ok_or_else(|| LoadgenError::Config("--users must be at least 1".into()))?;
    api.call(
        "setup",
        api.request(
            Method::POST,
            &format!("/api/v1/queue/check/{event}"),
            &first.caller,
        ),
    )
    .await?;

    let mut clients = Vec::new();
    for source in 0..config.sources.max(1) {
        let address = IpAddr::V4(Ipv4Addr::new(127, 0, 0, source.saturating_add(2)));
        let client = reqwest::Client::builder()
            .local_address(address)
            .pool_max_idle_per_host(config.connections)
            .timeout(Duration::from_secs(30))
            .build()?;
        clients.push((client, Semaphore::new(config.connections.max(1))));
    }
    let shared = Arc::new(Shared {
        clients,
        base: config.target.trim_end_matches('/').to_owned(),
        event,
        latency: Mutex::new(
            Histogram::new_with_bounds(1, 60_000_000, 3)
                .map_err(|e| LoadgenError::Setup(format!("histogram: {e}")))?,
        ),
        polls: AtomicU64::new(0),
        poll_failures: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        joined: AtomicU64::new(0),
        join_failures: AtomicU64::new(0),
        measuring: false.into(),
    });
    let before = config.node_pid.and_then(node_usage);
    let join_span =
        Duration::from_secs_f64(config.users as f64 / f64::from(config.join_rate.max(1)));
    let start = tokio::time::Instant::now();
    let until = start + join_span + Duration::from_secs(config.hold_secs) + Duration::from_secs(5);
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in accounts.into_iter().enumerate().skip(1) {
        let join_at = join_span.mul_f64(index as f64 / config.users as f64);
        tasks.spawn(wait(shared.clone(), index, account, join_at, start, until));
    }
    // Everyone in, and a few seconds for the last joins to land.
    tokio::time::sleep_until(start + join_span + Duration::from_secs(5)).await;
    let join_secs = start.elapsed().as_secs_f64();
    shared.measuring.store(true, Ordering::Relaxed);
    let hold_started = Instant::now();
    let at_hold = config.node_pid.and_then(node_usage);
    tokio::time::sleep(Duration::from_secs(config.hold_secs)).await;
    let after = config.node_pid.and_then(node_usage);
    let hold_secs = hold_started.elapsed().as_secs_f64();
    shared.measuring.store(false, Ordering::Relaxed);
    while tasks.join_next().await.is_some() {}

    let latency = shared.latency.lock().await;
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let polls = shared.polls.load(Ordering::Relaxed);
    let joined = shared.joined.load(Ordering::Relaxed);
    let report = WaitersReport {
        users: config.users,
        joined,
        join_failures: shared.join_failures.load(Ordering::Relaxed),
        join_secs,
        hold_secs,
        polls,
        polls_per_sec: polls as f64 / hold_secs.max(0.001),
        poll_failures: shared.poll_failures.load(Ordering::Relaxed),
        lost_places: shared.lost.load(Ordering::Relaxed),
        status_p50_ms: ms(0.5),
        status_p99_ms: ms(0.99),
        status_max_ms: latency.max() as f64 / 1000.0,
        node_rss_before_mb: before.map(|(rss, _)| rss / 1e6),
        node_rss_after_mb: after.map(|(rss, _)| rss / 1e6),
        rss_per_waiting_user_bytes: before
            .zip(after)
            .map(|((b, _), (a, _))| (a - b) / joined.max(1) as f64),
        node_cpu_cores: at_hold
            .zip(after)
            .map(|((_, c0), (_, c1))| (c1 - c0) / hold_secs.max(0.001)),
    };
    std::fs::create_dir_all(&config.out)?;
    let json = serde_json::to_vec_pretty(&report)
        .map_err(|e| LoadgenError::Setup(format!("serialising the report: {e}")))?;
    std::fs::write(
        config.out.join(format!("waiters-{}.json", config.users)),
        json,
    )?;
    Ok(report)
}
