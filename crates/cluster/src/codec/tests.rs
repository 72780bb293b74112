//! Every call, answer and refusal survives the wire.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use urr_actors::event::{
    EventAnswer, EventCall, EventError, HoldView, QueueSettings, QueueView, SeatStateView,
    SeatStatus, SeatVersion,
};
use urr_actors::ids::{ReservationId, SeatId, TicketTypeId, UserId};
use uuid::Uuid;

use super::*;
use urr_proto::cluster::call_request::Call;

fn some_id<T: From<Uuid>>() -> T {
    T::from(Uuid::new_v4())
}

#[test]
fn every_call_survives_the_wire() {
    let calls = vec![
        EventCall::Join {
            user: some_id(),
            tier1_pos: Some(17),
        },
        EventCall::Join {
            user: some_id(),
            tier1_pos: None,
        },
        EventCall::Status { user: some_id() },
        EventCall::Leave { user: some_id() },
        EventCall::HoldSeats {
            user: some_id(),
            reservation: some_id(),
            seats: vec![some_id(), some_id()],
            idempotency_key: "k-1".into(),
        },
        EventCall::HoldTickets {
            user: some_id(),
            reservation: some_id(),
            ticket_type: some_id::<TicketTypeId>(),
            quantity: 3,
            idempotency_key: "k-2".into(),
        },
        EventCall::Confirm {
            reservation: some_id(),
        },
        EventCall::Cancel {
            user: some_id(),
            reservation: some_id(),
        },
        EventCall::Revive {
            user: some_id(),
            reservation: some_id(),
            seats: vec![some_id()],
        },
        EventCall::Refund {
            reservation: some_id(),
        },
        EventCall::SeatStatuses,
        EventCall::SeatState,
        EventCall::Overview,
        EventCall::UpdateSettings {
            settings: QueueSettings::default(),
            on_sale: true,
        },
    ];
    for call in calls {
        let back = call_from_proto(call_to_proto(&call)).expect("decodes");
        assert_eq!(back, call);
    }
}

#[test]
fn every_answer_and_refusal_survives_the_wire() {
    let seat: SeatId = some_id();
    let reservation: ReservationId = some_id();
    let results: Vec<Result<EventAnswer, EventError>> = vec![
        Ok(EventAnswer::Queue(QueueView::Active {
            expires_in: Duration::from_secs(600),
            sold_out: false,
        })),
        Ok(EventAnswer::Queue(QueueView::Queued {
            position: 3,
            people_ahead: 2,
            people_behind: 9,
            estimated_wait: Duration::MAX,
            heartbeat_within: Duration::from_secs(60),
            sold_out: true,
        })),
        Ok(EventAnswer::Queue(QueueView::Absent { sold_out: false })),
        Ok(EventAnswer::Left(true)),
        Ok(EventAnswer::Hold(HoldView {
            reservation,
            expires_at: Utc.timestamp_millis_opt(1_800_000_000_123).unwrap(),
            seats: vec![seat],
            total_amount: 99_000,
            replayed: false,
        })),
        Ok(EventAnswer::Done),
        Ok(EventAnswer::Seats(vec![(seat, SeatStatus::Locked)])),
        Ok(EventAnswer::SeatState(SeatStateView {
            version: SeatVersion {
                actor: 0xdead_beef,
                seq: 42,
            },
            codes: b"alr".to_vec(),
        })),
        Err(EventError::SeatsTaken(vec![seat])),
        Err(EventError::TooMany { max: 4 }),
        Err(EventError::DuplicateRequest(reservation)),
        Err(EventError::StaleFencingToken(vec![seat])),
        Err(EventError::NotOwner),
        Err(EventError::Unavailable("redis down".into())),
    ];
    for result in results {
        let back = reply_from_proto(reply_to_proto(&result)).expect("decodes");
        assert_eq!(back, result);
    }
    let user: UserId = some_id();
    assert_eq!(
        call_from_proto(urr_proto::cluster::CallRequest { call: None }).err(),
        Some(DecodeError("no call".into()))
    );
    let bad = urr_proto::cluster::CallRequest {
        call: Some(Call::Status(urr_proto::cluster::Status {
            user_id: format!("{user}x"),
        })),
    };
    assert!(call_from_proto(bad).is_err());
}

#[test]
fn a_seat_change_keeps_its_version_on_the_wire() {
    use urr_actors::event::{SeatChange, SeatUpdate};
    use urr_actors::ownership::Feed;
    let change = Feed::Seat(SeatUpdate::Changed(SeatChange {
        seat: some_id(),
        status: SeatStatus::Reserved,
        version: SeatVersion { actor: 7, seq: 9 },
    }));
    let back = feed_from_proto(feed_to_proto(&change)).expect("decodes");
    assert_eq!(back, Some(change));
}
