//! The stores' own guarantees, straight through the store (no actor, no node): a zombie
//! owner's writes are refused in PostgreSQL and in Redis once a newer owner has raised
//! the epoch, and nothing stale lands; the Lua fence agrees with the Rust comparison; the
//! epoch key never goes down; counted tickets do not oversell under concurrent
//! transactions (`docs/architecture.md#fencing`); a batch of seat holds is recorded whole
//! or its offender alone is refused, and chunks written side by side all land
//! (`docs/architecture.md#holds-in-flight`). Real PostgreSQL and Redis, a fresh database
//! and key prefix per test.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use urr_actors::event::QueueSettings;
use urr_actors::ids::{FencingToken, ReservationId, SeatId, TicketTypeId, UserId};
use urr_actors::ownership::Fence;
use urr_actors::ports::{
    ConfirmOutcome, Ending, EventStore, InsertOutcome, LockOutcome, NewItem, NewReservation,
    StoreFailure,
};
use urr_store::cluster::epochs;
use urr_store::cluster::leases::{self, LeaseValue};
use urr_store::event_store::{PgRedisEventStore, read_queue_log};
use urr_store::{PgPool, StoreError, fencing, seat_locks};
use uuid::Uuid;

mod common;

use common::{Stores, event, event_store, stores, user};

/// Acquires the event as `node` would (lease, epoch in PostgreSQL, lease completed and
/// epoch key raised), taking over whatever lease is there.
async fn acquire(stores: &Stores, event: Uuid, node: &str) -> Fence {
    if let Some(raw) = leases::holder(&stores.kv, event).await.expect("holder") {
        let held = LeaseValue::parse(&raw).expect("ours");
        leases::release(&stores.kv, event, &held)
            .await
            .expect("release");
    }
    let taken = LeaseValue {
        node: node.into(),
        incarnation: "test".into(),
        epoch: 0,
        url: "http://127.0.0.1:1".into(),
    };
    let ttl = Duration::from_secs(30);
    let holder = leases::take(&stores.kv, event, &taken, ttl, None)
        .await
        .expect("take");
    assert_eq!(holder, None, "the lease was free");
    let acquired = epochs::acquire(&stores.db, event, node, &taken.url)
        .await
        .expect("epoch")
        .expect("the event exists");
    let done = LeaseValue {
        epoch: acquired.epoch,
        ..taken.clone()
    };
    assert!(
        leases::complete(&stores.kv, event, &taken, &done, ttl)
            .await
            .expect("complete")
    );
    Fence {
        event_id: event,
        epoch: acquired.epoch,
    }
}

fn seat_hold(event: Uuid, user: UserId, seat: SeatId, token: FencingToken) -> NewReservation {
    NewReservation {
        id: ReservationId::from(Uuid::now_v7()),
        event_id: event,
        user,
        idempotency_key: Uuid::new_v4().to_string(),
        expires_at: Utc::now() + chrono::Duration::minutes(5),
        total_amount: 10_000,
        items: vec![NewItem::Seat {
            seat,
            price: 10_000,
            token,
        }],
    }
}

fn ticket_hold(event: Uuid, user: UserId, ticket_type: TicketTypeId) -> NewReservation {
    NewReservation {
        id: ReservationId::from(Uuid::now_v7()),
        event_id: event,
        user,
        idempotency_key: Uuid::new_v4().to_string(),
        expires_at: Utc::now() + chrono::Duration::minutes(5),
        total_amount: 1_000,
        items: vec![NewItem::Tickets {
            ticket_type,
            quantity: 1,
            unit_price: 1_000,
        }],
    }
}

async fn reservation_status(db: &PgPool, id: ReservationId) -> String {
    sqlx::query_scalar("SELECT status FROM reservations WHERE id = $1")
        .bind(id.0)
        .fetch_one(db)
        .await
        .expect("status")
}

async fn reservations(db: &PgPool, event: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM reservations WHERE event_id = $1")
        .bind(event)
        .fetch_one(db)
        .await
        .expect("count")
}

fn refused<T: std::fmt::Debug>(result: Result<T, StoreFailure>, fence: Fence, what: &str) {
    match result {
        Err(StoreFailure::Fenced(refused)) => assert_eq!(refused, fence, "{what}"),
        other => panic!("{what}: a zombie's write was not refused: {other:?}"),
    }
}

