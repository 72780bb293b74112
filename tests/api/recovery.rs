//! A crash loses no queued place and no hold: the actor is killed (and, separately, the
//! whole node restarted) mid-queue with live holds, and everything comes back from the
//! Redis queue log, the Redis locks and Postgres.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::{Session, TestApp, event_body, spawn_app_with};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use urr_actors::ids::{ReservationId, SeatId, UserId};
use urr_actors::ports::{EventStore, LockOutcome};
use urr_actors::queue_log::QueueLogRecord;
use urr_store::event_store::PgRedisEventStore;
use urr_wire::status::{QueueStatus, SeatStatus};
use uuid::Uuid;

struct Scene {
    event: Uuid,
    seats: Vec<Uuid>,
    holder: Session,
    reservation: Uuid,
    waiting: Vec<Session>,
    positions: HashMap<Uuid, u64>,
}

async fn scene(app: &TestApp) -> Scene {
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 6).await;
    let holder = app.quick_user("holder").await;
    let entry = app.enter(event, &holder).await;
    let held = app
        .hold(&holder, Some(&entry), event, &seats[..2], "crash")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let held: Value = held.json().await.expect("json");
    let reservation = held["reservationId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let mut waiting = Vec::new();
    let mut positions = HashMap::new();
    for i in 0..30 {
        let user = app.quick_user(&format!("w{i}")).await;
        let reply = app.queue_check(event, &user).await;
        positions.insert(user.user_id, reply.position.expect("queued"));
        waiting.push(user);
    }
    Scene {
        event,
        seats,
        holder,
        reservation,
        waiting,
        positions,
    }
}

