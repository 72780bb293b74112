//! Seat holds (`docs/architecture.md#booking`) against real Redis and PostgreSQL: no seat is ever held twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::common::{assert_error, spawn_app, spawn_app_with};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_actors::event::EventError;
use urr_actors::ids::{ReservationId, SeatId, UserId};
use urr_wire::admin::QueueOverview;
use urr_wire::reservations::{ReservationDetail, ReservationView};
use urr_wire::status::{QueueStatus, ReservationStatus, SeatStatus};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_clients_race_for_fifty_seats_and_none_is_sold_twice() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 5, 10).await;
    assert_eq!(seats.len(), 50);
    // The race is about holds, not the queue: let everyone straight in.
    app.queue_settings(
        &admin,
        event,
        json!({"enabled": false, "maxSeatsPerHold": 4}),
    )
    .await;
    let mut users = Vec::new();
    for i in 0..500 {
        users.push(app.quick_user(&format!("racer{i}")).await);
    }
    let results: Vec<(Vec<Uuid>, StatusCode, Value)> =
        futures::stream::iter(users.iter().enumerate())
            .map(|(i, user)| {
                // Single-seat and multi-seat holds over overlapping seats.
                let want: Vec<Uuid> = match i % 3 {
                    0 => vec![seats[i % 50]],
                    1 => vec![seats[i % 50], seats[(i * 7 + 1) % 50]],
                    _ => (0..3).map(|k| seats[(i + k * 11) % 50]).collect(),
                };
                let mut want_dedup = want.clone();
                want_dedup.dedup();
                let app = &app;
                async move {
                    let response = app
                        .hold(user, None, event, &want_dedup, &format!("race-{i}"))
                        .await;
                    let status = response.status();
                    let body: Value = response.json().await.expect("json");
                    (want_dedup, status, body)
                }
            })
            .buffer_unordered(64)
            .collect()
            .await;

    let mut held_by: HashMap<Uuid, Uuid> = HashMap::new();
    let (mut won, mut lost) = (0, 0);
    for (want, status, body) in &results {
        match *status {
            StatusCode::CREATED => {
                won += 1;
                let held: ReservationView =
                    serde_json::from_value(body.clone()).expect("reservation");
                let reservation = held.reservation_id;
                let got: HashSet<Uuid> = held.seats.iter().filter_map(|s| s.seat_id).collect();
                assert_eq!(got, want.iter().copied().collect(), "all or nothing");
                for seat in got {
                    assert!(
                        held_by.insert(seat, reservation).is_none(),
                        "seat {seat} held by two reservations"
                    );
                }
            }
            StatusCode::CONFLICT => {
                lost += 1;
                assert_eq!(body["error"]["code"], "seats_taken", "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(won + lost, 500);
    assert!(won >= 13, "at least a few dozen holds won: {won}");

    // The API's live map agrees: exactly the won seats are locked.
    let statuses = app.seat_statuses(event).await;
    for (seat, status) in &statuses {
        let expected = if held_by.contains_key(seat) {
            SeatStatus::Locked
        } else {
            SeatStatus::Available
        };
        assert_eq!(*status, expected, "seat {seat}");
    }
    // And so does Postgres, the system of record.
    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .expect("query");
    assert_eq!(per_seat.len(), held_by.len());
    assert!(per_seat.iter().all(|(_, n)| *n == 1), "{per_seat:?}");
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_same_reservation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 10).await;
    let user = app.quick_user("idem").await;
    let entry = app.enter(event, &user).await;

    let first = app
        .hold(&user, Some(&entry), event, &seats[..2], "key-1")
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    let again = app
        .hold(&user, Some(&entry), event, &seats[..2], "key-1")
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.expect("json");
    assert_eq!(again["reservationId"], first["reservationId"]);

    // Concurrent retries with one key make one reservation.
    let (a, b, c) = tokio::join!(
        app.hold(&user, Some(&entry), event, &seats[4..5], "key-2"),
        app.hold(&user, Some(&entry), event, &seats[4..5], "key-2"),
        app.hold(&user, Some(&entry), event, &seats[4..5], "key-2"),
    );
    let mut ids = HashSet::new();
    for response in [a, b, c] {
        assert!(response.status().is_success(), "{}", response.status());
        let body: Value = response.json().await.expect("json");
        ids.insert(body["reservationId"].as_str().expect("id").to_owned());
    }
    assert_eq!(ids.len(), 1, "one key, one reservation");
    let mine: Value = app
        .get_as("/api/v1/reservations/my", &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(mine["total"], 2);
}

#[tokio::test]
async fn holds_expire_on_the_actors_clock_and_free_the_seats() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.hold_ttl_secs = 1;
    })
    .await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("slow-payer").await;
    let entry = app.enter(event, &user).await;
    let held = app.hold(&user, Some(&entry), event, &seats[..2], "k").await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let held: ReservationView = held.json().await.expect("json");
    let id = held.reservation_id;
    assert_eq!(
        app.seat_statuses(event).await[&seats[0]],
        SeatStatus::Locked
    );

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let statuses = app.seat_statuses(event).await;
    assert_eq!(statuses[&seats[0]], SeatStatus::Available);
    assert_eq!(statuses[&seats[1]], SeatStatus::Available);
    let reservation: ReservationDetail = app
        .get_as(&format!("/api/v1/reservations/{id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(reservation.reservation.status, ReservationStatus::Expired);

    // The freed seats can be held again.
    let other = app.quick_user("next").await;
    let entry = app.enter(event, &other).await;
    let again = app
        .hold(&other, Some(&entry), event, &seats[..2], "k")
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn confirm_checks_fencing_tokens_and_refuses_a_stale_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("payer").await;
    let entry = app.enter(event, &user).await;
    let handle = app.state.events.event(event);

    // A normal confirmation: seats become reserved, reservation confirmed.
    let good: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[..1], "good")
        .await
        .json()
        .await
        .expect("json");
    let good_id = good.reservation_id;
    handle
        .confirm(ReservationId::from(good_id))
        .await
        .expect("confirm");
    assert_eq!(
        app.seat_statuses(event).await[&seats[0]],
        SeatStatus::Reserved
    );
    let confirmed: ReservationDetail = app
        .get_as(&format!("/api/v1/reservations/{good_id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(confirmed.reservation.status, ReservationStatus::Confirmed);
    assert_eq!(
        handle.confirm(ReservationId::from(good_id)).await,
        Ok(()),
        "confirming twice answers as the first time and changes nothing"
    );
    assert_eq!(
        app.seat_statuses(event).await[&seats[0]],
        SeatStatus::Reserved
    );

    // The lock of a held seat is re-taken elsewhere (as after expiry on another node):
    // the old token must not confirm.
    let stale: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[1..3], "stale")
        .await
        .json()
        .await
        .expect("json");
    let stale_id = stale.reservation_id;
    urr_store::seat_locks::force_retake(&app.kv, event, seats[2], Uuid::new_v4())
        .await
        .expect("retake");
    let refused = handle.confirm(ReservationId::from(stale_id)).await;
    assert!(
        matches!(&refused, Err(EventError::StaleFencingToken(s)) if s.len() == 1 && s[0].0 == seats[2]),
        "{refused:?}"
    );
    let still: ReservationDetail = app
        .get_as(&format!("/api/v1/reservations/{stale_id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        still.reservation.status,
        ReservationStatus::Pending,
        "nothing was confirmed"
    );
    let lock = urr_store::seat_locks::read(&app.kv, event, seats[1])
        .await
        .expect("read");
    assert!(
        lock.is_some_and(|v| !v.ends_with("|sold")),
        "no lock was marked sold"
    );
}

#[tokio::test]
async fn cancel_frees_seats_and_only_the_owner_sees_a_reservation() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("owner").await;
    let other = app.quick_user("other").await;
    let entry = app.enter(event, &user).await;
    let held: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[..2], "c")
        .await
        .json()
        .await
        .expect("json");
    let id = held.reservation_id;
    assert_eq!(held.total_amount, 20000);
    assert_eq!(held.seats[0].label.as_deref(), Some("A-1-1"));

    let theirs = app
        .get_as(&format!("/api/v1/reservations/{id}"), &other)
        .await;
    assert_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let steal = app
        .post_as(
            &format!("/api/v1/reservations/{id}/cancel"),
            &json!({}),
            &other,
        )
        .await;
    assert_error(steal, StatusCode::NOT_FOUND, "not_found").await;

    let cancelled = app
        .post_as(
            &format!("/api/v1/reservations/{id}/cancel"),
            &json!({}),
            &user,
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: ReservationView = cancelled.json().await.expect("json");
    assert_eq!(cancelled.status, ReservationStatus::Cancelled);
    assert_eq!(
        app.seat_statuses(event).await[&seats[0]],
        SeatStatus::Available
    );
    let twice = app
        .post_as(
            &format!("/api/v1/reservations/{id}/cancel"),
            &json!({}),
            &user,
        )
        .await;
    assert_error(twice, StatusCode::CONFLICT, "not_pending").await;
}

#[tokio::test]
async fn counted_tickets_never_oversell() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let event = app
        .create_event(&admin, &crate::common::event_body("Standing"))
        .await;
    let event_id: Uuid = event["id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    let ticket_type = event["ticketTypes"][0]["id"]
        .as_str()
        .expect("type")
        .to_owned();
    app.queue_settings(
        &admin,
        event_id,
        json!({"enabled": false, "maxSeatsPerHold": 4}),
    )
    .await;
    let mut sold = 0;
    for i in 0..40 {
        let user = app.quick_user(&format!("fan{i}")).await;
        let response = app
            .post_as(
                "/api/v1/reservations",
                &json!({"eventId": event_id, "ticketTypeId": ticket_type, "quantity": 3,
                        "idempotencyKey": "t"}),
                &user,
            )
            .await;
        match response.status() {
            StatusCode::CREATED => sold += 3,
            StatusCode::CONFLICT => {
                let body: Value = response.json().await.expect("json");
                assert_eq!(body["error"]["code"], "sold_out");
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(sold, 99, "33 holds of 3 fit in 100, the 34th does not");
}

#[tokio::test]
async fn bad_hold_requests_are_clear_4xx_and_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 10).await;
    let (other_event, _) = app.seated_event(&admin, 1, 2).await;
    let user = app.quick_user("careful").await;
    let entry = app.enter(event, &user).await;
    let keys = app.keys();
    let uid = user.user_id.to_string();

    // Tokens: missing, forged, for another event, for another user, wrong tier, expired.
    let (other_event_token, _) = keys
        .issue_queue(&other_event.to_string(), &uid, urr_auth::Tier::Two, None)
        .unwrap();
    let (other_user_token, _) = keys
        .issue_queue(
            &event.to_string(),
            &Uuid::new_v4().to_string(),
            urr_auth::Tier::Two,
            None,
        )
        .unwrap();
    let (tier1_token, _) = keys
        .issue_queue(&event.to_string(), &uid, urr_auth::Tier::One, Some(1))
        .unwrap();
    let forged = urr_auth::TokenKeys::new(b"forged-secret")
        .issue_queue(&event.to_string(), &uid, urr_auth::Tier::Two, None)
        .unwrap()
        .0;
    let now = chrono::Utc::now().timestamp();
    let expired = keys
        .sign(&json!({"sub": event.to_string(), "uid": uid, "tier": 2, "iat": now - 900, "exp": now - 300}))
        .unwrap();
    let missing = app.hold(&user, None, event, &seats[..1], "a").await;
    assert_error(missing, StatusCode::FORBIDDEN, "entry_token_required").await;
    for token in [
        &other_event_token,
        &other_user_token,
        &tier1_token,
        &forged,
        &expired,
    ] {
        let response = app.hold(&user, Some(token), event, &seats[..1], "a").await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
    }

    // Unknown event, unknown seat, too many seats, duplicates, empty, junk key.
    let unknown_event = app
        .hold(&user, Some(&entry), Uuid::new_v4(), &seats[..1], "b")
        .await;
    assert!(unknown_event.status().is_client_error());
    let unknown_seat = app
        .hold(&user, Some(&entry), event, &[Uuid::new_v4()], "c")
        .await;
    assert_error(unknown_seat, StatusCode::BAD_REQUEST, "invalid_input").await;
    let too_many = app.hold(&user, Some(&entry), event, &seats[..5], "d").await;
    assert_error(too_many, StatusCode::BAD_REQUEST, "invalid_input").await;
    let twice = app
        .hold(&user, Some(&entry), event, &[seats[0], seats[0]], "e")
        .await;
    assert_error(twice, StatusCode::BAD_REQUEST, "invalid_input").await;
    let empty = app.hold(&user, Some(&entry), event, &[], "f").await;
    assert_error(empty, StatusCode::BAD_REQUEST, "invalid_input").await;
    let blank_key = app.hold(&user, Some(&entry), event, &seats[..1], " ").await;
    assert_error(blank_key, StatusCode::BAD_REQUEST, "invalid_input").await;
    let negative = app
        .client
        .post(app.url("/api/v1/reservations"))
        .bearer_auth(&user.access)
        .header("x-queue-entry-token", &entry)
        .json(
            &json!({"eventId": event, "ticketTypeId": Uuid::new_v4(), "quantity": -2,
                      "idempotencyKey": "g"}),
        )
        .send()
        .await
        .unwrap();
    assert_error(negative, StatusCode::BAD_REQUEST, "invalid_input").await;
    let anonymous = app
        .client
        .post(app.url("/api/v1/seats/reserve"))
        .json(&json!({"eventId": event, "seatIds": [seats[0]], "idempotencyKey": "h"}))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;

    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .unwrap();
    assert!(per_seat.is_empty(), "nothing was held: {per_seat:?}");
    assert!(
        app.seat_statuses(event)
            .await
            .values()
            .all(|s| *s == SeatStatus::Available)
    );
}

#[tokio::test]
async fn the_seat_stream_pushes_holds_and_releases_live() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("watcher").await;
    let entry = app.enter(event, &user).await;
    let response = app
        .get(&format!("/api/v1/seats/events/{event}/stream"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let held: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[..1], "live")
        .await
        .json()
        .await
        .expect("json");
    let id = held.reservation_id;
    let cancel = app
        .post_as(
            &format!("/api/v1/reservations/{id}/cancel"),
            &json!({}),
            &user,
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::OK);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(text.contains("locked") && text.contains("available")) {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("changes pushed in time")
            .expect("stream open")
            .expect("chunk");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: seat"), "{text}");
    assert!(text.contains(&seats[0].to_string()), "{text}");
    assert!(
        text.find("locked") < text.find("available"),
        "held, then released: {text}"
    );
}

#[tokio::test]
async fn seat_streams_are_capped_per_caller_and_per_node() {
    let app = spawn_app_with(|c| {
        c.seat_streams_per_caller = 2;
        c.seat_streams_max = 3;
    })
    .await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    let path = format!("/api/v1/seats/events/{event}/stream");
    let (a, b, c) = (
        app.quick_user("a").await,
        app.quick_user("b").await,
        app.quick_user("c").await,
    );
    let a1 = app.get_as(&path, &a).await;
    let a2 = app.get_as(&path, &a).await;
    assert_eq!((a1.status(), a2.status()), (StatusCode::OK, StatusCode::OK));
    let a3 = app.get_as(&path, &a).await;
    assert!(a3.headers().contains_key("retry-after"));
    assert_error(a3, StatusCode::TOO_MANY_REQUESTS, "too_many_streams").await;
    let b1 = app.get_as(&path, &b).await;
    assert_eq!(b1.status(), StatusCode::OK);
    let c1 = app.get_as(&path, &c).await;
    assert!(c1.headers().contains_key("retry-after"));
    assert_error(c1, StatusCode::SERVICE_UNAVAILABLE, "streams_full").await;
    // A client that goes away gives its slot back.
    drop(a1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let again = app.get_as(&path, &c).await;
        if again.status() == StatusCode::OK {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slot never came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop((a2, b1));
}

#[tokio::test]
async fn admins_tune_an_events_queue_and_watch_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, _) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("fan").await;
    let path = format!("/api/v1/admin/events/{event}/queue");

    let refused = app.get_as(&path, &user).await;
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let bad = app
        .client
        .put(app.url(&path))
        .bearer_auth(&admin.access)
        .json(&json!({"threshold": 0}))
        .send()
        .await
        .unwrap();
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_input").await;

    app.queue_settings(
        &admin,
        event,
        json!({"threshold": 1, "batch": 5, "maxSeatsPerHold": 2}),
    )
    .await;
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
    let overview: QueueOverview = app.get_as(&path, &admin).await.json().await.expect("json");
    assert_eq!(overview.settings.threshold, 1);
    assert_eq!(overview.settings.max_seats_per_hold, 2);
    assert_eq!(overview.waiting, 1);
    assert_eq!(overview.active, 1);
    assert_eq!(overview.seats.available, 4);

    // The running actor applies the new hold limit at once.
    let entry = app.enter(event, &first).await;
    let ids: Vec<Uuid> = app.seat_map(event).await.seats().map(|s| s.id).collect();
    let three = app
        .hold(&first, Some(&entry), event, &ids[..3], "three")
        .await;
    assert_error(three, StatusCode::BAD_REQUEST, "invalid_input").await;
    let two = app
        .hold(&first, Some(&entry), event, &ids[..2], "two")
        .await;
    assert_eq!(two.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn lapsed_holds_expire_together_in_one_transaction() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 1000;
        c.events.hold_ttl_secs = 1;
    })
    .await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 10, 30).await;
    // Holds straight through the actor, by people who never queued.
    app.queue_settings(&admin, event, json!({"enabled": false}))
        .await;
    let people: Vec<_> = futures::stream::iter(0..seats.len())
        .map(|i| {
            let app = &app;
            async move { app.quick_user(&format!("lapse{i}")).await }
        })
        .buffered(16)
        .collect()
        .await;
    // Every seat held at once by somebody else, straight through the event's actor.
    let actor = app.state.events.event(event);
    let holds = seats.iter().zip(&people).map(|(&seat, person)| {
        let actor = actor.clone();
        async move {
            actor
                .hold_seats(
                    UserId::from(person.user_id),
                    ReservationId::from(Uuid::now_v7()),
                    vec![SeatId::from(seat)],
                    "lapse".into(),
                )
                .await
                .expect("held")
        }
    });
    let held = futures::future::join_all(holds).await;
    assert_eq!(held.len(), 300);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reservations WHERE event_id = $1 AND status <> 'expired'",
        )
        .bind(event)
        .fetch_one(&app.db)
        .await
        .expect("count");
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} not expired"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Rows changed by one transaction carry its id: the 300 endings took a tick or two,
    // not a transaction each.
    let transactions: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT xmin::text) FROM reservations WHERE event_id = $1",
    )
    .bind(event)
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert!(
        transactions <= 3,
        "{transactions} transactions for 300 expiries"
    );
    let history: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM reservation_history h JOIN reservations r \
         ON r.id = h.reservation_id WHERE r.event_id = $1 AND h.status = 'expired'",
    )
    .bind(event)
    .fetch_one(&app.db)
    .await
    .expect("count");
    assert_eq!(history, 300, "one history line each");
    assert_eq!(
        app.outbox("ReservationExpired").await,
        300,
        "one event each"
    );

    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .expect("query");
    assert!(per_seat.is_empty(), "no live item left");
    let statuses = app.seat_statuses(event).await;
    assert!(
        seats
            .iter()
            .all(|seat| statuses[seat] == SeatStatus::Available)
    );
    for &seat in &seats {
        let lock = urr_store::seat_locks::read(&app.kv, event, seat)
            .await
            .expect("read");
        assert_eq!(lock, None, "the Redis lock of {seat} is freed");
    }
}

