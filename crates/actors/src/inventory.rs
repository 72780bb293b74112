//! Counted inventory: ticket types sold by quantity, for events without a seat map.
//!
//! The only promise that matters is the seat map's: never sell more than there is. Per
//! type, `held + sold <= capacity` holds after every call, because a hold is refused
//! unless the whole quantity is available, and nothing else adds to `held` or `sold`.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::booking::{BookingStatus, ConfirmError};
use crate::ids::{ReservationId, TicketTypeId};
use crate::time::deadline;

/// One ticket type's numbers.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct TicketCounts {
    /// Tickets that exist.
    pub capacity: u32,
    /// Held, awaiting payment.
    pub held: u32,
    /// Sold.
    pub sold: u32,
}

impl TicketCounts {
    /// Tickets free to hold.
    pub fn available(&self) -> u32 {
        self.capacity
            .saturating_sub(self.held.saturating_add(self.sold))
    }
}

/// A reservation of some tickets of one type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TicketBooking {
    /// Which type.
    pub ticket_type: TicketTypeId,
    /// How many.
    pub quantity: u32,
    /// Held or sold.
    pub status: BookingStatus,
}

/// Why a counted hold was refused. Nothing changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
pub enum InventoryError {
    /// A quantity of zero.
    #[error("quantity must be at least 1")]
    ZeroQuantity,
    /// More than one reservation may hold.
    #[error("{requested} tickets requested, at most {max} per reservation")]
    TooMany {
        /// How many were asked for.
        requested: u32,
        /// The limit.
        max: u32,
    },
    /// No such ticket type.
    #[error("unknown ticket type {0}")]
    UnknownType(TicketTypeId),
    /// The reservation id already holds or bought tickets.
    #[error("reservation {0} already exists")]
    ReservationExists(ReservationId),
    /// Not enough left (a 409).
    #[error("{requested} requested, {available} available")]
    NotEnough {
        /// How many were asked for.
        requested: u32,
        /// How many are left.
        available: u32,
    },
}

/// Ticket types with their counts and holds; see the module docs.
#[derive(Clone, Debug)]
pub struct Inventory {
    max_per_hold: u32,
    types: HashMap<TicketTypeId, TicketCounts>,
    bookings: HashMap<ReservationId, TicketBooking>,
    /// Held reservations by when they lapse, so a sweep touches only lapsed ones.
    expiry: BTreeSet<(Instant, ReservationId)>,
}

impl Inventory {
    /// No ticket types yet; one reservation may hold at most `max_per_hold` tickets.
    pub fn new(max_per_hold: u32) -> Self {
        Self {
            max_per_hold,
            types: HashMap::new(),
            bookings: HashMap::new(),
            expiry: BTreeSet::new(),
        }
    }

    /// Adds a ticket type; false (and nothing changes) if it exists already.
    pub fn add_type(&mut self, ticket_type: TicketTypeId, capacity: u32) -> bool {
        if self.types.contains_key(&ticket_type) {
            return false;
        }
        self.types.insert(
            ticket_type,
            TicketCounts {
                capacity,
                ..TicketCounts::default()
            },
        );
        true
    }

    /// Holds `quantity` tickets of a type for `reservation` until `now + ttl`.
    pub fn hold(
        &mut self,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        now: Instant,
        ttl: Duration,
    ) -> Result<TicketBooking, InventoryError> {
        if quantity > self.max_per_hold {
            return Err(InventoryError::TooMany {
                requested: quantity,
                max: self.max_per_hold,
            });
        }
        let expires_at = deadline(now, ttl);
        let status = BookingStatus::Held { expires_at };
        self.take(reservation, ticket_type, quantity, status)
    }

    /// Frees a reservation's tickets, held or sold (an aborted hold, a cancellation, a
    /// refund); returns what was freed.
    pub fn release(&mut self, reservation: ReservationId) -> Option<TicketBooking> {
        let booking = self.bookings.remove(&reservation)?;
        if let Some(counts) = self.types.get_mut(&booking.ticket_type) {
            match booking.status {
                BookingStatus::Held { expires_at } => {
                    self.expiry.remove(&(expires_at, reservation));
                    counts.held -= booking.quantity;
                }
                BookingStatus::Sold => counts.sold -= booking.quantity,
            }
        }
        Some(booking)
    }

