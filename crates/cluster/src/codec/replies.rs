//! An actor's answer (or refusal) as a `CallReply`, and back; seat statuses are shared
//! with the feed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use urr_actors::Overview;
use urr_actors::event::{
    EventAnswer, EventError, EventOverview, HoldView, QueueView, SeatStateView, SeatStatus,
    SeatVersion,
};
use urr_actors::ids::{ReservationId, SeatId};
use urr_proto::cluster as pb;
use urr_proto::cluster::call_reply::Result as Reply;

use super::{DecodeError, id, ids, ms, texts};

pub(super) fn status_to(status: SeatStatus) -> pb::SeatStatus {
    match status {
        SeatStatus::Available => pb::SeatStatus::Available,
        SeatStatus::Locked => pb::SeatStatus::Locked,
        SeatStatus::Reserved => pb::SeatStatus::Reserved,
    }
}

pub(super) fn status_from(status: i32) -> Result<SeatStatus, DecodeError> {
    match pb::SeatStatus::try_from(status) {
        Ok(pb::SeatStatus::Available) => Ok(SeatStatus::Available),
        Ok(pb::SeatStatus::Locked) => Ok(SeatStatus::Locked),
        Ok(pb::SeatStatus::Reserved) => Ok(SeatStatus::Reserved),
        _ => Err(DecodeError(format!("seat status {status}"))),
    }
}

fn queue_to(view: &QueueView) -> pb::QueueView {
    use pb::queue_view::Kind;
    match *view {
        QueueView::Active {
            expires_in,
            sold_out,
        } => pb::QueueView {
            kind: Kind::Active.into(),
            expires_in_ms: ms(expires_in),
            sold_out,
            ..Default::default()
        },
        QueueView::Queued {
            position,
            people_ahead,
            people_behind,
            estimated_wait,
            heartbeat_within,
            sold_out,
        } => pb::QueueView {
            kind: Kind::Queued.into(),
            position,
            people_ahead,
            people_behind,
            estimated_wait_ms: ms(estimated_wait),
            heartbeat_within_ms: ms(heartbeat_within),
            sold_out,
            ..Default::default()
        },
        QueueView::Absent { sold_out } => pb::QueueView {
            kind: Kind::Absent.into(),
            sold_out,
            ..Default::default()
        },
    }
}

fn queue_from(view: &pb::QueueView) -> Result<QueueView, DecodeError> {
    use pb::queue_view::Kind;
    let wait = match view.estimated_wait_ms {
        u64::MAX => Duration::MAX,
        ms => Duration::from_millis(ms),
    };
    match Kind::try_from(view.kind) {
        Ok(Kind::Active) => Ok(QueueView::Active {
            expires_in: Duration::from_millis(view.expires_in_ms),
            sold_out: view.sold_out,
        }),
        Ok(Kind::Queued) => Ok(QueueView::Queued {
            position: view.position,
            people_ahead: view.people_ahead,
            people_behind: view.people_behind,
            estimated_wait: wait,
            heartbeat_within: Duration::from_millis(view.heartbeat_within_ms),
            sold_out: view.sold_out,
        }),
        Ok(Kind::Absent) => Ok(QueueView::Absent {
            sold_out: view.sold_out,
        }),
        _ => Err(DecodeError(format!("queue view kind {}", view.kind))),
    }
}

fn hold_to(hold: &HoldView) -> pb::HoldView {
    pb::HoldView {
        reservation_id: hold.reservation.to_string(),
        expires_at_ms: hold.expires_at.timestamp_millis(),
        seat_ids: texts(&hold.seats),
        total_amount: hold.total_amount,
        replayed: hold.replayed,
    }
}

fn hold_from(hold: pb::HoldView) -> Result<HoldView, DecodeError> {
    Ok(HoldView {
        reservation: ReservationId::from(id(&hold.reservation_id, "reservation id")?),
        expires_at: DateTime::<Utc>::from_timestamp_millis(hold.expires_at_ms)
            .ok_or_else(|| DecodeError(format!("expiry {}", hold.expires_at_ms)))?,
        seats: ids(&hold.seat_ids, "seat id")?,
        total_amount: hold.total_amount,
        replayed: hold.replayed,
    })
}

