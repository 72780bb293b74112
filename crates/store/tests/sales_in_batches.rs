//! Seat sales written in batches on the real stores (docs/architecture.md#sales-in-batches):
//! payments that reach the actor while a batch is written go out together in the next,
//! one transaction for all; a call about a sale still queued waits for it; and the
//! store answers each sale of a batch as it would have alone, writing only those that
//! check out. A real `EventDirectory` over `PgRedisEventStore`, a fresh database and
//! Redis key prefix per test.
//!
//! Where a test needs a batch held in flight, it locks that batch's reservation row
//! itself (the batch's `FOR UPDATE` waits for it) and looks for the wait in
//! `pg_stat_activity` before it lets go. Each test runs on tokio's single-threaded
//! runtime, so calls spawned one after another reach the actor's mailbox in that order.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use urr_actors::event::{DirectoryOptions, EventDirectory, EventError, EventRef, QueueSettings};
use urr_actors::ids::{FencingToken, ReservationId, SeatId, UserId};
use urr_actors::ports::{ConfirmOutcome, EventStore, SaleRequest};
use urr_store::PgPool;
use urr_store::seat_locks;
use uuid::Uuid;

mod common;

use common::{Stores, event, event_store, stores, user};

/// How long a test waits for something it expects to see before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// An event on sale without a queue, its actor started on the real stores, and buyers.
struct Sale {
    stores: Stores,
    event_id: Uuid,
    event: EventRef,
    seats: Vec<SeatId>,
    buyers: Vec<UserId>,
}

async fn sale(buyers: usize) -> Sale {
    let stores = stores(8).await;
    let (event_id, seats, _) = event(&stores.db, 40, 10).await;
    let settings = QueueSettings {
        enabled: false,
        ..QueueSettings::default()
    };
    urr_store::queue_settings::put(&stores.db, event_id, &settings)
        .await
        .expect("queue settings");
    let mut people = Vec::with_capacity(buyers);
    for _ in 0..buyers {
        people.push(user(&stores.db).await);
    }
    let directory =
        EventDirectory::start(Arc::new(event_store(&stores)), DirectoryOptions::default())
            .await
            .expect("directory");
    let event = directory.event(event_id);
    event.start().await.expect("actor");
    Sale {
        stores,
        event_id,
        event,
        seats,
        buyers: people,
    }
}

impl Sale {
    /// Buyer `k` holds seats `2k` and `2k+1`.
    async fn hold(&self, k: usize) -> ReservationId {
        let id = ReservationId::from(Uuid::new_v4());
        self.event
            .hold_seats(
                self.buyers[k],
                id,
                self.seats[2 * k..2 * k + 2].to_vec(),
                format!("key-{k}"),
            )
            .await
            .expect("hold");
        id
    }

    /// A hold's seats and their fencing tokens, as PostgreSQL records them.
    async fn tokens(&self, reservation: ReservationId) -> Vec<(SeatId, FencingToken)> {
        let rows: Vec<(Uuid, i64)> = sqlx::query_as(
            "SELECT seat_id, fencing_token FROM reservation_items \
             WHERE reservation_id = $1 AND live ORDER BY seat_id",
        )
        .bind(reservation.0)
        .fetch_all(&self.stores.db)
        .await
        .expect("tokens");
        rows.into_iter()
            .map(|(seat, token)| {
                let token = u64::try_from(token).expect("a token is positive");
                (SeatId::from(seat), FencingToken(token))
            })
            .collect()
    }

    /// Each reservation's status and, once sold, when: the start of the transaction that
    /// sold it.
    async fn recorded(&self) -> HashMap<ReservationId, (String, Option<DateTime<Utc>>)> {
        let rows: Vec<(Uuid, String, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT id, status, confirmed_at FROM reservations WHERE event_id = $1")
                .bind(self.event_id)
                .fetch_all(&self.stores.db)
                .await
                .expect("reservations");
        rows.into_iter()
            .map(|(id, status, at)| (ReservationId::from(id), (status, at)))
            .collect()
    }

    /// Seats the event's actor shows as sold.
    async fn sold_on_the_map(&self) -> usize {
        self.event
            .seat_statuses()
            .await
            .expect("seat statuses")
            .into_iter()
            .filter(|(_, status)| *status == urr_actors::event::SeatStatus::Reserved)
            .count()
    }

    /// How many times `reservation`'s sale was recorded: history lines and outbox events.
    async fn sale_records(&self, reservation: ReservationId) -> (i64, i64) {
        let history: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM reservation_history \
             WHERE reservation_id = $1 AND status = 'confirmed'",
        )
        .bind(reservation.0)
        .fetch_one(&self.stores.db)
        .await
        .expect("history");
        let events: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'ReservationConfirmed'",
        )
        .bind(reservation.0.to_string())
        .fetch_one(&self.stores.db)
        .await
        .expect("outbox");
        (history, events)
    }
}

