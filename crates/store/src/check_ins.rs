//! Tickets at the door (docs/tickets.md): the tickets of a confirmed reservation, and the
//! check-in that admits each ticket at most once.

use chrono::{DateTime, Utc};
use sqlx::{FromRow, PgPool};
use urr_wire::status::ReservationStatus;
use uuid::Uuid;

use crate::StoreError;

/// One admission of a confirmed reservation: a seat, or one unit of a counted item.
#[derive(Debug, Clone, FromRow)]
pub struct TicketUnit {
    pub item_id: Uuid,
    pub unit: i32,
    /// `SECTION-ROW-SEAT` for a seat, else the ticket type's name.
    pub label: String,
    pub generation: i32,
}

/// The tickets of a reservation, in layout order, while it is confirmed (none otherwise:
/// a pending, cancelled or expired reservation admits nobody).
pub async fn tickets(pool: &PgPool, reservation: Uuid) -> Result<Vec<TicketUnit>, StoreError> {
    Ok(sqlx::query_as::<_, TicketUnit>(
        "SELECT i.id AS item_id, u.unit, \
         COALESCE(sec.name || '-' || s.row_number || '-' || s.seat_number, t.name, '') AS label, \
         r.code_generation AS generation \
         FROM reservations r \
         JOIN reservation_items i ON i.reservation_id = r.id \
         CROSS JOIN LATERAL generate_series(0, i.quantity - 1) AS u (unit) \
         LEFT JOIN seats s ON s.id = i.seat_id \
         LEFT JOIN seat_sections sec ON sec.id = s.section_id \
         LEFT JOIN ticket_types t ON t.id = i.ticket_type_id \
         WHERE r.id = $1 AND r.status = 'confirmed' \
         ORDER BY sec.sort_order, sec.id, s.row_number, s.seat_number, t.name, i.id, u.unit",
    )
    .bind(reservation)
    .fetch_all(pool)
    .await?)
}

/// A scanned code, already verified as one this site issued.
#[derive(Debug, Clone, Copy)]
pub struct Scan<'a> {
    pub item: Uuid,
    pub unit: u32,
    pub generation: u32,
    /// The event the door belongs to.
    pub event: Uuid,
    pub gate: &'a str,
    pub staff: Uuid,
}

/// The ticket a code names, as the door sees it.
#[derive(Debug, Clone, FromRow)]
pub struct DoorTicket {
    pub reservation_id: Uuid,
    pub event_id: Uuid,
    pub label: String,
    pub holder_name: String,
}

/// The first (and only admitting) scan of a ticket.
#[derive(Debug, Clone, FromRow)]
pub struct FirstScan {
    pub at: DateTime<Utc>,
    pub gate: String,
    pub staff_name: String,
}

/// Why a ticket no longer admits anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Void {
    /// Refunded, cancelled or never paid.
    NotConfirmed(ReservationStatus),
    /// The ticket changed hands: this code is the previous holder's.
    Replaced,
}

/// What the door says to a scan.
#[derive(Debug, Clone)]
pub enum CheckIn {
    Admitted {
        ticket: DoorTicket,
        scan: FirstScan,
    },
    AlreadyCheckedIn {
        ticket: DoorTicket,
        first: FirstScan,
    },
    Void {
        ticket: DoorTicket,
        why: Void,
    },
    /// A valid ticket, for another event than this door's.
    WrongEvent {
        ticket: DoorTicket,
    },
    /// The code names no ticket (its item or unit does not exist).
    Unknown,
}

#[derive(FromRow)]
struct Found {
    #[sqlx(flatten)]
    ticket: DoorTicket,
    quantity: i32,
    #[sqlx(try_from = "String")]
    status: ReservationStatus,
    generation: i32,
}