#[tokio::test]
async fn a_zombie_owner_changes_nothing_in_postgres_or_redis() {
    let stores = stores(5).await;
    let (event, seats, tickets) = event(&stores.db, 4, 10).await;
    let buyer = user(&stores.db).await;
    let base = event_store(&stores);
    let ttl = Duration::from_secs(60);

    // Node A owns the event and writes: a held seat, a line in the queue log.
    let old = acquire(&stores, event, "node-a").await;
    let zombie = base.fenced(old);
    let mut first = seat_hold(event, buyer, seats[1], FencingToken(0));
    let locked = zombie
        .lock_seats(event, &[(first.id, vec![seats[1]])], ttl)
        .await
        .expect("the owner locks");
    let LockOutcome::Locked(tokens) = &locked[0] else {
        panic!("locked: {locked:?}");
    };
    first.items = vec![NewItem::Seat {
        seat: seats[1],
        price: 10_000,
        token: tokens[0],
    }];
    assert_eq!(
        zombie.insert_pending(std::slice::from_ref(&first)).await,
        Ok(vec![InsertOutcome::Inserted])
    );
    zombie
        .append_queue_log(event, &[b"joined-before".to_vec()])
        .await
        .expect("the owner appends");
    assert_eq!(base.refused_writes(), 0, "the owner's own writes pass");

    // Node B takes the event over: the epoch goes up in PostgreSQL and in Redis.
    let new = acquire(&stores, event, "node-b").await;
    assert_eq!(new.epoch, old.epoch + 1);
    let log_before = read_queue_log(&stores.kv, event).await.expect("log");
    let lock_before = seat_locks::read(&stores.kv, event, seats[1].0)
        .await
        .expect("lock");
    let count_before = reservations(&stores.db, event).await;

    // Every write of node A's store is refused now.
    let other = user(&stores.db).await;
    let pairs = [(seats[1], tokens[0])];
    refused(
        zombie
            .lock_seats(
                event,
                &[(ReservationId::from(Uuid::now_v7()), vec![seats[2]])],
                ttl,
            )
            .await,
        old,
        "lock seats",
    );
    refused(
        zombie.unlock_seats(event, first.id, &[seats[1]]).await,
        old,
        "unlock seats",
    );
    refused(
        zombie
            .unlock_many(event, &[(first.id, vec![seats[1]])])
            .await,
        old,
        "unlock many",
    );
    refused(
        zombie
            .insert_pending(&[
                seat_hold(event, other, seats[2], FencingToken(99)),
                seat_hold(event, other, seats[3], FencingToken(100)),
            ])
            .await,
        old,
        "insert a batch of seat holds",
    );
    refused(
        zombie
            .insert_pending(&[ticket_hold(event, other, tickets)])
            .await,
        old,
        "insert a ticket hold",
    );
    refused(
        zombie.confirm(event, first.id, &pairs).await,
        old,
        "confirm",
    );
    refused(
        zombie.finish(first.id, Ending::Cancelled, "zombie").await,
        old,
        "finish",
    );
    refused(
        zombie
            .finish_many(&[(first.id, Ending::Expired)], "zombie")
            .await,
        old,
        "finish many",
    );
    refused(
        zombie.revive(event, first.id, &pairs, "zombie").await,
        old,
        "revive",
    );
    refused(
        zombie
            .cancel_confirmed(event, first.id, &[seats[1]], "zombie")
            .await,
        old,
        "cancel confirmed",
    );
    refused(
        zombie
            .append_queue_log(event, &[b"joined-after".to_vec()])
            .await,
        old,
        "append to the queue log",
    );
    refused(
        zombie
            .rewrite_queue_log(event, &[b"compacted".to_vec()])
            .await,
        old,
        "rewrite the queue log",
    );
    assert_eq!(base.refused_writes(), 12, "every refusal is counted");

    // Nothing stale landed.
    assert_eq!(reservations(&stores.db, event).await, count_before);
    assert_eq!(reservation_status(&stores.db, first.id).await, "pending");
    assert_eq!(
        read_queue_log(&stores.kv, event).await.expect("log"),
        log_before
    );
    assert_eq!(
        seat_locks::read(&stores.kv, event, seats[1].0)
            .await
            .expect("lock"),
        lock_before
    );
    assert_eq!(
        seat_locks::read(&stores.kv, event, seats[2].0)
            .await
            .expect("lock"),
        None
    );

    // The new owner writes as usual.
    let owner = base.fenced(new);
    assert_eq!(
        owner.confirm(event, first.id, &pairs).await,
        Ok(ConfirmOutcome::Confirmed)
    );
    owner
        .append_queue_log(event, &[b"joined-after".to_vec()])
        .await
        .expect("the new owner appends");
    assert_eq!(base.refused_writes(), 12);
}

