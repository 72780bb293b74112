//! The EventActor's state (ractor's `State`) and the small reads every handler shares.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::ActorRef;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::board::StatusBoard;
use super::mailbox::Mailbox;
use super::messages::{EventMsg, Reply};
use super::settings::QueueSettings;
use super::ticket_owners::TicketOwners;
use super::views::{
    EventOverview, HoldView, QueueTick, QueueView, SeatChange, SeatStatus, SeatUpdate,
};

use crate::ids::{ReservationId, SeatId, TicketTypeId, UserId};
use crate::inventory::Inventory;
use crate::ports::EventStore;
use crate::seat_map::{SeatMap, SeatState};

/// Redis locks outlive the hold by this much, so a lock never lapses while the actor still
/// counts the hold as live; the actor's clock decides expiry.
pub(super) const LOCK_GRACE: Duration = Duration::from_secs(30);

/// Admissions older than this leave the rate shown to operators.
const RATE_WINDOW: Duration = Duration::from_secs(60);

pub struct EventState {
    pub(super) event_id: Uuid,
    pub(super) on_sale: bool,
    pub(super) settings: QueueSettings,
    /// The admission (line and active set), where status readers find it (`board`).
    pub(super) board: Arc<StatusBoard>,
    pub(super) seats: SeatMap,
    pub(super) seat_prices: HashMap<SeatId, i64>,
    pub(super) inventory: Inventory,
    pub(super) ticket_prices: HashMap<TicketTypeId, i64>,
    pub(super) ticket_owners: TicketOwners,
    /// Buyers whose turn a purchase ended, and until when they may still finish
    /// (`turns`).
    pub(super) finishing: HashMap<UserId, Instant>,
    /// Whether the event's status in PostgreSQL says sold out, as last written or loaded.
    pub(super) recorded_sold_out: bool,
    /// Idempotency keys of live reservations: a retry racing the first request finds it
    /// here, in the single writer, before it can collide on seats.
    pub(super) idempotency: HashMap<(UserId, String), ReservationId>,
    pub(super) store: Arc<dyn EventStore>,
    pub(super) unflushed: Vec<Vec<u8>>,
    /// Failed attempts at writing the current log batch (see `queue_ops::flush`).
    pub(super) log_write_failures: u32,
    pub(super) awaiting_flush: Vec<AwaitingFlush>,
    pub(super) flush_queued: bool,
    /// The queued flush already went once to the back of the mailbox (`queue_ops::flush`).
    pub(super) flush_deferred: bool,
    pub(super) pending_holds: Vec<PendingHold>,
    /// Retries of a pending hold's idempotency key, answered once that hold is durable
    /// (answering at once would send the caller looking for a row not yet committed).
    pub(super) repeated_holds: Vec<(ReservationId, Reply<HoldView>)>,
    pub(super) holds_flush_queued: bool,
    /// Seat sales waiting for the next batch (`sale_batches`), whether that batch's write
    /// is queued, and whether it already went once to the back of the mailbox.
    pub(super) pending_sales: Vec<super::sale_batches::PendingSale>,
    pub(super) sales_flush_queued: bool,
    pub(super) sales_flush_deferred: bool,
    /// Holds whose durable write is in flight (`holds`): taken in memory, not yet
    /// answered. Calls about them wait in `parked` until they are.
    pub(super) in_flight: std::collections::HashSet<ReservationId>,
    /// Chunks of holds being written now, the most at once, and the most holds a chunk
    /// carries while the pipeline has room (`holds::chunk_sizes`).
    pub(super) batches_in_flight: usize,
    pub(super) max_batches_in_flight: usize,
    pub(super) max_holds_per_write: usize,
    /// Calls about a reservation whose hold is still being written, replayed once it is.
    pub(super) parked: Vec<super::messages::EventMsg>,
    /// Seats that came back since the waiting list was last offered them (`offers`).
    pub(super) returned: Vec<SeatId>,
    /// Waiting-list entries this actor has made an offer to (their hold may not be
    /// durable yet, so the store does not know them all).
    pub(super) offered: std::collections::HashSet<Uuid>,
    pub(super) seat_changes: broadcast::Sender<SeatUpdate>,
    pub(super) queue_ticks: broadcast::Sender<QueueTick>,
    pub(super) ticker: Option<JoinHandle<()>>,
    /// What waits in the mailbox (`mailbox`).
    pub(super) mailbox: Mailbox,
    pub(super) last_activity: Instant,
    pub(super) idle_after: Duration,
    /// Admitted between ticks as room freed (`turns::fill_freed_room`), told to queue
    /// subscribers with the next tick.
    pub(super) admitted_since_tick: Vec<UserId>,
    /// When admissions happened and how many, over the last [`RATE_WINDOW`].
    pub(super) admissions: VecDeque<(Instant, usize)>,
}