    /// Turns a held reservation into a sale, if its hold has not lapsed at `now`.
    pub fn confirm(
        &mut self,
        reservation: ReservationId,
        now: Instant,
    ) -> Result<TicketBooking, ConfirmError> {
        let booking = self
            .bookings
            .get(&reservation)
            .ok_or(ConfirmError::UnknownReservation(reservation))?;
        let BookingStatus::Held { expires_at } = booking.status else {
            return Err(ConfirmError::AlreadySold(reservation));
        };
        if expires_at <= now {
            return Err(ConfirmError::Expired {
                reservation,
                expires_at,
            });
        }
        self.record_sale(reservation)
    }

    /// Turns a held reservation into a sale that storage has already recorded, lapsed or
    /// not: the durable record, not this clock, decides.
    pub fn record_sale(
        &mut self,
        reservation: ReservationId,
    ) -> Result<TicketBooking, ConfirmError> {
        let booking = self
            .bookings
            .get_mut(&reservation)
            .ok_or(ConfirmError::UnknownReservation(reservation))?;
        let BookingStatus::Held { expires_at } = booking.status else {
            return Err(ConfirmError::AlreadySold(reservation));
        };
        booking.status = BookingStatus::Sold;
        self.expiry.remove(&(expires_at, reservation));
        if let Some(counts) = self.types.get_mut(&booking.ticket_type) {
            counts.held -= booking.quantity;
            counts.sold += booking.quantity;
        }
        Ok(*booking)
    }

    /// Releases every hold that lapsed at or before `now`, earliest first.
    pub fn expire(&mut self, now: Instant) -> Vec<(ReservationId, TicketBooking)> {
        let mut expired = Vec::new();
        while let Some(&(at, reservation)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            if let Some(booking) = self.release(reservation) {
                expired.push((reservation, booking));
            }
        }
        expired
    }

    /// Rebuilds a pending reservation from storage (no per-hold limit: it was checked
    /// when taken, and the limit may have changed since).
    pub fn restore_held(
        &mut self,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        expires_at: Instant,
    ) -> Result<(), InventoryError> {
        let status = BookingStatus::Held { expires_at };
        self.take(reservation, ticket_type, quantity, status)
            .map(|_| ())
    }

    /// Rebuilds a confirmed reservation from storage.
    pub fn restore_sold(
        &mut self,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
    ) -> Result<(), InventoryError> {
        self.take(reservation, ticket_type, quantity, BookingStatus::Sold)
            .map(|_| ())
    }

    /// A ticket type's numbers.
    pub fn counts(&self, ticket_type: TicketTypeId) -> Option<TicketCounts> {
        self.types.get(&ticket_type).copied()
    }

