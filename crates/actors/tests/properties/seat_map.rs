//! The seat map against a simple model: every seat's state agrees after every step, and
//! no seat ever belongs to two reservations.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::collection;
use proptest::prelude::*;

use urr_actors::{
    BookingStatus, ConfirmError, FencingToken, HoldError, ReservationId, SeatCounts, SeatId,
    SeatMap, SeatState, TokenError, UserId,
};

use crate::{reservation, seat, user};

const SEATS: u8 = 8;
const MAX_PER_HOLD: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    /// Seat numbers at or above `SEATS` are unknown to the map.
    Hold {
        user: u8,
        res: u8,
        seats: Vec<u8>,
        ttl_ms: u64,
    },
    Attach {
        res: u8,
        tokens: Vec<(u8, u64)>,
    },
    Release {
        res: u8,
    },
    Confirm {
        res: u8,
    },
    Expire,
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, 0u8..10, collection::vec(0u8..SEATS + 2, 0..6), 1u64..30)
            .prop_map(|(user, res, seats, t)| Op::Hold { user, res, seats, ttl_ms: t * 100 }),
        2 => (0u8..10, collection::vec((0u8..SEATS, any::<u64>()), 0..4))
            .prop_map(|(res, tokens)| Op::Attach { res, tokens }),
        2 => (0u8..10).prop_map(|res| Op::Release { res }),
        3 => (0u8..10).prop_map(|res| Op::Confirm { res }),
        2 => Just(Op::Expire),
        // Times on a 100 ms grid, so steps land exactly on expiry boundaries often.
        3 => (0u64..15).prop_map(|t| Op::Advance { ms: t * 100 }),
    ]
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ModelSeat {
    Available,
    Held {
        res: ReservationId,
        user: UserId,
        token: Option<FencingToken>,
        expires_ms: u64,
    },
    Sold {
        res: ReservationId,
    },
}

#[derive(Clone, Debug)]
struct ModelBooking {
    user: UserId,
    seats: Vec<SeatId>,
    /// `None` once sold.
    expires_ms: Option<u64>,
}

struct Model {
    seats: BTreeMap<SeatId, ModelSeat>,
    bookings: BTreeMap<ReservationId, ModelBooking>,
}

impl Model {
    fn hold(
        &mut self,
        user: UserId,
        res: ReservationId,
        ids: &[SeatId],
        expires_ms: u64,
    ) -> Result<(), HoldError> {
        if ids.is_empty() {
            return Err(HoldError::Empty);
        }
        if ids.len() > MAX_PER_HOLD {
            return Err(HoldError::TooMany {
                requested: ids.len(),
                max: MAX_PER_HOLD,
            });
        }
        let mut repeated = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) && !repeated.contains(id) {
                repeated.push(*id);
            }
        }
        if !repeated.is_empty() {
            return Err(HoldError::DuplicateSeats(repeated));
        }
        let unknown: Vec<SeatId> = ids
            .iter()
            .copied()
            .filter(|id| !self.seats.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            return Err(HoldError::UnknownSeats(unknown));
        }
        if self.bookings.contains_key(&res) {
            return Err(HoldError::ReservationExists(res));
        }
        let taken: Vec<SeatId> = ids
            .iter()
            .copied()
            .filter(|id| self.seats[id] != ModelSeat::Available)
            .collect();
        if !taken.is_empty() {
            return Err(HoldError::SeatsTaken(taken));
        }
        for id in ids {
            self.seats.insert(
                *id,
                ModelSeat::Held {
                    res,
                    user,
                    token: None,
                    expires_ms,
                },
            );
        }
        self.bookings.insert(
            res,
            ModelBooking {
                user,
                seats: ids.to_vec(),
                expires_ms: Some(expires_ms),
            },
        );
        Ok(())
    }

    fn release(&mut self, res: ReservationId) -> Vec<SeatId> {
        let Some(booking) = self.bookings.remove(&res) else {
            return Vec::new();
        };
        for id in &booking.seats {
            self.seats.insert(*id, ModelSeat::Available);
        }
        booking.seats
    }
}

fn to_instant(start: Instant, ms: u64) -> Instant {
    start + Duration::from_millis(ms)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn seat_map_agrees_with_a_model(ops in collection::vec(op(), 1..150)) {
        run_seat_map_agrees_with_a_model(ops)?;
    }
}

