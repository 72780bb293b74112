//! The live seat map of one event and its holds.
//!
//! The actor is the only writer and does durable work between steps: take the Redis
//! seat locks (getting fencing tokens), write the pending reservation to Postgres, then
//! record the hold here. So a hold is all-or-nothing and checked before anything
//! changes, tokens are attached afterwards, and every step can be undone
//! ([`SeatMap::release`]) if a later durable step fails. A seat is never held or sold
//! for two reservations at once: the per-seat state and the per-reservation index are
//! changed together, by the same calls.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::booking::{BookingStatus, ConfirmError};
use crate::ids::{FencingToken, ReservationId, SeatId, UserId};
use crate::time::deadline;

/// One seat's state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SeatState {
    /// Free to hold.
    Available,
    /// Held for a reservation awaiting payment.
    Held {
        /// The reservation holding it.
        reservation: ReservationId,
        /// The user who holds it.
        user: UserId,
        /// The fencing token of its lock, once attached.
        token: Option<FencingToken>,
        /// When the hold lapses.
        expires_at: Instant,
    },
    /// Sold.
    Sold {
        /// The reservation that bought it.
        reservation: ReservationId,
    },
}

/// A reservation's seats.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SeatBooking {
    /// Whose reservation.
    pub user: UserId,
    /// Its seats, in the order requested.
    pub seats: Vec<SeatId>,
    /// Held or sold.
    pub status: BookingStatus,
}

/// A hold that was taken.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Hold {
    /// The reservation holding the seats.
    pub reservation: ReservationId,
    /// Whose hold.
    pub user: UserId,
    /// The seats, in the order requested.
    pub seats: Vec<SeatId>,
    /// When the hold lapses unless confirmed.
    pub expires_at: Instant,
}

/// A reservation turned into a sale.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Confirmed {
    /// Which reservation.
    pub reservation: ReservationId,
    /// Whose.
    pub user: UserId,
    /// Its seats with the fencing tokens recorded for them, for the durable write to
    /// check against the lock store.
    pub seats: Vec<(SeatId, Option<FencingToken>)>,
}

/// Why a hold was refused. Nothing changed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum HoldError {
    /// No seats asked for.
    #[error("no seats requested")]
    Empty,
    /// More seats than one reservation may hold.
    #[error("{requested} seats requested, at most {max} per reservation")]
    TooMany {
        /// How many were asked for.
        requested: usize,
        /// The limit.
        max: usize,
    },
    /// The same seat was asked for more than once (each such seat once).
    #[error("seats requested more than once: {0:?}")]
    DuplicateSeats(Vec<SeatId>),
    /// Seats this event does not have.
    #[error("unknown seats: {0:?}")]
    UnknownSeats(Vec<SeatId>),
    /// The reservation id already holds or bought seats.
    #[error("reservation {0} already exists")]
    ReservationExists(ReservationId),
    /// Seats held or sold by someone else (a 409 listing them).
    #[error("seats taken: {0:?}")]
    SeatsTaken(Vec<SeatId>),
}

/// Why fencing tokens could not be attached. Nothing changed.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum TokenError {
    /// The reservation is not held (unknown, released, expired or already sold).
    #[error("reservation {0} is not held")]
    NotHeld(ReservationId),
    /// Seats that are not part of the reservation's hold.
    #[error("seats not in the hold: {0:?}")]
    SeatsNotInHold(Vec<SeatId>),
}

/// How many seats are in each state.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SeatCounts {
    /// Free to hold.
    pub available: usize,
    /// Held, awaiting payment.
    pub held: usize,
    /// Sold.
    pub sold: usize,
}

/// The seats of one event with their holds; see the module docs.
#[derive(Clone, Debug)]
pub struct SeatMap {
    /// Seats in layout order, so snapshots are stable.
    seats: Vec<(SeatId, SeatState)>,
    index: HashMap<SeatId, usize>,
    bookings: HashMap<ReservationId, SeatBooking>,
    /// Held reservations by when they lapse, so a sweep touches only lapsed ones.
    expiry: BTreeSet<(Instant, ReservationId)>,
    counts: SeatCounts,
    /// Seats held or bought per user, for the per-user limit; changed with `bookings`.
    per_user: HashMap<UserId, usize>,
}

