//! The EventActor's I/O-free domain.
//!
//! Everything here is plain data and plain functions: time comes in as an argument
//! (`now: Instant`) and nothing touches a network or disk, so the actor can do its
//! durable I/O between steps and tests never sleep.
//!
//! - [`Queue`]: the Tier-2 line, exact places for a million people in under 64 bytes each.
//! - [`ActiveSet`]: admitted users and their expiry.
//! - [`Admission`]: the queue and the active set with the no-overtaking rule.
//! - [`QueueLogRecord`]: the durable log a restarted actor rebuilds the line from.
//! - [`SeatMap`] and [`Inventory`]: seats and counted tickets, held then sold, never twice.
//!
//! Around it, the shell: [`event::EventActor`] (ractor) wires the domain to messages,
//! timers and the durable [`ports::EventStore`]; [`event::EventDirectory`] owns the actors
//! and, in a cluster, asks the [`ownership::Ownership`] port where each event is served.

#![warn(missing_docs)]

mod order_tree;
#[cfg(test)]
mod queue_props;
mod slab;
mod time;

pub mod active;
pub mod admission;
pub mod booking;
#[allow(missing_docs)] // the shell documents its intent at module level
pub mod event;
pub mod ids;
pub mod inventory;
#[allow(missing_docs)]
pub mod ownership;
#[allow(missing_docs)]
pub mod ports;
pub mod queue;
pub mod queue_log;
pub mod seat_map;

pub use active::ActiveSet;
pub use admission::{
    Admission, AdmissionConfig, JoinOutcome, LeftFrom, Overview, Tick, UserStatus,
};
pub use booking::{BookingStatus, ConfirmError};
pub use ids::{FencingToken, ReservationId, SeatId, TicketTypeId, UserId};
pub use inventory::{Inventory, InventoryError, TicketBooking, TicketCounts};
pub use queue::{JoinResult, Place, Queue, QueueFull, QueuedUser};
pub use queue_log::{DecodeError, QueueLogRecord};
pub use seat_map::{
    Confirmed, Hold, HoldError, SeatBooking, SeatCounts, SeatMap, SeatState, TokenError,
};
