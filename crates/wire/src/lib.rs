//! Every JSON body the HTTP API takes and returns, one module per route family. The
//! server builds its replies from these types and parses its requests into them; the
//! load generator and the tests read the replies back with the very same types, so a
//! field that changes name or type changes everywhere at once.
//!
//! Conventions: fields are camelCase, times RFC 3339 (UTC), money whole won as `i64`,
//! ids UUIDs. Statuses, tiers and other closed sets of words are enums in [`status`].
//! Request fields whose refusal message is part of the API (an event status, a
//! pre-sale tier) stay strings and are parsed by the route.

pub mod admin;
pub mod artists;
pub mod auth;
pub mod cluster;
pub mod community;
pub mod error;
pub mod events;
pub mod health;
pub mod invitations;
pub mod memberships;
pub mod news;
pub mod page;
pub mod payments;
pub mod queue;
pub mod reservations;
pub mod seats;
pub mod site;
pub mod stats;
pub mod status;
pub mod tickets;
pub mod transfers;
pub mod waitlist;

pub use error::{ErrorBody, ErrorDetail};
pub use page::PageMeta;
pub use status::UnknownValue;
