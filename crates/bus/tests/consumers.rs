//! The node's consumers against real PostgreSQL: what they do with events they cannot read.

mod common;

use common::env;
use urr_bus::consumers::Stats;
use urr_bus::{BusEvent, Handler};
use urr_proto::Topic;

fn delivery(event_type: &str, payload: Vec<u8>) -> BusEvent {
    BusEvent {
        id: "1".into(),
        entry_id: "1-0".into(),
        topic: Topic::Reservations.as_str().into(),
        stream: Topic::Reservations.as_str().into(),
        key: "K".into(),
        event_type: event_type.into(),
        payload,
        deliveries: 1,
    }
}

#[tokio::test]
async fn an_event_type_this_build_does_not_know_is_passed_over() {
    let env = env().await;
    let mut tx = env.db.begin().await.unwrap();
    let result = Stats
        .handle(&delivery("SeatTeleported", vec![0xff]), &mut tx)
        .await;
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_known_event_with_a_broken_payload_fails_so_it_is_retried() {
    let env = env().await;
    let mut tx = env.db.begin().await.unwrap();
    // Field 1, length-delimited, five bytes long, and then nothing.
    let result = Stats
        .handle(&delivery("ReservationConfirmed", vec![0x0a, 0x05]), &mut tx)
        .await;
    let err = result.expect_err("a broken payload is an error");
    assert!(err.to_string().contains("ReservationConfirmed"), "{err}");
}
