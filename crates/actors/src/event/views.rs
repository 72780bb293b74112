//! What the actor answers with.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::admission::Overview;
use crate::ids::{ReservationId, SeatId, UserId};

/// A user's standing in the event's admission. Each says whether the event is sold out
/// (every seat and ticket sold): then nobody is admitted until a refund brings one back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueView {
    /// Admitted: may hold seats until `expires_in` passes without activity.
    Active {
        expires_in: Duration,
        sold_out: bool,
    },
    /// Waiting.
    Queued {
        position: u64,
        people_ahead: u64,
        people_behind: u64,
        /// At the configured admission rate.
        estimated_wait: Duration,
        /// The queue drops a user not heard from (status, heartbeat, an open stream) for
        /// this long: clients must poll well within it.
        heartbeat_within: Duration,
        sold_out: bool,
    },
    /// Neither waiting nor admitted.
    Absent { sold_out: bool },
}

impl QueueView {
    pub fn sold_out(&self) -> bool {
        match *self {
            QueueView::Active { sold_out, .. }
            | QueueView::Queued { sold_out, .. }
            | QueueView::Absent { sold_out } => sold_out,
        }
    }
}

/// A reservation that holds seats or tickets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldView {
    pub reservation: ReservationId,
    pub expires_at: DateTime<Utc>,
    pub seats: Vec<SeatId>,
    pub total_amount: i64,
    /// True when an earlier request with the same idempotency key made it.
    pub replayed: bool,
}

/// A seat's public status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatStatus {
    Available,
    Locked,
    Reserved,
}

impl SeatStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SeatStatus::Available => "available",
            SeatStatus::Locked => "locked",
            SeatStatus::Reserved => "reserved",
        }
    }
}

/// A change pushed to seat-map subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatChange {
    pub seat: SeatId,
    pub status: SeatStatus,
    /// The published map's version once this change is in it.
    pub version: SeatVersion,
}

/// Where the published seat map stands: `seq` counts the changes announced by the actor
/// `actor` (a random number each actor draws at start), so versions of one actor are
/// ordered and those of another are told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeatVersion {
    pub actor: u32,
    pub seq: u64,
}

/// Every seat's status, one byte each in layout order (`published_seats::code`), at
/// `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatStateView {
    pub version: SeatVersion,
    pub codes: Vec<u8>,
}

/// What seat-map subscribers hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeatUpdate {
    Changed(SeatChange),
    /// The event's actor was replaced (after a crash or an idle stop): the seats were
    /// rebuilt from storage, so a client reloads the whole map.
    Resync,
}

/// Pushed to queue subscribers after every admission tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTick {
    pub admitted: Vec<UserId>,
}

/// The operator's view of one event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventOverview {
    pub queue: Overview,
    /// Admissions in the last minute, per second.
    pub admitted_per_sec: f64,
    pub seats_available: usize,
    pub seats_held: usize,
    pub seats_sold: usize,
}