#[tokio::test]
async fn an_unknown_word_in_a_status_column_is_a_store_error_not_a_panic() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 2).await;
    let user = app.quick_user("reader").await;
    let entry = app.enter(event, &user).await;
    let held: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[..1], "odd")
        .await
        .json()
        .await
        .expect("json");
    let id = held.reservation_id;
    // The history's status column has no CHECK: a word no code writes can still get in.
    sqlx::query("INSERT INTO reservation_history (reservation_id, status, note) VALUES ($1, 'mystery', 'x')")
        .bind(id)
        .execute(&app.db)
        .await
        .expect("insert");
    let read = urr_store::reservations::history(&app.db, id).await;
    assert!(
        matches!(read, Err(urr_store::StoreError::Database(_))),
        "{read:?}"
    );
    let response = app
        .get_as(&format!("/api/v1/reservations/{id}"), &user)
        .await;
    assert_error(response, StatusCode::INTERNAL_SERVER_ERROR, "internal").await;
    // Everything else about the reservation still reads.
    let mine = app.get_as("/api/v1/reservations/my", &user).await;
    assert_eq!(mine.status(), StatusCode::OK);
}

/// An on-sale event selling `capacity` counted tickets of one type, its queue off; its id
/// and the type's id.
async fn counted_event(app: &crate::common::TestApp, capacity: u32) -> (Uuid, Uuid) {
    let admin = app.admin().await;
    let mut body = crate::common::event_body("Standing");
    body["ticketTypes"][0]["quantity"] = json!(capacity);
    let event = app.create_event(&admin, &body).await;
    let id = |v: &Value| -> Uuid { v.as_str().and_then(|s| s.parse().ok()).expect("id") };
    let (event_id, ticket_type) = (id(&event["id"]), id(&event["ticketTypes"][0]["id"]));
    app.queue_settings(&admin, event_id, json!({"enabled": false}))
        .await;
    (event_id, ticket_type)
}

