//! Protobuf messages that cross a process boundary: the domain events on the streams, and
//! the calls forwarded between the nodes of a cluster.

mod domain_event;

pub use domain_event::{DecodeError, DomainEvent, Topic};

/// Domain events, one message per event kind, as published on the Redis Streams bus.
pub mod events {
    include!(concat!(env!("OUT_DIR"), "/urr.events.v1.rs"));
}

/// Calls forwarded to an event's owner and the owner's live updates
/// (`urr/cluster.proto`).
pub mod cluster {
    include!(concat!(env!("OUT_DIR"), "/urr.cluster.v1.rs"));
}

#[cfg(test)]
mod tests {
    use super::events::PaymentConfirmed;
    use prost::Message;

    #[test]
    fn a_domain_event_survives_the_wire() {
        let event = PaymentConfirmed {
            order_id: "ORD_1_deadbeef".into(),
            amount: 165_000,
            ..Default::default()
        };
        let bytes = event.encode_to_vec();
        let back = PaymentConfirmed::decode(bytes.as_slice()).expect("decodes");
        assert_eq!(back, event);
    }
}
