//! The JSON the browser UI reads, pinned: flattened details, the tagged queue-log
//! records, fields left out rather than null, camelCase names, RFC 3339 times. Each
//! shape is written out by hand and must both come from and go back to the type.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use urr_wire::ErrorBody;
use urr_wire::events::{EventDetailView, EventView, PresaleWindowView};
use urr_wire::page::PageMeta;
use urr_wire::queue::{QueueLogRecord, QueueReply};
use urr_wire::reservations::{MyReservations, ReservationView};
use urr_wire::status::{
    EventStatus, MembershipTier, QueueStatus, ReservationStatus, TransferStatus,
};
use urr_wire::transfers::TransferView;
use uuid::Uuid;

/// `value` serialises to exactly `expected`, and reads back from it unchanged.
fn pinned<T>(value: &T, expected: Value)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(serde_json::to_value(value).expect("serialise"), expected);
    assert_eq!(
        &serde_json::from_value::<T>(expected).expect("deserialise"),
        value
    );
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("time")
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

#[test]
fn an_event_detail_is_the_event_with_its_lists_beside_it() {
    let detail = EventDetailView {
        event: EventView {
            id: id(1),
            title: "Golden Hour".into(),
            description: None,
            artist_id: Some(id(2)),
            artist_name: Some("IU".into()),
            venue: "KSPO Dome".into(),
            address: "Seoul".into(),
            starts_at: at("2030-05-01T19:00:00Z"),
            sale_starts_at: at("2030-04-01T10:00:00Z"),
            sale_ends_at: None,
            status: EventStatus::OnSale,
            min_price: Some(99_000),
            max_price: Some(154_000),
            seat_layout_id: None,
            created_at: at("2030-01-01T00:00:00Z"),
            updated_at: at("2030-01-01T00:00:00Z"),
        },
        ticket_types: vec![],
        presale_windows: vec![PresaleWindowView {
            tier: MembershipTier::Gold,
            opens_at: at("2030-03-30T10:00:00Z"),
            closes_at: at("2030-04-01T10:00:00Z"),
        }],
    };
    pinned(
        &detail,
        json!({
            "id": id(1), "title": "Golden Hour", "description": null,
            "artistId": id(2), "artistName": "IU", "venue": "KSPO Dome", "address": "Seoul",
            "startsAt": "2030-05-01T19:00:00Z", "saleStartsAt": "2030-04-01T10:00:00Z",
            "saleEndsAt": null, "status": "on_sale", "minPrice": 99000, "maxPrice": 154000,
            "seatLayoutId": null, "createdAt": "2030-01-01T00:00:00Z",
            "updatedAt": "2030-01-01T00:00:00Z",
            "ticketTypes": [],
            "presaleWindows": [{
                "tier": "gold", "opensAt": "2030-03-30T10:00:00Z",
                "closesAt": "2030-04-01T10:00:00Z"
            }]
        }),
    );
}

#[test]
fn a_list_carries_its_page_beside_its_items() {
    let mine = MyReservations {
        reservations: vec![ReservationView {
            reservation_id: id(3),
            event_id: id(1),
            event_title: "Golden Hour".into(),
            status: ReservationStatus::Pending,
            total_amount: 20_000,
            expires_at: at("2030-04-01T10:05:00Z"),
            created_at: at("2030-04-01T10:00:00Z"),
            confirmed_at: None,
            seats: vec![],
        }],
        page: PageMeta {
            page: 1,
            limit: 20,
            total: 1,
            total_pages: 1,
        },
    };
    pinned(
        &mine,
        json!({
            "reservations": [{
                "reservationId": id(3), "eventId": id(1), "eventTitle": "Golden Hour",
                "status": "pending", "totalAmount": 20000,
                "expiresAt": "2030-04-01T10:05:00Z", "createdAt": "2030-04-01T10:00:00Z",
                "confirmedAt": null, "seats": []
            }],
            "page": 1, "limit": 20, "total": 1, "totalPages": 1
        }),
    );
}

#[test]
fn queue_log_records_are_tagged_by_kind() {
    pinned(
        &vec![
            QueueLogRecord::Joined {
                user_id: id(7),
                tier1_pos: Some(12),
                seq: 3,
            },
            QueueLogRecord::Admitted { user_id: id(7) },
        ],
        json!([
            {"kind": "joined", "userId": id(7), "tier1Pos": 12, "seq": 3},
            {"kind": "admitted", "userId": id(7)}
        ]),
    );
}

#[test]
fn only_an_admitted_queue_reply_carries_a_token() {
    let queued = QueueReply {
        event_id: id(1),
        queued: true,
        status: QueueStatus::Queued,
        position: Some(4),
        people_ahead: Some(3),
        people_behind: Some(0),
        estimated_wait: Some(2),
        next_poll: 1,
        sold_out: false,
        entry_token: None,
    };
    pinned(
        &queued,
        json!({
            "eventId": id(1), "queued": true, "status": "queued", "position": 4,
            "peopleAhead": 3, "peopleBehind": 0, "estimatedWait": 2, "nextPoll": 1,
            "soldOut": false
        }),
    );
    let absent = QueueReply {
        queued: false,
        status: QueueStatus::Absent,
        position: None,
        people_ahead: None,
        people_behind: None,
        estimated_wait: None,
        next_poll: 5,
        ..queued
    };
    assert_eq!(
        serde_json::to_value(&absent).expect("serialise")["status"],
        "none"
    );
}

#[test]
fn a_listing_seen_by_a_stranger_leaves_the_private_fields_out() {
    let listing = TransferView {
        transfer_id: id(9),
        event_id: id(1),
        event_title: "Golden Hour".into(),
        price: 15_000,
        face_value: 20_000,
        status: TransferStatus::Listed,
        tickets: vec![],
        created_at: at("2030-04-02T00:00:00Z"),
        role: None,
        reservation_id: None,
        completed_at: None,
        settlement: None,
        settlement_status: None,
    };
    pinned(
        &listing,
        json!({
            "transferId": id(9), "eventId": id(1), "eventTitle": "Golden Hour",
            "price": 15000, "faceValue": 20000, "status": "listed", "tickets": [],
            "createdAt": "2030-04-02T00:00:00Z"
        }),
    );
}

#[test]
fn errors_are_code_and_message() {
    pinned(
        &ErrorBody::new("seats_taken", "seats are no longer available"),
        json!({"error": {"code": "seats_taken", "message": "seats are no longer available"}}),
    );
}