async fn hold_tickets(
    app: &crate::common::TestApp,
    user: &crate::common::Session,
    event: Uuid,
    ticket_type: Uuid,
    quantity: u32,
) -> reqwest::Response {
    app.post_as(
        "/api/v1/reservations",
        &json!({"eventId": event, "ticketTypeId": ticket_type, "quantity": quantity,
                "idempotencyKey": Uuid::new_v4().to_string()}),
        user,
    )
    .await
}

async fn reservation_status(app: &crate::common::TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1")
        .bind(id)
        .fetch_one(&app.db)
        .await
        .expect("reservation row")
}

#[tokio::test]
async fn confirming_a_counted_sale_twice_keeps_it_sold() {
    let app = spawn_app().await;
    let (event, ticket_type) = counted_event(&app, 1).await;
    let buyer = app.quick_user("buyer").await;
    let held = hold_tickets(&app, &buyer, event, ticket_type, 1).await;
    assert_eq!(held.status(), StatusCode::CREATED);
    let held: ReservationView = held.json().await.expect("json");
    let id = ReservationId::from(held.reservation_id);
    let actor = app.state.events.event(event);

    // The payment's confirmation, then the ticket consumer's repeat of it.
    assert_eq!(actor.confirm(id).await, Ok(()));
    assert_eq!(actor.confirm(id).await, Ok(()), "a repeat changes nothing");
    assert_eq!(
        reservation_status(&app, held.reservation_id).await,
        "confirmed"
    );

    // The one ticket is still sold: the actor refuses the next hold itself.
    let late = app.quick_user("late").await;
    let refused = hold_tickets(&app, &late, event, ticket_type, 1).await;
    assert_error(refused, StatusCode::CONFLICT, "sold_out").await;
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations WHERE event_id = $1")
        .bind(event)
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(pending, 1, "the refused hold wrote nothing");
}

