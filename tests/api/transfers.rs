//! Ticket transfers (`docs/architecture.md#fan-clubs-pre-sales-and-transfers`) through the real router, payments (sandbox), actor,
//! Postgres and the outbox: listing, buying, ownership moving exactly once, settlement of
//! the seller, and the races.

use crate::common::{Session, TestApp, assert_error, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use urr_payments::TransferSettlement;
use urr_wire::payments::PaymentView;
use urr_wire::status::{
    PaymentPurpose, PaymentStatus, Settlement, SettlementStatus, TransferRole, TransferStatus,
};
use urr_wire::transfers::TransferView;
use uuid::Uuid;

async fn app(settlement: TransferSettlement) -> TestApp {
    spawn_app_with(move |c| {
        c.events.queue_tick_ms = 50;
        c.payments.payment_sandbox = true;
        c.payments.transfer_settlement = settlement;
    })
    .await
}

async fn list(app: &TestApp, seller: &Session, reservation: Uuid, price: i64) -> reqwest::Response {
    app.post_as(
        "/api/v1/transfers",
        &json!({"reservationId": reservation, "price": price}),
        seller,
    )
    .await
}

async fn open_listings(app: &TestApp, user: &Session, event: Uuid) -> Vec<Value> {
    let listed: Value = app
        .get_as(&format!("/api/v1/transfers?eventId={event}"), user)
        .await
        .json()
        .await
        .expect("listings");
    listed["transfers"].as_array().cloned().unwrap_or_default()
}

async fn points(app: &TestApp, user: &Session) -> i64 {
    let list: Value = app
        .get_as("/api/v1/memberships", user)
        .await
        .json()
        .await
        .expect("memberships");
    list["memberships"][0]["points"].as_i64().unwrap_or(-1)
}

/// A seller holding a paid ticket of two seats (20,000 won) for an artist's event whose
/// free fan club both seller and the returned buyer belong to.
async fn sold_ticket(app: &TestApp) -> (Uuid, Session, Uuid, String, Session) {
    let admin = app.admin().await;
    let club = app.club_event(&admin, 1, 4).await;
    let seller = app.member("seller", club.artist).await;
    let buyer = app.member("buyer", club.artist).await;
    let (reservation, order) = app.buy(&seller, club.event, &club.seats[..2], "mine").await;
    (club.event, seller, reservation, order, buyer)
}

#[tokio::test]
async fn a_listed_ticket_is_bought_and_its_owner_changes_once() {
    let app = app(TransferSettlement::Refund).await;
    let (event, seller, reservation, order, buyer) = sold_ticket(&app).await;
    assert_eq!(points(&app, &seller).await, 300);
    assert_eq!(points(&app, &buyer).await, 200);

    let above = list(&app, &seller, reservation, 20001).await;
    let above = assert_error(above, StatusCode::BAD_REQUEST, "invalid_input").await;
    assert!(
        above["error"]["message"]
            .as_str()
            .unwrap()
            .contains("20000")
    );
    let listed = list(&app, &seller, reservation, 15000).await;
    assert_eq!(listed.status(), StatusCode::CREATED);
    let listed: TransferView = listed.json().await.unwrap();
    assert_eq!(listed.status, TransferStatus::Listed);
    assert_eq!(listed.price, 15000);
    assert_eq!(listed.face_value, 20000);
    assert_eq!(listed.role, Some(TransferRole::Seller));
    assert_eq!(listed.tickets.len(), 2);
    assert_eq!(listed.tickets[0].label, "A-1-1");
    let transfer = listed.transfer_id.to_string();
    let twice = list(&app, &seller, reservation, 15000).await;
    assert_error(twice, StatusCode::CONFLICT, "conflict").await;

    let open = open_listings(&app, &buyer, event).await;
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["transferId"], transfer.as_str());
    assert!(
        open[0].get("reservationId").is_none(),
        "only the parties see it"
    );
    let elsewhere = open_listings(&app, &buyer, Uuid::new_v4()).await;
    assert!(elsewhere.is_empty());

    let bought = app.pay_transfer(&buyer, &transfer).await;
    assert_eq!(bought.status(), StatusCode::OK);
    let bought: PaymentView = bought.json().await.unwrap();
    assert_eq!(bought.status, PaymentStatus::Done);
    assert_eq!(bought.purpose, PaymentPurpose::Transfer);
    assert_eq!(bought.amount, 15000);
    assert_eq!(bought.transfer_id, Some(listed.transfer_id));

    // The ticket is the buyer's now, and only the buyer's.
    let theirs = app
        .get_as(&format!("/api/v1/reservations/{reservation}"), &buyer)
        .await;
    assert_eq!(theirs.status(), StatusCode::OK);
    let theirs: Value = theirs.json().await.unwrap();
    assert_eq!(theirs["status"], "confirmed");
    let gone = app
        .get_as(&format!("/api/v1/reservations/{reservation}"), &seller)
        .await;
    assert_error(gone, StatusCode::NOT_FOUND, "not_found").await;
    let mine: Value = app
        .get_as("/api/v1/reservations/my", &buyer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(app.outbox("TransferCompleted").await, 1);
    assert!(open_listings(&app, &buyer, event).await.is_empty());
    // Points follow the ticket.
    assert_eq!(points(&app, &seller).await, 200);
    assert_eq!(points(&app, &buyer).await, 300);

    // The seller was refunded the buyer's price from their own payment.
    let original = app.payment::<PaymentView>(&seller, &order).await;
    assert_eq!(original.status, PaymentStatus::Refunded);
    assert_eq!(original.refunded_amount, Some(15000));
    let record: TransferView = app
        .get_as(&format!("/api/v1/transfers/{transfer}"), &seller)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(record.status, TransferStatus::Completed);
    assert_eq!(record.settlement, Some(Settlement::Refund));
    assert_eq!(record.settlement_status, Some(SettlementStatus::Refunded));

    // It cannot be bought again, transferred again, or refunded by either side.
    let late = app.quick_user("late").await;
    let again = app.pay_transfer(&late, &transfer).await;
    assert_error(again, StatusCode::CONFLICT, "conflict").await;
    let relist = list(&app, &buyer, reservation, 10000).await;
    let relist = assert_error(relist, StatusCode::CONFLICT, "conflict").await;
    assert!(
        relist["error"]["message"]
            .as_str()
            .unwrap()
            .contains("once")
    );
    let seller_refund = app.refund(&seller, &order).await;
    assert_error(seller_refund, StatusCode::CONFLICT, "not_pending").await;
    let bought_order = &bought.order_id;
    let buyer_refund = app.refund(&buyer, bought_order).await;
    assert_error(buyer_refund, StatusCode::CONFLICT, "conflict").await;
    let still: Value = app.reservation(&buyer, reservation).await;
    assert_eq!(still["status"], "confirmed");
    let per_seat = urr_store::reservations::live_holders_per_seat(&app.db, event)
        .await
        .unwrap();
    assert!(per_seat.iter().all(|(_, n)| *n == 1), "{per_seat:?}");

    // The stats consumer counts the transfer; the sale's revenue stands: the seller's
    // 15,000 back out, the buyer's 15,000 in.
    let admin = app.admin().await;
    let mut stats = Value::Null;
    for _ in 0..100 {
        stats = app
            .get_as(&format!("/api/v1/stats/events/{event}"), &admin)
            .await
            .json()
            .await
            .unwrap();
        if stats["transfers"] == 1 && stats["refunded"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(stats["transfers"], 1, "{stats}");
    assert_eq!(stats["confirmed"], 1, "{stats}");
    assert_eq!(stats["revenue"], 20000, "{stats}");
}

#[tokio::test]
async fn pending_reservations_and_other_peoples_tickets_cannot_be_listed() {
    let app = app(TransferSettlement::Refund).await;
    let (event, seller, reservation, _, buyer) = sold_ticket(&app).await;
    // A pending hold of the buyer's.
    let admin = app.admin().await;
    let (other_event, seats) = app.seated_event(&admin, 1, 2).await;
    let pending = app
        .held_reservation(&buyer, other_event, &seats[..1], "pending")
        .await;
    let refused = list(&app, &buyer, pending, 5000).await;
    assert_error(refused, StatusCode::CONFLICT, "not_pending").await;

    let not_mine = list(&app, &buyer, reservation, 5000).await;
    assert_error(not_mine, StatusCode::NOT_FOUND, "not_found").await;
    let unknown = list(&app, &seller, Uuid::new_v4(), 5000).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
    for price in [0, -5] {
        let bad = list(&app, &seller, reservation, price).await;
        assert_error(bad, StatusCode::BAD_REQUEST, "invalid_input").await;
    }
    let junk = app
        .post_as(
            "/api/v1/transfers",
            &json!({"reservationId": "nope", "price": 5}),
            &seller,
        )
        .await;
    assert_error(junk, StatusCode::BAD_REQUEST, "invalid_input").await;
    let anonymous = app.get("/api/v1/transfers").await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert!(
        open_listings(&app, &seller, event).await.is_empty(),
        "nothing listed"
    );

    // The seller cannot buy their own listing; a stranger cannot withdraw it.
    let listed: Value = list(&app, &seller, reservation, 20000)
        .await
        .json()
        .await
        .unwrap();
    let transfer = listed["transferId"].as_str().unwrap().to_owned();
    let own = app.pay_transfer(&seller, &transfer).await;
    assert_error(own, StatusCode::BAD_REQUEST, "invalid_input").await;
    let stranger = app
        .post_as(
            &format!("/api/v1/transfers/{transfer}/cancel"),
            &json!({}),
            &buyer,
        )
        .await;
    assert_error(stranger, StatusCode::NOT_FOUND, "not_found").await;
    let unknown = app.pay_transfer(&buyer, &Uuid::new_v4().to_string()).await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;

    // Withdrawn, it cannot be bought; listed again, it can.
    let withdrawn = app
        .post_as(
            &format!("/api/v1/transfers/{transfer}/cancel"),
            &json!({}),
            &seller,
        )
        .await;
    assert_eq!(withdrawn.status(), StatusCode::OK);
    let withdrawn: Value = withdrawn.json().await.unwrap();
    assert_eq!(withdrawn["status"], "cancelled");
    let closed = app.pay_transfer(&buyer, &transfer).await;
    assert_error(closed, StatusCode::CONFLICT, "conflict").await;
    let relisted = list(&app, &seller, reservation, 20000).await;
    assert_eq!(relisted.status(), StatusCode::CREATED);
    assert_eq!(app.outbox("TransferCompleted").await, 0);
}

#[tokio::test]
async fn a_refund_withdraws_the_listing() {
    let app = app(TransferSettlement::Refund).await;
    let (event, seller, reservation, order, buyer) = sold_ticket(&app).await;
    let listed: Value = list(&app, &seller, reservation, 20000)
        .await
        .json()
        .await
        .unwrap();
    let transfer = listed["transferId"].as_str().unwrap().to_owned();
    let refund = app.refund(&seller, &order).await;
    assert_eq!(refund.status(), StatusCode::OK);
    assert!(open_listings(&app, &buyer, event).await.is_empty());
    let bought = app.pay_transfer(&buyer, &transfer).await;
    assert_error(bought, StatusCode::CONFLICT, "conflict").await;
    let relist = list(&app, &seller, reservation, 100).await;
    assert_error(relist, StatusCode::CONFLICT, "not_pending").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_buyers_one_wins_and_no_loser_is_charged() {
    let app = app(TransferSettlement::Refund).await;
    let (_, seller, reservation, _, _) = sold_ticket(&app).await;
    let listed: Value = list(&app, &seller, reservation, 18000)
        .await
        .json()
        .await
        .unwrap();
    let transfer = listed["transferId"].as_str().unwrap().to_owned();
    let mut buyers = Vec::new();
    for i in 0..8 {
        buyers.push(app.quick_user(&format!("buyer{i}")).await);
    }
    let replies =
        futures::future::join_all(buyers.iter().map(|b| app.pay_transfer(b, &transfer))).await;
    let mut winners = Vec::new();
    for (reply, who) in replies.into_iter().zip(&buyers) {
        match reply.status() {
            StatusCode::OK => winners.push(who.clone()),
            _ => {
                assert_error(reply, StatusCode::CONFLICT, "conflict").await;
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one buyer wins");
    let owner = app
        .get_as(&format!("/api/v1/reservations/{reservation}"), &winners[0])
        .await;
    assert_eq!(owner.status(), StatusCode::OK);
    assert_eq!(app.outbox("TransferCompleted").await, 1);
    // Every loser's order was closed before the provider was asked to charge it.
    let (done, failed, other): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'done'), \
         count(*) FILTER (WHERE status = 'failed'), \
         count(*) FILTER (WHERE status NOT IN ('done', 'failed')) \
         FROM payments WHERE transfer_id = $1",
    )
    .bind(transfer.parse::<Uuid>().unwrap())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(
        (done, other),
        (1, 0),
        "one charge, nothing refunded or pending"
    );
    assert!(failed <= 7, "{failed}");
}

#[tokio::test]
async fn a_payout_settlement_keeps_the_sellers_payment_and_records_what_is_owed() {
    let app = app(TransferSettlement::Payout).await;
    let (_, seller, reservation, order, buyer) = sold_ticket(&app).await;
    let listed: TransferView = list(&app, &seller, reservation, 20000)
        .await
        .json()
        .await
        .unwrap();
    let transfer = listed.transfer_id.to_string();
    assert_eq!(
        app.pay_transfer(&buyer, &transfer).await.status(),
        StatusCode::OK
    );
    let original = app.payment::<PaymentView>(&seller, &order).await;
    assert_eq!(
        original.status,
        PaymentStatus::Done,
        "the seller keeps their sale"
    );
    let record: TransferView = app
        .get_as(&format!("/api/v1/transfers/{transfer}"), &buyer)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(record.role, Some(TransferRole::Buyer));
    assert_eq!(record.settlement, Some(Settlement::Payout));
    assert_eq!(record.settlement_status, Some(SettlementStatus::PayoutOwed));
    // The seller's payment cannot take the buyer's ticket back.
    let refund = app.refund(&seller, &order).await;
    assert_error(refund, StatusCode::CONFLICT, "conflict").await;
    let still: Value = app.reservation(&buyer, reservation).await;
    assert_eq!(still["status"], "confirmed");
    let mine: Value = app
        .get_as("/api/v1/transfers/my", &seller)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["transfers"][0]["status"], "completed");
}
