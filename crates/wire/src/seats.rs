//! `/api/v1/seats/events/{id}`: the seat map (layout → sections → rows → seats, each
//! with its live status) and its stream of changes.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::SeatStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatMapView {
    pub event_id: Uuid,
    pub layout: LayoutView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LayoutView {
    pub id: Uuid,
    pub stage: String,
    pub total_seats: u64,
    pub sections: Vec<SectionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SectionView {
    pub id: Uuid,
    pub name: String,
    pub price: i64,
    /// By row number.
    pub rows: Vec<RowView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowView {
    pub number: i32,
    /// By seat number.
    pub seats: Vec<SeatView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatView {
    pub id: Uuid,
    pub number: i32,
    /// `SECTION-ROW-SEAT`, what a person reads on a ticket.
    pub label: String,
    pub price: i64,
    pub status: SeatStatus,
}

impl SeatMapView {
    /// Every seat, in section, row and seat order.
    pub fn seats(&self) -> impl Iterator<Item = &SeatView> {
        self.layout
            .sections
            .iter()
            .flat_map(|section| &section.rows)
            .flat_map(|row| &row.seats)
    }
}

/// The data of one `seat` event on the seat stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatChange {
    pub seat_id: Uuid,
    pub status: SeatStatus,
}
