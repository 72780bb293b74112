//! The Tier-2 queue (`docs/architecture.md#tier-1-and-tier-2`) through the real router, actor, Redis log and Postgres.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::{Session, TestApp, assert_error, spawn_app_with};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_actors::ports::EventStore;
use urr_actors::queue_log::QueueLogRecord;
use urr_store::event_store::PgRedisEventStore;
use urr_wire::queue::QueueReply;
use urr_wire::status::QueueStatus;
use uuid::Uuid;

/// The event's durable queue log, decoded.
async fn queue_log(app: &TestApp, event: Uuid) -> Vec<QueueLogRecord> {
    let store = PgRedisEventStore::new(app.db.clone(), app.kv.clone(), Default::default());
    store
        .load_queue_log(event)
        .await
        .expect("log")
        .iter()
        .map(|bytes| QueueLogRecord::decode(bytes).expect("decodes"))
        .collect()
}

async fn users(app: &TestApp, n: usize) -> Vec<Session> {
    futures::stream::iter(0..n)
        .map(|i| async move { app.quick_user(&format!("q{i}")).await })
        .buffered(32)
        .collect()
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_joins_are_admitted_in_join_order() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 100;
        c.events.queue_batch = 50;
        c.events.active_ttl_secs = 1;
        c.events.queue_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 10).await;
    let people = users(&app, 2000).await;

    let replies: Vec<QueueReply> = futures::stream::iter(people.iter())
        .map(|user| app.queue_check(event, user))
        .buffer_unordered(100)
        .collect()
        .await;
    for reply in &replies {
        match reply.status {
            QueueStatus::Active => assert!(reply.entry_token.is_some()),
            QueueStatus::Queued => {
                assert!(reply.entry_token.is_none(), "no token while queued");
                assert!(reply.position.is_some_and(|p| p >= 1));
                assert!((1..=60).contains(&reply.next_poll));
            }
            other => panic!("unexpected status {other:?}: {reply:?}"),
        }
    }

    // Watch a sample until everyone has been admitted: positions never go up, and no
    // one is admitted while someone who joined earlier still waits.
    let log = queue_log(&app, event).await;
    let join_order: HashMap<Uuid, usize> = log
        .iter()
        .filter_map(|r| match r {
            QueueLogRecord::Joined { user, .. } | QueueLogRecord::Admitted { user } => Some(user.0),
            _ => None,
        })
        .fold(HashMap::new(), |mut order, user| {
            let next = order.len();
            order.entry(user).or_insert(next);
            order
        });
    assert_eq!(join_order.len(), 2000, "every join is in the durable log");
    let mut sample: Vec<&Session> = people.iter().step_by(20).collect();
    sample.sort_by_key(|s| join_order[&s.user_id]);
    let mut last_position: HashMap<Uuid, u64> = HashMap::new();
    let mut admitted = vec![false; sample.len()];
    for _ in 0..400 {
        for i in 0..sample.len() {
            if admitted[i] {
                continue;
            }
            let status = app.queue_status(event, sample[i]).await;
            if status.status == QueueStatus::Queued {
                let position = status.position.expect("position");
                if let Some(before) = last_position.insert(sample[i].user_id, position) {
                    assert!(
                        position <= before,
                        "position went up: {before} -> {position}"
                    );
                }
                assert!(status.entry_token.is_none());
                continue;
            }
            // Admitted (active, or already expired: the active TTL is short here). Then
            // nobody who joined earlier may still be waiting, now or ever after.
            admitted[i] = true;
            for j in 0..i {
                if !admitted[j] {
                    let earlier = app.queue_status(event, sample[j]).await;
                    assert_ne!(
                        earlier.status,
                        QueueStatus::Queued,
                        "overtaken by a later joiner"
                    );
                    admitted[j] = true;
                }
            }
        }
        if admitted.iter().all(|a| *a) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted.iter().all(|a| *a), "everyone was admitted");

    // The durable log agrees: admissions are exactly the join order. (The last tick's
    // records are group-committed just after its replies, so give them a moment.)
    let mut admitted: Vec<Uuid> = Vec::new();
    for _ in 0..100 {
        admitted = queue_log(&app, event)
            .await
            .iter()
            .filter_map(|r| match r {
                QueueLogRecord::Admitted { user } => Some(user.0),
                _ => None,
            })
            .collect();
        if admitted.len() >= join_order.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut by_join: Vec<Uuid> = join_order.keys().copied().collect();
    by_join.sort_by_key(|u| join_order[u]);
    assert_eq!(admitted, by_join, "admission order equals join order");
}

