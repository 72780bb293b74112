//! Property tests of the public domain API, one file per component.

mod admission;
mod codec;
mod inventory;
mod replay;
mod seat_map;

use uuid::Uuid;

use urr_actors::{ReservationId, SeatId, TicketTypeId, UserId};

pub fn user(n: u8) -> UserId {
    UserId(Uuid::from_u128(0x1000 + u128::from(n)))
}

pub fn seat(n: u8) -> SeatId {
    SeatId(Uuid::from_u128(0x2000 + u128::from(n)))
}

pub fn reservation(n: u8) -> ReservationId {
    ReservationId(Uuid::from_u128(0x3000 + u128::from(n)))
}

pub fn ticket_type(n: u8) -> TicketTypeId {
    TicketTypeId(Uuid::from_u128(0x4000 + u128::from(n)))
}
