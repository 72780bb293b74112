//! Who is calling: passwords (argon2id), access tokens, refresh secrets, the queue's
//! Tier-1 and Tier-2 tokens, email verification links, ticket codes, and Google ID-token
//! verification.
//!
//! The queue tokens live here rather than in the waiting-room crate because the edge
//! verifies them too: one definition, two users.

pub mod client_address;
pub mod email_link;
mod error;
pub mod google;
pub mod invitation;
pub mod password;
pub mod refresh;
pub mod ticket_code;
pub mod tokens;
mod verified;

pub use email_link::EmailLinkClaims;
pub use error::AuthError;
pub use google::{GoogleIdentity, GoogleVerifier};
pub use ticket_code::TicketCode;
pub use tokens::{AccessClaims, QueueTokenClaims, Role, Tier, TokenKeys};