/// A reply held back until the log records it depends on are durable.
pub(super) enum AwaitingFlush {
    Queue {
        user: UserId,
        /// Undo by removing the user when the write fails (a new place or admission).
        undo: bool,
        reply: Reply<QueueView>,
    },
    Leave {
        reply: Reply<bool>,
    },
}

/// A seat hold taken in memory whose durable write is queued.
pub(super) struct PendingHold {
    pub(super) user: UserId,
    pub(super) reservation: ReservationId,
    pub(super) seats: Vec<SeatId>,
    pub(super) idempotency_key: String,
    pub(super) reply: Reply<HoldView>,
    /// How long it holds: the event's hold time, or its waiting-list offer time.
    pub(super) ttl: Duration,
}

/// The actor's clock; tokio's, so tests with paused time control it.
pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

impl EventState {
    /// Whether `reservation` is a hold not yet durable: taken in memory and waiting for
    /// a slot, or in a chunk being written. Calls about it wait (`holds`): it has no row
    /// in PostgreSQL yet, nor fencing tokens in memory.
    pub(super) fn is_unwritten_hold(&self, reservation: ReservationId) -> bool {
        self.in_flight.contains(&reservation)
            || self
                .pending_holds
                .iter()
                .any(|hold| hold.reservation == reservation)
    }

    /// True when `reservation`'s sale waits for the next batch (`sale_batches`).
    pub(super) fn has_pending_sale(&self, reservation: ReservationId) -> bool {
        self.pending_sales
            .iter()
            .any(|sale| sale.reservation == reservation)
    }

    /// True when a call about `reservation` must wait: its hold or its sale is still to
    /// be written, and the call would act on what the write is about to change.
    pub(super) fn waits_for_write(&self, reservation: ReservationId) -> bool {
        self.is_unwritten_hold(reservation) || self.has_pending_sale(reservation)
    }

    /// Replays the parked calls whose hold or sale is written now.
    pub(super) fn unpark(&mut self, myself: &ActorRef<EventMsg>) {
        let (ready, waiting): (Vec<EventMsg>, Vec<EventMsg>) = std::mem::take(&mut self.parked)
            .into_iter()
            .partition(|call| {
                call.reservation()
                    .is_none_or(|reservation| !self.waits_for_write(reservation))
            });
        self.parked = waiting;
        for call in ready {
            self.send_self(myself, call);
        }
    }

    /// Tells seat-map subscribers that `seats` are now `status`.
    /// Tells seat-map subscribers of changed seats; the published map changes with it,
    /// in the same step (`published_seats`).
    pub(super) fn announce(&self, seats: impl IntoIterator<Item = SeatId>, status: SeatStatus) {
        let mut published = self.board.seats_mut();
        for seat in seats {
            let version = published.change(seat, status);
            let _ = self.seat_changes.send(SeatUpdate::Changed(SeatChange {
                seat,
                status,
                version,
            }));
        }
    }

    /// Counts admissions for the operator's rate, forgetting those out of the window.
    pub(super) fn count_admissions(&mut self, at: Instant, admitted: usize) {
        if admitted > 0 {
            self.admissions.push_back((at, admitted));
        }
        while self
            .admissions
            .front()
            .is_some_and(|(when, _)| at.saturating_duration_since(*when) > RATE_WINDOW)
        {
            self.admissions.pop_front();
        }
    }

