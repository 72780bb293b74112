//! How an actor comes back: its seats and reservations from the snapshot (PostgreSQL),
//! the seat locks made to agree with them (Redis), its line from the queue log (Redis),
//! and the log compacted when it has grown well past what it describes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::Utc;
use ractor::ActorProcessingErr;
use uuid::Uuid;

use super::messages::EventArgs;
use super::published_seats::PublishedSeats;
use super::state::EventState;
use super::ticket_owners::TicketOwners;
use crate::admission::{Admission, AdmissionConfig};
use crate::ids::{ReservationId, SeatId};
use crate::inventory::Inventory;
use crate::queue_log::QueueLogRecord;
use crate::seat_map::{SeatMap, SeatState};

/// The state the snapshot describes, with an empty line (see [`restore_queue`]), and the
/// live reservations it was built from (see [`clear_stray_locks`]).
pub(super) fn rebuild(
    args: EventArgs,
    at: Instant,
) -> Result<(EventState, Vec<ReservationId>), ActorProcessingErr> {
    let EventArgs {
        snapshot,
        store,
        seat_changes,
        queue_ticks,
        idle_after,
        hold_batches_in_flight,
        holds_per_write,
        board,
        mailbox,
    } = args;
    let settings = snapshot.settings;
    let mut seats = SeatMap::new(snapshot.seats.iter().map(|&(seat, _)| seat));
    let mut inventory = Inventory::new(settings.max_seats_per_hold);
    let mut ticket_prices = HashMap::new();
    for &(ticket_type, price, capacity) in &snapshot.ticket_types {
        ticket_prices.insert(ticket_type, price);
        if let Some(capacity) = capacity {
            inventory.add_type(ticket_type, capacity);
        }
    }
    let mut ticket_owners = TicketOwners::default();
    let mut idempotency = HashMap::new();
    let live_ids: Vec<ReservationId> = snapshot.live.iter().map(|live| live.id).collect();
    let wall = Utc::now();
    for live in snapshot.live {
        idempotency.insert((live.user, live.idempotency_key.clone()), live.id);
        let expires_at = live.pending_until.map(|until| {
            let left = (until - wall).to_std().unwrap_or(Duration::ZERO);
            at + left
        });
        if let Some((ticket_type, quantity)) = live.tickets {
            ticket_owners.insert(live.id, live.user, quantity);
            let restored = match expires_at {
                Some(expires_at) => {
                    inventory.restore_held(live.id, ticket_type, quantity, expires_at)
                }
                None => inventory.restore_sold(live.id, ticket_type, quantity),
            };
            if let Err(err) = restored {
                return Err(format!("restoring reservation {}: {err}", live.id).into());
            }
        } else {
            let restored = match expires_at {
                Some(expires_at) => seats.restore_held(live.id, live.user, &live.seats, expires_at),
                None => {
                    let ids: Vec<SeatId> = live.seats.iter().map(|&(seat, _)| seat).collect();
                    seats.restore_sold(live.id, live.user, &ids)
                }
            };
            if let Err(err) = restored {
                return Err(format!("restoring reservation {}: {err}", live.id).into());
            }
        }
    }
    let mut state = EventState {
        event_id: snapshot.event_id,
        on_sale: snapshot.on_sale,
        settings,
        board,
        seats,
        seat_prices: snapshot.seats.into_iter().collect(),
        inventory,
        ticket_prices,
        ticket_owners,
        finishing: HashMap::new(),
        recorded_sold_out: snapshot.sold_out,
        idempotency,
        store,
        unflushed: Vec::new(),
        log_write_failures: 0,
        awaiting_flush: Vec::new(),
        flush_queued: false,
        flush_deferred: false,
        pending_holds: Vec::new(),
        in_flight: Default::default(),
        batches_in_flight: 0,
        max_batches_in_flight: hold_batches_in_flight,
        max_holds_per_write: holds_per_write,
        parked: Vec::new(),
        returned: Vec::new(),
        offered: Default::default(),
        repeated_holds: Vec::new(),
        holds_flush_queued: false,
        pending_sales: Vec::new(),
        sales_flush_queued: false,
        sales_flush_deferred: false,
        seat_changes,
        queue_ticks,
        ticker: None,
        mailbox,
        last_activity: at,
        idle_after,
        admitted_since_tick: Vec::new(),
        admissions: VecDeque::new(),
    };
    state.admit_only_with_something_to_sell();
    // A number of this actor's own, so its seat versions are told from the last one's.
    let actor = Uuid::new_v4().as_u128() as u32;
    *state.board.seats_mut() = PublishedSeats::new(actor, state.seat_statuses());
    // Seats free at start go to the waiting list first, if anyone waits (`offers`): a
    // previous owner may have freed them and stopped before offering them.
    state.returned = state
        .seats
        .iter()
        .filter(|(_, status)| matches!(status, SeatState::Available))
        .map(|(seat, _)| seat)
        .collect();
    Ok((state, live_ids))
}