async fn assert_recovered(app: &TestApp, scene: &Scene) {
    for user in &scene.waiting {
        let status = app.queue_status(scene.event, user).await;
        assert_eq!(status.status, QueueStatus::Queued, "{status:?}");
        assert_eq!(
            status.position,
            Some(scene.positions[&user.user_id]),
            "place kept in order"
        );
    }
    let statuses = app.seat_statuses(scene.event).await;
    assert_eq!(statuses[&scene.seats[0]], SeatStatus::Locked);
    assert_eq!(statuses[&scene.seats[1]], SeatStatus::Locked);
    assert_eq!(statuses[&scene.seats[2]], SeatStatus::Available);
    // The restored hold still carries its fencing tokens: it confirms.
    app.state
        .events
        .event(scene.event)
        .confirm(ReservationId::from(scene.reservation))
        .await
        .expect("confirm after recovery");
    let reservation: Value = app
        .get_as(
            &format!("/api/v1/reservations/{}", scene.reservation),
            &scene.holder,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(reservation["status"], "confirmed");
}

fn config(c: &mut urr_http::HttpConfig) {
    c.events.queue_tick_ms = 50;
    c.events.queue_threshold = 1;
    c.events.active_ttl_secs = 600;
    c.events.queue_ttl_secs = 600;
}

#[tokio::test]
async fn killing_the_actor_loses_no_place_and_no_hold() {
    let app = spawn_app_with(config).await;
    let scene = scene(&app).await;
    let event = app.state.events.event(scene.event);
    let killed = event.start().await.expect("actor");
    assert!(event.kill());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fresh = event.start().await.expect("actor");
    assert_ne!(fresh, killed, "a new actor, rebuilt from storage");
    assert_recovered(&app, &scene).await;
}

#[tokio::test]
async fn restarting_the_node_loses_no_place_and_no_hold() {
    let app = spawn_app_with(config).await;
    let scene = scene(&app).await;
    let app = app.restart().await;
    assert_recovered(&app, &scene).await;
}

#[tokio::test]
async fn the_sweeper_expires_holds_that_no_live_actor_owns() {
    let app = spawn_app_with(|c| {
        config(c);
        c.events.hold_ttl_secs = 1;
        c.events.sweep_interval_secs = 1;
        c.events.sweep_grace_secs = 0;
    })
    .await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 2).await;
    let user = app.quick_user("vanishing").await;
    let entry = app.enter(event, &user).await;
    let held: Value = app
        .hold(&user, Some(&entry), event, &seats[..1], "gone")
        .await
        .json()
        .await
        .expect("json");
    let id = held["reservationId"].as_str().expect("id").to_owned();
    // The node's actors stop with the hold live (as when a node dies), and nobody asks
    // for the event again.
    app.state.events.shutdown().await;
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let reservation: Value = app
        .get_as(&format!("/api/v1/reservations/{id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(reservation["status"], "expired");
    assert_eq!(
        reservation["history"]
            .as_array()
            .and_then(|h| h.last())
            .map(|h| h["note"].clone()),
        Some(serde_json::json!("expired by the sweeper")),
        "{reservation}"
    );
    let lock = urr_store::seat_locks::read(&app.kv, event, seats[0])
        .await
        .expect("read");
    assert_eq!(lock, None, "the sweeper freed the Redis lock");
    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .expect("query");
    assert!(per_seat.is_empty());
}

#[tokio::test]
async fn an_idle_actor_stops_and_the_next_request_starts_a_fresh_one() {
    let app = spawn_app_with(|c| {
        config(c);
        c.events.actor_idle_secs = 1;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 2).await;
    let events = app.state.events.event(event);
    let first = events.start().await.expect("actor");
    assert_eq!(events.running_actor(), Some(first));
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(
        events.running_actor().is_none(),
        "nobody waiting, active or holding: the actor stopped"
    );
    let user = app.quick_user("late").await;
    assert_eq!(
        app.queue_check(event, &user).await.status,
        QueueStatus::Active
    );
    let second = events.running_actor().expect("started again");
    assert_ne!(second, first);
}

#[tokio::test]
async fn the_seat_map_stream_outlives_a_crashed_actor() {
    let app = spawn_app_with(config).await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("after-crash").await;
    let entry = app.enter(event, &user).await;
    let response = app
        .get(&format!("/api/v1/seats/events/{event}/stream"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();

    let actor = app.state.events.event(event);
    let crashed = actor.running_actor().expect("running");
    assert!(actor.kill());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while actor.running_actor().is_none_or(|id| id == crashed) {
        assert!(tokio::time::Instant::now() < deadline, "no fresh actor");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = app
        .hold(&user, Some(&entry), event, &seats[..1], "after")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);

    // The open stream tells the page to reload (the seats were rebuilt) and goes on
    // with the new actor's changes.
    let mut text = String::new();
    while !text.contains(&seats[0].to_string()) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("the new actor's change pushed on the open stream")
            .expect("stream open")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: resync"), "{text}");
    assert!(text.contains("event: seat"), "{text}");
    assert!(text.contains("locked"), "{text}");
}

// The node's own runtime: several threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_start_of_one_event_holds_up_no_other_event() {
    let app = spawn_app_with(config).await;
    let admin = app.admin().await;
    let id = |event: Value| -> Uuid {
        event["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("id")
    };
    let slow = id(app.create_event(&admin, &event_body("Long line")).await);
    let quick = id(app.create_event(&admin, &event_body("Short line")).await);

    // A line of 400,000 people, written straight to the slow event's log: its actor
    // replays all of it when it starts.
    let store = PgRedisEventStore::new(app.db.clone(), app.kv.clone(), Default::default());
    let records: Vec<Vec<u8>> = (0..400_000u64)
        .map(|seq| {
            QueueLogRecord::Joined {
                user: UserId::from(Uuid::from_u128(u128::from(seq) + 1)),
                tier1_pos: None,
                seq,
            }
            .encode()
        })
        .collect();
    for chunk in records.chunks(20_000) {
        store.append_queue_log(slow, chunk).await.expect("log");
    }

    let began = Instant::now();
    let slow_event = app.state.events.event(slow);
    let slow_start = tokio::spawn({
        let slow_event = slow_event.clone();
        async move {
            slow_event.start().await.expect("slow start");
            Instant::now()
        }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        slow_event.running_actor().is_none(),
        "the slow event is still starting"
    );
    let overview = app.state.events.event(quick).overview().await;
    let answered = Instant::now();
    assert!(overview.is_ok(), "{overview:?}");
    let started = slow_start.await.expect("joined");
    assert!(
        started - began >= Duration::from_millis(400),
        "the slow start was slow: {:?}",
        started - began
    );
    assert!(
        answered < started && answered - began < (started - began) / 2,
        "the other event answered in {:?}, the slow one started in {:?}",
        answered - began,
        started - began
    );
    let waiting = slow_event.overview().await.expect("overview").queue.waiting;
    assert_eq!(waiting, 400_000);
}

#[tokio::test]
async fn locks_of_a_batch_that_died_before_its_write_are_freed_when_the_actor_restarts() {
    let app = spawn_app_with(config).await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 6).await;
    let holder = app.quick_user("holder").await;
    let entry = app.enter(event, &holder).await;
    // A live hold, and a sale whose Redis half landed before its PostgreSQL half (its
    // lock says sold, its reservation still pending): both must keep their locks.
    let live: Value = app
        .hold(&holder, Some(&entry), event, &seats[..1], "live")
        .await
        .json()
        .await
        .expect("json");
    let live_id: Uuid = live["reservationId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let selling: Value = app
        .hold(&holder, Some(&entry), event, &seats[1..2], "selling")
        .await
        .json()
        .await
        .expect("json");
    let selling_id: Uuid = selling["reservationId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let lock = |seat: Uuid| {
        let app = &app;
        async move {
            urr_store::seat_locks::read(&app.kv, event, seat)
                .await
                .expect("read lock")
        }
    };
    let token: u64 = lock(seats[1])
        .await
        .and_then(|v| v.split('|').nth(1).and_then(|t| t.parse().ok()))
        .expect("token");
    urr_store::seat_locks::confirm(&app.kv, event, None, selling_id, &[(seats[1], token)])
        .await
        .expect("redis")
        .expect("current token");

    // A batch takes its locks as the actor does, then the actor dies before the insert.
    let store = PgRedisEventStore::new(app.db.clone(), app.kv.clone(), Default::default());
    let orphan = ReservationId::from(Uuid::now_v7());
    let locked = store
        .lock_seats(
            event,
            &[(orphan, vec![SeatId::from(seats[2]), SeatId::from(seats[3])])],
            Duration::from_secs(330),
        )
        .await
        .expect("lock");
    assert!(matches!(locked[..], [LockOutcome::Locked(_)]), "{locked:?}");
    let actor = app.state.events.event(event);
    let crashed = actor.running_actor().expect("running");
    assert!(actor.kill());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while actor.running_actor().is_none_or(|id| id == crashed) {
        assert!(tokio::time::Instant::now() < deadline, "no fresh actor");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The map shows the orphaned seats free, and they can be held at once.
    let statuses = app.seat_statuses(event).await;
    assert_eq!(statuses[&seats[2]], SeatStatus::Available);
    let held = app
        .hold(&holder, Some(&entry), event, &seats[2..4], "after")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    // The live hold's lock and the half-made sale's lock were left alone.
    assert!(
        lock(seats[0])
            .await
            .is_some_and(|v| v.starts_with(&live_id.to_string()))
    );
    assert!(
        lock(seats[1])
            .await
            .is_some_and(|v| v.starts_with(&selling_id.to_string()) && v.ends_with("|sold"))
    );
}