fn overview_to(o: &EventOverview) -> pb::EventOverview {
    pb::EventOverview {
        waiting: o.queue.waiting as u64,
        active: o.queue.active as u64,
        total_joined: o.queue.total_joined,
        total_admitted: o.queue.total_admitted,
        total_left: o.queue.total_left,
        total_dropped: o.queue.total_dropped,
        total_expired: o.queue.total_expired,
        admitted_per_sec: o.admitted_per_sec,
        seats_available: o.seats_available as u64,
        seats_held: o.seats_held as u64,
        seats_sold: o.seats_sold as u64,
    }
}

fn overview_from(o: &pb::EventOverview) -> EventOverview {
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    EventOverview {
        queue: Overview {
            waiting: size(o.waiting),
            active: size(o.active),
            total_joined: o.total_joined,
            total_admitted: o.total_admitted,
            total_left: o.total_left,
            total_dropped: o.total_dropped,
            total_expired: o.total_expired,
        },
        admitted_per_sec: o.admitted_per_sec,
        seats_available: size(o.seats_available),
        seats_held: size(o.seats_held),
        seats_sold: size(o.seats_sold),
    }
}

fn error_to(err: &EventError) -> pb::CallError {
    use pb::ErrorCode as C;
    let mut out = pb::CallError {
        message: err.to_string(),
        ..Default::default()
    };
    let code = match err {
        EventError::EventNotFound => C::EventNotFound,
        EventError::NotOnSale => C::NotOnSale,
        EventError::SeatsTaken(seats) => {
            out.seat_ids = texts(seats);
            C::SeatsTaken
        }
        EventError::UnknownSeats(seats) => {
            out.seat_ids = texts(seats);
            C::UnknownSeats
        }
        EventError::DuplicateSeats(seats) => {
            out.seat_ids = texts(seats);
            C::DuplicateSeats
        }
        EventError::TooMany { max } => {
            out.max = *max as u64;
            C::TooMany
        }
        EventError::Empty => C::Empty,
        EventError::UnknownTicketType => C::UnknownTicketType,
        EventError::SoldOut => C::SoldOut,
        EventError::ReservationNotFound => C::ReservationNotFound,
        EventError::NotPending => C::NotPending,
        EventError::HoldExpired => C::HoldExpired,
        EventError::StaleFencingToken(seats) => {
            out.seat_ids = texts(seats);
            C::StaleFencingToken
        }
        EventError::QueueFull => C::QueueFull,
        EventError::HasSeatMap => C::HasSeatMap,
        EventError::DuplicateRequest(reservation) => {
            out.reservation_id = reservation.to_string();
            C::DuplicateRequest
        }
        EventError::Stopped => C::Stopped,
        EventError::Unavailable(_) => C::Unavailable,
        EventError::NotOwner => C::NotOwner,
        EventError::UserLimit { max, owned } => {
            out.max = u64::from(*max);
            out.owned = u64::from(*owned);
            C::UserLimit
        }
        EventError::NotAdmitted => C::NotAdmitted,
    };
    out.code = code.into();
    out
}

