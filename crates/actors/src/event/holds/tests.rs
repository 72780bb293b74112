//! The actor's holds in flight against a store in memory, on tokio's paused clock: a
//! burst is written in chunks side by side, each hold all or nothing within its chunk, a
//! chunk that fails is undone alone, calls about a hold still in flight wait for its
//! chunk, and the pipeline never carries more chunks than allowed
//! (docs/architecture.md#holds-in-flight).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use uuid::Uuid;

use crate::event::{
    DirectoryOptions, EventDirectory, EventError, EventRef, HoldView, QueueSettings, SeatStatus,
};
use crate::ids::{FencingToken, ReservationId, SeatId, UserId};
use crate::ownership::Fence;
use crate::ports::{
    ConfirmOutcome, Ending, EventSnapshot, EventStore, InsertOutcome, LockOutcome, NewReservation,
    Recorded, RecordedReservation, StoreFailure, WaitingEntry,
};

/// How long the store takes to lock and to record a write: long enough that a chunk is
/// still in flight when the next one leaves.
const LOCK_TAKES: Duration = Duration::from_millis(2);
const RECORD_TAKES: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Memory {
    /// Seat locks: owner and fencing token.
    locks: HashMap<SeatId, (ReservationId, u64)>,
    tokens: u64,
    /// Reservations recorded, and whether they ended since.
    recorded: HashMap<ReservationId, NewReservation>,
    ended: HashSet<ReservationId>,
    /// Each lock call's holds, in the order the calls came.
    writes: Vec<Vec<ReservationId>>,
    /// Writes being recorded now, and the most at once.
    recording: usize,
    most_recording: usize,
    /// A write carrying any of these fails as a whole (PostgreSQL unreachable, say).
    failing: HashSet<ReservationId>,
}

/// An event's storage in memory: seat locks with tokens, reservations recorded.
#[derive(Clone)]
struct MemoryStore {
    event_id: Uuid,
    seats: Arc<Vec<SeatId>>,
    memory: Arc<Mutex<Memory>>,
}

impl MemoryStore {
    fn new(seats: usize) -> Self {
        Self {
            event_id: Uuid::new_v4(),
            seats: Arc::new((0..seats).map(|_| SeatId::from(Uuid::new_v4())).collect()),
            memory: Arc::default(),
        }
    }

