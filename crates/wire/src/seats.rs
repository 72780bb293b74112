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
    /// The compact map's version once this change is in it (`SeatStateView`): a client
    /// holding `seq - 1` of the same `actor` applies it; an older one ignores it; a gap
    /// or another actor means reading the state again.
    pub actor: u32,
    pub seq: u64,
}

/// An event's seats without their statuses, in layout order: fetched once and kept (it
/// carries an `ETag`; an unchanged layout answers 304), while the live statuses come as
/// a `SeatStateView` and the stream's changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatLayoutView {
    pub event_id: Uuid,
    pub layout_id: Uuid,
    pub stage: String,
    pub total_seats: u64,
    pub sections: Vec<LayoutSectionView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LayoutSectionView {
    pub id: Uuid,
    pub name: String,
    pub price: i64,
    pub rows: Vec<LayoutRowView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LayoutRowView {
    pub number: i32,
    pub seats: Vec<LayoutSeatView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LayoutSeatView {
    pub id: Uuid,
    pub number: i32,
    /// `SECTION-ROW-SEAT`.
    pub label: String,
    pub price: i64,
}

impl SeatLayoutView {
    /// Every seat, in the order of a `SeatStateView`'s codes.
    pub fn seats(&self) -> impl Iterator<Item = &LayoutSeatView> {
        self.sections
            .iter()
            .flat_map(|section| &section.rows)
            .flat_map(|row| &row.seats)
    }
}

/// Every seat's live status, one character each in layout order (the order of
/// `SeatLayoutView::seats`): `a` available, `l` held, `r` sold. It carries an `ETag` of
/// its version; an unchanged state answers 304.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeatStateView {
    pub event_id: Uuid,
    /// The event actor that announced this state (a new one starts its own count).
    pub actor: u32,
    /// How many seat changes that actor had announced.
    pub seq: u64,
    #[schema(pattern = "^[alr]*$")]
    pub seats: String,
}

impl SeatStateView {
    /// The status of the seat at `index` in layout order.
    pub fn status_at(&self, index: usize) -> Option<SeatStatus> {
        match self.seats.as_bytes().get(index)? {
            b'a' => Some(SeatStatus::Available),
            b'l' => Some(SeatStatus::Locked),
            b'r' => Some(SeatStatus::Reserved),
            _ => None,
        }
    }
}
