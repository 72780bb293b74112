//! Every charge ends ticketed or refunded: charges the provider answered with no verdict,
//! settlements cut off by the edge's timeout and a crash, refunds cut off halfway, paid
//! reservations whose hold lapsed while the actor could not confirm them, and seat locks
//! a refund could not free. Each fault is a real one: a provider stand-in that answers
//! late or badly after charging, the node halted mid-settlement, a Redis server of the
//! test's own killed and started again from its append-only file.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_store::seat_locks;
use uuid::Uuid;

use super::private_redis::DurableRedis;
use super::{
    app_configured, app_on_redis, app_with, confirm, held, notes, payment_until, prepare,
    seat_status,
};
use crate::common::{TestApp, assert_error};

async fn order_for(app: &TestApp, user: &crate::common::Session, id: &str) -> String {
    let prepared: Value = prepare(app, user, id).await.json().await.unwrap();
    prepared["orderId"].as_str().unwrap().to_owned()
}

/// Polls the reservation until its status is `status`; panics after `secs`.
async fn reservation_until(
    app: &TestApp,
    user: &crate::common::Session,
    id: &str,
    status: &str,
    secs: u64,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..secs * 10 {
        last = app.reservation(user, id).await;
        if last["status"] == status {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("reservation never became {status}: {last}");
}

#[tokio::test]
async fn a_charge_answered_after_the_timeout_ends_ticketed_through_the_reconciler() {
    let (app, calls) = app_with(300, 1, false).await;
    let (event, user, id, seats) = held(&app).await;
    let order = order_for(&app, &user, &id).await;
    // The provider charges, then answers after our 1 s timeout.
    let late = confirm(&app, &user, "slow_1", &order, 20000).await;
    assert_error(
        late,
        StatusCode::SERVICE_UNAVAILABLE,
        "provider_unavailable",
    )
    .await;
    assert_eq!(
        app.payment::<Value>(&user, &order).await["status"],
        "unknown",
        "no verdict is not a failure: the money may have been taken"
    );
    let done = payment_until(&app, &user, &order, "done", 15).await;
    assert_eq!(done["method"], "카드");
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    assert_eq!(seat_status(&app, event, seats[0]).await, "reserved");
    assert_eq!(calls.lock().unwrap().confirms[&order], 1, "charged once");
    assert!(calls.lock().unwrap().cancels.is_empty(), "nothing refunded");
    assert_eq!(app.outbox("PaymentConfirmed").await, 1);
    assert_eq!(app.outbox("ReservationConfirmed").await, 1);
}

#[tokio::test]
async fn a_charge_answered_with_a_5xx_or_garbage_ends_ticketed() {
    let (app, calls) = app_with(300, 5, false).await;
    for key in ["error_1", "garbage_1"] {
        let (_, user, id, _) = held(&app).await;
        let order = order_for(&app, &user, &id).await;
        let response = confirm(&app, &user, key, &order, 20000).await;
        assert_error(
            response,
            StatusCode::SERVICE_UNAVAILABLE,
            "provider_unavailable",
        )
        .await;
        assert_eq!(
            app.payment::<Value>(&user, &order).await["status"],
            "unknown",
            "{key}"
        );
        payment_until(&app, &user, &order, "done", 15).await;
        assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
        assert_eq!(calls.lock().unwrap().confirms[&order], 1, "{key}");
    }
}

#[tokio::test]
async fn a_charge_with_no_verdict_whose_seats_were_taken_is_refunded_by_the_reconciler() {
    let (app, calls) = app_configured(1, 1, false, |c| c.payments.reconcile_grace_secs = 3).await;
    let (event, user, id, seats) = held(&app).await;
    let rival = app.quick_user("rival").await;
    let rival_entry = app.enter(event, &rival).await;
    let order = order_for(&app, &user, &id).await;
    let late = confirm(&app, &user, "slow_2", &order, 20000).await;
    assert_error(
        late,
        StatusCode::SERVICE_UNAVAILABLE,
        "provider_unavailable",
    )
    .await;
    // The 1 s hold has lapsed meanwhile; someone else takes a seat.
    let mut taken = None;
    for _ in 0..40 {
        let response = app
            .hold(&rival, Some(&rival_entry), event, &seats[..1], "rival")
            .await;
        if response.status() == StatusCode::CREATED {
            let hold: Value = response.json().await.unwrap();
            taken = hold["reservationId"].as_str().map(str::to_owned);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rivals = taken.expect("the rival got the seat once the hold lapsed");
    // ...and buys it.
    let rival_order = order_for(&app, &rival, &rivals).await;
    let bought = confirm(&app, &rival, "ok_rival", &rival_order, 10000).await;
    assert_eq!(bought.status(), StatusCode::OK);
    payment_until(&app, &user, &order, "refunded", 20).await;
    assert!(
        calls.lock().unwrap().ledger[&order].cancelled,
        "the money is back"
    );
    assert_eq!(app.outbox("PaymentRefunded").await, 1, "refunded once");
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
    assert!(per_seat.iter().all(|(_, n)| *n == 1), "{per_seat:?}");
}

#[tokio::test]
async fn a_settlement_cut_off_by_the_request_timeout_and_a_crash_is_finished_after_restart() {
    // The edge gives up after 2 s; the provider charges at once and answers after 3 s.
    let (app, calls) = app_configured(300, 5, false, |c| c.request_timeout_secs = 2).await;
    let (event, user, id, seats) = held(&app).await;
    let order = order_for(&app, &user, &id).await;
    let cut = confirm(&app, &user, "stall_1", &order, 20000).await;
    assert_eq!(
        cut.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the edge timed out"
    );
    assert!(calls.lock().unwrap().ledger.contains_key(&order), "charged");
    // The node dies before the provider answers: nothing of the settlement survives it.
    let app = app.restart().await;
    assert_eq!(
        app.payment::<Value>(&user, &order).await["status"],
        "confirming"
    );
    // The restarted node's reconciler asks the provider and finishes the sale.
    payment_until(&app, &user, &order, "done", 20).await;
    assert_eq!(app.reservation(&user, &id).await["status"], "confirmed");
    assert_eq!(seat_status(&app, event, seats[0]).await, "reserved");
    assert_eq!(calls.lock().unwrap().confirms[&order], 1, "charged once");
}

#[tokio::test]
async fn a_refund_cut_off_after_the_money_went_back_is_resumed_and_answers_its_final_state() {
    // The reconciler leaves a refund to its request for 3 s: the restart lands first.
    let (app, calls) = app_configured(300, 5, false, |c| c.payments.reconcile_grace_secs = 3).await;
    let (event, user, id, seats) = held(&app).await;
    let order = order_for(&app, &user, &id).await;
    let paid = confirm(&app, &user, "slowcancel_1", &order, 20000).await;
    assert_eq!(paid.status(), StatusCode::OK);
    // The ticket consumer is done with the payment: only the reconciler can resume it.
    for _ in 0..100 {
        if ticket_consumer_processed(&app).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ticket_consumer_processed(&app).await > 0);
    // The provider gives the money back, and the node dies before hearing so.
    let refund = {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/payments/{order}/refund"));
        let access = user.access.clone();
        tokio::spawn(async move {
            let _ = client
                .post(url)
                .bearer_auth(access)
                .json(&json!({"reason": "can't go"}))
                .send()
                .await;
        })
    };
    for _ in 0..40 {
        if calls
            .lock()
            .unwrap()
            .ledger
            .get(&order)
            .is_some_and(|c| c.cancelled)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let app = app.restart().await;
    refund.abort();
    assert_eq!(
        app.payment::<Value>(&user, &order).await["status"],
        "refunding",
        "recorded before the provider was asked"
    );
    // The restarted node's reconciler resumes it: the money is back, so the ticket goes.
    payment_until(&app, &user, &order, "refunded", 20).await;
    assert_eq!(app.reservation(&user, &id).await["status"], "cancelled");
    assert_eq!(seat_status(&app, event, seats[0]).await, "available");
    let again = app.refund(&user, &order).await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "a retry answers the final state"
    );
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["status"], "refunded");
    assert_eq!(app.outbox("PaymentRefunded").await, 1);
    assert_eq!(app.outbox("ReservationCancelled").await, 1);
    let other = app.quick_user("next").await;
    let rehold = app
        .enter_and_hold(&other, event, &seats[..1], "again")
        .await;
    assert_eq!(rehold.status(), StatusCode::CREATED);
}

/// How many events the ticket consumer has finished with.
async fn ticket_consumer_processed(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE consumer = $1")
        .bind("ticket-service-group")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_ticket_consumer_never_confirms_a_refunded_reservation() {
    let mut redis = DurableRedis::start().await;
    let (app, _calls) = app_on_redis(&redis.url(), 300, 1, |_| {}).await;
    let (event, user, id, _) = held(&app).await;
    let order = order_for(&app, &user, &id).await;
    // Redis is down: the provider charges, but the ticket cannot be confirmed yet.
    redis.kill();
    let paid = confirm(&app, &user, "ok_1", &order, 20000).await;
    assert_eq!(paid.status(), StatusCode::OK);
    let paid: Value = paid.json().await.unwrap();
    assert_eq!(paid["status"], "paid", "charged, no ticket yet: {paid}");
    // The node's lease on the event lapses within its TTL once Redis is gone; until then
    // its actor still serves, so the refund below waits for that.
    until_unserved(&app, event).await;
    // The buyer takes the money back meanwhile.
    let refund = app.refund(&user, &order).await;
    // The money is back, but with Redis down no node may serve the event (its lease
    // cannot be held), so the hold cannot be let go yet: the refund is under way and
    // says so.
    assert_error(
        refund,
        StatusCode::SERVICE_UNAVAILABLE,
        "provider_unavailable",
    )
    .await;
    assert_eq!(
        app.payment::<Value>(&user, &order).await["status"],
        "refunding"
    );
    assert_eq!(app.reservation(&user, &id).await["status"], "pending");
    // Redis is back: PaymentConfirmed reaches the ticket consumer at last.
    redis.restart().await;
    for _ in 0..300 {
        if ticket_consumer_processed(&app).await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        ticket_consumer_processed(&app).await > 0,
        "the consumer handled the payment"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_ne!(
        app.reservation(&user, &id).await["status"],
        "confirmed",
        "no ticket for a refunded payment"
    );
    // Once the event is served again the reconciler lets the hold go and finishes.
    payment_until(&app, &user, &order, "refunded", 30).await;
    assert_eq!(
        app.reservation(&user, &id).await["status"],
        "cancelled",
        "the hold is let go with the money"
    );
}

/// Waits until no node serves `event` (a call to its actor answers 503).
async fn until_unserved(app: &TestApp, event: Uuid) {
    let path = format!("/api/v1/seats/events/{event}/state");
    for _ in 0..200 {
        if app.get(&path).await.status() == StatusCode::SERVICE_UNAVAILABLE {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the event is still served 20 s after Redis went away");
}

#[tokio::test]
async fn a_paid_reservation_whose_hold_lapsed_is_completed_by_the_ticket_consumer() {
    let mut redis = DurableRedis::start().await;
    // The reconciler stays out of it: the consumer must finish this on its own.
    let (app, _calls) = app_on_redis(&redis.url(), 2, 1, |c| {
        c.payments.reconcile_interval_ms = 3_600_000;
    })
    .await;
    let (event, user, id, seats) = held(&app).await;
    let order = order_for(&app, &user, &id).await;
    redis.kill();
    let paid = confirm(&app, &user, "ok_2", &order, 20000).await;
    assert_eq!(paid.status(), StatusCode::OK);
    assert_eq!(paid.json::<Value>().await.unwrap()["status"], "paid");
    // The 2 s hold lapses while the ticket cannot be confirmed.
    reservation_until(&app, &user, &id, "expired", 10).await;
    redis.restart().await;
    // The ticket consumer completes the sale on the seats, still free.
    let detail = reservation_until(&app, &user, &id, "confirmed", 30).await;
    let history = notes(&detail);
    assert!(
        history.iter().any(|n| n.contains("sale was completed")),
        "{history:?}"
    );
    assert_eq!(app.payment::<Value>(&user, &order).await["status"], "done");
    assert_eq!(seat_status(&app, event, seats[0]).await, "reserved");
}

#[tokio::test]
async fn confirming_a_hold_twice_with_its_token_succeeds_twice() {
    let (app, _) = app_with(300, 5, false).await;
    let event = Uuid::new_v4();
    let owner = Uuid::new_v4();
    let seats = [Uuid::new_v4(), Uuid::new_v4()];
    let locked = seat_locks::lock(
        &app.kv,
        event,
        None,
        &[(owner, seats.to_vec())],
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let tokens = locked[0].clone().unwrap();
    let pairs: Vec<(Uuid, u64)> = seats.iter().copied().zip(tokens.iter().copied()).collect();
    assert_eq!(
        seat_locks::confirm(&app.kv, event, None, owner, &pairs)
            .await
            .unwrap(),
        Ok(())
    );
    // A retry after the database commit failed: the same owner and tokens, already sold.
    assert_eq!(
        seat_locks::confirm(&app.kv, event, None, owner, &pairs)
            .await
            .unwrap(),
        Ok(()),
        "confirming is idempotent per reservation and token"
    );
    for seat in seats {
        let value = seat_locks::read(&app.kv, event, seat).await.unwrap();
        assert!(value.is_some_and(|v| v.ends_with("|sold")));
    }
    // Anyone else, or another token, is still refused.
    let stranger = seat_locks::confirm(&app.kv, event, None, Uuid::new_v4(), &pairs)
        .await
        .unwrap();
    assert_eq!(stranger, Err(vec![0, 1]));
    let stale = [(seats[0], tokens[0] + 7)];
    assert_eq!(
        seat_locks::confirm(&app.kv, event, None, owner, &stale)
            .await
            .unwrap(),
        Err(vec![0])
    );
}

#[tokio::test]
async fn a_failed_unlock_after_a_refund_is_retried_until_the_seat_can_be_held_again() {
    let mut redis = DurableRedis::start().await;
    let (app, _) = app_on_redis(&redis.url(), 300, 1, |_| {}).await;
    let admin = app.admin().await;
    let (event, seats) = app.seated_event(&admin, 1, 2).await;
    let buyer = app.quick_user("buyer").await;
    let (_, order) = app.buy(&buyer, event, &seats[..1], "buy").await;
    let rival = app.quick_user("rival").await;
    let rival_entry = app.enter(event, &rival).await;
    // The refund lands in PostgreSQL while Redis is down: the sold lock stays behind.
    redis.kill();
    let refund = app.refund(&buyer, &order).await;
    assert_eq!(refund.status(), StatusCode::OK);
    assert_eq!(refund.json::<Value>().await.unwrap()["status"], "refunded");
    assert_eq!(
        urr_store::seat_releases::owed(&app.db).await.unwrap(),
        1,
        "the release is owed"
    );
    redis.restart().await;
    let mut held_again = false;
    for _ in 0..100 {
        let response = app
            .hold(&rival, Some(&rival_entry), event, &seats[..1], "rival")
            .await;
        if response.status() == StatusCode::CREATED {
            held_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(held_again, "the seat can be held again");
    // Struck off once Redis has freed the locks (just after, at the latest).
    let mut owed = 1;
    for _ in 0..50 {
        owed = urr_store::seat_releases::owed(&app.db).await.unwrap();
        if owed == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(owed, 0, "nothing is owed any more");
}

/// A crash between Redis marking a hold's locks sold and PostgreSQL recording the sale
/// leaves a sold lock, which has no expiry. When that hold lapses while Redis is away,
/// the release is owed in the expiry's own transaction and the reconciler lands it once
/// Redis is back: the seat never stays showing free and unholdable.
#[tokio::test]
async fn a_lapsed_hold_whose_sold_lock_could_not_be_freed_is_released_later() {
    let mut redis = DurableRedis::start().await;
    let (app, _) = app_on_redis(&redis.url(), 1, 1, |_| {}).await;
    let (event, _user, id, seats) = held(&app).await;
    let reservation: Uuid = id.parse().unwrap();
    let lock = urr_store::seat_locks::read(&app.kv, event, seats[0])
        .await
        .unwrap()
        .expect("locked");
    let token: u64 = lock.rsplit('|').next().unwrap().parse().unwrap();
    let token2: u64 = urr_store::seat_locks::read(&app.kv, event, seats[1])
        .await
        .unwrap()
        .expect("locked")
        .rsplit('|')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Redis's half of a confirmation, and then nothing (the process died).
    urr_store::seat_locks::confirm(
        &app.kv,
        event,
        None,
        reservation,
        &[(seats[0], token), (seats[1], token2)],
    )
    .await
    .unwrap()
    .expect("current tokens");
    redis.kill();
    // The hold lapses in PostgreSQL; the unlock cannot reach Redis.
    let mut owed = 0;
    for _ in 0..100 {
        owed = urr_store::seat_releases::owed(&app.db).await.unwrap();
        if owed == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(owed, 1, "the release is owed with the expiry");
    redis.restart().await;
    let rival = app.quick_user("rival").await;
    let entry = app.enter(event, &rival).await;
    let mut held_again = false;
    for _ in 0..100 {
        let response = app
            .hold(&rival, Some(&entry), event, &seats[..1], "rival")
            .await;
        if response.status() == StatusCode::CREATED {
            held_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(held_again, "the seat can be held again");
    for _ in 0..50 {
        owed = urr_store::seat_releases::owed(&app.db).await.unwrap();
        if owed == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(owed, 0, "nothing is owed any more");
}