    fn memory(&self) -> MutexGuard<'_, Memory> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    fn fenced(&self, _fence: Fence) -> Arc<dyn EventStore> {
        Arc::new(self.clone())
    }

    async fn load(&self, event_id: Uuid) -> Result<Option<EventSnapshot>, StoreFailure> {
        Ok((event_id == self.event_id).then(|| EventSnapshot {
            event_id,
            on_sale: true,
            sold_out: false,
            settings: QueueSettings {
                enabled: false,
                max_seats_per_user: Some(u32::MAX),
                ..QueueSettings::default()
            },
            seats: self.seats.iter().map(|&seat| (seat, 1_000)).collect(),
            ticket_types: Vec::new(),
            live: Vec::new(),
        }))
    }

    async fn lock_seats(
        &self,
        _event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
        _ttl: Duration,
    ) -> Result<Vec<LockOutcome>, StoreFailure> {
        self.memory()
            .writes
            .push(holds.iter().map(|(id, _)| *id).collect());
        tokio::time::sleep(LOCK_TAKES).await;
        let mut memory = self.memory();
        let mut outcomes = Vec::new();
        for (owner, seats) in holds {
            let taken: Vec<SeatId> = seats
                .iter()
                .filter(|seat| memory.locks.get(seat).is_some_and(|(o, _)| o != owner))
                .copied()
                .collect();
            if !taken.is_empty() {
                outcomes.push(LockOutcome::Taken(taken));
                continue;
            }
            let mut tokens = Vec::new();
            for seat in seats {
                memory.tokens += 1;
                let token = memory.tokens;
                memory.locks.insert(*seat, (*owner, token));
                tokens.push(FencingToken(token));
            }
            outcomes.push(LockOutcome::Locked(tokens));
        }
        Ok(outcomes)
    }

    async fn unlock_seats(
        &self,
        _event_id: Uuid,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<(), StoreFailure> {
        let mut memory = self.memory();
        for seat in seats {
            if memory
                .locks
                .get(seat)
                .is_some_and(|(o, _)| *o == reservation)
            {
                memory.locks.remove(seat);
            }
        }
        Ok(())
    }

    async fn insert_pending(
        &self,
        reservations: &[NewReservation],
    ) -> Result<Vec<InsertOutcome>, StoreFailure> {
        {
            let mut memory = self.memory();
            memory.recording += 1;
            memory.most_recording = memory.most_recording.max(memory.recording);
        }
        tokio::time::sleep(RECORD_TAKES).await;
        let mut memory = self.memory();
        memory.recording -= 1;
        if reservations.iter().any(|r| memory.failing.contains(&r.id)) {
            return Err(StoreFailure::Unavailable("the write failed".into()));
        }
        for r in reservations {
            memory.recorded.insert(r.id, r.clone());
        }
        Ok(vec![InsertOutcome::Inserted; reservations.len()])
    }

    async fn confirm(
        &self,
        _event_id: Uuid,
        _reservation: ReservationId,
        _seats: &[(SeatId, FencingToken)],
    ) -> Result<ConfirmOutcome, StoreFailure> {
        Ok(ConfirmOutcome::Confirmed)
    }

    async fn finish(
        &self,
        reservation: ReservationId,
        _ending: Ending,
        _note: &str,
    ) -> Result<bool, StoreFailure> {
        let mut memory = self.memory();
        Ok(memory.recorded.contains_key(&reservation) && memory.ended.insert(reservation))
    }

    async fn finish_many(
        &self,
        endings: &[(ReservationId, Ending)],
        note: &str,
    ) -> Result<Vec<bool>, StoreFailure> {
        let mut finished = Vec::new();
        for &(reservation, ending) in endings {
            finished.push(self.finish(reservation, ending, note).await?);
        }
        Ok(finished)
    }

    async fn unlock_many(
        &self,
        event_id: Uuid,
        holds: &[(ReservationId, Vec<SeatId>)],
    ) -> Result<(), StoreFailure> {
        for (reservation, seats) in holds {
            self.unlock_seats(event_id, *reservation, seats).await?;
        }
        Ok(())
    }

    async fn revive(
        &self,
        _event_id: Uuid,
        _reservation: ReservationId,
        _seats: &[(SeatId, FencingToken)],
        _note: &str,
    ) -> Result<bool, StoreFailure> {
        Ok(false)
    }

    async fn cancel_confirmed(
        &self,
        _event_id: Uuid,
        _reservation: ReservationId,
        _seats: &[SeatId],
        _note: &str,
    ) -> Result<bool, StoreFailure> {
        Ok(false)
    }

    async fn reservation_record(
        &self,
        reservation: ReservationId,
    ) -> Result<Option<RecordedReservation>, StoreFailure> {
        let memory = self.memory();
        Ok(memory
            .recorded
            .get(&reservation)
            .map(|r| RecordedReservation {
                user: r.user,
                status: if memory.ended.contains(&reservation) {
                    Recorded::Ended
                } else {
                    Recorded::Pending
                },
            }))
    }

    async fn clear_stray_locks(
        &self,
        _event_id: Uuid,
        _seats: &[SeatId],
        _live: &[ReservationId],
    ) -> Result<usize, StoreFailure> {
        Ok(0)
    }

    async fn record_sold_out(&self, _event_id: Uuid, _sold_out: bool) -> Result<(), StoreFailure> {
        Ok(())
    }

    async fn append_queue_log(
        &self,
        _event_id: Uuid,
        _records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        Ok(())
    }

    async fn load_queue_log(&self, _event_id: Uuid) -> Result<Vec<Vec<u8>>, StoreFailure> {
        Ok(Vec::new())
    }

    async fn waiting_for_offer(
        &self,
        _event_id: Uuid,
        _limit: usize,
    ) -> Result<Vec<WaitingEntry>, StoreFailure> {
        Ok(Vec::new())
    }

    async fn rewrite_queue_log(
        &self,
        _event_id: Uuid,
        _records: &[Vec<u8>],
    ) -> Result<(), StoreFailure> {
        Ok(())
    }
}