/// Checks a ticket in: the first scan of a confirmed ticket of the current generation
/// admits; every later scan is told when and where the first one was.
///
/// The reservation row is read `FOR SHARE`: a refund or a transfer (each an `UPDATE` of
/// that row) either finishes before, and this scan sees it, or waits until this scan has
/// committed.
pub async fn check_in(pool: &PgPool, scan: Scan<'_>) -> Result<CheckIn, StoreError> {
    let Ok(unit) = i32::try_from(scan.unit) else {
        return Ok(CheckIn::Unknown);
    };
    let mut tx = pool.begin().await?;
    let found: Option<Found> = sqlx::query_as(
        "SELECT r.id AS reservation_id, r.event_id, \
         COALESCE(sec.name || '-' || s.row_number || '-' || s.seat_number, t.name, '') AS label, \
         u.name AS holder_name, i.quantity, r.status, r.code_generation AS generation \
         FROM reservation_items i \
         JOIN reservations r ON r.id = i.reservation_id \
         JOIN users u ON u.id = r.user_id \
         LEFT JOIN seats s ON s.id = i.seat_id \
         LEFT JOIN seat_sections sec ON sec.id = s.section_id \
         LEFT JOIN ticket_types t ON t.id = i.ticket_type_id \
         WHERE i.id = $1 FOR SHARE OF r",
    )
    .bind(scan.item)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(found) = found.filter(|f| unit < f.quantity) else {
        return Ok(CheckIn::Unknown);
    };
    let ticket = found.ticket;
    if ticket.event_id != scan.event {
        return Ok(CheckIn::WrongEvent { ticket });
    }
    if found.status != ReservationStatus::Confirmed {
        let why = Void::NotConfirmed(found.status);
        return Ok(CheckIn::Void { ticket, why });
    }
    if i64::from(found.generation) != i64::from(scan.generation) {
        let why = Void::Replaced;
        return Ok(CheckIn::Void { ticket, why });
    }
    let admitted: Option<FirstScan> = sqlx::query_as(
        "INSERT INTO ticket_check_ins (item_id, unit, reservation_id, event_id, gate, staff_id) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (item_id, unit) DO NOTHING \
         RETURNING at, gate, (SELECT name FROM users WHERE id = $6) AS staff_name",
    )
    .bind(scan.item)
    .bind(unit)
    .bind(ticket.reservation_id)
    .bind(ticket.event_id)
    .bind(scan.gate)
    .bind(scan.staff)
    .fetch_optional(&mut *tx)
    .await?;
    let verdict = match admitted {
        Some(scan) => CheckIn::Admitted { ticket, scan },
        None => {
            let first: FirstScan = sqlx::query_as(
                "SELECT c.at, c.gate, u.name AS staff_name FROM ticket_check_ins c \
                 JOIN users u ON u.id = c.staff_id WHERE c.item_id = $1 AND c.unit = $2",
            )
            .bind(scan.item)
            .bind(unit)
            .fetch_one(&mut *tx)
            .await?;
            CheckIn::AlreadyCheckedIn { ticket, first }
        }
    };
    tx.commit().await?;
    Ok(verdict)
}

/// How far the doors of an event have got.
#[derive(Debug, Clone, Default)]
pub struct DoorCounts {
    /// Tickets of confirmed reservations.
    pub tickets: i64,
    pub checked_in: i64,
    /// Admissions per gate, busiest first.
    pub by_gate: Vec<(String, i64)>,
}

pub async fn counts(pool: &PgPool, event: Uuid) -> Result<DoorCounts, StoreError> {
    let tickets: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(i.quantity), 0)::BIGINT FROM reservation_items i \
         JOIN reservations r ON r.id = i.reservation_id \
         WHERE r.event_id = $1 AND r.status = 'confirmed'",
    )
    .bind(event)
    .fetch_one(pool)
    .await?;
    // Only tickets still confirmed count as in: a refunded ticket's entry stays on record
    // but no longer describes someone who holds a ticket.
    let by_gate: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.gate, count(*) FROM ticket_check_ins c \
         JOIN reservations r ON r.id = c.reservation_id \
         WHERE c.event_id = $1 AND r.status = 'confirmed' \
         GROUP BY c.gate ORDER BY count(*) DESC, c.gate",
    )
    .bind(event)
    .fetch_all(pool)
    .await?;
    Ok(DoorCounts {
        tickets,
        checked_in: by_gate.iter().map(|(_, n)| n).sum(),
        by_gate,
    })
}
