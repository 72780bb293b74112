//! The seat map as stored: sections, rows and seats generated from an event's layout.

use sqlx::{FromRow, PgPool};
use urr_wire::status::SeatStatus;
use uuid::Uuid;

use crate::StoreError;

#[derive(Debug, Clone)]
pub struct SeatLayout {
    pub id: Uuid,
    pub event_id: Uuid,
    pub stage: String,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone)]
pub struct Section {
    pub id: Uuid,
    pub name: String,
    pub price: i64,
    pub rows: i32,
    pub seats_per_row: i32,
    pub seats: Vec<Seat>,
}

#[derive(Debug, Clone, FromRow)]
pub struct Seat {
    pub id: Uuid,
    pub section_id: Uuid,
    pub row_number: i32,
    pub seat_number: i32,
    pub price: i64,
    /// As stored; the event's actor knows the live one.
    #[sqlx(try_from = "String")]
    pub status: SeatStatus,
}

#[derive(FromRow)]
struct LayoutRow {
    id: Uuid,
    stage: String,
}

#[derive(FromRow)]
struct SectionRow {
    id: Uuid,
    name: String,
    price: i64,
    rows: i32,
    seats_per_row: i32,
}

/// The event's layout with every seat, in section, row and seat order; `None` when the
/// event has no seat map.
pub async fn layout_for_event(
    pool: &PgPool,
    event_id: Uuid,
) -> Result<Option<SeatLayout>, StoreError> {
    let mut conn = pool.acquire().await?;
    let Some(layout) =
        sqlx::query_as::<_, LayoutRow>("SELECT id, stage FROM seat_layouts WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(&mut *conn)
            .await?
    else {
        return Ok(None);
    };
    let section_rows = sqlx::query_as::<_, SectionRow>(
        "SELECT id, name, price, rows, seats_per_row FROM seat_sections \
         WHERE layout_id = $1 ORDER BY sort_order, id",
    )
    .bind(layout.id)
    .fetch_all(&mut *conn)
    .await?;
    let seats = sqlx::query_as::<_, Seat>(
        "SELECT s.id, s.section_id, s.row_number, s.seat_number, s.price, s.status \
         FROM seats s JOIN seat_sections sec ON sec.id = s.section_id \
         WHERE s.event_id = $1 \
         ORDER BY sec.sort_order, sec.id, s.row_number, s.seat_number, s.id",
    )
    .bind(event_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut sections: Vec<Section> = section_rows
        .into_iter()
        .map(|row| Section {
            id: row.id,
            name: row.name,
            price: row.price,
            rows: row.rows,
            seats_per_row: row.seats_per_row,
            seats: Vec::new(),
        })
        .collect();
    // Seats arrive grouped by section in section order, so one forward pass places them.
    let mut index = 0;
    for seat in seats {
        while index < sections.len() && sections[index].id != seat.section_id {
            index += 1;
        }
        if let Some(section) = sections.get_mut(index) {
            section.seats.push(seat);
        }
    }
    Ok(Some(SeatLayout {
        id: layout.id,
        event_id,
        stage: layout.stage,
        sections,
    }))
}
