//! Identifiers of the domain.
//!
//! Each id is its own type so a seat id can never be passed where a reservation id is
//! expected; all of them are `Copy` and ordered so they can key ordered indexes.

use std::fmt;

use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub Uuid);

        impl $name {
            /// The raw 16 bytes, as stored in binary records.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// Rebuilds the id from its raw 16 bytes.
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A signed-in user.
    UserId
);
uuid_id!(
    /// One seat of an event's seat map.
    SeatId
);
uuid_id!(
    /// A reservation (a hold that may become a sale).
    ReservationId
);
uuid_id!(
    /// A ticket type sold by quantity, for events without a seat map.
    TicketTypeId
);

/// A fencing token handed out with a seat lock: it only grows, so a writer holding an
/// older token (its lock lapsed and someone else took the seat) can be told apart and
/// refused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct FencingToken(pub u64);

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
