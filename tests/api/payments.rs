//! Payments (`docs/architecture.md#money`) against real Postgres and Redis and a local HTTP server speaking
//! the Toss Payments API (`payments/toss.rs`). How charges with no verdict, cut-off
//! settlements and refunds end: `payments/settlement.rs`.

// Stand-in server and helpers: an unwrap failing here is a test failing, as it should.
#![allow(clippy::unwrap_used)]

#[path = "payments/private_redis.rs"]
mod private_redis;
#[path = "payments/settlement.rs"]
mod settlement;
#[path = "payments/toss.rs"]
pub(crate) mod toss;

use std::time::Duration;

use crate::common::{Session, TestApp, assert_error, spawn_app_with, spawn_app_with_redis};
use reqwest::StatusCode;
use serde_json::{Value, json};
use toss::Shared;
use urr_http::HttpConfig;
use uuid::Uuid;

/// The node every payment test runs: Toss at the stand-in, the reconciler looking every
/// 100 ms and stepping in after a second of grace.
fn configure(c: &mut HttpConfig, toss_url: String, hold_ttl: u64, timeout: u64, sandbox: bool) {
    c.events.queue_tick_ms = 50;
    c.events.hold_ttl_secs = hold_ttl;
    c.payments.toss_base_url = toss_url;
    c.payments.toss_secret_key = Some(toss::SECRET.into());
    c.payments.toss_client_key = "test_ck_urr".into();
    c.payments.payment_timeout_secs = timeout;
    c.payments.payment_sandbox = sandbox;
    c.payments.reconcile_interval_ms = 100;
    c.payments.reconcile_grace_secs = 1;
}

async fn app_with(hold_ttl: u64, timeout: u64, sandbox: bool) -> (TestApp, Shared) {
    app_configured(hold_ttl, timeout, sandbox, |_| {}).await
}

/// [`app_with`], then `extra` adjusts the configuration.
async fn app_configured(
    hold_ttl: u64,
    timeout: u64,
    sandbox: bool,
    extra: impl FnOnce(&mut HttpConfig),
) -> (TestApp, Shared) {
    let (url, calls) = toss::start().await;
    let app = spawn_app_with(move |c| {
        configure(c, url, hold_ttl, timeout, sandbox);
        extra(c);
    })
    .await;
    (app, calls)
}

/// [`app_configured`] on a Redis server of the test's own.
pub(crate) async fn app_on_redis(
    redis_url: &str,
    hold_ttl: u64,
    timeout: u64,
    extra: impl FnOnce(&mut HttpConfig),
) -> (TestApp, Shared) {
    let (url, calls) = toss::start().await;
    let app = spawn_app_with_redis(redis_url, move |c| {
        configure(c, url, hold_ttl, timeout, true);
        extra(c);
    })
    .await;
    (app, calls)
}

/// A user holding two seats (20,000 won): the event, the user, the reservation, seats.
pub(crate) async fn held(app: &TestApp) -> (Uuid, Session, String, Vec<Uuid>) {
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 4).await;
    let user = app.quick_user("buyer").await;
    let id = app
        .held_reservation(&user, event, &seats[..2], "pay")
        .await
        .to_string();
    (event, user, id, seats)
}

pub(crate) async fn prepare(app: &TestApp, user: &Session, reservation: &str) -> reqwest::Response {
    app.post_as(
        "/api/v1/payments/prepare",
        &json!({"reservationId": reservation}),
        user,
    )
    .await
}

pub(crate) async fn confirm(
    app: &TestApp,
    user: &Session,
    key: &str,
    order: &str,
    amount: i64,
) -> reqwest::Response {
    app.post_as(
        "/api/v1/payments/confirm",
        &json!({"paymentKey": key, "orderId": order, "amount": amount}),
        user,
    )
    .await
}