#[tokio::test]
async fn the_redis_fence_agrees_with_the_epoch_comparison_and_never_goes_down() {
    let stores = stores(2).await;
    // A spread of (current, mine) pairs, the edges included.
    let mut cases = vec![
        (0u64, 0u64),
        (1, 0),
        (0, 1),
        (5, 5),
        (5, 4),
        (5, 6),
        (u32::MAX as u64, 1),
    ];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        cases.push((x % 20, (x >> 20) % 20));
    }
    for (current, mine) in cases {
        let event = Uuid::new_v4();
        if current > 0 {
            let taken = LeaseValue {
                node: "n".into(),
                incarnation: "i".into(),
                epoch: 0,
                url: "http://n".into(),
            };
            let ttl = Duration::from_secs(5);
            leases::take(&stores.kv, event, &taken, ttl, None)
                .await
                .expect("take");
            let done = LeaseValue {
                epoch: current,
                ..taken.clone()
            };
            assert!(
                leases::complete(&stores.kv, event, &taken, &done, ttl)
                    .await
                    .expect("complete")
            );
            // A late, smaller raise never lowers the key.
            let again = LeaseValue {
                epoch: current.saturating_sub(1),
                ..done.clone()
            };
            leases::complete(&stores.kv, event, &done, &again, ttl)
                .await
                .expect("complete");
            assert_eq!(
                leases::epoch(&stores.kv, event).await.expect("epoch"),
                current
            );
        }
        let written = seat_locks::lock(
            &stores.kv,
            event,
            Some(mine),
            &[(Uuid::new_v4(), vec![Uuid::new_v4()])],
            Duration::from_secs(5),
        )
        .await;
        let was_refused = matches!(written, Err(StoreError::Fenced { epoch, .. }) if epoch == mine);
        assert_eq!(
            was_refused,
            fencing::is_stale(mine, current),
            "mine {mine}, current {current}: {written:?}"
        );
    }
}

// Concurrent transactions need connections and threads of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_counted_ticket_holds_never_oversell() {
    let stores = stores(24).await;
    let (event, _, tickets) = event(&stores.db, 1, 10).await;
    let store = Arc::new(PgRedisEventStore::new(
        stores.db.clone(),
        stores.kv.clone(),
        QueueSettings::default(),
    ));
    let mut buyers = Vec::new();
    for _ in 0..40 {
        buyers.push(user(&stores.db).await);
    }
    // Forty holds of one ticket at once, straight through the store (no actor to
    // serialize them): only the capacity check in PostgreSQL stands between them and an
    // oversell.
    let start = Arc::new(tokio::sync::Barrier::new(buyers.len()));
    let holds = buyers.into_iter().map(|buyer| {
        let store = store.clone();
        let start = start.clone();
        tokio::spawn(async move {
            start.wait().await;
            store
                .insert_pending(&[ticket_hold(event, buyer, tickets)])
                .await
        })
    });
    let mut inserted = 0;
    for hold in futures::future::join_all(holds).await {
        match hold.expect("task").expect("the store answers").as_slice() {
            [InsertOutcome::Inserted] => inserted += 1,
            [InsertOutcome::SeatConflict] => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    let live: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(quantity), 0)::bigint FROM reservation_items \
         WHERE ticket_type_id = $1 AND live",
    )
    .bind(tickets.0)
    .fetch_one(&stores.db)
    .await
    .expect("sum");
    assert_eq!(inserted, 10, "exactly the capacity was held");
    assert_eq!(live, 10, "PostgreSQL holds no more than the capacity");
}

/// A seat hold of `seats`, with made-up tokens (what the locks handed out does not
/// matter to PostgreSQL).
fn pair_hold(event: Uuid, user: UserId, seats: &[SeatId]) -> NewReservation {
    NewReservation {
        total_amount: 10_000 * seats.len() as i64,
        items: seats
            .iter()
            .zip(1..)
            .map(|(&seat, token)| NewItem::Seat {
                seat,
                price: 10_000,
                token: FencingToken(token),
            })
            .collect(),
        ..seat_hold(event, user, seats[0], FencingToken(0))
    }
}

/// What PostgreSQL records of a reservation: status, live seats with their tokens, and
/// its history notes.
async fn recorded(db: &PgPool, id: ReservationId) -> (String, Vec<(Uuid, i64)>, Vec<String>) {
    let items: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT seat_id, fencing_token FROM reservation_items \
         WHERE reservation_id = $1 AND live ORDER BY fencing_token",
    )
    .bind(id.0)
    .fetch_all(db)
    .await
    .expect("items");
    let notes: Vec<String> =
        sqlx::query_scalar("SELECT note FROM reservation_history WHERE reservation_id = $1")
            .bind(id.0)
            .fetch_all(db)
            .await
            .expect("history");
    (reservation_status(db, id).await, items, notes)
}

