//! The node on a Redis Cluster (`docs/operations.md#redis-cluster`): a sale, the Tier-1
//! room, the bus and its dead letters, and a master killed mid-sale. The cluster comes from
//! `scripts/redis-cluster.sh` (as `scripts/test.sh` runs it), named by
//! `URR_TEST_REDIS_CLUSTER_URL`; each test skips with a note when it is unset.

use std::time::{Duration, Instant};

use redis::Value as RedisValue;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::RwLock;
use urr_wire::status::SeatStatus;
use uuid::Uuid;

use crate::common::{Session, TestApp};
use crate::payments::{app_on_redis, confirm, held, prepare, stats_until};
use crate::tier1::{open_room, pass_tier1};

/// The failover test takes this for writing: the others would see its outage.
static FAILOVER: RwLock<()> = RwLock::const_new(());

fn cluster_url() -> Option<String> {
    let url = std::env::var("URR_TEST_REDIS_CLUSTER_URL").ok();
    if url.is_none() {
        eprintln!(
            "URR_TEST_REDIS_CLUSTER_URL is unset: skipping a Redis Cluster test \
             (scripts/test.sh starts one with scripts/redis-cluster.sh)"
        );
    }
    url
}

async fn app_on_cluster(url: &str) -> TestApp {
    let (app, _calls) = app_on_redis(url, 300, 5, |_| {}).await;
    assert!(
        app.kv.is_cluster(),
        "{url} should select the cluster client"
    );
    app
}

