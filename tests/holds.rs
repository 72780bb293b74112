//! Seat holds (SPEC 2.3) against real Redis and PostgreSQL: no seat is ever held twice.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{TestApp, assert_error, spawn_app, spawn_app_with};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_actors::event::EventError;
use urr_actors::ids::ReservationId;
use uuid::Uuid;

async fn seat_statuses(app: &TestApp, event: Uuid) -> HashMap<Uuid, String> {
    let map: Value = app
        .get(&format!("/api/v1/seats/events/{event}"))
        .await
        .json()
        .await
        .expect("seat map");
    map["layout"]["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|s| s["rows"].as_array().cloned().unwrap_or_default())
        .flat_map(|r| r["seats"].as_array().cloned().unwrap_or_default())
        .map(|seat| {
            (
                seat["id"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("id"),
                seat["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

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
                let reservation: Uuid = body["reservationId"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .expect("reservation id");
                let got: HashSet<Uuid> = body["seats"]
                    .as_array()
                    .expect("seats")
                    .iter()
                    .filter_map(|s| s["seatId"].as_str().and_then(|s| s.parse().ok()))
                    .collect();
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
    let statuses = seat_statuses(&app, event).await;
    for (seat, status) in &statuses {
        let expected = if held_by.contains_key(seat) {
            "locked"
        } else {
            "available"
        };
        assert_eq!(status, expected, "seat {seat}");
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
    let held: Value = held.json().await.expect("json");
    let id = held["reservationId"].as_str().expect("id").to_owned();
    assert_eq!(seat_statuses(&app, event).await[&seats[0]], "locked");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let statuses = seat_statuses(&app, event).await;
    assert_eq!(statuses[&seats[0]], "available");
    assert_eq!(statuses[&seats[1]], "available");
    let reservation: Value = app
        .get_as(&format!("/api/v1/reservations/{id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(reservation["status"], "expired");

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
    let handle = app.state.events.get(event).await.expect("actor");

    // A normal confirmation: seats become reserved, reservation confirmed.
    let good: Value = app
        .hold(&user, Some(&entry), event, &seats[..1], "good")
        .await
        .json()
        .await
        .expect("json");
    let good_id: Uuid = good["reservationId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    handle
        .confirm(ReservationId::from(good_id))
        .await
        .expect("confirm");
    assert_eq!(seat_statuses(&app, event).await[&seats[0]], "reserved");
    let confirmed: Value = app
        .get_as(&format!("/api/v1/reservations/{good_id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(
        handle.confirm(ReservationId::from(good_id)).await,
        Err(EventError::NotPending),
        "confirming twice does nothing"
    );

    // The lock of a held seat is re-taken elsewhere (as after expiry on another node):
    // the old token must not confirm.
    let stale: Value = app
        .hold(&user, Some(&entry), event, &seats[1..3], "stale")
        .await
        .json()
        .await
        .expect("json");
    let stale_id: Uuid = stale["reservationId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("id");
    urr_store::seat_locks::force_retake(&app.kv, event, seats[2], Uuid::new_v4())
        .await
        .expect("retake");
    let refused = handle.confirm(ReservationId::from(stale_id)).await;
    assert!(
        matches!(&refused, Err(EventError::StaleFencingToken(s)) if s.len() == 1 && s[0].0 == seats[2]),
        "{refused:?}"
    );
    let still: Value = app
        .get_as(&format!("/api/v1/reservations/{stale_id}"), &user)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(still["status"], "pending", "nothing was confirmed");
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
    let held: Value = app
        .hold(&user, Some(&entry), event, &seats[..2], "c")
        .await
        .json()
        .await
        .expect("json");
    let id = held["reservationId"].as_str().expect("id").to_owned();
    assert_eq!(held["totalAmount"], 20000);
    assert_eq!(held["seats"][0]["label"], "A-1-1");

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
    let cancelled: Value = cancelled.json().await.expect("json");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(seat_statuses(&app, event).await[&seats[0]], "available");
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
        .create_event(&admin, &common::event_body("Standing"))
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
        .issue_queue(&other_event.to_string(), &uid, 2, None)
        .unwrap();
    let (other_user_token, _) = keys
        .issue_queue(&event.to_string(), &Uuid::new_v4().to_string(), 2, None)
        .unwrap();
    let (tier1_token, _) = keys
        .issue_queue(&event.to_string(), &uid, 1, Some(1))
        .unwrap();
    let forged = urr_auth::TokenKeys::new(b"forged-secret")
        .issue_queue(&event.to_string(), &uid, 2, None)
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
        seat_statuses(&app, event)
            .await
            .values()
            .all(|s| s == "available")
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
    let held: Value = app
        .hold(&user, Some(&entry), event, &seats[..1], "live")
        .await
        .json()
        .await
        .expect("json");
    let id = held["reservationId"].as_str().expect("id").to_owned();
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
    assert_eq!(app.queue_check(event, &first).await["status"], "active");
    assert_eq!(app.queue_check(event, &second).await["status"], "queued");
    let overview: Value = app.get_as(&path, &admin).await.json().await.expect("json");
    assert_eq!(overview["settings"]["threshold"], 1);
    assert_eq!(overview["settings"]["maxSeatsPerHold"], 2);
    assert_eq!(overview["waiting"], 1);
    assert_eq!(overview["active"], 1);
    assert_eq!(overview["seats"]["available"], 4);

    // The running actor applies the new hold limit at once.
    let entry = app.enter(event, &first).await;
    let map: Value = app
        .get(&format!("/api/v1/seats/events/{event}"))
        .await
        .json()
        .await
        .expect("map");
    let ids: Vec<Uuid> = map["layout"]["sections"][0]["rows"][0]["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["id"].as_str().and_then(|s| s.parse().ok()))
        .collect();
    let three = app
        .hold(&first, Some(&entry), event, &ids[..3], "three")
        .await;
    assert_error(three, StatusCode::BAD_REQUEST, "invalid_input").await;
    let two = app
        .hold(&first, Some(&entry), event, &ids[..2], "two")
        .await;
    assert_eq!(two.status(), StatusCode::CREATED);
}