/// Waits until a statement of this test's database waits for a lock.
async fn until_a_write_waits(db: &PgPool) {
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(db)
        .await
        .expect("pg_stat_activity");
        if waiting > 0 {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for the batch to wait for the test's row lock"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Holds `reservation`'s row locked, so the batch that sells it waits in PostgreSQL
/// until the returned transaction ends.
async fn gate(
    db: &PgPool,
    reservation: ReservationId,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut gate = db.begin().await.expect("begin");
    // The pool ends a session idle in a transaction after 2 s; this one waits on purpose.
    sqlx::query("SET LOCAL idle_in_transaction_session_timeout = 0")
        .execute(&mut *gate)
        .await
        .expect("no idle timeout for the gate");
    sqlx::query("SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE")
        .bind(reservation.0)
        .execute(&mut *gate)
        .await
        .expect("lock the reservation");
    gate
}

#[tokio::test]
async fn payments_that_come_while_a_batch_is_written_go_out_together_in_the_next() {
    let sale = sale(10).await;
    let mut ids = Vec::new();
    for k in 0..10 {
        ids.push(sale.hold(k).await);
    }
    // The first payment's batch waits on the test's lock of its row.
    let gate = gate(&sale.stores.db, ids[0]).await;
    let first = tokio::spawn({
        let event = sale.event.clone();
        let id = ids[0];
        async move { event.confirm(id).await }
    });
    until_a_write_waits(&sale.stores.db).await;
    // Nine more payments, then buyer 1 cancelling the hold it has just paid for.
    let mut rest = Vec::new();
    for &id in &ids[1..] {
        let event = sale.event.clone();
        rest.push(tokio::spawn(async move { event.confirm(id).await }));
    }
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    let cancel = tokio::spawn({
        let (event, buyer, id) = (sale.event.clone(), sale.buyers[1], ids[1]);
        async move { event.cancel(buyer, id).await }
    });
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    gate.rollback().await.expect("let the first batch go");

    first
        .await
        .expect("task")
        .expect("the first payment is a sale");
    for paid in rest {
        paid.await
            .expect("task")
            .expect("each later payment is a sale");
    }
    // The cancel came after the payment, so it waited for the payment's batch and
    // found the reservation sold; run at once, it would have undone the hold first.
    let cancelled = cancel.await.expect("task");
    assert!(
        matches!(cancelled, Err(EventError::NotPending)),
        "the cancel after the payment finds a sale: {cancelled:?}"
    );

    let recorded = sale.recorded().await;
    let sold_at: Vec<DateTime<Utc>> = ids
        .iter()
        .map(|id| {
            let (status, at) = &recorded[id];
            assert_eq!(status, "confirmed", "reservation {id:?}");
            at.expect("a sale records when")
        })
        .collect();
    assert!(
        sold_at[1..].iter().all(|at| *at == sold_at[1]),
        "the nine payments that queued behind the first batch were sold in one transaction: \
         {sold_at:?}"
    );
    assert_ne!(
        sold_at[0], sold_at[1],
        "the first payment went in a batch of its own"
    );
    for &id in &ids {
        assert_eq!(
            sale.sale_records(id).await,
            (1, 1),
            "one history line and one event per sale"
        );
    }
    assert_eq!(
        sale.sold_on_the_map().await,
        20,
        "every paid seat is sold on the map"
    );
}

#[tokio::test]
async fn a_batch_answers_each_sale_as_it_would_alone_and_writes_only_those_that_check_out() {
    let sale = sale(4).await;
    let valid = sale.hold(0).await;
    let retaken = sale.hold(1).await;
    let cancelled = sale.hold(2).await;
    let sold_before = sale.hold(3).await;
    let requests: HashMap<ReservationId, SaleRequest> = {
        let mut requests = HashMap::new();
        for id in [valid, retaken, cancelled, sold_before] {
            let seats = sale.tokens(id).await;
            assert_eq!(seats.len(), 2, "each hold has two live seats");
            requests.insert(
                id,
                SaleRequest {
                    reservation: id,
                    seats,
                },
            );
        }
        requests
    };
    // Someone else's lock now on one of the second hold's seats: its token is stale.
    let stale_seat = requests[&retaken].seats[1].0;
    seat_locks::force_retake(&sale.stores.kv, sale.event_id, stale_seat.0, Uuid::new_v4())
        .await
        .expect("retake");
    sale.event
        .cancel(sale.buyers[2], cancelled)
        .await
        .expect("cancel");
    sale.event.confirm(sold_before).await.expect("a sale");

    let batch = vec![
        requests[&valid].clone(),
        requests[&retaken].clone(),
        requests[&cancelled].clone(),
        requests[&sold_before].clone(),
        requests[&valid].clone(),
    ];
    let outcomes = event_store(&sale.stores)
        .confirm_many(sale.event_id, &batch)
        .await
        .expect("the batch is written");
    assert_eq!(
        outcomes,
        vec![
            ConfirmOutcome::Confirmed,
            ConfirmOutcome::StaleToken(vec![stale_seat]),
            ConfirmOutcome::NotPending,
            ConfirmOutcome::Confirmed,
            ConfirmOutcome::Confirmed,
        ]
    );

    let recorded = sale.recorded().await;
    assert_eq!(recorded[&valid].0, "confirmed");
    assert_eq!(
        recorded[&retaken].0, "pending",
        "a sale with a stale token is not written"
    );
    assert_eq!(recorded[&cancelled].0, "cancelled");
    assert_eq!(recorded[&sold_before].0, "confirmed");
    assert_eq!(
        sale.sale_records(valid).await,
        (1, 1),
        "asked twice in one batch, sold once"
    );
    assert_eq!(sale.sale_records(retaken).await, (0, 0));
    assert_eq!(
        sale.sale_records(sold_before).await,
        (1, 1),
        "a sale already made is not recorded again"
    );
    let reserved: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM seats WHERE event_id = $1 AND status = 'reserved'")
            .bind(sale.event_id)
            .fetch_all(&sale.stores.db)
            .await
            .expect("seats");
    let mut expected: Vec<Uuid> = requests[&valid]
        .seats
        .iter()
        .chain(&requests[&sold_before].seats)
        .map(|(seat, _)| seat.0)
        .collect();
    let mut reserved = reserved;
    reserved.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        reserved, expected,
        "only the sold holds' seats are reserved"
    );
}

#[tokio::test]
async fn a_payment_whose_actor_dies_mid_sale_ends_as_one_sale() {
    let sale = sale(2).await;
    let paid = sale.hold(0).await;
    let gate = gate(&sale.stores.db, paid).await;
    let payment = tokio::spawn({
        let event = sale.event.clone();
        async move { event.confirm(paid).await }
    });
    until_a_write_waits(&sale.stores.db).await;
    // The actor dies with its batch waiting in PostgreSQL. The payment is not lost: its
    // call is made once more to the event's next actor, which sells the hold.
    assert!(sale.event.kill(), "an actor was running");
    gate.rollback().await.expect("let the batch go");
    payment
        .await
        .expect("task")
        .expect("the payment ends as a sale");
    let recorded = sale.recorded().await;
    assert_eq!(recorded[&paid].0, "confirmed");
    assert_eq!(sale.sale_records(paid).await, (1, 1), "sold once");
    // The next actor knows the seats as sold.
    assert_eq!(
        sale.sold_on_the_map().await,
        2,
        "the next actor sees both seats sold"
    );
}

/// A payment's last step after its sale (`payments::ticketed_and_read`): a `paid` payment
/// of a sold reservation is made `done` and answered as it now stands, in one statement;
/// asked again, or of a payment being refunded, it changes nothing and answers the row.
#[tokio::test]
async fn a_paid_payment_is_ticketed_and_read_back_in_one_statement() {
    use urr_store::payments::{self, NewPayment, Target};
    use urr_wire::status::{PaymentProvider, PaymentStatus};

    let sale = sale(2).await;
    let mut made = Vec::new();
    for k in 0..2 {
        let reservation = sale.hold(k).await;
        let payment = payments::create(
            &sale.stores.db,
            &NewPayment {
                order_id: &format!("ORD_test_{k}"),
                target: Target::Reservation(reservation.0),
                user_id: sale.buyers[k].0,
                event_id: Some(sale.event_id),
                amount: 1000,
                provider: PaymentProvider::Sandbox,
                method: Some("transfer"),
            },
        )
        .await
        .expect("payment");
        made.push((reservation, payment.id));
    }
    let set = |id: Uuid, status: &'static str| {
        let db = sale.stores.db.clone();
        async move {
            sqlx::query("UPDATE payments SET status = $2 WHERE id = $1")
                .bind(id)
                .bind(status)
                .execute(&db)
                .await
                .expect("set the payment's status");
        }
    };
    let (reservation, paid) = made[0];
    set(paid, "paid").await;
    let read = payments::ticketed_and_read(&sale.stores.db, reservation.0, paid)
        .await
        .expect("ticketed")
        .expect("the payment");
    assert_eq!(
        read.status,
        PaymentStatus::Done,
        "answered as it now stands"
    );
    let again = payments::ticketed_and_read(&sale.stores.db, reservation.0, paid)
        .await
        .expect("ticketed again")
        .expect("the payment");
    assert_eq!(again.status, PaymentStatus::Done);
    assert_eq!(again.id, paid);

    let (reservation, refunding) = made[1];
    set(refunding, "refunding").await;
    let read = payments::ticketed_and_read(&sale.stores.db, reservation.0, refunding)
        .await
        .expect("read")
        .expect("the payment");
    assert_eq!(
        read.status,
        PaymentStatus::Refunding,
        "only a paid payment moves"
    );

    let none = payments::ticketed_and_read(&sale.stores.db, reservation.0, Uuid::new_v4())
        .await
        .expect("read");
    assert!(none.is_none());
}