/// Pays for `reservation` (of `event`) through the Toss stand-in and waits until it is
/// confirmed; the order id. During a failover the charge may land while the ticket cannot
/// be confirmed yet (`paid`); the reconciler or the ticket consumer confirms it later.
/// Meanwhile the seat map is read, as the other buyers of a sale would: when the event's
/// lease lapsed during the outage, a request for the event takes it up again. (Without
/// such requests a paid reservation was once seen still pending after 30 s.)
async fn pay(app: &TestApp, event: Uuid, user: &Session, reservation: &str) -> String {
    let prepared = retry_5xx(|| prepare(app, user, reservation)).await;
    assert_eq!(prepared.status(), StatusCode::OK);
    let prepared: Value = prepared.json().await.expect("json");
    let order = prepared["orderId"].as_str().expect("order id").to_owned();
    let amount = prepared["amount"].as_i64().expect("amount");
    let paid = retry_5xx(|| confirm(app, user, "ok_key_cluster", &order, amount)).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: Value = paid.json().await.expect("json");
    assert!(
        paid["status"] == "done" || paid["status"] == "paid",
        "charged: {paid}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let path = format!("/api/v1/reservations/{reservation}");
    loop {
        let status = retry_5xx(|| app.get_as(&path, user))
            .await
            .json::<Value>()
            .await
            .expect("json")["status"]
            .clone();
        if status == "confirmed" {
            return order;
        }
        let seats = format!("/api/v1/seats/events/{event}");
        let _ = retry_5xx(|| app.get(&seats)).await;
        assert!(
            Instant::now() < deadline,
            "a paid reservation was never confirmed: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Repeats a request the node answered with a 5xx (Redis failing over underneath it),
/// for up to 30 s. Every request it is used for is idempotent.
async fn retry_5xx<F, Fut>(mut send: F) -> Response
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Response>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = send().await;
        if !response.status().is_server_error() || Instant::now() > deadline {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// [`TestApp::enter`] through a failover: checks in and waits for the entry token,
/// repeating what the node answered with a retryable 5xx.
async fn enter_retrying(app: &TestApp, event: Uuid, user: &Session) -> String {
    let path = format!("/api/v1/queue/check/{event}");
    let body = json!({});
    let checked = retry_5xx(|| app.post_as(&path, &body, user)).await;
    assert_eq!(checked.status(), StatusCode::OK, "queue check");
    let mut reply: Value = checked.json().await.expect("json");
    for _ in 0..200 {
        if let Some(token) = reply["entryToken"].as_str() {
            return token.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let status = format!("/api/v1/queue/status/{event}");
        let response = retry_5xx(|| app.get_as(&status, user)).await;
        assert_eq!(response.status(), StatusCode::OK, "queue status");
        reply = response.json().await.expect("json");
    }
    panic!("not admitted: {reply}");
}

/// Every key of `event` this test's node wrote, and how many hash slots they fall in.
async fn event_keys(app: &TestApp, event: Uuid) -> (Vec<String>, usize) {
    let keys = app
        .kv
        .scan(&format!("{}*{event}*", app.kv.prefix()), None)
        .await
        .expect("scan the cluster");
    let names: Vec<&str> = keys.iter().map(String::as_str).collect();
    let slots = app.kv.group_by_slot(&names).len();
    (keys, slots)
}

#[tokio::test]
async fn a_sale_runs_on_a_redis_cluster() {
    let Some(url) = cluster_url() else { return };
    let _shared = FAILOVER.read().await;
    let app = app_on_cluster(&url).await;
    // Join, admitted, hold two seats (the helper asserts each step).
    let (event, user, id, seats) = held(&app).await;
    // Someone else cannot take a held seat.
    let other = app.quick_user("other").await;
    let entry = app.enter(event, &other).await;
    let taken = app
        .hold(&other, Some(&entry), event, &seats[1..3], "taken")
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);

    pay(&app, event, &user, &id).await;
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    let statuses = app.seat_statuses(event).await;
    assert_eq!(statuses[&seats[0]], SeatStatus::Reserved, "{statuses:?}");
    // The confirmation travels the bus (streams on several slots) into the stats.
    let admin = app.admin().await;
    let stats = stats_until(&app, &admin, event, |s| s["confirmed"] == 1).await;
    assert_eq!(stats["revenue"], 20000);

    // The event's keys really are on the cluster, all in the one slot of its hash tag.
    let (keys, slots) = event_keys(&app, event).await;
    assert!(keys.len() >= 2, "{keys:?}");
    assert_eq!(slots, 1, "{keys:?}");
}

#[tokio::test]
async fn the_tier1_room_runs_on_a_redis_cluster() {
    let Some(url) = cluster_url() else { return };
    let _shared = FAILOVER.read().await;
    let app = app_on_cluster(&url).await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    open_room(&app, &admin, event).await;
    let early = app.quick_user("early").await;
    let late = app.quick_user("late").await;
    let (early_pos, early_token) = pass_tier1(&app, event, &early).await;
    let (late_pos, _) = pass_tier1(&app, event, &late).await;
    assert!(early_pos < late_pos);
    let checked = app
        .client
        .post(app.url(&format!("/api/v1/queue/check/{event}")))
        .bearer_auth(&early.access)
        .header("x-vwr-token", &early_token)
        .send()
        .await
        .expect("check");
    assert_eq!(checked.status(), StatusCode::OK);
    let refused = app
        .post_as(&format!("/api/v1/queue/check/{event}"), &json!({}), &late)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// The gateway's limits on a cluster: hits that arrive together go to Redis in one call
/// per hash slot, and each caller still gets exactly its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_exactly_on_a_redis_cluster() {
    let Some(url) = cluster_url() else { return };
    let _shared = FAILOVER.read().await;
    let (app, _calls) = app_on_redis(&url, 300, 5, |c| {
        c.rate_limits.enabled = true;
        c.rate_limits.rate_limit_auth_per_min = 5;
        c.rate_limits.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    assert!(app.kv.is_cluster());
    let callers = [
        "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5", "10.1.0.6",
    ];
    let windows: Vec<String> = callers
        .iter()
        .map(|c| app.kv.key(&format!("ratelimit:auth:ip:{c}")))
        .collect();
    let windows: Vec<&str> = windows.iter().map(String::as_str).collect();
    assert!(
        app.kv.group_by_slot(&windows).len() > 1,
        "the callers' windows span several slots"
    );
    crate::rate_limits::calls_arriving_together(&app, &callers, 5).await;
}

#[tokio::test]
async fn dead_letters_on_every_master_are_listed_and_replayed() {
    let Some(url) = cluster_url() else { return };
    let _shared = FAILOVER.read().await;
    let app = app_on_cluster(&url).await;
    let topics: Vec<String> = (0..12).map(|i| format!("topic-{i}")).collect();
    let mut conn = app.kv.conn();
    for topic in &topics {
        let _: String = redis::cmd("XADD")
            .arg(app.kv.key(&urr_bus::event::dlq_topic(topic)))
            .arg("*")
            .arg("id")
            .arg("1")
            .arg("key")
            .arg("k")
            .arg("type")
            .arg("PaymentConfirmed")
            .arg("payload")
            .arg("")
            .arg("reason")
            .arg("test")
            .query_async(&mut conn)
            .await
            .expect("XADD a dead letter");
    }
    let names: Vec<String> = topics.iter().map(|t| app.kv.key(t)).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert!(
        app.kv.group_by_slot(&names).len() > 3,
        "the streams spread over the cluster"
    );
    let mut listed = urr_bus::dlq::topics(&app.kv).await.expect("dead letters");
    listed.sort();
    let mut expected = topics.clone();
    expected.sort();
    assert_eq!(listed, expected);
    let replayed = urr_bus::dlq::replay(&app.kv, &topics[5], None)
        .await
        .expect("replay");
    assert_eq!(replayed, 1);
    assert!(
        urr_bus::dlq::list(&app.kv, &topics[5], 10)
            .await
            .expect("list")
            .is_empty()
    );
}

/// The master serving `key`'s slot: its address.
async fn master_of(seed: &str, key: &str) -> (String, u16) {
    let client = redis::Client::open(seed).expect("seed URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("reach a seed node");
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut conn)
        .await
        .expect("CLUSTER KEYSLOT");
    let ranges: Vec<Vec<RedisValue>> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query_async(&mut conn)
        .await
        .expect("CLUSTER SLOTS");
    for range in ranges {
        let [
            RedisValue::Int(start),
            RedisValue::Int(end),
            RedisValue::Array(master),
            ..,
        ] = range.as_slice()
        else {
            continue;
        };
        if (*start..=*end).contains(&slot)
            && let [RedisValue::BulkString(host), RedisValue::Int(port), ..] = master.as_slice()
        {
            let host = String::from_utf8_lossy(host).into_owned();
            return (host, u16::try_from(*port).expect("a port"));
        }
    }
    panic!("no master serves slot {slot}");
}

/// Starts a killed node again from its config file when dropped, so the cluster is whole
/// for whatever runs next (the node rejoins as its replacement's replica).
struct Revive {
    config: String,
    port: u16,
}

impl Drop for Revive {
    fn drop(&mut self) {
        let _ = std::process::Command::new("redis-server")
            .arg(&self.config)
            .status();
        // Back and rejoined: it sees the cluster whole again and has caught up with its
        // new master, so it can take over in turn if the next test kills that one.
        let port = self.port.to_string();
        let says = |args: &[&str], text: &str| {
            std::process::Command::new("redis-cli")
                .args(["-p", &port])
                .args(args)
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(text))
        };
        for _ in 0..200 {
            if says(&["cluster", "info"], "cluster_state:ok")
                && says(&["info", "replication"], "master_link_status:up")
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Kills (SIGKILL) the master at `host:port`; a guard that starts it again.
async fn kill_master(host: &str, port: u16) -> Revive {
    let client = redis::Client::open(format!("redis://{host}:{port}/")).expect("URL");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("reach the master");
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .expect("INFO");
    let pid = info
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .expect("process_id")
        .trim()
        .to_owned();
    let (_, dir): (String, String) = redis::cmd("CONFIG")
        .arg("GET")
        .arg("dir")
        .query_async(&mut conn)
        .await
        .expect("CONFIG GET dir");
    let config = format!("{dir}/redis.conf");
    assert!(
        std::path::Path::new(&config).exists(),
        "{config}: start the cluster with scripts/redis-cluster.sh"
    );
    let killed = std::process::Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    Revive { config, port }
}

#[tokio::test]
async fn a_master_killed_mid_sale_fails_over_and_nothing_is_lost() {
    let Some(url) = cluster_url() else { return };
    let _exclusive = FAILOVER.write().await;
    let app = app_on_cluster(&url).await;
    let (event, user, id, seats) = held(&app).await;

    let seeds = urr_kv::conn::cluster_nodes(&url)
        .expect("cluster URL")
        .expect("a cluster");
    let (host, port) = master_of(&seeds[0], &event.to_string()).await;
    let revive = kill_master(&host, port).await;
    let killed_at = Instant::now();

    // The sale goes on: the held seats are paid for, another buyer joins and holds.
    pay(&app, event, &user, &id).await;
    let second = app.quick_user("second").await;
    let entry = enter_retrying(&app, event, &second).await;
    let held_again =
        retry_5xx(|| app.hold(&second, Some(&entry), event, &seats[2..3], "after")).await;
    assert_eq!(held_again.status(), StatusCode::CREATED);
    // The replica took over the event's slot.
    let survivor = seeds
        .iter()
        .find(|s| !s.contains(&format!(":{port}/")))
        .expect("another seed");
    let (_, new_port) = master_of(survivor, &event.to_string()).await;
    assert_ne!(new_port, port, "a replica serves the slot now");
    eprintln!(
        "failover: sale done {:?} after the kill",
        killed_at.elapsed()
    );

    // Nothing lost, nothing sold twice.
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    let third = app.quick_user("third").await;
    let entry = enter_retrying(&app, event, &third).await;
    for seat in &seats[..3] {
        let key = seat.to_string();
        let stolen = retry_5xx(|| {
            app.hold(
                &third,
                Some(&entry),
                event,
                std::slice::from_ref(seat),
                &key,
            )
        })
        .await;
        assert_eq!(
            stolen.status(),
            StatusCode::CONFLICT,
            "seat {seat} sold twice"
        );
    }
    let statuses = app.seat_statuses(event).await;
    let expected = [
        SeatStatus::Reserved,
        SeatStatus::Reserved,
        SeatStatus::Locked,
        SeatStatus::Available,
    ];
    for (seat, status) in seats.iter().zip(expected) {
        assert_eq!(statuses[seat], status, "seat {seat}: {statuses:?}");
    }
    let admin = app.admin().await;
    let stats = stats_until(&app, &admin, event, |s| s["confirmed"] == 1).await;
    assert_eq!(stats["revenue"], 20000);
    assert_eq!(app.outbox("PaymentConfirmed").await, 1);
    drop(revive);
}

/// Kills the master serving the first event `app` creates, 1.5 s after it appears (the
/// rush is under way by then); the guard that starts it again.
async fn kill_the_events_master_soon(app: &TestApp, seed: String) -> Revive {
    let deadline = Instant::now() + Duration::from_secs(30);
    let event = loop {
        let event: Option<Uuid> = sqlx::query_scalar("SELECT id FROM events LIMIT 1")
            .fetch_optional(&app.db)
            .await
            .expect("read events");
        if let Some(event) = event {
            break event;
        }
        assert!(Instant::now() < deadline, "the rush never made its event");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (host, port) = master_of(&seed, &event.to_string()).await;
    eprintln!("killing the master on {host}:{port} mid-rush");
    kill_master(&host, port).await
}

#[tokio::test]
async fn a_rush_keeps_its_checks_while_a_master_is_killed() {
    let Some(url) = cluster_url() else { return };
    let _exclusive = FAILOVER.write().await;
    let app =
        crate::common::spawn_app_with_redis(&url, |c| c.payments.payment_sandbox = true).await;
    let out = std::env::temp_dir().join(format!("urr-loadgen-{}", Uuid::new_v4()));
    let config = urr_loadgen::LoadgenConfig {
        target: app.address.clone(),
        users: 120,
        seats: 50,
        concurrency: 32,
        arrival_secs: 2,
        max_secs: 120,
        accounts: urr_loadgen::Accounts::Provisioned,
        threshold: 15,
        batch: 10,
        tick_ms: 100,
        hold_ttl_secs: 2,
        tier1: true,
        tier1_batch: 30,
        tier1_interval_secs: 1,
        abandon: 0.2,
        sse: 0.3,
        // Buyers wait out the failover (503s, 3 s timeouts) as a browser retrying would;
        // the checks after the rush read the event once it is served again.
        patience_secs: 30,
        progress: false,
        forwarded_for: false,
        out: out.clone(),
        ..urr_loadgen::LoadgenConfig::default()
    };
    let backend = urr_loadgen::Backend {
        db: app.db.clone(),
        keys: app.keys(),
    };
    let seed = urr_kv::conn::cluster_nodes(&url)
        .expect("cluster URL")
        .expect("a cluster")
        .remove(0);
    let rush = urr_loadgen::run(&config, &backend, "Failover rush");
    let kill = kill_the_events_master_soon(&app, seed);
    let (ran, revive) = tokio::join!(rush, kill);
    let (report, _) = ran.expect("the rush runs");
    println!("{}", report.summary());

    // Some calls failed or waited while the replica took over; none of that may oversell,
    // lose a paid sale or let anyone past an earlier place.
    let checks = &report.checks;
    assert_eq!(checks.oversold_api, 0);
    assert_eq!(checks.oversold_postgres, 0);
    assert_eq!(checks.sales_not_confirmed, 0, "a paid sale was lost");
    assert_eq!(checks.fairness.inversions, 0, "admitted out of order");
    assert_eq!(checks.fairness.position_mismatches, 0);
    assert!(checks.passed());
    assert!(report.seats_sold > 0, "{}", report.summary());
    assert_eq!(checks.seats_sold_on_map, report.seats_sold);
    drop(revive);
    let _ = std::fs::remove_dir_all(out);
}
