//! An actor call as a `CallRequest`, and back.

use std::time::Duration;

use urr_actors::event::{EventCall, QueueSettings};
use urr_actors::ids::{ReservationId, TicketTypeId, UserId};
use urr_proto::cluster as pb;
use urr_proto::cluster::call_request::Call;

use super::{DecodeError, id, ids, ms, texts};

fn settings_to(s: &QueueSettings) -> pb::QueueSettings {
    pb::QueueSettings {
        enabled: s.enabled,
        threshold: s.threshold,
        batch: s.batch,
        tick_ms: ms(s.tick),
        active_ttl_ms: ms(s.active_ttl),
        queue_ttl_ms: ms(s.queue_ttl),
        hold_ttl_ms: ms(s.hold_ttl),
        max_seats_per_hold: s.max_seats_per_hold,
        max_seats_per_user: s.max_seats_per_user,
        waitlist_offer_ttl_ms: ms(s.waitlist_offer_ttl),
    }
}

fn settings_from(s: &pb::QueueSettings) -> QueueSettings {
    QueueSettings {
        enabled: s.enabled,
        threshold: s.threshold,
        batch: s.batch,
        tick: Duration::from_millis(s.tick_ms),
        active_ttl: Duration::from_millis(s.active_ttl_ms),
        queue_ttl: Duration::from_millis(s.queue_ttl_ms),
        hold_ttl: Duration::from_millis(s.hold_ttl_ms),
        max_seats_per_hold: s.max_seats_per_hold,
        max_seats_per_user: s.max_seats_per_user,
        waitlist_offer_ttl: match s.waitlist_offer_ttl_ms {
            0 => QueueSettings::default().waitlist_offer_ttl,
            ms => Duration::from_millis(ms),
        },
    }
}

pub fn call_to_proto(call: &EventCall) -> pb::CallRequest {
    let call = match call {
        EventCall::Join { user, tier1_pos } => Call::Join(pb::Join {
            user_id: user.to_string(),
            tier1_pos: *tier1_pos,
        }),
        EventCall::Status { user } => Call::Status(pb::Status {
            user_id: user.to_string(),
        }),
        EventCall::Leave { user } => Call::Leave(pb::Leave {
            user_id: user.to_string(),
        }),
        EventCall::HoldSeats {
            user,
            reservation,
            seats,
            idempotency_key,
        } => Call::HoldSeats(pb::HoldSeats {
            user_id: user.to_string(),
            reservation_id: reservation.to_string(),
            seat_ids: texts(seats),
            idempotency_key: idempotency_key.clone(),
        }),
        EventCall::HoldTickets {
            user,
            reservation,
            ticket_type,
            quantity,
            idempotency_key,
        } => Call::HoldTickets(pb::HoldTickets {
            user_id: user.to_string(),
            reservation_id: reservation.to_string(),
            ticket_type_id: ticket_type.to_string(),
            quantity: *quantity,
            idempotency_key: idempotency_key.clone(),
        }),
        EventCall::Confirm { reservation } => Call::Confirm(pb::Confirm {
            reservation_id: reservation.to_string(),
        }),
        EventCall::Cancel { user, reservation } => Call::Cancel(pb::Cancel {
            user_id: user.to_string(),
            reservation_id: reservation.to_string(),
        }),
        EventCall::Revive {
            user,
            reservation,
            seats,
        } => Call::Revive(pb::Revive {
            user_id: user.to_string(),
            reservation_id: reservation.to_string(),
            seat_ids: texts(seats),
        }),
        EventCall::Refund { reservation } => Call::Refund(pb::Refund {
            reservation_id: reservation.to_string(),
        }),
        EventCall::SeatStatuses => Call::SeatStatuses(pb::SeatStatuses {}),
        EventCall::SeatState => Call::SeatState(pb::SeatStateRequest {}),
        EventCall::Overview => Call::Overview(pb::Overview {}),
        EventCall::UpdateSettings { settings, on_sale } => {
            Call::UpdateSettings(pb::UpdateSettings {
                settings: Some(settings_to(settings)),
                on_sale: *on_sale,
            })
        }
    };
    pb::CallRequest { call: Some(call) }
}

pub fn call_from_proto(request: pb::CallRequest) -> Result<EventCall, DecodeError> {
    let user = |text: &str| id(text, "user id").map(UserId::from);
    let reservation = |text: &str| id(text, "reservation id").map(ReservationId::from);
    Ok(
        match request.call.ok_or_else(|| DecodeError("no call".into()))? {
            Call::Join(j) => EventCall::Join {
                user: user(&j.user_id)?,
                tier1_pos: j.tier1_pos,
            },
            Call::Status(s) => EventCall::Status {
                user: user(&s.user_id)?,
            },
            Call::Leave(l) => EventCall::Leave {
                user: user(&l.user_id)?,
            },
            Call::HoldSeats(h) => EventCall::HoldSeats {
                user: user(&h.user_id)?,
                reservation: reservation(&h.reservation_id)?,
                seats: ids(&h.seat_ids, "seat id")?,
                idempotency_key: h.idempotency_key,
            },
            Call::HoldTickets(h) => EventCall::HoldTickets {
                user: user(&h.user_id)?,
                reservation: reservation(&h.reservation_id)?,
                ticket_type: TicketTypeId::from(id(&h.ticket_type_id, "ticket type id")?),
                quantity: h.quantity,
                idempotency_key: h.idempotency_key,
            },
            Call::Confirm(c) => EventCall::Confirm {
                reservation: reservation(&c.reservation_id)?,
            },
            Call::Cancel(c) => EventCall::Cancel {
                user: user(&c.user_id)?,
                reservation: reservation(&c.reservation_id)?,
            },
            Call::Revive(r) => EventCall::Revive {
                user: user(&r.user_id)?,
                reservation: reservation(&r.reservation_id)?,
                seats: ids(&r.seat_ids, "seat id")?,
            },
            Call::Refund(r) => EventCall::Refund {
                reservation: reservation(&r.reservation_id)?,
            },
            Call::SeatStatuses(_) => EventCall::SeatStatuses,
            Call::SeatState(_) => EventCall::SeatState,
            Call::Overview(_) => EventCall::Overview,
            Call::UpdateSettings(u) => EventCall::UpdateSettings {
                settings: settings_from(
                    &u.settings
                        .ok_or_else(|| DecodeError("settings missing".into()))?,
                ),
                on_sale: u.on_sale,
            },
        },
    )
}
