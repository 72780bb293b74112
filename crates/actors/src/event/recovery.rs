//! How an actor comes back: its seats and reservations from the snapshot (PostgreSQL),
//! its line from the queue log (Redis), and the log compacted when it has grown well past
//! what it describes.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chrono::Utc;
use ractor::ActorProcessingErr;
use uuid::Uuid;

use super::messages::EventArgs;
use super::state::EventState;
use crate::admission::{Admission, AdmissionConfig};
use crate::ids::SeatId;
use crate::inventory::Inventory;
use crate::queue_log::QueueLogRecord;
use crate::seat_map::SeatMap;

/// The state the snapshot describes, with an empty line (see [`restore_queue`]).
pub(super) fn rebuild(args: EventArgs, at: Instant) -> Result<EventState, ActorProcessingErr> {
    let EventArgs {
        snapshot,
        store,
        seat_changes,
        queue_ticks,
        idle_after,
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
    let mut ticket_owners = HashMap::new();
    let mut idempotency = HashMap::new();
    let wall = Utc::now();
    for live in snapshot.live {
        idempotency.insert((live.user, live.idempotency_key.clone()), live.id);
        let expires_at = live.pending_until.map(|until| {
            let left = (until - wall).to_std().unwrap_or(Duration::ZERO);
            at + left
        });
        if let Some((ticket_type, quantity)) = live.tickets {
            ticket_owners.insert(live.id, live.user);
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
    Ok(EventState {
        event_id: snapshot.event_id,
        on_sale: snapshot.on_sale,
        settings,
        admission: Admission::new(settings.admission()),
        seats,
        seat_prices: snapshot.seats.into_iter().collect(),
        inventory,
        ticket_prices,
        ticket_owners,
        idempotency,
        store,
        unflushed: Vec::new(),
        log_write_failures: 0,
        awaiting_flush: Vec::new(),
        flush_queued: false,
        pending_holds: Vec::new(),
        repeated_holds: Vec::new(),
        holds_flush_queued: false,
        seat_changes,
        queue_ticks,
        ticker: None,
        last_activity: at,
        idle_after,
        admissions: VecDeque::new(),
    })
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
    state.admission = replayed.admission;
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