impl SeatMap {
    /// A map of available seats, in layout order (repeated ids count once).
    pub fn new(seats: impl IntoIterator<Item = SeatId>) -> Self {
        let mut map = Self {
            seats: Vec::new(),
            index: HashMap::new(),
            bookings: HashMap::new(),
            expiry: BTreeSet::new(),
            counts: SeatCounts::default(),
            per_user: HashMap::new(),
        };
        for seat in seats {
            if let std::collections::hash_map::Entry::Vacant(slot) = map.index.entry(seat) {
                slot.insert(map.seats.len());
                map.seats.push((seat, SeatState::Available));
            }
        }
        map.counts.available = map.seats.len();
        map
    }

    /// Holds all of `seats` for `reservation` until `now + ttl`, or none of them.
    pub fn hold(
        &mut self,
        user: UserId,
        reservation: ReservationId,
        seats: &[SeatId],
        now: Instant,
        ttl: Duration,
        max_per_hold: usize,
    ) -> Result<Hold, HoldError> {
        if seats.is_empty() {
            return Err(HoldError::Empty);
        }
        if seats.len() > max_per_hold {
            return Err(HoldError::TooMany {
                requested: seats.len(),
                max: max_per_hold,
            });
        }
        let slots = self.check_free(reservation, seats)?;
        let expires_at = deadline(now, ttl);
        self.take(reservation, user, seats, &slots, expires_at, |_| None);
        Ok(Hold {
            reservation,
            user,
            seats: seats.to_vec(),
            expires_at,
        })
    }

    /// Records the fencing tokens of a held reservation's locks; all or nothing.
    pub fn attach_tokens(
        &mut self,
        reservation: ReservationId,
        tokens: &[(SeatId, FencingToken)],
    ) -> Result<(), TokenError> {
        match self.bookings.get(&reservation) {
            Some(booking) if matches!(booking.status, BookingStatus::Held { .. }) => {
                let outside: Vec<SeatId> = tokens
                    .iter()
                    .map(|&(seat, _)| seat)
                    .filter(|seat| !booking.seats.contains(seat))
                    .collect();
                if !outside.is_empty() {
                    return Err(TokenError::SeatsNotInHold(outside));
                }
            }
            _ => return Err(TokenError::NotHeld(reservation)),
        }
        for &(seat, new_token) in tokens {
            if let Some(&slot) = self.index.get(&seat)
                && let SeatState::Held { token, .. } = &mut self.seats[slot].1
            {
                *token = Some(new_token);
            }
        }
        Ok(())
    }

    /// Frees a reservation's seats, held or sold (an aborted hold, a cancellation, a
    /// refund); returns them, empty if the reservation has none.
    pub fn release(&mut self, reservation: ReservationId) -> Vec<SeatId> {
        let Some(booking) = self.bookings.remove(&reservation) else {
            return Vec::new();
        };
        if let BookingStatus::Held { expires_at } = booking.status {
            self.expiry.remove(&(expires_at, reservation));
        }
        self.count_for(booking.user, booking.seats.len(), false);
        for seat in &booking.seats {
            let Some(&slot) = self.index.get(seat) else {
                continue;
            };
            let state = &mut self.seats[slot].1;
            match *state {
                SeatState::Held { .. } => self.counts.held -= 1,
                SeatState::Sold { .. } => self.counts.sold -= 1,
                SeatState::Available => continue,
            }
            *state = SeatState::Available;
            self.counts.available += 1;
        }
        booking.seats
    }

