//! The EventActor's holds in flight on the real stores (docs/architecture.md#holds-in-flight):
//! a burst is written in chunks side by side, each caller answered its own; a chunk that
//! PostgreSQL fails is undone alone; a call about a hold still in flight, or still
//! waiting for a slot, waits for its chunk; the pipeline never carries more chunks than
//! allowed. A real `EventDirectory` over `PgRedisEventStore`, a fresh database and Redis
//! key prefix per test.
//!
//! PostgreSQL is not paused by a clock: where a test needs writes held in flight, it
//! holds a lock on `reservations` itself (every chunk's insert waits for it) and looks at
//! what is waiting, in the store's calls and in `pg_stat_activity`, before it lets go.
//! Each test runs on tokio's single-threaded runtime, so the chunks' tasks start in the
//! order the actor spawns them, and calls posted one after another reach its mailbox in
//! that order.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use urr_actors::event::{
    DirectoryOptions, EventDirectory, EventError, EventRef, HoldView, QueueSettings, SeatStatus,
};
use urr_actors::ids::{FencingToken, ReservationId, SeatId, UserId};
use urr_actors::ownership::Fence;
use urr_actors::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LockOutcome, NewReservation,
    RecordedReservation, SaleRequest, StoreFailure, WaitingEntry,
};
use urr_store::{PgPool, seat_locks};
use uuid::Uuid;

mod common;

use common::{Stores, event, event_store, stores, user};

/// How long a test waits for something it expects to see before it fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// One step of the holds' writes, as the store saw it.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A chunk's lock call began, with its holds.
    Locking(Vec<ReservationId>),
    /// A chunk's insert returned, with its holds, successfully or not.
    Recorded { holds: Vec<ReservationId>, ok: bool },
    /// A reservation's ending began to be written.
    Finishing(ReservationId),
}

#[derive(Default)]
struct Seen {
    /// Each chunk's holds, in the order the chunks' lock calls began.
    chunks: Vec<Vec<ReservationId>>,
    /// Chunks between the start of their lock call and the end of their insert: now,
    /// and the most at once.
    writing: usize,
    most_writing: usize,
    /// The chunks inside their insert now.
    inserting: Vec<Vec<ReservationId>>,
    log: Vec<Step>,
}

/// The real event store, every call handed to it as is; the holds' writes are noted on
/// the way, so a test can see the chunks in flight.
#[derive(Clone)]
struct Watched {
    store: Arc<dyn EventStore>,
    seen: Arc<Mutex<Seen>>,
}

impl Watched {
    fn new(store: Arc<dyn EventStore>) -> Self {
        Self {
            store,
            seen: Arc::default(),
        }
    }

    fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventStore for Watched {
    fn fenced(&self, fence: Fence) -> Arc<dyn EventStore> {
        Arc::new(Self {
            store: self.store.fenced(fence),
            seen: self.seen.clone(),
        })
    }

    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure> {
        self.store.load(event_id).await
    }

    async fn lock_seats(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure> {
        let chunk: Vec<ReservationId> = holds.iter().map(|(id, _)| *id).collect();
        {
            let mut seen = self.seen();
            seen.chunks.push(chunk.clone());
            seen.log.push(Step::Locking(chunk));
            seen.writing += 1;
            seen.most_writing = seen.most_writing.max(seen.writing);
        }
        let locked = self.store.lock_seats(event_id, holds, ttl).await;
        // A chunk with nothing locked goes no further: no insert will end it.
        let any = matches!(&locked, Ok(outcomes)
            if outcomes.iter().any(|o| matches!(o, LockOutcome::Locked(_))));
        if !any {
            self.seen().writing -= 1;
        }
        locked
    }

    async fn unlock_seats(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure> {
        self.store.unlock_seats(event_id, reservation, seats).await
    }

    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure> {
        let holds: Vec<ReservationId> = reservations.iter().map(|r| r.id).collect();
        self.seen().inserting.push(holds.clone());
        let inserted = self.store.insert_pending(reservations).await;
        let mut seen = self.seen();
        seen.inserting.retain(|chunk| *chunk != holds);
        seen.writing -= 1;
        seen.log.push(Step::Recorded {
            holds,
            ok: inserted.is_ok(),
        });
        inserted
    }

    async fn confirm(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure> {
        self.store.confirm(event_id, reservation, seats).await
    }

    async fn confirm_many(
        &self,
        event_id: Uuid,
        sales: &[SaleRequest],
    ) -> Result<Vec<ConfirmOutcome>, StoreFailure> {
        self.store.confirm_many(event_id, sales).await
    }

    async fn finish(
        &self,
        reservation: ReservationId,
        ending: Ending,
        note: &str,
    ) -> Result<bool, StoreFailure> {
        self.seen().log.push(Step::Finishing(reservation));
        self.store.finish(reservation, ending, note).await
    }

    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure> {
        {
            let mut seen = self.seen();
            for (reservation, _) in endings {
                seen.log.push(Step::Finishing(*reservation));
            }
        }
        self.store.finish_many(endings, note).await
    }

    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure> {
        self.store.unlock_many(event_id, holds).await
    }

    async fn revive(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[(SeatId, FencingToken)],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        self.store.revive(event_id, reservation, seats, note).await
    }

    async fn cancel_confirmed(
        &self,
        event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
        note: &str,
    ) -> Result<bool, StoreFailure> {
        self.store
            .cancel_confirmed(event_id, reservation, seats, note)
            .await
    }

    async fn reservation_record(
        &self,
        reservation: ReservationId,
    ) -> Result<Option<RecordedReservation>, StoreFailure> {
        self.store.reservation_record(reservation).await
    }

    async fn clear_stray_locks(
        &self,
        event_id: Uuid,
        seats: &[SeatId],
        live: &[ReservationId],
    ) -> Result<usize, StoreFailure> {
        self.store.clear_stray_locks(event_id, seats, live).await
    }

    async fn record_sold_out(&self, event_id: Uuid, sold_out: bool) -> Result<(), StoreFailure> {
        self.store.record_sold_out(event_id, sold_out).await
    }

    async fn append_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        self.store.append_queue_log(event_id, records).await
    }

    async fn load_queue_log(&self, event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure> {
        self.store.load_queue_log(event_id).await
    }

    async fn waiting_for_offer(
        &self,
        event_id: Uuid,
        limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreFailure> {
        self.store.waiting_for_offer(event_id, limit).await
    }

    async fn rewrite_queue_log(
        &self,
        event_id: Uuid,
        records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        self.store.rewrite_queue_log(event_id, records).await
    }
}

/// An event on sale without a queue, its actor started on the real stores, and a buyer
/// per hold.
struct Sale {
    stores: Stores,
    store: Watched,
    event_id: Uuid,
    event: EventRef,
    seats: Vec<SeatId>,
    /// Each seat's price, as PostgreSQL has it.
    prices: HashMap<SeatId, i64>,
    buyers: Vec<UserId>,
}

/// A sale of 200 seats to `buyers` people, written `holds_per_write` holds per chunk,
/// `in_flight` chunks at once.
async fn sale(in_flight: usize, holds_per_write: usize, buyers: usize) -> Sale {
    // A connection per chunk in flight, and a few for the test's lock and reads.
    let connections = u32::try_from(in_flight).expect("in flight") + 6;
    let stores = stores(connections).await;
    let (event_id, seats, _) = event(&stores.db, 200, 10).await;
    // No queue: a hold needs no admission first.
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
    let prices: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT id, price FROM seats WHERE event_id = $1")
            .bind(event_id)
            .fetch_all(&stores.db)
            .await
            .expect("prices");
    let store = Watched::new(Arc::new(event_store(&stores)));
    let options = DirectoryOptions {
        hold_batches_in_flight: in_flight,
        holds_per_write,
        ..DirectoryOptions::default()
    };
    let directory = EventDirectory::start(Arc::new(store.clone()), options)
        .await
        .expect("directory");
    let event = directory.event(event_id);
    event.start().await.expect("actor");
    Sale {
        stores,
        store,
        event_id,
        event,
        seats,
        prices: prices
            .into_iter()
            .map(|(seat, price)| (SeatId::from(seat), price))
            .collect(),
        buyers: people,
    }
}

type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, EventError>> + 'a>>;

impl Sale {
    /// Hold `k`'s seats: `2k` and `2k+1`.
    fn seats_of(&self, k: usize) -> &[SeatId] {
        &self.seats[2 * k..2 * k + 2]
    }

    /// Holds `ks`, hold `k` asked for by buyer `k` with reservation `ids[k]`.
    fn holds(&self, ids: &[ReservationId], ks: std::ops::Range<usize>) -> Vec<Call<'_, HoldView>> {
        ks.map(|k| {
            let hold = self.event.hold_seats(
                self.buyers[k],
                ids[k],
                self.seats_of(k).to_vec(),
                format!("key-{k}"),
            );
            Box::pin(hold) as Call<'_, HoldView>
        })
        .collect()
    }

    async fn statuses(&self) -> HashMap<SeatId, SeatStatus> {
        self.event
            .seat_statuses()
            .await
            .expect("seat statuses")
            .into_iter()
            .collect()
    }

    /// Reservations PostgreSQL holds for the event: status, and live seats with tokens.
    async fn recorded(&self) -> HashMap<ReservationId, (String, Vec<(SeatId, u64)>)> {
        let rows: Vec<(Uuid, String, Option<Uuid>, Option<i64>)> = sqlx::query_as(
            "SELECT r.id, r.status, i.seat_id, i.fencing_token FROM reservations r \
             LEFT JOIN reservation_items i ON i.reservation_id = r.id AND i.live \
             WHERE r.event_id = $1 ORDER BY i.fencing_token",
        )
        .bind(self.event_id)
        .fetch_all(&self.stores.db)
        .await
        .expect("reservations");
        let mut recorded: HashMap<ReservationId, (String, Vec<(SeatId, u64)>)> = HashMap::new();
        for (id, status, seat, token) in rows {
            let entry = recorded
                .entry(ReservationId::from(id))
                .or_insert_with(|| (status, Vec::new()));
            if let (Some(seat), Some(token)) = (seat, token) {
                let token = u64::try_from(token).expect("a token is positive");
                entry.1.push((SeatId::from(seat), token));
            }
        }
        recorded
    }

    /// The seat's lock in Redis: its owner and fencing token.
    async fn lock_of(&self, seat: SeatId) -> Option<(ReservationId, u64)> {
        let value = seat_locks::read(&self.stores.kv, self.event_id, seat.0)
            .await
            .expect("lock");
        value.map(|value| {
            let mut parts = value.split('|');
            let owner = parts.next().and_then(|o| o.parse::<Uuid>().ok());
            let token = parts.next().and_then(|t| t.parse::<u64>().ok());
            match (owner, token) {
                (Some(owner), Some(token)) => (ReservationId::from(owner), token),
                _ => panic!("a lock reads owner|token: {value}"),
            }
        })
    }

    /// Waits until the chunks carrying `holds` are all inside their insert at once, each
    /// waiting in PostgreSQL for the test's lock on a connection of its own; returns
    /// those chunks.
    async fn until_waiting(&self, holds: &[ReservationId]) -> Vec<Vec<ReservationId>> {
        let started = Instant::now();
        loop {
            let inserting = self.store.seen().inserting.clone();
            let all_in = holds
                .iter()
                .all(|id| inserting.iter().any(|chunk| chunk.contains(id)));
            if all_in && waiting_for_locks(&self.stores.db).await == inserting.len() {
                return inserting;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "waited {PATIENCE:?} for the chunks of {} holds to wait in PostgreSQL at once; \
                 inserting: {inserting:?}",
                holds.len()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Backends of the test's database waiting for a lock.
async fn waiting_for_locks(db: &PgPool) -> usize {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    .fetch_one(db)
    .await
    .expect("pg_stat_activity");
    usize::try_from(waiting).expect("a count")
}

/// A lock the test holds on `reservations`, in a transaction of its own: every insert
/// waits for it (SHARE conflicts with the ROW EXCLUSIVE an insert takes), reads do not.
struct Gate(sqlx::Transaction<'static, sqlx::Postgres>);

impl Gate {
    async fn close(db: &PgPool) -> Self {
        let mut tx = db.begin().await.expect("begin");
        sqlx::query("LOCK TABLE reservations IN SHARE MODE")
            .execute(&mut *tx)
            .await
            .expect("lock reservations");
        Self(tx)
    }

    async fn open(self) {
        self.0.rollback().await.expect("release the lock");
    }
}

/// Puts each call in the actor's mailbox, in order, without waiting for its answer: one
/// poll sends it (the actor runs, so the call's route needs no I/O), and the answer
/// waits in the call until it is awaited.
async fn post<T>(calls: &mut [Call<'_, T>]) {
    for call in calls {
        let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "answered before anything was written");
    }
}

fn ids(n: usize) -> Vec<ReservationId> {
    (0..n)
        .map(|_| ReservationId::from(Uuid::now_v7()))
        .collect()
}

#[tokio::test]
async fn a_burst_is_written_in_chunks_side_by_side_each_caller_answered_its_own() {
    let per_write = 16;
    let sale = sale(8, per_write, 64).await;
    let ids = ids(64);
    let gate = Gate::close(&sale.stores.db).await;

    let mut holds = sale.holds(&ids, 0..64);
    post(&mut holds).await;
    // Every chunk reaches PostgreSQL before any lands: they are written side by side,
    // each on a connection of its own.
    let waiting = sale.until_waiting(&ids).await;
    assert!(
        waiting.len() > 1,
        "the burst went out in chunks: {waiting:?}"
    );
    gate.open().await;
    let answers = futures::future::join_all(holds).await;

    for (k, answer) in answers.iter().enumerate() {
        let hold = answer.as_ref().expect("every hold is made");
        assert_eq!(
            hold.reservation, ids[k],
            "each caller hears of its own hold"
        );
        assert_eq!(hold.seats, sale.seats_of(k));
        let price: i64 = sale.seats_of(k).iter().map(|s| sale.prices[s]).sum();
        assert_eq!(hold.total_amount, price, "hold {k}");
    }
    {
        let seen = sale.store.seen();
        assert!(
            seen.chunks.iter().all(|c| c.len() <= per_write),
            "no chunk over {per_write}: {:?}",
            seen.chunks
        );
        // Chunks leave in the order the holds were taken, each keeping that order.
        assert_eq!(
            seen.chunks.concat(),
            ids,
            "every hold written once, in order"
        );
        assert_eq!(seen.most_writing, waiting.len());
        assert!(
            seen.log
                .iter()
                .all(|step| !matches!(step, Step::Recorded { ok: false, .. })),
            "every chunk recorded: {:?}",
            seen.log
        );
    }
    // Recorded in PostgreSQL and locked in Redis with the tokens recorded.
    let recorded = sale.recorded().await;
    assert_eq!(recorded.len(), 64);
    for (k, id) in ids.iter().enumerate() {
        let (status, items) = &recorded[id];
        assert_eq!(status, "pending", "hold {k}");
        let seats: Vec<SeatId> = items.iter().map(|(seat, _)| *seat).collect();
        assert_eq!(seats, sale.seats_of(k), "hold {k}");
        for &(seat, token) in items {
            assert_eq!(sale.lock_of(seat).await, Some((*id, token)), "hold {k}");
        }
    }
    let statuses = sale.statuses().await;
    for (k, seat) in sale.seats.iter().enumerate() {
        let expected = if k < 128 {
            SeatStatus::Locked
        } else {
            SeatStatus::Available
        };
        assert_eq!(statuses[seat], expected, "seat {k}");
    }
}

#[tokio::test]
async fn a_chunk_that_postgres_fails_is_undone_alone() {
    let sale = sale(8, 16, 64).await;
    let ids = ids(64);
    // PostgreSQL refuses any reservation of buyer 40: the chunk carrying hold 40 fails,
    // whole and then when redone hold by hold.
    let refused = sale.buyers[40];
    let trigger = format!(
        "CREATE FUNCTION refuse_hold() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'refused by the test trigger'; END $$; \
         CREATE TRIGGER refuse_hold BEFORE INSERT ON reservations FOR EACH ROW \
         WHEN (NEW.user_id = '{}') EXECUTE FUNCTION refuse_hold();",
        refused.0
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(trigger))
        .execute(&sale.stores.db)
        .await
        .expect("trigger");

    let answers = futures::future::join_all(sale.holds(&ids, 0..64)).await;

    let (failed, log) = {
        let seen = sale.store.seen();
        let failed = seen
            .chunks
            .iter()
            .find(|chunk| chunk.contains(&ids[40]))
            .expect("the chunk with hold 40")
            .clone();
        (failed, seen.log.clone())
    };
    assert!(failed.len() > 1 && failed.len() < 64, "{failed:?}");
    let failures: Vec<&Step> = log
        .iter()
        .filter(|step| matches!(step, Step::Recorded { ok: false, .. }))
        .collect();
    assert_eq!(
        failures,
        vec![&Step::Recorded {
            holds: failed.clone(),
            ok: false
        }],
        "one chunk's write failed"
    );
    // The redo hold by hold runs in one transaction, a savepoint around each hold, so
    // the trigger's error rolls back the whole chunk: none of its holds is left in
    // PostgreSQL, where their callers were told they failed and their seats are free.
    let failed: HashSet<ReservationId> = failed.into_iter().collect();
    let statuses = sale.statuses().await;
    let recorded = sale.recorded().await;
    for (k, (id, answer)) in ids.iter().zip(&answers).enumerate() {
        if failed.contains(id) {
            match answer {
                Err(EventError::Unavailable(why)) => assert!(
                    why.contains("refused by the test trigger"),
                    "hold {k} failed for the trigger: {why}"
                ),
                other => panic!("hold {k} failed with its chunk: {other:?}"),
            }
            assert!(!recorded.contains_key(id), "hold {k} left no row behind");
            for &seat in sale.seats_of(k) {
                assert_eq!(statuses[&seat], SeatStatus::Available, "hold {k} undone");
                assert_eq!(sale.lock_of(seat).await, None, "hold {k}'s locks freed");
            }
        } else {
            assert!(answer.is_ok(), "hold {k} stands: {answer:?}");
            let (status, items) = &recorded[id];
            assert_eq!(status, "pending", "hold {k}");
            assert_eq!(items.len(), 2, "hold {k}");
            for &(seat, token) in items {
                assert_eq!(statuses[&seat], SeatStatus::Locked, "hold {k}");
                assert_eq!(sale.lock_of(seat).await, Some((*id, token)), "hold {k}");
            }
        }
    }
    assert_eq!(recorded.len(), 64 - failed.len());

    // A hold undone may be asked for again, with the same key, once PostgreSQL takes it.
    sqlx::raw_sql("DROP TRIGGER refuse_hold ON reservations")
        .execute(&sale.stores.db)
        .await
        .expect("drop the trigger");
    let again = sale
        .event
        .hold_seats(
            refused,
            ids[40],
            sale.seats_of(40).to_vec(),
            "key-40".into(),
        )
        .await;
    assert_eq!(again.expect("held on retry").reservation, ids[40]);
    assert!(sale.recorded().await.contains_key(&ids[40]));
}

#[tokio::test]
async fn a_call_about_a_hold_in_flight_waits_for_its_chunk() {
    let sale = sale(8, 16, 64).await;
    let ids = ids(64);
    let gate = Gate::close(&sale.stores.db).await;

    let mut holds = sale.holds(&ids, 0..64);
    post(&mut holds).await;
    sale.until_waiting(&ids).await;
    let mut cancel: [Call<'_, ()>; 1] = [Box::pin(sale.event.cancel(sale.buyers[50], ids[50]))];
    post(&mut cancel).await;
    // The actor has taken the cancel off its mailbox once it answers a call sent after
    // it; the hold's chunk is still held back, so the cancel must still wait.
    sale.statuses().await;
    let [mut cancel] = cancel;
    let early = std::future::poll_fn(|cx| Poll::Ready(cancel.as_mut().poll(cx))).await;
    assert!(
        early.is_pending(),
        "the cancel waits for its chunk: {early:?}"
    );
    assert!(
        !sale.store.seen().log.contains(&Step::Finishing(ids[50])),
        "nothing is ended before it is recorded"
    );
    gate.open().await;

    assert_eq!(
        cancel.await,
        Ok(()),
        "the cancel ran once the hold was recorded"
    );
    let answers = futures::future::join_all(holds).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let log = sale.store.seen().log.clone();
    let landed = log
        .iter()
        .position(
            |step| matches!(step, Step::Recorded { holds, ok: true } if holds.contains(&ids[50])),
        )
        .expect("hold 50 recorded");
    let ended = log
        .iter()
        .position(|step| *step == Step::Finishing(ids[50]))
        .expect("hold 50 ended");
    assert!(landed < ended, "ended after its chunk landed: {log:?}");
    let recorded = sale.recorded().await;
    assert_eq!(recorded[&ids[50]].0, "cancelled");
    assert_eq!(recorded[&ids[49]].0, "pending");
    for &seat in sale.seats_of(50) {
        assert_eq!(
            sale.lock_of(seat).await,
            None,
            "the cancelled hold's locks freed"
        );
    }
    let statuses = sale.statuses().await;
    for &seat in sale.seats_of(50) {
        assert_eq!(statuses[&seat], SeatStatus::Available);
    }
    for &seat in sale.seats_of(49) {
        assert_eq!(statuses[&seat], SeatStatus::Locked);
    }
}

#[tokio::test]
async fn the_pipeline_never_carries_more_chunks_than_allowed() {
    let in_flight = 2;
    let sale = sale(in_flight, 4, 40).await;
    let ids = ids(40);
    let gate = Gate::close(&sale.stores.db).await;

    // Eight holds fill both slots (two chunks of four), held in PostgreSQL.
    let mut first = sale.holds(&ids, 0..8);
    post(&mut first).await;
    let waiting = sale.until_waiting(&ids[..8]).await;
    assert_eq!(waiting.len(), in_flight, "{waiting:?}");
    // Thirty-two more are taken in memory while the pipeline is full, and wait.
    let mut rest = sale.holds(&ids, 8..40);
    post(&mut rest).await;
    // The seat map is answered after those holds and the flush they queued: by then the
    // actor has sent whatever it was going to.
    let statuses = sale.statuses().await;
    for seat in &sale.seats[..80] {
        assert_eq!(statuses[seat], SeatStatus::Locked, "every hold taken");
    }
    assert_eq!(
        sale.store.seen().chunks.concat(),
        ids[..8],
        "nothing more leaves while both slots are taken"
    );
    gate.open().await;

    let answers = futures::future::join_all(first.into_iter().chain(rest)).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    {
        let seen = sale.store.seen();
        assert_eq!(
            seen.most_writing, in_flight,
            "never more than {in_flight} chunks at once"
        );
        assert_eq!(
            seen.chunks.concat(),
            ids,
            "every hold written once, in order"
        );
        // The holds that waited left only once a chunk had come back.
        let first_back = seen
            .log
            .iter()
            .position(|step| matches!(step, Step::Recorded { .. }))
            .expect("a chunk came back");
        let later = seen
            .log
            .iter()
            .position(|step| matches!(step, Step::Locking(chunk) if chunk.contains(&ids[8])))
            .expect("hold 8 written");
        assert!(first_back < later, "{:?}", seen.log);
    }
    assert_eq!(sale.recorded().await.len(), 40);
}

#[tokio::test]
async fn a_call_about_a_hold_still_waiting_for_a_slot_waits_too() {
    let sale = sale(1, 4, 8).await;
    let ids = ids(8);
    let gate = Gate::close(&sale.stores.db).await;

    // Four holds fill the only slot, held in PostgreSQL; four more wait for it in memory.
    let mut first = sale.holds(&ids, 0..4);
    post(&mut first).await;
    sale.until_waiting(&ids[..4]).await;
    let mut rest = sale.holds(&ids, 4..8);
    post(&mut rest).await;
    let mut cancel: [Call<'_, ()>; 1] = [Box::pin(sale.event.cancel(sale.buyers[6], ids[6]))];
    post(&mut cancel).await;

    // The actor has taken the cancel off its mailbox once it answers a call sent after
    // it: the hold it is about has no row yet, so it must wait, not run (and not block
    // the actor on the ending's write).
    let statuses = tokio::time::timeout(PATIENCE, sale.statuses())
        .await
        .expect("the actor serves while the cancel waits");
    for &seat in sale.seats_of(6) {
        assert_eq!(statuses[&seat], SeatStatus::Locked, "still held");
    }
    let [mut cancel] = cancel;
    let early = std::future::poll_fn(|cx| Poll::Ready(cancel.as_mut().poll(cx))).await;
    assert!(
        early.is_pending(),
        "the cancel waits for its hold: {early:?}"
    );
    assert!(!sale.store.seen().log.contains(&Step::Finishing(ids[6])));
    gate.open().await;

    assert_eq!(cancel.await, Ok(()), "cancelled once the hold was durable");
    let answers = futures::future::join_all(first.into_iter().chain(rest)).await;
    assert!(answers.iter().all(Result::is_ok), "{answers:?}");
    let recorded = sale.recorded().await;
    assert_eq!(recorded[&ids[6]].0, "cancelled");
    assert_eq!(recorded[&ids[7]].0, "pending");
    let statuses = sale.statuses().await;
    for &seat in sale.seats_of(6) {
        assert_eq!(statuses[&seat], SeatStatus::Available);
        assert_eq!(sale.lock_of(seat).await, None, "its locks freed");
    }
}