#[tokio::test]
async fn tier_one_positions_order_the_queue_and_nobody_overtakes() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 1;
        c.events.queue_batch = 1;
        c.events.active_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 10).await;
    let keys = app.keys();
    // Someone holds the only active slot, so everyone else waits.
    let first = app.quick_user("first").await;
    assert_eq!(
        app.queue_check(event, &first).await.status,
        QueueStatus::Active
    );

    let skipper = app.quick_user("skipper").await;
    let tiered: Vec<(u64, Session)> = {
        let mut v = Vec::new();
        for pos in [5_u64, 3, 9, 1] {
            v.push((pos, app.quick_user(&format!("t{pos}")).await));
        }
        v
    };
    // The user without a Tier-1 token arrives first, the others out of order.
    assert_eq!(app.queue_check(event, &skipper).await.position, Some(1));
    for (pos, user) in &tiered {
        let (token, _) = keys
            .issue_queue(
                &event.to_string(),
                &user.user_id.to_string(),
                urr_auth::Tier::One,
                Some(*pos),
            )
            .unwrap();
        let response = app
            .client
            .post(app.url(&format!("/api/v1/queue/check/{event}?vwrPosition=0")))
            .bearer_auth(&user.access)
            .header("x-vwr-token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut expected: Vec<&Session> = {
        let mut t: Vec<&(u64, Session)> = tiered.iter().collect();
        t.sort_by_key(|(pos, _)| *pos);
        t.into_iter().map(|(_, s)| s).collect()
    };
    expected.push(&skipper);
    for (i, user) in expected.iter().enumerate() {
        let status = app.queue_status(event, user).await;
        assert_eq!(
            status.position,
            Some((i + 1) as u64),
            "{}: {status:?}",
            user.email
        );
    }

    // Admission follows that order: free the slot one at a time and watch who gets in.
    let mut current = first;
    for next in expected {
        let left = app
            .post_as(
                &format!("/api/v1/queue/leave/{event}"),
                &json!({}),
                &current,
            )
            .await;
        assert_eq!(left.status(), StatusCode::OK);
        let token = app.enter(event, next).await;
        assert!(!token.is_empty());
        current = next.clone();
    }

    // Forged or someone else's Tier-1 token is refused, and changes nothing.
    let late = app.quick_user("late").await;
    let (someone_elses, _) = keys
        .issue_queue(
            &event.to_string(),
            &Uuid::new_v4().to_string(),
            urr_auth::Tier::One,
            Some(0),
        )
        .unwrap();
    let forged = urr_auth::TokenKeys::new(b"forged")
        .issue_queue(
            &event.to_string(),
            &late.user_id.to_string(),
            urr_auth::Tier::One,
            Some(0),
        )
        .unwrap()
        .0;
    for token in [someone_elses, forged] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/queue/check/{event}")))
            .bearer_auth(&late.access)
            .header("x-vwr-token", token)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(
        app.queue_status(event, &late).await.status,
        QueueStatus::Absent
    );
}

#[tokio::test]
async fn leave_and_a_stale_heartbeat_remove_a_user() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 1;
        c.events.queue_ttl_secs = 1;
        c.events.active_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    let (a, b, c, d) = (
        app.quick_user("a").await,
        app.quick_user("b").await,
        app.quick_user("c").await,
        app.quick_user("d").await,
    );
    assert_eq!(app.queue_check(event, &a).await.status, QueueStatus::Active);
    assert_eq!(app.queue_check(event, &b).await.position, Some(1));
    assert_eq!(app.queue_check(event, &c).await.position, Some(2));
    assert_eq!(app.queue_check(event, &d).await.position, Some(3));
    // Checking in again keeps the place.
    assert_eq!(app.queue_check(event, &c).await.position, Some(2));

    let left: Value = app
        .post_as(&format!("/api/v1/queue/leave/{event}"), &json!({}), &b)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(left["left"], true);
    assert_eq!(
        app.queue_status(event, &b).await.status,
        QueueStatus::Absent
    );
    assert_eq!(app.queue_status(event, &c).await.position, Some(1));

    // c keeps heartbeating, d does not: after the queue TTL only d is gone.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let beat = app
            .post_as(&format!("/api/v1/queue/heartbeat/{event}"), &json!({}), &c)
            .await;
        assert_eq!(beat.status(), StatusCode::OK);
    }
    assert_eq!(
        app.queue_status(event, &c).await.status,
        QueueStatus::Queued
    );
    assert_eq!(
        app.queue_status(event, &d).await.status,
        QueueStatus::Absent
    );
}

