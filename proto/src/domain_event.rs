//! Every domain event as one type: its name on the wire, the topic it travels on, and its
//! encoding. The names and topics are stored in the outbox and on the streams, so they
//! are fixed for good; the table below is the only place they are written.

use std::fmt;

use prost::Message;

use crate::events;

/// The streams domain events travel on, one per aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Reservations,
    Payments,
    Transfers,
    Memberships,
}

impl Topic {
    pub const ALL: [Topic; 4] = [
        Topic::Reservations,
        Topic::Payments,
        Topic::Transfers,
        Topic::Memberships,
    ];

    /// The stream's logical name (the Redis key is this under the deployment's prefix).
    pub const fn as_str(self) -> &'static str {
        match self {
            Topic::Reservations => "reservation-events",
            Topic::Payments => "payment-events",
            Topic::Transfers => "transfer-events",
            Topic::Memberships => "membership-events",
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a (type name, payload) pair is not a domain event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// A name this build does not know, e.g. one a newer node publishes.
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("malformed {type_name} payload: {source}")]
    Malformed {
        type_name: &'static str,
        #[source]
        source: prost::DecodeError,
    },
}

/// Declares [`DomainEvent`] from one line per event: the message (whose name is the
/// event's type name on the wire) and its topic.
macro_rules! domain_events {
    ($($message:ident on $topic:ident,)+) => {
        /// A domain event, one variant per message in `urr/events.proto`.
        #[derive(Debug, Clone, PartialEq)]
        pub enum DomainEvent {
            $($message(events::$message),)+
        }

        impl DomainEvent {
            /// The type name stored with the event, e.g. `PaymentConfirmed`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Self::$message(_) => stringify!($message),)+
                }
            }

            /// The stream the event is published on.
            pub fn topic(&self) -> Topic {
                match self {
                    $(Self::$message(_) => Topic::$topic,)+
                }
            }

            /// The prost-encoded message.
            pub fn encode(&self) -> Vec<u8> {
                match self {
                    $(Self::$message(message) => message.encode_to_vec(),)+
                }
            }

            /// The event a stored (type name, payload) pair holds.
            pub fn decode(type_name: &str, payload: &[u8]) -> Result<Self, DecodeError> {
                match type_name {
                    $(stringify!($message) => events::$message::decode(payload)
                        .map(Self::$message)
                        .map_err(|source| DecodeError::Malformed {
                            type_name: stringify!($message),
                            source,
                        }),)+
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// One event of every kind, with empty fields.
            #[cfg(test)]
            fn every_kind() -> Vec<Self> {
                vec![$(Self::$message(Default::default()),)+]
            }
        }

        $(impl From<events::$message> for DomainEvent {
            fn from(message: events::$message) -> Self {
                Self::$message(message)
            }
        })+
    };
}

domain_events! {
    ReservationConfirmed on Reservations,
    ReservationCancelled on Reservations,
    ReservationExpired on Reservations,
    PaymentConfirmed on Payments,
    PaymentRefunded on Payments,
    TransferCompleted on Transfers,
    MembershipActivated on Memberships,
}

#[cfg(test)]
mod tests {
    use super::{DecodeError, DomainEvent, Topic};
    use crate::events::{PaymentRefunded, ReservationConfirmed};

    #[test]
    fn names_and_topics_stay_what_the_outbox_and_streams_hold() {
        let wire: Vec<(&str, &str)> = DomainEvent::every_kind()
            .iter()
            .map(|e| (e.type_name(), e.topic().as_str()))
            .collect();
        assert_eq!(
            wire,
            [
                ("ReservationConfirmed", "reservation-events"),
                ("ReservationCancelled", "reservation-events"),
                ("ReservationExpired", "reservation-events"),
                ("PaymentConfirmed", "payment-events"),
                ("PaymentRefunded", "payment-events"),
                ("TransferCompleted", "transfer-events"),
                ("MembershipActivated", "membership-events"),
            ]
        );
        for topic in Topic::ALL {
            assert!(wire.iter().any(|(_, t)| *t == topic.as_str()), "{topic}");
        }
    }

    #[test]
    fn every_kind_decodes_back_by_its_name() {
        for event in DomainEvent::every_kind() {
            let back = DomainEvent::decode(event.type_name(), &event.encode()).expect("decodes");
            assert_eq!(back, event);
        }
        let refund = DomainEvent::PaymentRefunded(PaymentRefunded {
            order_id: "ORD_1".into(),
            amount: 55_000,
            purpose: "reservation".into(),
            ..Default::default()
        });
        let back = DomainEvent::decode("PaymentRefunded", &refund.encode()).expect("decodes");
        assert_eq!(back, refund);
    }

    #[test]
    fn an_unknown_name_or_a_broken_payload_is_an_error() {
        let unknown = DomainEvent::decode("SeatTeleported", &[]);
        assert!(
            matches!(&unknown, Err(DecodeError::UnknownType(name)) if name == "SeatTeleported"),
            "{unknown:?}"
        );
        // Field 1, length-delimited, five bytes long, and then nothing.
        let broken = DomainEvent::decode("ReservationConfirmed", &[0x0a, 0x05]);
        assert!(
            matches!(
                broken,
                Err(DecodeError::Malformed {
                    type_name: "ReservationConfirmed",
                    ..
                })
            ),
            "{broken:?}"
        );
    }

    #[test]
    fn a_message_converts_into_its_variant() {
        let confirmed = ReservationConfirmed {
            total_amount: 110_000,
            ..Default::default()
        };
        assert_eq!(
            DomainEvent::from(confirmed.clone()),
            DomainEvent::ReservationConfirmed(confirmed)
        );
    }
}