pub(crate) async fn seat_status(app: &TestApp, event: Uuid, seat: Uuid) -> String {
    let map: Value = app
        .get(&format!("/api/v1/seats/events/{event}"))
        .await
        .json()
        .await
        .unwrap();
    map["layout"]["sections"][0]["rows"][0]["seats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == seat.to_string())
        .map(|s| s["status"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn hold_prepare_confirm_makes_a_confirmed_reservation_and_refund_undoes_it() {
    let (app, calls) = app_with(300, 5, false).await;
    let (event, user, id, seats) = held(&app).await;
    let prepared = prepare(&app, &user, &id).await;
    assert_eq!(prepared.status(), StatusCode::OK);
    let prepared: Value = prepared.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    assert!(
        order.starts_with("ORD_") && order.len() == "ORD_".len() + 13 + 1 + 8,
        "{order}"
    );
    assert_eq!(prepared["amount"], 20000);
    assert_eq!(prepared["clientKey"], "test_ck_urr");
    // Preparing again reuses the open order.
    let again: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    assert_eq!(again["orderId"], order.as_str());

    let paid = confirm(&app, &user, "ok_key_1", &order, 20000).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["status"], "done");
    assert_eq!(paid["method"], "카드");
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    assert_eq!(seat_status(&app, event, seats[0]).await, "reserved");
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
    let refund: Value = refund.json().await.unwrap();
    assert_eq!(refund["status"], "refunded");
    assert_eq!(calls.lock().unwrap().cancels["ok_key_1"], 1);
    assert_eq!(app.reservation(&user, &id).await["status"], "cancelled");
    assert_eq!(seat_status(&app, event, seats[0]).await, "available");
    assert_eq!(app.outbox("PaymentRefunded").await, 1);
    assert_eq!(app.outbox("ReservationCancelled").await, 1);
    // Asking again answers with where the refund stands; the money goes back once.
    let twice = app.refund(&user, &order).await;
    assert_eq!(twice.status(), StatusCode::OK);
    let twice: Value = twice.json().await.unwrap();
    assert_eq!(twice["status"], "refunded");
    assert_eq!(calls.lock().unwrap().cancels["ok_key_1"], 1);
    // The seat can be sold again.
    let other = app.quick_user("next").await;
    let rehold = app
        .enter_and_hold(&other, event, &seats[..1], "again")
        .await;
    assert_eq!(rehold.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn confirming_twice_charges_once_sequentially_and_concurrently() {
    let (app, calls) = app_with(300, 5, false).await;
    let (_, user, id, _) = held(&app).await;
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    let (a, b, c) = tokio::join!(
        confirm(&app, &user, "ok_key_2", &order, 20000),
        confirm(&app, &user, "ok_key_2", &order, 20000),
        confirm(&app, &user, "ok_key_2", &order, 20000),
    );
    for response in [a, b, c] {
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "done");
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
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();

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
    assert_eq!(app.reservation(&user, &id).await["status"], "pending");
    assert_eq!(app.outbox("PaymentConfirmed").await, 0);
}

/// Polls the payment until its status is `status` (the reconciler works in the
/// background); panics with the last view after `secs`.
async fn payment_until(
    app: &TestApp,
    user: &Session,
    order: &str,
    status: &str,
    secs: u64,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..secs * 10 {
        last = app.payment::<Value>(user, order).await;
        if last["status"] == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("payment never became {status}: {last}");
}

#[tokio::test]
async fn declines_and_charges_the_provider_never_made_leave_the_reservation_pending() {
    let (app, calls) = app_with(300, 1, false).await;
    let (_, user, id, _) = held(&app).await;
    // A decline is a verdict: failed at once.
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let declined = prepared["orderId"].as_str().unwrap().to_owned();
    let response = confirm(&app, &user, "decline_1", &declined, 20000).await;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "payment_declined",
    )
    .await;
    assert_eq!(
        app.payment::<Value>(&user, &declined).await["status"],
        "failed"
    );
    assert_eq!(app.reservation(&user, &id).await["status"], "pending");

    // A 503 is no verdict: unknown (it might have charged) until the provider's record
    // says it never did.
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    let response = confirm(&app, &user, "down_1", &order, 20000).await;
    assert_error(
        response,
        StatusCode::SERVICE_UNAVAILABLE,
        "provider_unavailable",
    )
    .await;
    assert_eq!(
        app.payment::<Value>(&user, &order).await["status"],
        "unknown"
    );
    let failed = payment_until(&app, &user, &order, "failed", 10).await;
    assert_eq!(failed["failureCode"], "NOT_CHARGED", "{failed}");
    assert!(
        calls.lock().unwrap().lookups[&order] >= 1,
        "the provider was asked"
    );
    assert_eq!(app.reservation(&user, &id).await["status"], "pending");
    assert_eq!(
        app.outbox("PaymentConfirmed").await,
        0,
        "no event claims success"
    );
    // After the failures, a good payment still goes through.
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    let ok = confirm(&app, &user, "ok_key_4", &order, 20000).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
}

fn notes(detail: &Value) -> Vec<String> {
    detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["note"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_late_payment_completes_the_sale_when_the_seats_are_still_free() {
    let (app, calls) = app_with(1, 5, false).await;
    let (event, user, id, seats) = held(&app).await;
    // The provider takes longer than the hold has left: it charges, the hold lapses.
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
    let late = confirm(&app, &user, "lag_1", &order, 20000).await;
    assert_eq!(late.status(), StatusCode::OK);
    let late: Value = late.json().await.unwrap();
    assert_eq!(late["status"], "done");
    assert!(
        !calls.lock().unwrap().cancels.contains_key("lag_1"),
        "not refunded"
    );
    let detail = app.reservation(&user, &id).await;
    assert_eq!(detail["status"], "confirmed");
    let history = notes(&detail);
    assert!(
        history.iter().any(|n| n.contains("hold expired")),
        "{history:?}"
    );
    assert!(
        history.iter().any(|n| n.contains("sale was completed")),
        "{history:?}"
    );
    assert_eq!(seat_status(&app, event, seats[0]).await, "reserved");
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
    let prepared: Value = prepare(&app, &user, &id).await.json().await.unwrap();
    let order = prepared["orderId"].as_str().unwrap().to_owned();
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
    let payment: Value = app
        .get_as(&format!("/api/v1/payments/{order}"), &user)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(payment["status"], "refunded");
    let detail = app.reservation(&user, &id).await;
    assert_ne!(detail["status"], "confirmed");
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
    let bad = app.pay_reservation(&user, &id, "bitcoin").await;
    assert_error(bad, StatusCode::BAD_REQUEST, "invalid_input").await;
    let paid = app.pay_reservation(&user, &id, "kakaopay").await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["status"], "done");
    assert_eq!(paid["provider"], "sandbox");
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    assert_eq!(seat_status(&app, event, seats[1]).await, "reserved");
    let again = app.pay_reservation(&user, &id, "kakaopay").await;
    assert_eq!(again.status(), StatusCode::OK, "idempotent");
    assert_eq!(app.outbox("PaymentConfirmed").await, 1);
    assert!(
        calls.lock().unwrap().confirms.is_empty(),
        "Toss was not called"
    );

    let (off, _) = app_with(300, 5, false).await;
    let (_, user, id, _) = held(&off).await;
    let refused = off.pay_reservation(&user, &id, "kakaopay").await;
    assert_error(refused, StatusCode::NOT_FOUND, "method_disabled").await;
}

/// Polls the admin stats of `event` until `check` holds (the bus is asynchronous).
pub(crate) async fn stats_until(
    app: &TestApp,
    admin: &Session,
    event: Uuid,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = app
            .get_as(&format!("/api/v1/stats/events/{event}"), admin)
            .await
            .json()
            .await
            .unwrap();
        if check(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("stats never matched: {last}");
}

#[tokio::test]
async fn stats_follow_confirmations_and_refunds_through_the_stream() {
    let (app, _calls) = app_with(300, 5, true).await;
    let (event, user, id, _) = held(&app).await;
    let admin = app.admin().await;
    let paid: Value = app
        .pay_reservation(&user, &id, "transfer")
        .await
        .json()
        .await
        .unwrap();
    let stats = stats_until(&app, &admin, event, |s| s["confirmed"] == 1).await;
    assert_eq!(stats["revenue"], 20000);
    // The buyer's turn ended with the purchase: nobody is left active.
    assert_eq!(stats["queue"]["active"], 0);

    let order = paid["orderId"].as_str().unwrap();
    let refund = app.refund(&user, order).await;
    assert_eq!(refund.status(), StatusCode::OK);
    let stats = stats_until(&app, &admin, event, |s| {
        s["refunded"] == 1 && s["cancelled"] == 1
    })
    .await;
    assert_eq!(stats["revenue"], 0);
    assert_eq!(stats["refundedAmount"], 20000);
    assert_eq!(stats["confirmed"], 1, "counted once despite redeliveries");

    let overview: Value = app
        .get_as("/api/v1/stats/overview", &admin)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overview["refunded"], 1);
    let forbidden = app.get_as("/api/v1/stats/overview", &user).await;
    assert_error(forbidden, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn prepare_is_refused_when_toss_is_not_configured() {
    let app = spawn_app_with(|c| {
        c.events.queue_tick_ms = 50;
        c.payments.payment_sandbox = true;
    })
    .await;
    let (_, user, id, _) = held(&app).await;
    let refused = prepare(&app, &user, &id).await;
    assert_error(refused, StatusCode::NOT_FOUND, "method_disabled").await;
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM payments")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 0, "no order that could never be confirmed");
}

#[tokio::test]
async fn a_refund_needs_a_json_body() {
    let (app, calls) = app_with(300, 5, true).await;
    let (_, user, id, _) = held(&app).await;
    let paid: Value = app
        .pay_reservation(&user, &id, "kakaopay")
        .await
        .json()
        .await
        .unwrap();
    let order = paid["orderId"].as_str().unwrap();
    let url = app.url(&format!("/api/v1/payments/{order}/refund"));
    // What a cross-site form can send without asking: no body, or a form body.
    let bare = app
        .client
        .post(&url)
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert_error(
        bare,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let form = app
        .client
        .post(&url)
        .bearer_auth(&user.access)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("reason=gone")
        .send()
        .await
        .unwrap();
    assert_error(
        form,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
    let broken = app
        .client
        .post(&url)
        .bearer_auth(&user.access)
        .header("content-type", "application/json")
        .body("reason=gone")
        .send()
        .await
        .unwrap();
    assert_error(broken, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert_eq!(app.payment::<Value>(&user, order).await["status"], "done");
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    assert!(calls.lock().unwrap().cancels.is_empty());
}
