//! Payments (SPEC 2.4) against real Postgres and Redis and a local HTTP server speaking
//! the Toss Payments confirm/cancel API.

// Stand-in server and helpers: an unwrap failing here is a test failing, as it should.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::routing::post;
use common::{Session, TestApp, assert_error, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_wire::payments::{ConfirmRequest, PayFor, PaymentView, PreparedPayment};
use urr_wire::reservations::{ReservationDetail, ReservationView};
use urr_wire::stats::{EventStats, StatsOverview};
use urr_wire::status::{PaymentProvider, PaymentStatus, ReservationStatus, SeatStatus};
use uuid::Uuid;

const SECRET: &str = "test_sk_urr";

/// Calls the stand-in received: confirms per order id, cancels per payment key.
#[derive(Default)]
struct Calls {
    confirms: HashMap<String, usize>,
    cancels: HashMap<String, usize>,
}

type Shared = Arc<Mutex<Calls>>;

fn authorised(headers: &HeaderMap) -> bool {
    use base64::Engine;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{SECRET}:"))
    );
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str())
}

async fn toss_confirm(
    State(calls): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (AxumStatus, Json<Value>) {
    if !authorised(&headers) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"})),
        );
    }
    let key = body["paymentKey"].as_str().unwrap_or_default().to_owned();
    let order = body["orderId"].as_str().unwrap_or_default().to_owned();
    *calls
        .lock()
        .unwrap()
        .confirms
        .entry(order.clone())
        .or_default() += 1;
    if key.starts_with("slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    if key.starts_with("lag") {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    if key.starts_with("decline") {
        return (
            AxumStatus::BAD_REQUEST,
            Json(json!({"code": "REJECT_CARD_PAYMENT", "message": "한도초과 혹은 잔액부족"})),
        );
    }
    if key.starts_with("error") {
        return (
            AxumStatus::INTERNAL_SERVER_ERROR,
            Json(json!({"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "oops"})),
        );
    }
    (
        AxumStatus::OK,
        Json(
            json!({"paymentKey": key, "orderId": order, "status": "DONE", "method": "카드",
                    "totalAmount": body["amount"]}),
        ),
    )
}

async fn toss_cancel(
    State(calls): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> (AxumStatus, Json<Value>) {
    if !authorised(&headers) {
        return (
            AxumStatus::UNAUTHORIZED,
            Json(json!({"code": "UNAUTHORIZED_KEY", "message": "bad key"})),
        );
    }
    *calls
        .lock()
        .unwrap()
        .cancels
        .entry(key.clone())
        .or_default() += 1;
    (
        AxumStatus::OK,
        Json(json!({"paymentKey": key, "status": "CANCELED"})),
    )
}

async fn toss() -> (String, Shared) {
    let calls: Shared = Arc::default();
    let router = axum::Router::new()
        .route("/v1/payments/confirm", post(toss_confirm))
        .route("/v1/payments/{key}/cancel", post(toss_cancel))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, calls)
}

async fn app_with(hold_ttl: u64, timeout: u64, sandbox: bool) -> (TestApp, Shared) {
    let (url, calls) = toss().await;
    let app = spawn_app_with(move |c| {
        c.events.queue_tick_ms = 50;
        c.events.hold_ttl_secs = hold_ttl;
        c.payments.toss_base_url = url;
        c.payments.toss_secret_key = Some(SECRET.into());
        c.payments.toss_client_key = "test_ck_urr".into();
        c.payments.payment_timeout_secs = timeout;
        c.payments.payment_sandbox = sandbox;
    })
    .await;
    (app, calls)
}

/// A user holding two seats (20,000 won): the event, the user, the reservation, seats.
async fn held(app: &TestApp) -> (Uuid, Session, Uuid, Vec<Uuid>) {
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("buyer").await;
    let entry = app.enter(event, &user).await;
    let hold: ReservationView = app
        .hold(&user, Some(&entry), event, &seats[..2], "pay")
        .await
        .json()
        .await
        .unwrap();
    (event, user, hold.reservation_id, seats)
}

async fn prepare(app: &TestApp, user: &Session, reservation: &Uuid) -> reqwest::Response {
    let body = PayFor {
        reservation_id: Some(*reservation),
        ..PayFor::default()
    };
    app.post_as(
        "/api/v1/payments/prepare",
        &serde_json::to_value(body).unwrap(),
        user,
    )
    .await
}

/// The order `prepare` opened for the reservation.
async fn prepared_order(app: &TestApp, user: &Session, reservation: &Uuid) -> String {
    let prepared: PreparedPayment = prepare(app, user, reservation).await.json().await.unwrap();
    prepared.order_id
}

async fn confirm(
    app: &TestApp,
    user: &Session,
    key: &str,
    order: &str,
    amount: i64,
) -> reqwest::Response {
    let body = ConfirmRequest {
        payment_key: key.to_owned(),
        order_id: order.to_owned(),
        amount,
    };
    app.post_as(
        "/api/v1/payments/confirm",
        &serde_json::to_value(body).unwrap(),
        user,
    )
    .await
}

async fn reservation(app: &TestApp, user: &Session, id: &Uuid) -> ReservationDetail {
    app.get_as(&format!("/api/v1/reservations/{id}"), user)
        .await
        .json()
        .await
        .unwrap()
}

async fn reservation_status(app: &TestApp, user: &Session, id: &Uuid) -> ReservationStatus {
    reservation(app, user, id).await.reservation.status
}

async fn seat_status(app: &TestApp, event: Uuid, seat: Uuid) -> SeatStatus {
    app.seat_statuses(event).await[&seat]
}

async fn payment(app: &TestApp, user: &Session, order: &str) -> PaymentView {
    app.get_as(&format!("/api/v1/payments/{order}"), user)
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn hold_prepare_confirm_makes_a_confirmed_reservation_and_refund_undoes_it() {
    let (app, calls) = app_with(300, 5, false).await;
    let (event, user, id, seats) = held(&app).await;
    let prepared = prepare(&app, &user, &id).await;
    assert_eq!(prepared.status(), StatusCode::OK);
    let prepared: PreparedPayment = prepared.json().await.unwrap();
    let order = prepared.order_id;
    assert!(
        order.starts_with("ORD_") && order.len() == "ORD_".len() + 13 + 1 + 8,
        "{order}"
    );
    assert_eq!(prepared.amount, 20000);
    assert_eq!(prepared.client_key, "test_ck_urr");
    assert_eq!(prepared.reservation_id, Some(id));
    // Preparing again reuses the open order.
    assert_eq!(prepared_order(&app, &user, &id).await, order);

    let paid = confirm(&app, &user, "ok_key_1", &order, 20000).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: PaymentView = paid.json().await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Done);
    assert_eq!(paid.method.as_deref(), Some("카드"));
    assert_eq!(
        reservation_status(&app, &user, &id).await,
        ReservationStatus::Confirmed
    );
    assert_eq!(
        seat_status(&app, event, seats[0]).await,
        SeatStatus::Reserved
    );
    assert_eq!(app.outbox("PaymentConfirmed").await, 1);
    assert_eq!(app.outbox("ReservationConfirmed").await, 1);
    assert_eq!(calls.lock().unwrap().confirms[&order], 1);

    let refund = app
        .post_as(
            &format!("/api/v1/payments/{order}/refund"),
            &json!({"reason": "can't go"}),
            &user,
        )
        .await;
    assert_eq!(refund.status(), StatusCode::OK);
    let refund: PaymentView = refund.json().await.unwrap();
    assert_eq!(refund.status, PaymentStatus::Refunded);
    assert_eq!(calls.lock().unwrap().cancels["ok_key_1"], 1);
    assert_eq!(
        reservation_status(&app, &user, &id).await,
        ReservationStatus::Cancelled
    );
    assert_eq!(
        seat_status(&app, event, seats[0]).await,
        SeatStatus::Available
    );
    assert_eq!(app.outbox("PaymentRefunded").await, 1);
    assert_eq!(app.outbox("ReservationCancelled").await, 1);
    let twice = app
        .post_as(
            &format!("/api/v1/payments/{order}/refund"),
            &json!({}),
            &user,
        )
        .await;
    assert_error(twice, StatusCode::CONFLICT, "not_pending").await;
    // The seat can be sold again.
    let other = app.quick_user("next").await;
    let entry = app.enter(event, &other).await;
    let rehold = app
        .hold(&other, Some(&entry), event, &seats[..1], "again")
        .await;
    assert_eq!(rehold.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn confirming_twice_charges_once_sequentially_and_concurrently() {
    let (app, calls) = app_with(300, 5, false).await;
    let (_, user, id, _) = held(&app).await;
    let order = prepared_order(&app, &user, &id).await;
    let (a, b, c) = tokio::join!(
        confirm(&app, &user, "ok_key_2", &order, 20000),
        confirm(&app, &user, "ok_key_2", &order, 20000),
        confirm(&app, &user, "ok_key_2", &order, 20000),
    );
    for response in [a, b, c] {
        assert_eq!(response.status(), StatusCode::OK);
        let body: PaymentView = response.json().await.unwrap();
        assert_eq!(body.status, PaymentStatus::Done);
    }
    let later = confirm(&app, &user, "ok_key_2", &order, 20000).await;
    assert_eq!(later.status(), StatusCode::OK);
    assert_eq!(calls.lock().unwrap().confirms[&order], 1, "one charge");
    assert_eq!(app.outbox("PaymentConfirmed").await, 1);
    assert_eq!(app.outbox("ReservationConfirmed").await, 1);
    // A second order for the same reservation cannot be charged either.
    let second = prepare(&app, &user, &id).await;
    assert_error(second, StatusCode::CONFLICT, "not_pending").await;
}

#[tokio::test]
async fn bad_confirmations_are_clear_4xx_and_charge_nothing() {
    let (app, calls) = app_with(300, 5, false).await;
    let (_, user, id, _) = held(&app).await;
    let stranger = app.quick_user("stranger").await;
    let order = prepared_order(&app, &user, &id).await;

    let mismatch = confirm(&app, &user, "ok_key_3", &order, 19999).await;
    assert_error(mismatch, StatusCode::BAD_REQUEST, "amount_mismatch").await;
    let theirs = confirm(&app, &stranger, "ok_key_3", &order, 20000).await;
    assert_error(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let unknown = confirm(&app, &user, "ok_key_3", "ORD_0_deadbeef", 20000).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let negative = confirm(&app, &user, "ok_key_3", &order, -5).await;
    assert_error(negative, StatusCode::BAD_REQUEST, "invalid_input").await;
    let not_mine = prepare(&app, &stranger, &id).await;
    assert_error(not_mine, StatusCode::NOT_FOUND, "not_found").await;
    let junk = app
        .post_as(
            "/api/v1/payments/prepare",
            &json!({"reservationId": "nope"}),
            &user,
        )
        .await;
    assert_error(junk, StatusCode::BAD_REQUEST, "invalid_input").await;
    assert!(
        calls.lock().unwrap().confirms.is_empty(),
        "nothing reached the provider"
    );
    assert_eq!(
        reservation_status(&app, &user, &id).await,
        ReservationStatus::Pending
    );
    assert_eq!(app.outbox("PaymentConfirmed").await, 0);
}

#[tokio::test]
async fn declines_timeouts_and_provider_errors_leave_the_reservation_pending() {
    let (app, _calls) = app_with(300, 1, false).await;
    let (_, user, id, _) = held(&app).await;
    for (key, status, code) in [
        (
            "decline_1",
            StatusCode::UNPROCESSABLE_ENTITY,
            "payment_declined",
        ),
        (
            "slow_1",
            StatusCode::SERVICE_UNAVAILABLE,
            "provider_unavailable",
        ),
        (
            "error_1",
            StatusCode::SERVICE_UNAVAILABLE,
            "provider_unavailable",
        ),
    ] {
        let order = prepared_order(&app, &user, &id).await;
        let response = confirm(&app, &user, key, &order, 20000).await;
        assert_error(response, status, code).await;
        let payment = payment(&app, &user, &order).await;
        assert_eq!(payment.status, PaymentStatus::Failed, "{payment:?}");
        assert_eq!(
            reservation_status(&app, &user, &id).await,
            ReservationStatus::Pending
        );
    }
    assert_eq!(
        app.outbox("PaymentConfirmed").await,
        0,
        "no event claims success"
    );
    // After the failures, a good payment still goes through.
    let order = prepared_order(&app, &user, &id).await;
    let ok = confirm(&app, &user, "ok_key_4", &order, 20000).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        reservation_status(&app, &user, &id).await,
        ReservationStatus::Confirmed
    );
}

fn notes(detail: &ReservationDetail) -> Vec<String> {
    detail.history.iter().map(|h| h.note.clone()).collect()
}

#[tokio::test]
async fn a_late_payment_completes_the_sale_when_the_seats_are_still_free() {
    let (app, calls) = app_with(1, 5, false).await;
    let (event, user, id, seats) = held(&app).await;
    // The provider takes longer than the hold has left: it charges, the hold lapses.
    let order = prepared_order(&app, &user, &id).await;
    let late = confirm(&app, &user, "lag_1", &order, 20000).await;
    assert_eq!(late.status(), StatusCode::OK);
    let late: PaymentView = late.json().await.unwrap();
    assert_eq!(late.status, PaymentStatus::Done);
    assert!(
        !calls.lock().unwrap().cancels.contains_key("lag_1"),
        "not refunded"
    );
    let detail = reservation(&app, &user, &id).await;
    assert_eq!(detail.reservation.status, ReservationStatus::Confirmed);
    let history = notes(&detail);
    assert!(
        history.iter().any(|n| n.contains("hold expired")),
        "{history:?}"
    );
    assert!(
        history.iter().any(|n| n.contains("sale was completed")),
        "{history:?}"
    );
    assert_eq!(
        seat_status(&app, event, seats[0]).await,
        SeatStatus::Reserved
    );
    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .unwrap();
    assert!(per_seat.iter().all(|(_, n)| *n == 1));
}

#[tokio::test]
async fn a_late_payment_is_refunded_when_the_seats_were_taken() {
    let (app, calls) = app_with(1, 5, false).await;
    let (event, user, id, seats) = held(&app).await;
    let rival = app.quick_user("rival").await;
    let rival_entry = app.enter(event, &rival).await;
    let order = prepared_order(&app, &user, &id).await;
    let paying = {
        let app_url = app.url("/api/v1/payments/confirm");
        let client = app.client.clone();
        let access = user.access.clone();
        let order = order.clone();
        tokio::spawn(async move {
            client
                .post(app_url)
                .bearer_auth(access)
                .json(&json!({"paymentKey": "lag_2", "orderId": order, "amount": 20000}))
                .send()
                .await
                .unwrap()
        })
    };
    // While the provider lags, the hold lapses and someone else takes a seat.
    let mut taken = false;
    for _ in 0..25 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let response = app
            .hold(&rival, Some(&rival_entry), event, &seats[..1], "rival")
            .await;
        if response.status() == StatusCode::CREATED {
            taken = true;
            break;
        }
    }
    assert!(taken, "the rival got the seat once the hold lapsed");
    let late = paying.await.unwrap();
    assert_error(late, StatusCode::CONFLICT, "hold_expired").await;
    assert_eq!(
        calls.lock().unwrap().cancels["lag_2"],
        1,
        "refunded at the provider"
    );
    let payment = payment(&app, &user, &order).await;
    assert_eq!(payment.status, PaymentStatus::Refunded);
    let detail = reservation(&app, &user, &id).await;
    assert_ne!(detail.reservation.status, ReservationStatus::Confirmed);
    let history = notes(&detail);
    assert!(
        history.iter().any(|n| n.contains("refunded automatically")),
        "{history:?}"
    );
    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .unwrap();
    assert!(
        per_seat.iter().all(|(_, n)| *n == 1),
        "never sold twice: {per_seat:?}"
    );
    // An expired hold cannot be prepared for payment any more.
    let expired = prepare(&app, &user, &id).await;
    assert_eq!(expired.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn the_sandbox_confirms_at_once_when_enabled() {
    let (app, calls) = app_with(300, 5, true).await;
    let (event, user, id, seats) = held(&app).await;
    let bad = app
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": id, "method": "bitcoin"}),
            &user,
        )
        .await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_input").await;
    let paid = app
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": id, "method": "kakaopay"}),
            &user,
        )
        .await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: PaymentView = paid.json().await.unwrap();
    assert_eq!(paid.status, PaymentStatus::Done);
    assert_eq!(paid.provider, PaymentProvider::Sandbox);
    assert_eq!(
        reservation_status(&app, &user, &id).await,
        ReservationStatus::Confirmed
    );
    assert_eq!(
        seat_status(&app, event, seats[1]).await,
        SeatStatus::Reserved
    );
    let again = app
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": id, "method": "kakaopay"}),
            &user,
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK, "idempotent");
    assert_eq!(app.outbox("PaymentConfirmed").await, 1);
    assert!(
        calls.lock().unwrap().confirms.is_empty(),
        "Toss was not called"
    );

    let (off, _) = app_with(300, 5, false).await;
    let (_, user, id, _) = held(&off).await;
    let refused = off
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": id, "method": "kakaopay"}),
            &user,
        )
        .await;
    assert_error(refused, StatusCode::NOT_FOUND, "method_disabled").await;
}

/// Polls the admin stats of `event` until `check` holds (the bus is asynchronous).
async fn stats_until(
    app: &TestApp,
    admin: &Session,
    event: Uuid,
    check: impl Fn(&EventStats) -> bool,
) -> EventStats {
    let mut last = None;
    for _ in 0..100 {
        let stats: EventStats = app
            .get_as(&format!("/api/v1/stats/events/{event}"), admin)
            .await
            .json()
            .await
            .unwrap();
        if check(&stats) {
            return stats;
        }
        last = Some(stats);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stats never matched: {last:?}");
}

#[tokio::test]
async fn stats_follow_confirmations_and_refunds_through_the_stream() {
    let (app, _calls) = app_with(300, 5, true).await;
    let (event, user, id, _) = held(&app).await;
    let admin = app.admin().await;
    let paid: PaymentView = app
        .post_as(
            "/api/v1/payments/process",
            &json!({"reservationId": id, "method": "transfer"}),
            &user,
        )
        .await
        .json()
        .await
        .unwrap();
    let stats = stats_until(&app, &admin, event, |s| s.confirmed == 1).await;
    assert_eq!(stats.revenue, 20000);
    // The buyer's turn ended with the purchase: nobody is left active.
    assert_eq!(stats.queue.active, 0);

    let order = paid.order_id;
    let refund = app
        .post_as(
            &format!("/api/v1/payments/{order}/refund"),
            &json!({}),
            &user,
        )
        .await;
    assert_eq!(refund.status(), StatusCode::OK);
    let stats = stats_until(&app, &admin, event, |s| s.refunded == 1 && s.cancelled == 1).await;
    assert_eq!(stats.revenue, 0);
    assert_eq!(stats.refunded_amount, 20000);
    assert_eq!(stats.confirmed, 1, "counted once despite redeliveries");

    let overview: StatsOverview = app
        .get_as("/api/v1/stats/overview", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overview.refunded, 1);
    let forbidden = app.get_as("/api/v1/stats/overview", &user).await;
    assert_error(forbidden, StatusCode::FORBIDDEN, "forbidden").await;
}