/// A batch of seat holds is one statement in one fenced transaction
/// (docs/architecture.md#holds-in-flight): recorded whole, each reservation with its
/// seats, tokens and history; a duplicate key or a seat already live inside the batch
/// refuses that hold alone.
#[tokio::test]
async fn a_batch_of_seat_holds_is_recorded_whole_and_a_refusal_inside_refuses_only_its_hold() {
    let stores = stores(5).await;
    let (event, seats, _) = event(&stores.db, 64, 10).await;
    let buyer = user(&stores.db).await;
    let base = event_store(&stores);
    let owner = base.fenced(acquire(&stores, event, "node-a").await);

    let batch: Vec<NewReservation> = (0..16)
        .map(|k| pair_hold(event, buyer, &seats[2 * k..2 * k + 2]))
        .collect();
    assert_eq!(
        owner.insert_pending(&batch).await,
        Ok(vec![InsertOutcome::Inserted; 16])
    );
    for hold in &batch {
        let (status, items, notes) = recorded(&stores.db, hold.id).await;
        assert_eq!(status, "pending");
        let expected: Vec<(Uuid, i64)> = hold
            .items
            .iter()
            .map(|item| match item {
                NewItem::Seat { seat, token, .. } => (seat.0, token.0 as i64),
                NewItem::Tickets { .. } => unreachable!("seat holds only"),
            })
            .collect();
        assert_eq!(items, expected);
        assert_eq!(notes, vec!["held".to_owned()]);
    }

    // Another batch: one hold repeats an idempotency key of the first, one wants a seat
    // the first holds; the rest are new.
    let mut again: Vec<NewReservation> = (16..24)
        .map(|k| pair_hold(event, buyer, &seats[2 * k..2 * k + 2]))
        .collect();
    again[2].idempotency_key = batch[5].idempotency_key.clone();
    again[5] = pair_hold(event, buyer, &[seats[60], seats[3]]);
    let outcomes = owner.insert_pending(&again).await.expect("recorded");
    for (k, (hold, outcome)) in again.iter().zip(&outcomes).enumerate() {
        let expected = match k {
            2 => InsertOutcome::DuplicateKey(batch[5].id),
            5 => InsertOutcome::SeatConflict,
            _ => InsertOutcome::Inserted,
        };
        assert_eq!(outcome, &expected, "hold {k}");
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM reservations WHERE id = $1")
            .bind(hold.id.0)
            .fetch_one(&stores.db)
            .await
            .expect("count");
        assert_eq!(
            count,
            i64::from(expected == InsertOutcome::Inserted),
            "hold {k}"
        );
    }
    assert_eq!(reservations(&stores.db, event).await, 16 + 6);
    // The seat the refused hold wanted is still its first holder's alone.
    let (_, items, _) = recorded(&stores.db, batch[1].id).await;
    assert_eq!(items.len(), 2);
}

/// Chunks of one burst are written side by side on connections of their own
/// (docs/architecture.md#holds-in-flight): disjoint seats, so none waits for another,
/// and every one lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chunks_written_side_by_side_all_land() {
    let stores = stores(8).await;
    let (event, seats, _) = event(&stores.db, 128, 10).await;
    let buyer = user(&stores.db).await;
    let base = event_store(&stores);
    let owner = base.fenced(acquire(&stores, event, "node-a").await);
    let chunks: Vec<Vec<NewReservation>> = (0..4)
        .map(|c| {
            (0..16)
                .map(|k| {
                    let first = 2 * (16 * c + k);
                    pair_hold(event, buyer, &seats[first..first + 2])
                })
                .collect()
        })
        .collect();

    let written =
        futures::future::join_all(chunks.iter().map(|chunk| owner.insert_pending(chunk))).await;

    for outcome in written {
        assert_eq!(outcome, Ok(vec![InsertOutcome::Inserted; 16]));
    }
    assert_eq!(reservations(&stores.db, event).await, 64);
    let live: i64 =
        sqlx::query_scalar("SELECT count(*) FROM reservation_items WHERE event_id = $1 AND live")
            .bind(event)
            .fetch_one(&stores.db)
            .await
            .expect("items");
    assert_eq!(live, 128);
}