#[tokio::test]
async fn a_lapsed_ticket_hold_is_refused_before_anything_commits() {
    let app = spawn_app_with(|c| {
        c.events.hold_ttl_secs = 1;
        // No tick sweeps the lapsed hold during the test: confirm meets it first.
        c.events.queue_tick_ms = 60_000;
    })
    .await;
    let (event, ticket_type) = counted_event(&app, 5).await;
    let buyer = app.quick_user("slow").await;
    let held: ReservationView = hold_tickets(&app, &buyer, event, ticket_type, 2)
        .await
        .json()
        .await
        .expect("json");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let confirmed = app
        .state
        .events
        .event(event)
        .confirm(ReservationId::from(held.reservation_id))
        .await;
    assert_eq!(confirmed, Err(EventError::HoldExpired));
    assert_eq!(
        reservation_status(&app, held.reservation_id).await,
        "pending",
        "no sale was recorded for a lapsed hold"
    );
}

#[tokio::test]
async fn not_pending_is_settled_by_what_postgres_records() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(&admin, event, json!({"enabled": false}))
        .await;
    let user = app.quick_user("buyer").await;
    let hold = |seat: Uuid, key: &'static str| {
        let (app, user) = (&app, &user);
        async move {
            let held: ReservationView = app
                .hold(user, None, event, &[seat], key)
                .await
                .json()
                .await
                .expect("json");
            held.reservation_id
        }
    };
    let (sold, lapsed) = (hold(seats[0], "sold").await, hold(seats[1], "lapsed").await);
    // PostgreSQL records a sale the actor never heard of (a confirmation whose commit
    // landed while its answer was lost), and an ending it never heard of.
    sqlx::query("UPDATE reservations SET status = 'confirmed' WHERE id = $1")
        .bind(sold)
        .execute(&app.db)
        .await
        .expect("confirm behind the actor");
    sqlx::query("UPDATE reservations SET status = 'expired' WHERE id = $1")
        .bind(lapsed)
        .execute(&app.db)
        .await
        .expect("expire behind the actor");
    sqlx::query("UPDATE reservation_items SET live = false WHERE reservation_id = $1")
        .bind(lapsed)
        .execute(&app.db)
        .await
        .expect("expire behind the actor");

    let actor = app.state.events.event(event);
    assert_eq!(actor.confirm(ReservationId::from(sold)).await, Ok(()));
    assert_eq!(actor.confirm(ReservationId::from(sold)).await, Ok(()));
    assert_eq!(
        actor.confirm(ReservationId::from(lapsed)).await,
        Err(EventError::NotPending)
    );
    let statuses = app.seat_statuses(event).await;
    assert_eq!(
        statuses[&seats[0]],
        SeatStatus::Reserved,
        "memory follows the sale"
    );
    assert_eq!(statuses[&seats[1]], SeatStatus::Available, "and the ending");
    // The sold seat is not for sale again; the ended one is.
    let other = app.quick_user("other").await;
    let taken = app.hold(&other, None, event, &seats[..1], "again").await;
    assert_error(taken, StatusCode::CONFLICT, "seats_taken").await;
    let free = app.hold(&other, None, event, &seats[1..2], "free").await;
    assert_eq!(free.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn one_person_holds_at_most_the_per_user_limit_across_holds() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 10).await;
    // The per-user limit defaults to the per-hold one.
    app.queue_settings(&admin, event, json!({"maxSeatsPerHold": 2}))
        .await;
    let user = app.quick_user("greedy").await;
    let entry = app.enter(event, &user).await;
    let first: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[..1], "a")
        .await
        .json()
        .await
        .expect("json");
    let second: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[1..2], "b")
        .await
        .json()
        .await
        .expect("json");
    let third = app
        .hold(&user, Some(&entry), event, &seats[2..3], "c")
        .await;
    assert_error(third, StatusCode::CONFLICT, "user_limit_reached").await;

    // A cancelled hold gives its room back; a sale keeps it.
    let cancelled = app
        .post_as(
            &format!("/api/v1/reservations/{}/cancel", second.reservation_id),
            &json!({}),
            &user,
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let again = app
        .hold(&user, Some(&entry), event, &seats[3..4], "d")
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    app.state
        .events
        .event(event)
        .confirm(ReservationId::from(first.reservation_id))
        .await
        .expect("confirm");
    let more = app
        .hold(&user, Some(&entry), event, &seats[4..5], "e")
        .await;
    assert_error(more, StatusCode::CONFLICT, "user_limit_reached").await;

    // Others are not limited by it.
    let other = app.quick_user("other").await;
    let entry = app.enter(event, &other).await;
    let theirs = app
        .hold(&other, Some(&entry), event, &seats[5..7], "f")
        .await;
    assert_eq!(theirs.status(), StatusCode::CREATED);
    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .expect("query");
    assert_eq!(per_seat.len(), 4, "2 of the greedy one's, 2 of the other's");
}