    /// Every ticket type with its numbers.
    pub fn types(&self) -> impl Iterator<Item = (TicketTypeId, TicketCounts)> + '_ {
        self.types.iter().map(|(id, counts)| (*id, *counts))
    }

    /// A reservation's tickets.
    pub fn booking(&self, reservation: ReservationId) -> Option<TicketBooking> {
        self.bookings.get(&reservation).copied()
    }

    fn take(
        &mut self,
        reservation: ReservationId,
        ticket_type: TicketTypeId,
        quantity: u32,
        status: BookingStatus,
    ) -> Result<TicketBooking, InventoryError> {
        if quantity == 0 {
            return Err(InventoryError::ZeroQuantity);
        }
        let counts = self
            .types
            .get_mut(&ticket_type)
            .ok_or(InventoryError::UnknownType(ticket_type))?;
        if self.bookings.contains_key(&reservation) {
            return Err(InventoryError::ReservationExists(reservation));
        }
        let available = counts.available();
        if quantity > available {
            return Err(InventoryError::NotEnough {
                requested: quantity,
                available,
            });
        }
        match status {
            BookingStatus::Held { expires_at } => {
                counts.held += quantity;
                self.expiry.insert((expires_at, reservation));
            }
            BookingStatus::Sold => counts.sold += quantity,
        }
        let booking = TicketBooking {
            ticket_type,
            quantity,
            status,
        };
        self.bookings.insert(reservation, booking);
        Ok(booking)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ty(n: u128) -> TicketTypeId {
        TicketTypeId(Uuid::from_u128(n))
    }
    fn res(n: u128) -> ReservationId {
        ReservationId(Uuid::from_u128(1000 + n))
    }

    const TTL: Duration = Duration::from_secs(300);

    #[test]
    fn never_sells_more_than_capacity() {
        let t = Instant::now();
        let mut inv = Inventory::new(4);
        assert!(inv.add_type(ty(1), 5));
        assert!(!inv.add_type(ty(1), 50));
        assert_eq!(
            inv.hold(res(1), ty(1), 0, t, TTL),
            Err(InventoryError::ZeroQuantity)
        );
        assert_eq!(
            inv.hold(res(1), ty(1), 5, t, TTL),
            Err(InventoryError::TooMany {
                requested: 5,
                max: 4
            })
        );
        assert_eq!(
            inv.hold(res(1), ty(2), 1, t, TTL),
            Err(InventoryError::UnknownType(ty(2)))
        );
        inv.hold(res(1), ty(1), 4, t, TTL).unwrap();
        assert_eq!(
            inv.hold(res(1), ty(1), 1, t, TTL),
            Err(InventoryError::ReservationExists(res(1)))
        );
        assert_eq!(
            inv.hold(res(2), ty(1), 2, t, TTL),
            Err(InventoryError::NotEnough {
                requested: 2,
                available: 1
            })
        );
        inv.hold(res(2), ty(1), 1, t, TTL).unwrap();
        inv.confirm(res(2), t).unwrap();
        assert_eq!(
            inv.counts(ty(1)),
            Some(TicketCounts {
                capacity: 5,
                held: 4,
                sold: 1
            })
        );
        assert_eq!(inv.expire(t + TTL).len(), 1);
        assert_eq!(inv.counts(ty(1)).unwrap().available(), 4);
        assert_eq!(
            inv.confirm(res(1), t),
            Err(ConfirmError::UnknownReservation(res(1)))
        );
        assert_eq!(inv.release(res(2)).unwrap().quantity, 1);
        assert_eq!(inv.counts(ty(1)).unwrap().available(), 5);
    }

    #[test]
    fn restore_respects_capacity() {
        let t = Instant::now();
        let mut inv = Inventory::new(2);
        inv.add_type(ty(1), 10);
        inv.restore_sold(res(1), ty(1), 8).unwrap();
        inv.restore_held(res(2), ty(1), 2, t).unwrap();
        assert_eq!(
            inv.restore_sold(res(3), ty(1), 1),
            Err(InventoryError::NotEnough {
                requested: 1,
                available: 0
            })
        );
        assert_eq!(
            inv.confirm(res(2), t),
            Err(ConfirmError::Expired {
                reservation: res(2),
                expires_at: t
            })
        );
        assert_eq!(inv.expire(t)[0].1.quantity, 2);
    }

    #[test]
    fn a_recorded_sale_is_taken_even_past_the_hold() {
        let t = Instant::now();
        let mut inv = Inventory::new(4);
        inv.add_type(ty(1), 1);
        inv.hold(res(1), ty(1), 1, t, TTL).unwrap();
        assert!(matches!(
            inv.confirm(res(1), t + TTL),
            Err(ConfirmError::Expired { .. })
        ));
        inv.record_sale(res(1)).unwrap();
        assert!(inv.expire(t + TTL * 2).is_empty(), "a sale does not lapse");
        assert_eq!(
            inv.record_sale(res(1)),
            Err(ConfirmError::AlreadySold(res(1)))
        );
        let counts = inv.counts(ty(1)).unwrap();
        assert_eq!((counts.held, counts.sold, counts.available()), (0, 1, 0));
    }
}
