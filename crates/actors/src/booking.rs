//! What seat holds and counted holds have in common: a reservation is held until it
//! is paid for (sold) or its hold lapses.

use std::time::Instant;

use crate::ids::ReservationId;

/// Where a reservation stands in memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BookingStatus {
    /// Held, awaiting payment until `expires_at`.
    Held {
        /// When the hold lapses.
        expires_at: Instant,
    },
    /// Paid for.
    Sold,
}

/// Why a reservation cannot be confirmed (turned into a sale).
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum ConfirmError {
    /// No such reservation is held: never held, released, or already expired and swept.
    #[error("reservation {0} is not held")]
    UnknownReservation(ReservationId),
    /// Already confirmed.
    #[error("reservation {0} is already sold")]
    AlreadySold(ReservationId),
    /// The hold lapsed before payment; the sweep will release it.
    #[error("the hold of reservation {reservation} lapsed")]
    Expired {
        /// Which reservation.
        reservation: ReservationId,
        /// When its hold lapsed.
        expires_at: Instant,
    },
}