#[tokio::test]
async fn an_entry_token_that_outlives_the_turn_holds_nothing() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.events.active_ttl_secs = 1;
    })
    .await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;

    // Left the line: the token is still signed and unexpired, the turn is over.
    let leaver = app.quick_user("leaver").await;
    let entry = app.enter(event, &leaver).await;
    let left = app
        .post_as(&format!("/api/v1/queue/leave/{event}"), &json!({}), &leaver)
        .await;
    assert_eq!(left.status(), StatusCode::OK);
    let refused = app
        .hold(&leaver, Some(&entry), event, &seats[..1], "after-leaving")
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "not_admitted").await;

    // Admitted, then silent past the admission's life.
    let idle = app.quick_user("idle").await;
    let entry = app.enter(event, &idle).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let refused = app
        .hold(&idle, Some(&entry), event, &seats[..1], "after-lapsing")
        .await;
    assert_error(refused, StatusCode::FORBIDDEN, "not_admitted").await;

    // Back through the queue, either of them may hold again.
    let entry = app.enter(event, &idle).await;
    let held = app
        .hold(&idle, Some(&entry), event, &seats[..1], "in-turn")
        .await;
    assert_eq!(held.status(), StatusCode::CREATED);
    assert!(
        urr_store::reservations::live_holders_per_seat(&app.db, event)
            .await
            .expect("query")
            .len()
            == 1,
        "only the hold made in turn"
    );
}

