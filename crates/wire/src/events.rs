//! `/api/v1/events`: the public catalog, list and detail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::page::PageMeta;
use crate::status::{EventStatus, MembershipTier};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: Uuid,
    pub title: String,
    pub description: Option<String>,
    pub artist_id: Option<Uuid>,
    pub artist_name: Option<String>,
    pub venue: String,
    pub address: String,
    pub starts_at: DateTime<Utc>,
    pub sale_starts_at: DateTime<Utc>,
    pub sale_ends_at: Option<DateTime<Utc>>,
    pub status: EventStatus,
    /// The cheapest and dearest ticket type or seat section, in won.
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Set when the event sells from a seat map.
    pub seat_layout_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TicketTypeView {
    pub id: Uuid,
    pub name: String,
    pub price: i64,
    /// `None`: unlimited.
    pub quantity: Option<i32>,
}

/// A members-only window before the general sale: `{tier, opensAt, closesAt}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresaleWindowView {
    /// The lowest tier admitted; higher tiers are too.
    pub tier: MembershipTier,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

/// An event with its ticket types and its pre-sale schedule (empty when it has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDetailView {
    #[serde(flatten)]
    pub event: EventView,
    pub ticket_types: Vec<TicketTypeView>,
    pub presale_windows: Vec<PresaleWindowView>,
}

/// `GET /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
    #[serde(flatten)]
    pub page: PageMeta,
}