/// Makes the event's seat locks agree with PostgreSQL: a hold takes its locks before its
/// reservation is written, so an actor that died between the two left locks that no
/// reservation owns, which would refuse every hold on those seats until they lapse while
/// the map shows them free. Every lock whose owner is not a live reservation goes; one
/// marked sold whose reservation is still pending stays (a confirmation in flight
/// finishes it). See `docs/architecture.md#fencing`.
pub(super) async fn clear_stray_locks(
    state: &EventState,
    live: &[ReservationId],
) -> Result<(), ActorProcessingErr> {
    let seats: Vec<SeatId> = state.seats.iter().map(|(seat, _)| seat).collect();
    let freed = state
        .store
        .clear_stray_locks(state.event_id, &seats, live)
        .await?;
    if freed > 0 {
        tracing::warn!(event = %state.event_id, freed,
            "freed seat locks that no reservation owns (a hold died before its write)");
    }
    Ok(())
}

/// Rebuilds the line from the Redis log, in order, and compacts the log when it has
/// grown well past what it describes.
pub(super) async fn restore_queue(
    state: &mut EventState,
    at: Instant,
) -> Result<(), ActorProcessingErr> {
    let raw = state.store.load_queue_log(state.event_id).await?;
    let event_id = state.event_id;
    let config = state.settings.admission();
    // Replaying a long line is seconds of CPU: off the runtime's threads, so every other
    // event (and request) goes on meanwhile.
    let replayed = tokio::task::spawn_blocking(move || replay(event_id, config, &raw, at))
        .await
        .map_err(|e| format!("replaying the queue log of {event_id}: {e}"))??;
    state.board.write().admission = replayed.admission;
    if let Some(compact) = replayed.compact {
        state.store.rewrite_queue_log(event_id, &compact).await?;
    }
    Ok(())
}

/// The line the log describes, and the compacted log when the stored one is mostly
/// history.
struct Replayed {
    admission: Admission,
    compact: Option<Vec<Vec<u8>>>,
}

fn replay(
    event_id: Uuid,
    config: AdmissionConfig,
    raw: &[Vec<u8>],
    at: Instant,
) -> Result<Replayed, ActorProcessingErr> {
    let mut records = Vec::with_capacity(raw.len());
    for bytes in raw {
        match QueueLogRecord::decode(bytes) {
            Ok(record) => records.push(record),
            Err(err) => return Err(format!("queue log of {event_id} is corrupt: {err}").into()),
        }
    }
    let admission =
        Admission::restore(config, records, at).map_err(|e| format!("restoring queue: {e}"))?;
    let live = admission.overview();
    let compact = (raw.len() > 2 * (live.waiting + live.active) + 1024).then(|| {
        admission
            .snapshot_log()
            .iter()
            .map(QueueLogRecord::encode)
            .collect()
    });
    Ok(Replayed { admission, compact })
}