    /// Turns a held reservation into a sale, if its hold has not lapsed at `now`.
    pub fn confirm(
        &mut self,
        reservation: ReservationId,
        now: Instant,
    ) -> Result<Confirmed, ConfirmError> {
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
    /// not: the durable record, not this map's clock, decides (a confirmation whose
    /// commit landed although its caller never heard back).
    pub fn record_sale(&mut self, reservation: ReservationId) -> Result<Confirmed, ConfirmError> {
        let booking = self
            .bookings
            .get_mut(&reservation)
            .ok_or(ConfirmError::UnknownReservation(reservation))?;
        let BookingStatus::Held { expires_at } = booking.status else {
            return Err(ConfirmError::AlreadySold(reservation));
        };
        booking.status = BookingStatus::Sold;
        self.expiry.remove(&(expires_at, reservation));
        let mut seats = Vec::with_capacity(booking.seats.len());
        for &seat in &booking.seats {
            let Some(&slot) = self.index.get(&seat) else {
                continue;
            };
            let state = &mut self.seats[slot].1;
            if let SeatState::Held { token, .. } = *state {
                *state = SeatState::Sold { reservation };
                self.counts.held -= 1;
                self.counts.sold += 1;
                seats.push((seat, token));
            }
        }
        Ok(Confirmed {
            reservation,
            user: booking.user,
            seats,
        })
    }

    /// Releases every hold that lapsed at or before `now`, earliest first.
    pub fn expire(&mut self, now: Instant) -> Vec<(ReservationId, Vec<SeatId>)> {
        self.expire_where(now, |_| true)
    }

    /// Releases the lapsed holds `may_expire` allows, earliest first; the others stay
    /// held (and lapsed) until a later call allows them. The actor keeps a hold whose
    /// durable write is still in flight: its record is about to exist.
    pub fn expire_where(
        &mut self,
        now: Instant,
        mut may_expire: impl FnMut(ReservationId) -> bool,
    ) -> Vec<(ReservationId, Vec<SeatId>)> {
        let lapsed: Vec<ReservationId> = self
            .expiry
            .iter()
            .take_while(|&&(at, _)| at <= now)
            .map(|&(_, reservation)| reservation)
            .filter(|&reservation| may_expire(reservation))
            .collect();
        lapsed
            .into_iter()
            .map(|reservation| (reservation, self.release(reservation)))
            .collect()
    }

    /// When the next hold lapses, so the actor can time its sweep.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.expiry.first().map(|&(at, _)| at)
    }

    /// Rebuilds a pending reservation's hold from storage (after a restart). A lapsed
    /// `expires_at` is accepted; the next [`Self::expire`] releases it.
    pub fn restore_held(
        &mut self,
        reservation: ReservationId,
        user: UserId,
        seats: &[(SeatId, Option<FencingToken>)],
        expires_at: Instant,
    ) -> Result<(), HoldError> {
        let ids: Vec<SeatId> = seats.iter().map(|&(seat, _)| seat).collect();
        if ids.is_empty() {
            return Err(HoldError::Empty);
        }
        let slots = self.check_free(reservation, &ids)?;
        self.take(reservation, user, &ids, &slots, expires_at, |i| seats[i].1);
        Ok(())
    }

    /// Rebuilds a confirmed reservation's seats from storage (after a restart).
    pub fn restore_sold(
        &mut self,
        reservation: ReservationId,
        user: UserId,
        seats: &[SeatId],
    ) -> Result<(), HoldError> {
        if seats.is_empty() {
            return Err(HoldError::Empty);
        }
        let slots = self.check_free(reservation, seats)?;
        for &slot in &slots {
            self.seats[slot].1 = SeatState::Sold { reservation };
        }
        self.counts.available -= slots.len();
        self.counts.sold += slots.len();
        self.count_for(user, seats.len(), true);
        self.bookings.insert(
            reservation,
            SeatBooking {
                user,
                seats: seats.to_vec(),
                status: BookingStatus::Sold,
            },
        );
        Ok(())
    }

    /// A seat's state; `None` for a seat this event does not have.
    pub fn status(&self, seat: SeatId) -> Option<&SeatState> {
        self.index.get(&seat).map(|&slot| &self.seats[slot].1)
    }

    /// A reservation's seats and status.
    pub fn booking(&self, reservation: ReservationId) -> Option<&SeatBooking> {
        self.bookings.get(&reservation)
    }

