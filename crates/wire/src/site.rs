//! What the browser UI needs to know and cannot read elsewhere: `GET /api/v1/config` and
//! an event's booking rules, `GET /api/v1/events/{id}/booking`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The node's sign-in and payment options, and its default booking rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteConfig {
    pub google_client_id: Option<String>,
    /// Set when Toss Payments is on.
    pub toss: Option<TossConfig>,
    pub payment_sandbox: bool,
    pub sandbox_methods: Vec<String>,
    pub max_seats_per_hold: u32,
    pub hold_ttl_secs: u64,
}

/// The Toss client key is meant for browsers: nothing here is secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TossConfig {
    pub client_key: String,
}

/// An event's booking rules as its actor applies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingRules {
    pub event_id: Uuid,
    pub queue_enabled: bool,
    /// True while the event's Tier-1 waiting room is open: check-in needs its token.
    pub tier1_active: bool,
    pub max_seats_per_hold: u32,
    pub hold_ttl_secs: u64,
}