#[tokio::test]
async fn operators_set_the_per_user_limit_apart_from_the_per_hold_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 10).await;
    let settings = app
        .put_as(
            &format!("/api/v1/admin/events/{event}/queue"),
            &json!({"maxSeatsPerHold": 2, "maxSeatsPerUser": 3}),
            &admin,
        )
        .await;
    assert_eq!(settings.status(), StatusCode::OK);
    let view: urr_wire::admin::QueueSettingsView = settings.json().await.expect("json");
    assert_eq!((view.max_seats_per_hold, view.max_seats_per_user), (2, 3));
    let refused = app
        .put_as(
            &format!("/api/v1/admin/events/{event}/queue"),
            &json!({"maxSeatsPerUser": 0}),
            &admin,
        )
        .await;
    assert_error(refused, StatusCode::BAD_REQUEST, "invalid_input").await;

    let user = app.quick_user("three").await;
    let entry = app.enter(event, &user).await;
    let two = app.hold(&user, Some(&entry), event, &seats[..2], "a").await;
    assert_eq!(two.status(), StatusCode::CREATED);
    let one_more = app
        .hold(&user, Some(&entry), event, &seats[2..3], "b")
        .await;
    assert_eq!(one_more.status(), StatusCode::CREATED);
    let over = app
        .hold(&user, Some(&entry), event, &seats[3..4], "c")
        .await;
    assert_error(over, StatusCode::CONFLICT, "user_limit_reached").await;
}