/// A started event on `store`, written `holds_per_write` holds per chunk, `in_flight`
/// chunks at once.
async fn event(store: &MemoryStore, in_flight: usize, holds_per_write: usize) -> EventRef {
    let options = DirectoryOptions {
        hold_batches_in_flight: in_flight,
        holds_per_write,
        ..DirectoryOptions::default()
    };
    let directory = EventDirectory::start(Arc::new(store.clone()), options)
        .await
        .expect("directory");
    let event = directory.event(store.event_id);
    event.start().await.expect("actor");
    event
}

/// `n` holds of two seats each, made side by side; hold `k` takes seats `2k` and `2k+1`.
async fn burst(
    event: &EventRef,
    store: &MemoryStore,
    user: UserId,
    ids: &[ReservationId],
) -> Vec<Result<HoldView, EventError>> {
    let holds = ids.iter().enumerate().map(|(k, &id)| {
        event.hold_seats(
            user,
            id,
            store.seats[2 * k..2 * k + 2].to_vec(),
            format!("key-{k}"),
        )
    });
    futures::future::join_all(holds).await
}

fn ids(n: usize) -> Vec<ReservationId> {
    (0..n)
        .map(|_| ReservationId::from(Uuid::now_v7()))
        .collect()
}

async fn statuses(event: &EventRef) -> HashMap<SeatId, SeatStatus> {
    event
        .seat_statuses()
        .await
        .expect("seat statuses")
        .into_iter()
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_burst_is_written_in_chunks_side_by_side_each_caller_answered_its_own() {
    let store = MemoryStore::new(200);
    let event = event(&store, 8, 16).await;
    let user = UserId::from(Uuid::new_v4());
    let ids = ids(64);

    let answers = burst(&event, &store, user, &ids).await;

    for (k, answer) in answers.iter().enumerate() {
        let hold = answer.as_ref().expect("every hold is made");
        assert_eq!(
            hold.reservation, ids[k],
            "each caller hears of its own hold"
        );
        assert_eq!(hold.seats, store.seats[2 * k..2 * k + 2]);
        assert_eq!(hold.total_amount, 2_000);
    }
    {
        let memory = store.memory();
        let writes = memory.writes.clone();
        assert!(writes.len() > 2, "the burst went out in chunks: {writes:?}");
        assert!(writes.iter().all(|w| w.len() <= 16), "no chunk over 16");
        // Chunks leave in the order the holds were taken, each keeping that order.
        let sent: Vec<ReservationId> = writes.iter().flatten().copied().collect();
        assert_eq!(sent, ids, "every hold written once, in order");
        assert!(
            memory.most_recording > 1,
            "chunks are recorded side by side"
        );
        assert_eq!(memory.recorded.len(), 64);
        for (k, id) in ids.iter().enumerate() {
            let record = &memory.recorded[id];
            assert_eq!(record.total_amount, 2_000);
            for seat in &store.seats[2 * k..2 * k + 2] {
                assert_eq!(memory.locks.get(seat).map(|(o, _)| *o), Some(*id));
            }
        }
    }
    let statuses = statuses(&event).await;
    for (k, seat) in store.seats.iter().enumerate() {
        let expected = if k < 128 {
            SeatStatus::Locked
        } else {
            SeatStatus::Available
        };
        assert_eq!(statuses[seat], expected, "seat {k}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_chunk_that_fails_is_undone_alone() {
    let store = MemoryStore::new(200);
    let event = event(&store, 8, 16).await;
    let user = UserId::from(Uuid::new_v4());
    let ids = ids(64);
    store.memory().failing.insert(ids[40]);

    let answers = burst(&event, &store, user, &ids).await;

    let failed: HashSet<ReservationId> = store
        .memory()
        .writes
        .iter()
        .find(|w| w.contains(&ids[40]))
        .expect("the chunk with hold 40")
        .iter()
        .copied()
        .collect();
    assert!(failed.len() > 1 && failed.len() < 64, "{failed:?}");
    let statuses = statuses(&event).await;
    {
        let memory = store.memory();
        for (k, (id, answer)) in ids.iter().zip(&answers).enumerate() {
            let seats = &store.seats[2 * k..2 * k + 2];
            if failed.contains(id) {
                assert!(
                    matches!(answer, Err(EventError::Unavailable(_))),
                    "hold {k}: {answer:?}"
                );
                assert!(!memory.recorded.contains_key(id));
                for seat in seats {
                    assert_eq!(statuses[seat], SeatStatus::Available, "hold {k} undone");
                    assert!(!memory.locks.contains_key(seat), "hold {k}'s locks freed");
                }
            } else {
                assert!(answer.is_ok(), "hold {k} stands: {answer:?}");
                assert!(memory.recorded.contains_key(id));
                for seat in seats {
                    assert_eq!(statuses[seat], SeatStatus::Locked);
                    assert_eq!(memory.locks.get(seat).map(|(o, _)| *o), Some(*id));
                }
            }
        }
    }

    // A hold undone may be asked for again, with the same key.
    store.memory().failing.clear();
    let again = event
        .hold_seats(user, ids[40], store.seats[80..82].to_vec(), "key-40".into())
        .await;
    assert_eq!(again.expect("held on retry").reservation, ids[40]);
}

#[tokio::test(start_paused = true)]
async fn a_call_about_a_hold_in_flight_waits_for_its_chunk() {
    let store = MemoryStore::new(200);
    let event = event(&store, 8, 16).await;
    let user = UserId::from(Uuid::new_v4());
    let ids = ids(64);

    let holds = {
        let (event, store, ids) = (event.clone(), store.clone(), ids.clone());
        tokio::spawn(async move { burst(&event, &store, user, &ids).await })
    };
    // Every chunk has left, none has come back.
    tokio::time::sleep(LOCK_TAKES + Duration::from_millis(1)).await;
    assert!(store.memory().recorded.is_empty());
    let cancelled = event.cancel(user, ids[50]).await;

    assert_eq!(
        cancelled,
        Ok(()),
        "the cancel ran once the hold was recorded"
    );
    let answers = holds.await.expect("burst");
    assert!(answers.iter().all(Result::is_ok));
    {
        let memory = store.memory();
        assert!(memory.ended.contains(&ids[50]));
        assert!(!memory.locks.contains_key(&store.seats[100]));
    }
    let statuses = statuses(&event).await;
    assert_eq!(statuses[&store.seats[100]], SeatStatus::Available);
    assert_eq!(statuses[&store.seats[98]], SeatStatus::Locked);
}

#[tokio::test(start_paused = true)]
async fn the_pipeline_never_carries_more_chunks_than_allowed() {
    let store = MemoryStore::new(200);
    let event = event(&store, 2, 4).await;
    let user = UserId::from(Uuid::new_v4());
    let ids = ids(40);

    let answers = burst(&event, &store, user, &ids).await;

    assert!(answers.iter().all(Result::is_ok));
    let memory = store.memory();
    assert!(memory.most_recording <= 2, "{}", memory.most_recording);
    let sent: Vec<ReservationId> = memory.writes.iter().flatten().copied().collect();
    assert_eq!(sent, ids, "every hold written once, in order");
    assert_eq!(memory.recorded.len(), 40);
}

#[test]
fn chunks_are_even_at_most_the_size_asked_and_never_more_than_the_free_slots() {
    use super::chunk_sizes;
    assert_eq!(chunk_sizes(63, 16, 8), vec![16, 16, 16, 15]);
    assert_eq!(chunk_sizes(17, 16, 8), vec![9, 8]);
    assert_eq!(chunk_sizes(1, 16, 8), vec![1]);
    // A fuller pipeline: fewer, larger chunks, and everything waiting still leaves.
    assert_eq!(chunk_sizes(63, 16, 3), vec![21, 21, 21]);
    assert_eq!(chunk_sizes(63, 16, 1), vec![63]);
    assert_eq!(chunk_sizes(0, 16, 8), Vec::<usize>::new());
    assert_eq!(chunk_sizes(5, 16, 0), Vec::<usize>::new());
    assert_eq!(chunk_sizes(5, 0, 8), vec![1, 1, 1, 1, 1]);
}