/// A payment that charges at once is created already claimed for confirmation; a second
/// order of the same reservation is refused while it settles, with nothing written. Its
/// charge is recorded once (one `PaymentConfirmed` in the outbox) and answered as the
/// payment now stands; recorded again, nothing moves.
#[tokio::test]
async fn an_order_created_claimed_is_charged_once_and_answered_as_paid() {
    use urr_store::payments::{self, NewPayment, Target};
    use urr_wire::status::{PaymentProvider, PaymentStatus};

    let sale = sale(1).await;
    let db = &sale.stores.db;
    let reservation = sale.hold(0).await;
    let order = |order_id| NewPayment {
        order_id,
        target: Target::Reservation(reservation.0),
        user_id: sale.buyers[0].0,
        event_id: Some(sale.event_id),
        amount: 1000,
        provider: PaymentProvider::Sandbox,
        method: Some("transfer"),
    };
    let within = Duration::from_secs(30);
    let claimed = payments::create_confirming(db, &order("ORD_first"), "key_first", within)
        .await
        .expect("created")
        .expect("claimed");
    assert_eq!(claimed.status, PaymentStatus::Confirming);
    assert_eq!(claimed.payment_key.as_deref(), Some("key_first"));
    assert!(
        claimed.next_check_at.is_some_and(|at| at > Utc::now()),
        "the reconciler leaves it to its request for a while"
    );

    let second = payments::create_confirming(db, &order("ORD_second"), "key_second", within)
        .await
        .expect("refused, not failed");
    assert!(
        second.is_none(),
        "one order of a reservation settles at a time"
    );
    let written = payments::by_order(db, "ORD_second").await.expect("read");
    assert!(written.is_none(), "a refused order leaves nothing behind");

    let grace = Duration::from_secs(5);
    let paid = payments::record_paid(db, &claimed, "transfer", grace)
        .await
        .expect("recorded")
        .expect("moved by this call");
    assert_eq!(paid.id, claimed.id);
    assert_eq!(
        paid.status,
        PaymentStatus::Paid,
        "answered as it now stands"
    );
    assert!(paid.confirmed_at.is_some());
    assert_eq!(paid.method.as_deref(), Some("transfer"));
    let stored = payments::by_order(db, "ORD_first")
        .await
        .expect("read")
        .expect("the payment");
    assert_eq!(stored.status, PaymentStatus::Paid);
    assert_eq!(stored.confirmed_at, paid.confirmed_at);

    let again = payments::record_paid(db, &claimed, "transfer", grace)
        .await
        .expect("recorded again");
    assert!(again.is_none(), "a settled payment does not move twice");
    let events: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'PaymentConfirmed'",
    )
    .bind("ORD_first")
    .fetch_one(db)
    .await
    .expect("outbox");
    assert_eq!(events, 1, "one PaymentConfirmed for one charge");
}