    pub(super) fn view(&self, user: UserId) -> QueueView {
        let sold_out = self.sold_out();
        self.board.read().view(user, sold_out, now())
    }

    /// Tells status readers whether everything is sold, when that changed.
    pub(super) fn publish_sold_out(&self) {
        let sold_out = self.sold_out();
        if self.board.read().sold_out != sold_out {
            self.board.write().sold_out = sold_out;
        }
    }

    /// Everything the event sells is sold: no seat available or held, no ticket left or
    /// held. Only a refund can bring one back, so nobody is admitted meanwhile.
    pub(super) fn sold_out(&self) -> bool {
        let seats = self.seats.counts();
        let mut anything = !self.seats.is_empty();
        let mut all_sold = seats.sold == self.seats.len();
        for (_, tickets) in self.inventory.types() {
            anything = true;
            all_sold &= tickets.sold >= tickets.capacity;
        }
        anything && all_sold
    }

    /// Closes admission while sold out and opens it again when something comes back.
    pub(super) fn admit_only_with_something_to_sell(&mut self) {
        let open = !self.sold_out();
        self.board.write().admission.set_open(open);
    }

    pub(super) fn seat_statuses(&self) -> Vec<(SeatId, SeatStatus)> {
        self.seats
            .iter()
            .map(|(seat, s)| (seat, public_status(s)))
            .collect()
    }

    pub(super) fn overview(&self, at: Instant) -> EventOverview {
        let counts = self.seats.counts();
        let window: usize = self
            .admissions
            .iter()
            .filter(|(when, _)| at.saturating_duration_since(*when) <= RATE_WINDOW)
            .map(|(_, n)| n)
            .sum();
        EventOverview {
            queue: self.board.read().admission.overview(),
            admitted_per_sec: window as f64 / 60.0,
            seats_available: counts.available,
            seats_held: counts.held,
            seats_sold: counts.sold,
        }
    }

    /// New settings apply at once; a new tick restarts the timer.
    pub(super) fn update_settings(
        &mut self,
        myself: &ActorRef<EventMsg>,
        settings: QueueSettings,
        on_sale: bool,
    ) {
        let tick_changed = settings.tick != self.settings.tick;
        self.settings = settings;
        self.on_sale = on_sale;
        {
            let mut standing = self.board.write();
            standing.admission.set_config(settings.admission());
            standing.settings = settings;
        }
        if tick_changed {
            self.start_ticker(myself);
        }
    }

    /// (Re)starts the actor's timer: a `Tick` message every `settings.tick`.
    pub(super) fn start_ticker(&mut self, myself: &ActorRef<EventMsg>) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        let mailbox = self.mailbox.clone();
        self.ticker = Some(myself.send_interval(self.settings.tick, move || {
            mailbox.increment(1.0);
            EventMsg::Tick
        }));
    }

    /// Queues one of the actor's own messages behind its mailbox; false if it has stopped.
    pub(super) fn send_self(&self, myself: &ActorRef<EventMsg>, message: EventMsg) -> bool {
        let sent = myself.send_message(message).is_ok();
        if sent {
            self.mailbox.increment(1.0);
        }
        sent
    }

    /// Nobody waiting, active or holding, nothing unwritten, and no request for a while.
    pub(super) fn is_idle(&self, at: Instant) -> bool {
        let overview = self.board.read().admission.overview();
        overview.waiting == 0
            && overview.active == 0
            && self.seats.counts().held == 0
            && self.ticket_owners.is_empty()
            && self.unflushed.is_empty()
            && self.pending_holds.is_empty()
            && self.pending_sales.is_empty()
            && at.saturating_duration_since(self.last_activity) >= self.idle_after
    }
}

fn public_status(state: &SeatState) -> SeatStatus {
    match state {
        SeatState::Available => SeatStatus::Available,
        SeatState::Held { .. } => SeatStatus::Locked,
        SeatState::Sold { .. } => SeatStatus::Reserved,
    }
}
