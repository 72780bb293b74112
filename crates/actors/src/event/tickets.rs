//! Holds of counted tickets (events sold without a seat map): taken in memory, recorded
//! in PostgreSQL at once in their own transaction, whose capacity check is the last line
//! of defence.

use std::time::Instant;

use chrono::Utc;

use super::error::EventError;
use super::state::EventState;
use super::turns::may_hold;
use super::views::HoldView;
use crate::ids::{ReservationId, TicketTypeId, UserId};
use crate::inventory::InventoryError;
use crate::ports::{InsertOutcome, NewItem, NewReservation};

/// What a ticket hold asks for.
pub(super) struct TicketRequest {
    pub(super) user: UserId,
    pub(super) reservation: ReservationId,
    pub(super) ticket_type: TicketTypeId,
    pub(super) quantity: u32,
    pub(super) idempotency_key: String,
}

pub(super) async fn hold_tickets(
    state: &mut EventState,
    request: TicketRequest,
    at: Instant,
) -> Result<HoldView, EventError> {
    let TicketRequest {
        user,
        reservation,
        ticket_type,
        quantity,
        idempotency_key,
    } = request;
    if let Some(&existing) = state.idempotency.get(&(user, idempotency_key.clone())) {
        return Err(EventError::DuplicateRequest(existing));
    }
    if !state.on_sale {
        return Err(EventError::NotOnSale);
    }
    let Some(&unit_price) = state.ticket_prices.get(&ticket_type) else {
        return Err(EventError::UnknownTicketType);
    };
    if state.inventory.counts(ticket_type).is_none() {
        return Err(EventError::HasSeatMap);
    }
    let max = state.settings.max_seats_per_hold;
    if quantity > max {
        return Err(EventError::TooMany { max: max as usize });
    }
    may_hold(state, user, quantity as usize, at)?;
    let ttl = state.settings.hold_ttl;
    state
        .inventory
        .hold(reservation, ticket_type, quantity, at, ttl)
        .map_err(inventory_error)?;
    state.board.write().admission.heartbeat(user, at);
    let expires_at = Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default();
    let total_amount = unit_price.saturating_mul(i64::from(quantity));
    let record = NewReservation {
        id: reservation,
        event_id: state.event_id,
        user,
        idempotency_key: idempotency_key.clone(),
        expires_at,
        total_amount,
        items: vec![NewItem::Tickets {
            ticket_type,
            quantity,
            unit_price,
        }],
    };
    let inserted = state
        .store
        .insert_pending(std::slice::from_ref(&record))
        .await
        .map(|outcomes| outcomes.into_iter().next());
    let refused = match inserted {
        Ok(Some(InsertOutcome::Inserted)) => None,
        Ok(Some(InsertOutcome::DuplicateKey(existing))) => {
            Some(EventError::DuplicateRequest(existing))
        }
        Ok(Some(InsertOutcome::SeatConflict)) => Some(EventError::SoldOut),
        Ok(None) => Some(EventError::Unavailable("no insert outcome".into())),
        Err(err) => Some(EventError::Unavailable(err.to_string())),
    };
    if let Some(error) = refused {
        state.inventory.release(reservation);
        return Err(error);
    }
    state.ticket_owners.insert(reservation, user, quantity);
    state
        .idempotency
        .insert((user, idempotency_key), reservation);
    Ok(HoldView {
        reservation,
        expires_at,
        seats: Vec::new(),
        total_amount,
        replayed: false,
    })
}

fn inventory_error(err: InventoryError) -> EventError {
    match err {
        InventoryError::ZeroQuantity => EventError::Empty,
        InventoryError::TooMany { max, .. } => EventError::TooMany { max: max as usize },
        InventoryError::UnknownType(_) => EventError::UnknownTicketType,
        InventoryError::NotEnough { .. } => EventError::SoldOut,
        InventoryError::ReservationExists(existing) => EventError::DuplicateRequest(existing),
        #[allow(unreachable_patterns)]
        _ => EventError::SoldOut,
    }
}
