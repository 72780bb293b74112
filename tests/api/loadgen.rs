//! The load generator against a real node: a small rush through both tiers, holds and
//! sandbox payments, and the checks it reports read back from the system; and the queue
//! log it reads fairness from.

use crate::common::{assert_error, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_loadgen::{Accounts, Backend, LoadgenConfig};
use urr_wire::queue::{QueueLog, QueueLogRecord};
use urr_wire::status::QueueStatus;
use uuid::Uuid;

#[tokio::test]
async fn a_small_rush_sells_every_seat_once_in_tier1_order() {
    let app = spawn_app_with(|c| c.payments.payment_sandbox = true).await;
    let out = std::env::temp_dir().join(format!("urr-loadgen-{}", uuid::Uuid::new_v4()));
    let config = LoadgenConfig {
        target: app.address.clone(),
        users: 120,
        seats: 50,
        concurrency: 32,
        arrival_secs: 1,
        max_secs: 120,
        accounts: Accounts::Provisioned,
        // A real line: 15 shop at once, 10 more every 100 ms.
        threshold: 15,
        batch: 10,
        tick_ms: 100,
        hold_ttl_secs: 2,
        tier1: true,
        tier1_batch: 30,
        tier1_interval_secs: 1,
        abandon: 0.2,
        sse: 0.3,
        progress: false,
        forwarded_for: false,
        out: out.clone(),
        ..LoadgenConfig::default()
    };
    let backend = Backend {
        db: app.db.clone(),
        keys: app.keys(),
    };
    let (report, written) = urr_loadgen::run(&config, &backend, "Loadgen test")
        .await
        .expect("the rush runs");
    println!("{}", report.summary());

    assert!(report.tier1, "the run opened the Tier-1 room");
    assert_eq!(report.seats, 50);
    let checks = &report.checks;
    assert_eq!(checks.oversold_api, 0);
    assert_eq!(checks.oversold_postgres, 0);
    assert_eq!(checks.sales_not_confirmed, 0);
    assert_eq!(checks.fairness.inversions, 0);
    assert_eq!(checks.fairness.position_mismatches, 0);
    assert!(checks.passed());
    // 120 people wanting 1-2 seats each for 50 seats: it sells out, abandoned holds and all.
    assert!(report.sold_out_secs.is_some(), "{}", report.summary());
    assert_eq!(report.seats_sold, 50);
    assert_eq!(checks.seats_sold_on_map, 50);
    assert!(report.abandoned > 0, "some walked away from their holds");
    // What the admission rate alone allows with these people: their walkers' holds
    // (2 s here) can only make it later.
    let ideal = report
        .ideal_sell_out_secs
        .expect("worked out for the run's event");
    let calm = report
        .ideal_without_walkers_secs
        .expect("and as if nobody walked away");
    assert!(calm > 0.0 && calm <= ideal, "{calm} ≤ {ideal}");
    assert!(checks.fairness.admissions >= report.admitted);
    assert!(
        !report.outcomes.contains_key("failed"),
        "{:?}",
        report.failure_examples
    );

    // The system of record agrees, counted here and not by the load generator.
    let sold: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reservation_items i JOIN reservations r ON r.id = i.reservation_id \
         WHERE r.event_id = $1 AND r.status = 'confirmed'",
    )
    .bind(report.event)
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(sold, 50);

    // Latency and statuses per call, the JSON report and the plot.
    let hold = report
        .calls
        .iter()
        .find(|c| c.call == "hold")
        .expect("holds recorded");
    assert!(hold.statuses.get(&201).copied().unwrap_or(0) > 0);
    assert!(hold.p99_ms >= hold.p50_ms && hold.p50_ms > 0.0);
    assert!(report.calls.iter().any(|c| c.call == "vwr_check"));
    // Every admitted person's turn is timed, and the buying calls went by their own lane.
    let turns = report
        .calls
        .iter()
        .find(|c| c.call == "(turn) admitted to done")
        .expect("turns recorded");
    assert_eq!(turns.count, report.admitted);
    assert!(
        report
            .calls
            .iter()
            .any(|c| c.call == "(client) waiting for a buying slot" && c.count >= hold.count)
    );
    assert!(!report.timeline.is_empty());
    let json: Value =
        serde_json::from_slice(&std::fs::read(&written.report).expect("report written"))
            .expect("report is JSON");
    assert_eq!(json["checks"]["oversoldPostgres"], 0);
    let svg = std::fs::read_to_string(&written.plot).expect("plot written");
    assert!(svg.contains("seats sold"));
    let _ = std::fs::remove_dir_all(out);
}