    /// Every seat with its state, in layout order (for a snapshot).
    pub fn iter(&self) -> impl Iterator<Item = (SeatId, &SeatState)> + '_ {
        self.seats.iter().map(|(seat, state)| (*seat, state))
    }

    /// Every reservation with seats, held or sold.
    pub fn bookings(&self) -> impl Iterator<Item = (ReservationId, &SeatBooking)> + '_ {
        self.bookings.iter().map(|(id, booking)| (*id, booking))
    }

    /// How many seats are in each state.
    pub fn counts(&self) -> SeatCounts {
        self.counts
    }

    /// Seats `user` holds or bought (the per-user limit counts them).
    pub fn seats_of(&self, user: UserId) -> usize {
        self.per_user.get(&user).copied().unwrap_or(0)
    }

    /// Seats in the map.
    pub fn len(&self) -> usize {
        self.seats.len()
    }

    /// Whether the map has no seats.
    pub fn is_empty(&self) -> bool {
        self.seats.is_empty()
    }

    /// Checks a non-empty request: no repeats, all seats known, the reservation new, all
    /// seats available. Returns the seats' slots, in request order.
    fn check_free(
        &self,
        reservation: ReservationId,
        seats: &[SeatId],
    ) -> Result<Vec<usize>, HoldError> {
        let mut seen = HashSet::with_capacity(seats.len());
        let mut repeated = Vec::new();
        for &seat in seats {
            if !seen.insert(seat) && !repeated.contains(&seat) {
                repeated.push(seat);
            }
        }
        if !repeated.is_empty() {
            return Err(HoldError::DuplicateSeats(repeated));
        }
        let unknown: Vec<SeatId> = seats
            .iter()
            .copied()
            .filter(|seat| !self.index.contains_key(seat))
            .collect();
        if !unknown.is_empty() {
            return Err(HoldError::UnknownSeats(unknown));
        }
        if self.bookings.contains_key(&reservation) {
            return Err(HoldError::ReservationExists(reservation));
        }
        let slots: Vec<usize> = seats
            .iter()
            .filter_map(|seat| self.index.get(seat).copied())
            .collect();
        // A lapsed hold not yet swept still counts as taken: its lock may still be live,
        // and the sweep, not a competing hold, is what frees it.
        let taken: Vec<SeatId> = slots
            .iter()
            .filter(|&&slot| self.seats[slot].1 != SeatState::Available)
            .map(|&slot| self.seats[slot].0)
            .collect();
        if !taken.is_empty() {
            return Err(HoldError::SeatsTaken(taken));
        }
        Ok(slots)
    }

    /// Adds `n` seats to (or takes them from) `user`'s tally.
    fn count_for(&mut self, user: UserId, n: usize, add: bool) {
        let tally = self.per_user.entry(user).or_default();
        *tally = if add {
            *tally + n
        } else {
            tally.saturating_sub(n)
        };
        if *tally == 0 {
            self.per_user.remove(&user);
        }
    }

    /// Marks checked-free seats held and indexes the reservation.
    fn take(
        &mut self,
        reservation: ReservationId,
        user: UserId,
        seats: &[SeatId],
        slots: &[usize],
        expires_at: Instant,
        token: impl Fn(usize) -> Option<FencingToken>,
    ) {
        for (i, &slot) in slots.iter().enumerate() {
            self.seats[slot].1 = SeatState::Held {
                reservation,
                user,
                token: token(i),
                expires_at,
            };
        }
        self.counts.available -= slots.len();
        self.counts.held += slots.len();
        self.count_for(user, seats.len(), true);
        self.expiry.insert((expires_at, reservation));
        self.bookings.insert(
            reservation,
            SeatBooking {
                user,
                seats: seats.to_vec(),
                status: BookingStatus::Held { expires_at },
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn seat(n: u128) -> SeatId {
        SeatId(Uuid::from_u128(n))
    }
    fn res(n: u128) -> ReservationId {
        ReservationId(Uuid::from_u128(1000 + n))
    }
    fn user(n: u128) -> UserId {
        UserId(Uuid::from_u128(2000 + n))
    }

    const TTL: Duration = Duration::from_secs(300);

    fn map() -> SeatMap {
        SeatMap::new((0..6).map(seat))
    }

    #[test]
    fn hold_is_all_or_nothing_with_distinct_errors() {
        let t = Instant::now();
        let mut m = map();
        let hold = m.hold(user(1), res(1), &[seat(0), seat(1)], t, TTL, 4);
        assert_eq!(hold.unwrap().expires_at, t + TTL);
        let before = m.clone();
        let attempts: Vec<(Vec<SeatId>, HoldError)> = vec![
            (vec![], HoldError::Empty),
            (
                (0..5).map(seat).collect(),
                HoldError::TooMany {
                    requested: 5,
                    max: 4,
                },
            ),
            (
                vec![seat(2), seat(3), seat(2), seat(2)],
                HoldError::DuplicateSeats(vec![seat(2)]),
            ),
            (
                vec![seat(2), seat(9)],
                HoldError::UnknownSeats(vec![seat(9)]),
            ),
            (
                vec![seat(2), seat(1), seat(3), seat(0)],
                HoldError::SeatsTaken(vec![seat(1), seat(0)]),
            ),
        ];
        for (seats, error) in attempts {
            assert_eq!(m.hold(user(2), res(2), &seats, t, TTL, 4), Err(error));
        }
        assert_eq!(
            m.hold(user(2), res(1), &[seat(5)], t, TTL, 4),
            Err(HoldError::ReservationExists(res(1)))
        );
        assert_eq!(m.counts(), before.counts());
        assert_eq!(
            m.iter().collect::<Vec<_>>(),
            before.iter().collect::<Vec<_>>()
        );
        assert_eq!(
            m.counts(),
            SeatCounts {
                available: 4,
                held: 2,
                sold: 0
            }
        );
    }

    #[test]
    fn tokens_then_confirm_sells_the_seats() {
        let t = Instant::now();
        let mut m = map();
        m.hold(user(1), res(1), &[seat(0), seat(1)], t, TTL, 4)
            .unwrap();
        assert_eq!(
            m.attach_tokens(res(1), &[(seat(2), FencingToken(1))]),
            Err(TokenError::SeatsNotInHold(vec![seat(2)]))
        );
        assert_eq!(
            m.attach_tokens(res(9), &[]),
            Err(TokenError::NotHeld(res(9)))
        );
        m.attach_tokens(
            res(1),
            &[(seat(0), FencingToken(7)), (seat(1), FencingToken(8))],
        )
        .unwrap();
        let confirmed = m.confirm(res(1), t + Duration::from_secs(1)).unwrap();
        assert_eq!(
            confirmed.seats,
            vec![
                (seat(0), Some(FencingToken(7))),
                (seat(1), Some(FencingToken(8)))
            ]
        );
        assert_eq!(
            m.status(seat(0)),
            Some(&SeatState::Sold {
                reservation: res(1)
            })
        );
        assert_eq!(m.confirm(res(1), t), Err(ConfirmError::AlreadySold(res(1))));
        assert_eq!(
            m.attach_tokens(res(1), &[]),
            Err(TokenError::NotHeld(res(1)))
        );
        // Sold seats do not expire.
        assert!(m.expire(t + TTL * 2).is_empty());
        assert_eq!(m.counts().sold, 2);
        // A refund frees them.
        assert_eq!(m.release(res(1)), vec![seat(0), seat(1)]);
        assert_eq!(m.counts().available, 6);
    }

    #[test]
    fn a_lapsed_hold_can_be_kept_back_from_expiry() {
        let mut m = map();
        let t = Instant::now();
        let ttl = Duration::from_secs(60);
        m.hold(user(1), res(1), &[seat(1)], t, ttl, 4).unwrap();
        m.hold(user(2), res(2), &[seat(2)], t, ttl, 4).unwrap();
        let later = t + ttl + Duration::from_secs(1);
        let expired = m.expire_where(later, |r| r != res(1));
        assert_eq!(expired, vec![(res(2), vec![seat(2)])]);
        assert!(matches!(m.status(seat(1)), Some(SeatState::Held { .. })));
        assert_eq!(m.expire(later), vec![(res(1), vec![seat(1)])]);
        assert_eq!(m.counts().available, m.len());
    }

    #[test]
    fn lapsed_holds_cannot_be_confirmed_and_are_swept() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut m = map();
        m.hold(user(1), res(1), &[seat(0)], t, s(10), 4).unwrap();
        m.hold(user(2), res(2), &[seat(1), seat(2)], t + s(5), s(10), 4)
            .unwrap();
        assert_eq!(m.next_expiry(), Some(t + s(10)));
        assert_eq!(
            m.confirm(res(1), t + s(10)),
            Err(ConfirmError::Expired {
                reservation: res(1),
                expires_at: t + s(10)
            })
        );
        // Still taken until swept.
        assert_eq!(
            m.hold(user(3), res(3), &[seat(0)], t + s(11), s(10), 4),
            Err(HoldError::SeatsTaken(vec![seat(0)]))
        );
        assert_eq!(m.expire(t + s(11)), vec![(res(1), vec![seat(0)])]);
        assert_eq!(m.expire(t + s(20)), vec![(res(2), vec![seat(1), seat(2)])]);
        assert_eq!(
            m.confirm(res(2), t),
            Err(ConfirmError::UnknownReservation(res(2)))
        );
        assert_eq!(m.counts().available, 6);
        assert_eq!(m.next_expiry(), None);
    }

    #[test]
    fn restores_holds_and_sales() {
        let t = Instant::now();
        let mut m = map();
        m.restore_held(
            res(1),
            user(1),
            &[(seat(0), Some(FencingToken(3))), (seat(1), None)],
            t,
        )
        .unwrap();
        m.restore_sold(res(2), user(2), &[seat(2)]).unwrap();
        assert_eq!(
            m.restore_sold(res(3), user(3), &[seat(2)]),
            Err(HoldError::SeatsTaken(vec![seat(2)]))
        );
        assert_eq!(
            m.status(seat(0)),
            Some(&SeatState::Held {
                reservation: res(1),
                user: user(1),
                token: Some(FencingToken(3)),
                expires_at: t
            })
        );
        assert_eq!(
            m.counts(),
            SeatCounts {
                available: 3,
                held: 2,
                sold: 1
            }
        );
        // A lapsed restored hold goes on the next sweep.
        assert_eq!(m.expire(t), vec![(res(1), vec![seat(0), seat(1)])]);
        assert_eq!(m.booking(res(2)).unwrap().status, BookingStatus::Sold);
    }

    #[test]
    fn a_recorded_sale_is_taken_even_past_the_hold() {
        let t = Instant::now();
        let s = Duration::from_secs;
        let mut m = map();
        m.hold(user(1), res(1), &[seat(0), seat(1)], t, s(10), 4)
            .unwrap();
        // Storage says it sold; this map's clock says the hold lapsed: storage wins.
        let sold = m.record_sale(res(1)).unwrap();
        assert_eq!(sold.seats.len(), 2);
        assert!(m.expire(t + s(60)).is_empty(), "a sale does not lapse");
        assert_eq!(m.counts().sold, 2);
        assert_eq!(
            m.record_sale(res(1)),
            Err(ConfirmError::AlreadySold(res(1)))
        );
        assert_eq!(
            m.record_sale(res(9)),
            Err(ConfirmError::UnknownReservation(res(9)))
        );
    }

    #[test]
    fn counts_what_each_user_holds_or_bought() {
        let t = Instant::now();
        let mut m = map();
        m.hold(user(1), res(1), &[seat(0), seat(1)], t, TTL, 4)
            .unwrap();
        m.hold(user(1), res(2), &[seat(2)], t, TTL, 4).unwrap();
        m.hold(user(2), res(3), &[seat(3)], t, TTL, 4).unwrap();
        m.restore_sold(res(4), user(2), &[seat(4)]).unwrap();
        assert_eq!((m.seats_of(user(1)), m.seats_of(user(2))), (3, 2));
        m.confirm(res(1), t).unwrap();
        assert_eq!(m.seats_of(user(1)), 3, "a sale still counts");
        // A refused hold changes nothing.
        assert!(m.hold(user(1), res(5), &[seat(3)], t, TTL, 4).is_err());
        assert_eq!(m.seats_of(user(1)), 3);
        m.release(res(1));
        assert_eq!(m.seats_of(user(1)), 1);
        assert_eq!(m.expire(t + TTL).len(), 2);
        assert_eq!((m.seats_of(user(1)), m.seats_of(user(2))), (0, 1));
        assert_eq!(m.seats_of(user(3)), 0);
    }
}