fn run_seat_map_agrees_with_a_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let start = Instant::now();
    let mut now_ms = 0u64;
    let mut map = SeatMap::new((0..SEATS).map(seat));
    let mut model = Model {
        seats: (0..SEATS)
            .map(|n| (seat(n), ModelSeat::Available))
            .collect(),
        bookings: BTreeMap::new(),
    };
    for op in ops {
        let now = to_instant(start, now_ms);
        match op {
            Op::Hold {
                user: u,
                res,
                seats,
                ttl_ms,
            } => {
                let ids: Vec<SeatId> = seats.into_iter().map(seat).collect();
                let got = map.hold(
                    user(u),
                    reservation(res),
                    &ids,
                    now,
                    Duration::from_millis(ttl_ms),
                    MAX_PER_HOLD,
                );
                let expected = model.hold(user(u), reservation(res), &ids, now_ms + ttl_ms);
                prop_assert_eq!(
                    got.as_ref().map(|h| h.seats.clone()).map_err(Clone::clone),
                    expected.map(|()| ids.clone())
                );
                if let Ok(hold) = got {
                    prop_assert_eq!(hold.expires_at, to_instant(start, now_ms + ttl_ms));
                }
            }
            Op::Attach { res, tokens } => {
                let tokens: Vec<(SeatId, FencingToken)> = tokens
                    .into_iter()
                    .map(|(s, t)| (seat(s), FencingToken(t)))
                    .collect();
                let res = reservation(res);
                let expected = match model.bookings.get(&res) {
                    Some(b) if b.expires_ms.is_some() => {
                        let outside: Vec<SeatId> = tokens
                            .iter()
                            .map(|t| t.0)
                            .filter(|s| !b.seats.contains(s))
                            .collect();
                        if outside.is_empty() {
                            Ok(())
                        } else {
                            Err(TokenError::SeatsNotInHold(outside))
                        }
                    }
                    _ => Err(TokenError::NotHeld(res)),
                };
                if expected.is_ok() {
                    for (id, token) in &tokens {
                        if let Some(ModelSeat::Held { token: t, .. }) = model.seats.get_mut(id) {
                            *t = Some(*token);
                        }
                    }
                }
                prop_assert_eq!(map.attach_tokens(res, &tokens), expected);
            }
            Op::Release { res } => {
                let res = reservation(res);
                prop_assert_eq!(map.release(res), model.release(res));
            }
            Op::Confirm { res } => {
                let res = reservation(res);
                let expected = match model.bookings.get(&res) {
                    None => Err(ConfirmError::UnknownReservation(res)),
                    Some(ModelBooking {
                        expires_ms: None, ..
                    }) => Err(ConfirmError::AlreadySold(res)),
                    Some(ModelBooking {
                        expires_ms: Some(exp),
                        ..
                    }) if *exp <= now_ms => Err(ConfirmError::Expired {
                        reservation: res,
                        expires_at: to_instant(start, *exp),
                    }),
                    Some(booking) => {
                        let sold: Vec<(SeatId, Option<FencingToken>)> = booking
                            .seats
                            .iter()
                            .map(|id| {
                                let token = match model.seats[id] {
                                    ModelSeat::Held { token, .. } => token,
                                    _ => None,
                                };
                                (*id, token)
                            })
                            .collect();
                        Ok(sold)
                    }
                };
                if expected.is_ok() {
                    let booking = model.bookings.get_mut(&res).expect("checked above");
                    booking.expires_ms = None;
                    for id in &booking.seats {
                        model.seats.insert(*id, ModelSeat::Sold { res });
                    }
                }
                prop_assert_eq!(map.confirm(res, now).map(|c| c.seats), expected);
            }
            Op::Expire => {
                let mut lapsed: Vec<(u64, ReservationId)> = model
                    .bookings
                    .iter()
                    .filter_map(|(res, b)| b.expires_ms.filter(|&e| e <= now_ms).map(|e| (e, *res)))
                    .collect();
                lapsed.sort();
                let expected: Vec<(ReservationId, Vec<SeatId>)> = lapsed
                    .into_iter()
                    .map(|(_, res)| (res, model.release(res)))
                    .collect();
                prop_assert_eq!(map.expire(now), expected);
            }
            Op::Advance { ms } => now_ms += ms,
        }

        // Every seat agrees with the model.
        let mut counts = SeatCounts::default();
        for (id, state) in map.iter() {
            let expected = match model.seats[&id] {
                ModelSeat::Available => {
                    counts.available += 1;
                    SeatState::Available
                }
                ModelSeat::Held {
                    res,
                    user,
                    token,
                    expires_ms,
                } => {
                    counts.held += 1;
                    SeatState::Held {
                        reservation: res,
                        user,
                        token,
                        expires_at: to_instant(start, expires_ms),
                    }
                }
                ModelSeat::Sold { res } => {
                    counts.sold += 1;
                    SeatState::Sold { reservation: res }
                }
            };
            prop_assert_eq!(*state, expected);
        }
        prop_assert_eq!(map.counts(), counts);
        prop_assert_eq!(map.len(), usize::from(SEATS));

        // No seat in two reservations, and each reservation's seats name it.
        let mut owner: BTreeMap<SeatId, ReservationId> = BTreeMap::new();
        for (res, booking) in map.bookings() {
            let model_booking = &model.bookings[&res];
            prop_assert_eq!(&booking.seats, &model_booking.seats);
            prop_assert_eq!(booking.user, model_booking.user);
            prop_assert_eq!(
                matches!(booking.status, BookingStatus::Sold),
                model_booking.expires_ms.is_none()
            );
            for id in &booking.seats {
                prop_assert!(
                    owner.insert(*id, res).is_none(),
                    "seat {} in two reservations",
                    id
                );
                let named = match map.status(*id) {
                    Some(SeatState::Held { reservation, .. } | SeatState::Sold { reservation }) => {
                        Some(*reservation)
                    }
                    _ => None,
                };
                prop_assert_eq!(named, Some(res));
            }
        }
        prop_assert_eq!(map.bookings().count(), model.bookings.len());
        prop_assert_eq!(owner.len(), counts.held + counts.sold);
    }
    Ok(())
}