#[tokio::test]
async fn the_stream_pushes_positions_then_admission() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 1;
        c.events.active_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    let first = app.quick_user("first").await;
    let second = app.quick_user("second").await;
    app.queue_check(event, &first).await;
    assert_eq!(
        app.queue_check(event, &second).await.status,
        QueueStatus::Queued
    );

    let response = app
        .get_as(&format!("/api/v1/queue/stream/{event}"), &second)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut body = response.bytes_stream();
    let mut text = String::new();
    // Let the first user go; the stream must then announce the admission by itself.
    let left = app
        .post_as(&format!("/api/v1/queue/leave/{event}"), &json!({}), &first)
        .await;
    assert_eq!(left.status(), StatusCode::OK);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("event: admitted") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("admission pushed in time")
            .expect("stream open")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: position"), "{text}");
    assert!(text.contains("entryToken"), "{text}");

    let stranger = app.quick_user("stranger").await;
    let refused = app
        .get_as(&format!("/api/v1/queue/stream/{event}"), &stranger)
        .await;
    assert_error(refused, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn queue_calls_on_unknown_or_closed_events_are_clear_errors() {
    let app = spawn_app_with(|_| {}).await;
    let admin = app.admin().await;
    let user = app.quick_user("u").await;
    let unknown = app
        .post_as(
            &format!("/api/v1/queue/check/{}", Uuid::new_v4()),
            &json!({}),
            &user,
        )
        .await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let bad_id = app
        .post_as("/api/v1/queue/check/123", &json!({}), &user)
        .await;
    assert_error(bad_id, StatusCode::BAD_REQUEST, "invalid_input").await;
    let mut body = crate::common::event_body("Later");
    body["status"] = json!("upcoming");
    let later = app.create_event(&admin, &body).await;
    let closed = app
        .post_as(
            &format!("/api/v1/queue/check/{}", later["id"].as_str().unwrap()),
            &json!({}),
            &user,
        )
        .await;
    assert_error(closed, StatusCode::CONFLICT, "not_on_sale").await;
    let anonymous = app
        .client
        .post(app.url(&format!(
            "/api/v1/queue/check/{}",
            later["id"].as_str().unwrap()
        )))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn a_confirmed_purchase_hands_the_buyers_turn_to_the_next_in_line_at_once() {
    // One tick an hour: whatever is admitted after the first is admitted between ticks.
    let app = spawn_app_with(|c| {
        c.payments.payment_sandbox = true;
        c.events.queue_tick_ms = 3_600_000;
        c.events.active_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(&admin, event, json!({"threshold": 1}))
        .await;
    let buyer = app.quick_user("buyer").await;
    let next = app.quick_user("next").await;
    let last = app.quick_user("last").await;
    let entry = app.enter(event, &buyer).await;
    for waiting in [&next, &last] {
        assert_eq!(
            app.queue_check(event, waiting).await.status,
            QueueStatus::Queued
        );
    }
    let held = app
        .hold(&buyer, Some(&entry), event, &seats[..1], "freed")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let held: Value = held.json().await.expect("json");
    // Still the buyer's turn while they pay: the next person waits.
    assert_eq!(
        app.queue_status(event, &next).await.status,
        QueueStatus::Queued
    );
    let paid = app
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": held["reservationId"], "method": "kakaopay"}),
            &buyer,
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    // The buyer's turn ended with the sale, not when their 10-minute admission lapses:
    // the head of the line is in already, not at the next tick an hour away; the one
    // behind still waits (room for one).
    assert_eq!(
        app.queue_status(event, &buyer).await.status,
        QueueStatus::Absent
    );
    assert_eq!(
        app.queue_status(event, &next).await.status,
        QueueStatus::Active
    );
    assert_eq!(
        app.queue_status(event, &last).await.status,
        QueueStatus::Queued
    );
    // Someone active leaving frees their place the same way.
    let left = app
        .post_as(&format!("/api/v1/queue/leave/{event}"), &json!({}), &next)
        .await;
    assert_eq!(left.status(), StatusCode::OK);
    assert_eq!(
        app.queue_status(event, &last).await.status,
        QueueStatus::Active
    );
}

#[tokio::test]
async fn polling_as_told_keeps_the_place_without_heartbeats() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 1;
        c.events.queue_ttl_secs = 3;
        c.events.active_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    let (first, poller, silent) = (
        app.quick_user("first").await,
        app.quick_user("poller").await,
        app.quick_user("silent").await,
    );
    assert_eq!(
        app.queue_check(event, &first).await.status,
        QueueStatus::Active
    );
    let placed = app.queue_check(event, &poller).await;
    assert_eq!(placed.position, Some(1));
    // Never told to wait longer than a third of the queue's patience.
    assert_eq!(placed.next_poll, 1);
    app.queue_check(event, &silent).await;

    // Five seconds of status polls at the pace given, and no heartbeat at all.
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let status = app.queue_status(event, &poller).await;
        assert_eq!(status.status, QueueStatus::Queued, "{status:?}");
        assert_eq!(status.position, Some(1));
    }
    assert_eq!(
        app.queue_status(event, &silent).await.status,
        QueueStatus::Absent
    );
}

#[tokio::test]
async fn the_stream_outlives_a_crashed_actor_and_still_announces_the_admission() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 1;
        c.events.active_ttl_secs = 600;
        c.events.queue_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    let first = app.quick_user("first").await;
    let second = app.quick_user("second").await;
    app.queue_check(event, &first).await;
    assert_eq!(
        app.queue_check(event, &second).await.status,
        QueueStatus::Queued
    );
    let response = app
        .get_as(&format!("/api/v1/queue/stream/{event}"), &second)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while !text.contains("event: position") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("first position in time")
            .expect("stream open")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }

    // The actor crashes under the open stream; the directory starts a fresh one.
    let actor = app.state.events.event(event);
    let crashed = actor.running_actor().expect("running");
    assert!(actor.kill());
    while actor.running_actor().is_none_or(|id| id == crashed) {
        assert!(tokio::time::Instant::now() < deadline, "no fresh actor");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left = app
        .post_as(&format!("/api/v1/queue/leave/{event}"), &json!({}), &first)
        .await;
    assert_eq!(left.status(), StatusCode::OK);

    // The stream the browser keeps open hears the new actor admit its user.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    text.clear();
    while !text.contains("event: admitted") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("admission pushed on the open stream after the restart")
            .expect("stream open")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("entryToken"), "{text}");
}