#[tokio::test]
async fn the_queue_log_is_for_operators_and_shows_joins_then_admissions() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(
        &admin,
        event,
        json!({"threshold": 1, "batch": 1, "tickMs": 50}),
    )
    .await;
    let first = app.quick_user("first").await;
    let second = app.quick_user("second").await;
    app.enter(event, &first).await;
    assert_eq!(
        app.queue_check(event, &second).await.status,
        QueueStatus::Queued
    );
    app.post_as(&format!("/api/v1/queue/leave/{event}"), &json!({}), &first)
        .await;
    app.enter(event, &second).await;

    let path = format!("/api/v1/admin/events/{event}/queue/log");
    assert_error(
        app.get_as(&path, &first).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let log: QueueLog = app.get_as(&path, &admin).await.json().await.expect("json");
    assert_eq!(log.event_id, event);
    let kinds: Vec<(&str, Uuid)> = log
        .records
        .iter()
        .map(|record| match *record {
            QueueLogRecord::Joined { user_id, .. } => ("joined", user_id),
            QueueLogRecord::Left { user_id } => ("left", user_id),
            QueueLogRecord::Admitted { user_id } => ("admitted", user_id),
            QueueLogRecord::Dropped { user_id } => ("dropped", user_id),
            QueueLogRecord::Expired { user_id } => ("expired", user_id),
        })
        .collect();
    let (a, b) = (first.user_id, second.user_id);
    // The first was admitted at once (room and nobody waiting): no join record.
    let expected = vec![("admitted", a), ("joined", b), ("left", a), ("admitted", b)];
    assert_eq!(kinds, expected, "{log:?}");
}

/// `urr waiters` against a real node: everyone joins a line that never moves and polls as
/// told; nobody loses their place, and the node's own usage is read from /proc.
#[tokio::test]
async fn waiters_keep_their_places_while_polling_as_told() {
    let app = spawn_app_with(|_| {}).await;
    let out = std::env::temp_dir().join(format!("urr-waiters-{}", uuid::Uuid::new_v4()));
    let config = urr_loadgen::waiters::WaitersConfig {
        target: app.address.clone(),
        users: 60,
        join_rate: 200,
        hold_secs: 3,
        queue_ttl_secs: 30,
        sources: 2,
        connections: 4,
        // The node runs in this test's process.
        node_pid: Some(std::process::id()),
        out: out.clone(),
    };
    let backend = Backend {
        db: app.db.clone(),
        keys: app.keys(),
    };
    let report = urr_loadgen::waiters::run(&config, &backend)
        .await
        .expect("the run");
    println!("{}", report.summary());
    // The first account is the one let in; everyone else waits.
    assert_eq!((report.joined, report.join_failures), (59, 0));
    assert_eq!(report.lost_places, 0);
    // Near the head of the line the node asks for a poll every second.
    assert!(report.polls >= 59, "{}", report.summary());
    assert_eq!(report.poll_failures, 0);
    assert!(report.status_p99_ms > 0.0);
    assert!(report.node_rss_after_mb.is_some_and(|mb| mb > 0.0));
    assert!(out.join("waiters-60.json").exists());
    let _ = std::fs::remove_dir_all(out);
}
