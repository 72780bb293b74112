//! Who is calling: passwords (argon2id), access tokens, refresh secrets, the queue's
//! Tier-1 and Tier-2 tokens, and Google ID-token verification.
//!
//! The queue tokens live here rather than in the waiting-room crate because the edge
//! verifies them too: one definition, two users.

mod error;
pub mod google;
pub mod password;
pub mod refresh;
pub mod tokens;

pub use error::AuthError;
pub use google::{GoogleIdentity, GoogleVerifier};
pub use tokens::{AccessClaims, QueueTokenClaims, Role, Tier, TokenKeys};