/// The event's status as the catalog shows it.
async fn event_status(app: &TestApp, event: Uuid) -> String {
    let detail: Value = app
        .get(&format!("/api/v1/events/{event}"))
        .await
        .json()
        .await
        .expect("event json");
    detail["status"].as_str().expect("status").to_owned()
}

/// Waits (a few seconds at most) for the catalog to show `status`.
async fn wait_for_status(app: &TestApp, event: Uuid, status: &str) {
    for _ in 0..100 {
        if event_status(app, event).await == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the event never became {status}");
}

#[tokio::test]
async fn a_sold_out_event_says_so_admits_nobody_and_reopens_on_a_refund() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.active_ttl_secs = 600;
        c.events.queue_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    // Two seats and nothing else to sell.
    let mut body = crate::common::event_body("Two seats");
    body["ticketTypes"] = json!([]);
    body["seatLayout"] = json!({"sections": [
        {"name": "A", "rows": 1, "seatsPerRow": 2, "price": 10000}
    ]});
    let created = app.create_event(&admin, &body).await;
    let event: Uuid = created["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let seats: Vec<Uuid> = app.seat_map(event).await.seats().map(|s| s.id).collect();
    app.queue_settings(&admin, event, json!({"threshold": 1, "maxSeatsPerHold": 2}))
        .await;
    let buyer = app.quick_user("buyer").await;
    let waiter = app.quick_user("waiter").await;
    let entry = app.enter(event, &buyer).await;
    assert_eq!(
        app.queue_check(event, &waiter).await.status,
        QueueStatus::Queued
    );
    let held: Value = app
        .hold(&buyer, Some(&entry), event, &seats, "all")
        .await
        .json()
        .await
        .expect("json");
    let reservation: Uuid = held["reservationId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let stream = app
        .get_as(&format!("/api/v1/queue/stream/{event}"), &waiter)
        .await;
    assert_eq!(stream.status(), StatusCode::OK);
    let mut body = stream.bytes_stream();

    // The last seats sell: the buyer's turn ends, but there is nothing to admit anyone to.
    let actor = app.state.events.event(event);
    actor
        .confirm(urr_actors::ids::ReservationId::from(reservation))
        .await
        .expect("confirm");
    wait_for_status(&app, event, "sold_out").await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let raw: Value = app
            .get_as(&format!("/api/v1/queue/status/{event}"), &waiter)
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(raw["status"], "queued", "nobody is admitted: {raw}");
        assert_eq!(raw["soldOut"], true, "{raw}");
        assert!(raw.get("entryToken").is_none(), "{raw}");
    }
    let newcomer = app.quick_user("newcomer").await;
    let raw: Value = app
        .post_as(
            &format!("/api/v1/queue/check/{event}"),
            &json!({}),
            &newcomer,
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(raw["status"], "queued", "room, but nothing to sell: {raw}");
    assert_eq!(raw["soldOut"], true, "{raw}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while !text.contains("event: sold_out") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("the stream says sold out in time")
            .expect("stream open")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!text.contains("event: admitted"), "{text}");

    // A refund brings the seats back: on sale again, and the line moves in order.
    actor
        .refund(urr_actors::ids::ReservationId::from(reservation))
        .await
        .expect("refund");
    wait_for_status(&app, event, "on_sale").await;
    let token = app.enter(event, &waiter).await;
    assert!(!token.is_empty());
    let reply = app.queue_status(event, &newcomer).await;
    assert_eq!(
        reply.status,
        QueueStatus::Queued,
        "the newcomer still waits its turn"
    );
    let raw: Value = app
        .get_as(&format!("/api/v1/queue/status/{event}"), &newcomer)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(raw["soldOut"], false, "{raw}");
}

#[tokio::test]
async fn nobody_is_told_they_are_admitted_before_the_admission_is_durable() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.queue_threshold = 1;
        c.events.active_ttl_secs = 1;
        c.events.queue_ttl_secs = 600;
    })
    .await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let first = app.quick_user("first").await;
    let second = app.quick_user("second").await;
    assert_eq!(
        app.queue_check(event, &first).await.status,
        QueueStatus::Active
    );
    assert_eq!(
        app.queue_check(event, &second).await.status,
        QueueStatus::Queued
    );

    // The queue log stops taking writes (its key now holds a string), with what it had
    // put aside. The first user's admission lapses and the second is admitted, in memory.
    let log_key = app.kv.key(&format!("qlog:{{{event}}}"));
    let saved_key = app.kv.key(&format!("qlog-saved:{{{event}}}"));
    let mut redis = app.kv.conn();
    let _: () = redis::cmd("RENAME")
        .arg(&log_key)
        .arg(&saved_key)
        .query_async(&mut redis)
        .await
        .expect("set the log aside");
    let _: () = redis::cmd("SET")
        .arg(&log_key)
        .arg("not a list")
        .query_async(&mut redis)
        .await
        .expect("break the log");
    let actor = app.state.events.event(event);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let queue = actor.overview().await.expect("overview").queue;
        if queue.waiting == 0 && queue.active == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never admitted: {queue:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Asked meanwhile, the answer is never "admitted": that is not durable.
    for _ in 0..5 {
        let response = app
            .get_as(&format!("/api/v1/queue/status/{event}"), &second)
            .await;
        let status = response.status();
        let raw: Value = response.json().await.expect("json");
        assert!(
            raw.get("entryToken").is_none() && raw["status"] != "active",
            "{status}: {raw}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The node dies before the write lands; the log comes back as it was.
    let crashed = actor.running_actor().expect("running");
    assert!(actor.kill());
    let _: () = redis::cmd("DEL")
        .arg(&log_key)
        .query_async(&mut redis)
        .await
        .expect("drop the broken key");
    let _: () = redis::cmd("RENAME")
        .arg(&saved_key)
        .arg(&log_key)
        .query_async(&mut redis)
        .await
        .expect("restore the log");
    let reply = app.queue_status(event, &second).await;
    assert_ne!(actor.running_actor(), Some(crashed));
    assert_eq!(reply.status, QueueStatus::Queued, "back in line: {reply:?}");
    // And in line is where they were: no entry token was ever handed out that would let
    // them past it.
    let entry = app.enter(event, &second).await;
    let held = app
        .hold(&second, Some(&entry), event, &seats[..1], "in-turn")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
}
