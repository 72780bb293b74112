//! Tier 1 — the virtual waiting room (SPEC 2.1).
//!
//! Not built yet: the Tier-1 issue fills this crate with the `VwrStore` trait, its DynamoDB
//! and Redis implementations, the axum `Router` and the Lambda binaries. The Tier-1 token
//! type already lives in `urr-auth`, where the edge can verify it too.