/// The gate keeps an event's queue settings for a moment instead of reading them on every
/// hold (`docs/architecture.md#gate-rules`): a change made behind the node's back waits
/// for that moment, a change through the node's admin API applies to the next hold.
#[tokio::test]
async fn the_gate_rereads_queue_settings_after_an_admin_change_and_otherwise_keeps_them() {
    let app = spawn_app_with(|c| c.events.gate_rules_ttl_ms = 600_000).await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    app.queue_settings(&admin, event, json!({"enabled": false}))
        .await;
    let buyer = app.quick_user("gated").await;
    let held = app.hold(&buyer, None, event, &seats[..1], "open").await;
    assert_eq!(held.status(), StatusCode::CREATED, "the queue is off");

    // Switched on in PostgreSQL alone: this node still holds what it read.
    let mut on = app.state.queue_defaults;
    on.enabled = true;
    urr_store::queue_settings::put(&app.db, event, &on)
        .await
        .expect("put");
    let kept = app.hold(&buyer, None, event, &seats[1..2], "kept").await;
    assert_eq!(
        kept.status(),
        StatusCode::CREATED,
        "read a moment ago, kept"
    );

    // Switched on through the admin API: the next hold needs an entry token.
    app.queue_settings(&admin, event, json!({"enabled": true}))
        .await;
    let refused = app.hold(&buyer, None, event, &seats[2..3], "gated").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// The event's actor writes on connections of its own (`docs/architecture.md#the-writers-lane`):
/// with every connection of the request handlers' pool lent out, as in a rush, a hold and
/// its sale still commit at once instead of queueing behind the handlers.
#[tokio::test]
async fn an_events_writes_do_not_wait_for_the_handlers_pool() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("buyer").await;
    app.enter(event, &user).await;
    let actor = app.state.events.event(event);

    let mut lent = Vec::new();
    for _ in 0..app.db.options().get_max_connections() {
        lent.push(app.db.acquire().await.expect("lend a connection"));
    }
    assert!(
        tokio::time::timeout(Duration::from_millis(200), app.db.acquire())
            .await
            .is_err(),
        "the handlers' pool has nothing left to lend"
    );
    let reservation = ReservationId::from(Uuid::now_v7());
    let quick = Duration::from_secs(2);
    let held = tokio::time::timeout(
        quick,
        actor.hold_seats(
            UserId::from(user.user_id),
            reservation,
            vec![SeatId::from(seats[0])],
            "k".into(),
        ),
    )
    .await
    .expect("the hold did not wait for the handlers' pool");
    assert!(held.is_ok(), "held: {held:?}");
    let sold = tokio::time::timeout(quick, actor.confirm(reservation))
        .await
        .expect("the sale did not wait for the handlers' pool");
    assert_eq!(sold, Ok(()));
    drop(lent);

    assert_eq!(reservation_status(&app, reservation.0).await, "confirmed");
    assert_eq!(
        app.seat_statuses(event).await[&seats[0]],
        SeatStatus::Reserved
    );
}