fn error_from(err: pb::CallError) -> Result<EventError, DecodeError> {
    use pb::ErrorCode as C;
    let seats = || ids::<SeatId>(&err.seat_ids, "seat id");
    Ok(match C::try_from(err.code) {
        Ok(C::EventNotFound) => EventError::EventNotFound,
        Ok(C::NotOnSale) => EventError::NotOnSale,
        Ok(C::SeatsTaken) => EventError::SeatsTaken(seats()?),
        Ok(C::UnknownSeats) => EventError::UnknownSeats(seats()?),
        Ok(C::DuplicateSeats) => EventError::DuplicateSeats(seats()?),
        Ok(C::TooMany) => EventError::TooMany {
            max: usize::try_from(err.max).unwrap_or(usize::MAX),
        },
        Ok(C::Empty) => EventError::Empty,
        Ok(C::UnknownTicketType) => EventError::UnknownTicketType,
        Ok(C::SoldOut) => EventError::SoldOut,
        Ok(C::ReservationNotFound) => EventError::ReservationNotFound,
        Ok(C::NotPending) => EventError::NotPending,
        Ok(C::HoldExpired) => EventError::HoldExpired,
        Ok(C::StaleFencingToken) => EventError::StaleFencingToken(seats()?),
        Ok(C::QueueFull) => EventError::QueueFull,
        Ok(C::HasSeatMap) => EventError::HasSeatMap,
        Ok(C::DuplicateRequest) => EventError::DuplicateRequest(ReservationId::from(id(
            &err.reservation_id,
            "reservation id",
        )?)),
        Ok(C::Stopped) => EventError::Stopped,
        Ok(C::Unavailable) => EventError::Unavailable(
            err.message
                .trim_start_matches("storage unavailable: ")
                .into(),
        ),
        Ok(C::NotOwner) => EventError::NotOwner,
        Ok(C::UserLimit) => EventError::UserLimit {
            max: u32::try_from(err.max).unwrap_or(u32::MAX),
            owned: u32::try_from(err.owned).unwrap_or(u32::MAX),
        },
        Ok(C::NotAdmitted) => EventError::NotAdmitted,
        Ok(C::Unspecified) | Err(_) => {
            return Err(DecodeError(format!("error code {}", err.code)));
        }
    })
}

pub fn reply_to_proto(result: &Result<EventAnswer, EventError>) -> pb::CallReply {
    let result = match result {
        Ok(EventAnswer::Queue(view)) => Reply::Queue(queue_to(view)),
        Ok(EventAnswer::Left(left)) => Reply::Left(*left),
        Ok(EventAnswer::Hold(hold)) => Reply::Hold(hold_to(hold)),
        Ok(EventAnswer::Done) => Reply::Done(pb::Done {}),
        Ok(EventAnswer::Seats(seats)) => Reply::Seats(pb::SeatStates {
            seats: seats
                .iter()
                .map(|(seat, status)| pb::SeatState {
                    seat_id: seat.to_string(),
                    status: status_to(*status).into(),
                })
                .collect(),
        }),
        Ok(EventAnswer::SeatState(state)) => Reply::SeatState(pb::SeatStateVector {
            version: Some(version_to(state.version)),
            codes: state.codes.clone(),
        }),
        Ok(EventAnswer::Overview(overview)) => Reply::Overview(overview_to(overview)),
        Err(err) => Reply::Error(error_to(err)),
    };
    pb::CallReply {
        result: Some(result),
    }
}

pub fn reply_from_proto(
    reply: pb::CallReply,
) -> Result<Result<EventAnswer, EventError>, DecodeError> {
    Ok(
        match reply
            .result
            .ok_or_else(|| DecodeError("no result".into()))?
        {
            Reply::Queue(view) => Ok(EventAnswer::Queue(queue_from(&view)?)),
            Reply::Left(left) => Ok(EventAnswer::Left(left)),
            Reply::Hold(hold) => Ok(EventAnswer::Hold(hold_from(hold)?)),
            Reply::Done(_) => Ok(EventAnswer::Done),
            Reply::Seats(states) => Ok(EventAnswer::Seats(
                states
                    .seats
                    .iter()
                    .map(|s| {
                        Ok((
                            SeatId::from(id(&s.seat_id, "seat id")?),
                            status_from(s.status)?,
                        ))
                    })
                    .collect::<Result<_, DecodeError>>()?,
            )),
            Reply::SeatState(state) => Ok(EventAnswer::SeatState(SeatStateView {
                version: version_from(state.version)?,
                codes: state.codes,
            })),
            Reply::Overview(overview) => Ok(EventAnswer::Overview(overview_from(&overview))),
            Reply::Error(err) => Err(error_from(err)?),
        },
    )
}

pub(super) fn version_to(version: SeatVersion) -> pb::SeatVersion {
    pb::SeatVersion {
        actor: version.actor,
        seq: version.seq,
    }
}

pub(super) fn version_from(version: Option<pb::SeatVersion>) -> Result<SeatVersion, DecodeError> {
    let version = version.ok_or_else(|| DecodeError("no seat version".into()))?;
    Ok(SeatVersion {
        actor: version.actor,
        seq: version.seq,
    })
}
