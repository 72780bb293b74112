//! The EventActor: the single writer of one event's queue, admission and seats.
//!
//! `handle` is one `match` that calls the domain and replies; domain failures travel in
//! the reply (an `Err` from `handle` would kill the actor). Durable writes happen before
//! a reply is sent: queue changes and seat holds are group-committed behind the mailbox
//! (`queue_ops`, `holds`), everything else is written before its answer.

use ractor::{Actor, ActorProcessingErr, ActorRef};
use tracing::Instrument;

use super::holds::{flush_holds, hold_seats, holds_recorded, refuse_on_stop};
use super::messages::{EventArgs, EventMsg};
use super::offers::offer_returned;
use super::queue_ops::{flush, flush_on_stop, join, leave, status};
use super::recovery::{clear_stray_locks, rebuild, restore_queue};
use super::sale_batches::{PendingSale, flush_sales, queue_sale, refuse_sales_on_stop};
use super::sales::{cancel, confirm, refund, revive};
use super::state::{EventState, PendingHold, now};
use super::tick::tick;
use super::tickets::{TicketRequest, hold_tickets};

pub struct EventActor;

impl Actor for EventActor {
    type Msg = EventMsg;
    type State = EventState;
    type Arguments = EventArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<EventMsg>,
        args: EventArgs,
    ) -> Result<EventState, ActorProcessingErr> {
        let at = now();
        let (mut state, live) = rebuild(args, at)?;
        clear_stray_locks(&state, &live).await?;
        restore_queue(&mut state, at).await?;
        state.start_ticker(&myself);
        tracing::info!(event = %state.event_id, waiting = state.board.read().admission.overview().waiting,
            seats = state.seats.len(), "event actor started");
        Ok(state)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<EventMsg>,
        state: &mut EventState,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(ticker) = state.ticker.take() {
            ticker.abort();
        }
        flush_on_stop(state).await;
        refuse_on_stop(state);
        refuse_sales_on_stop(state);
        // What was still queued is dropped with the mailbox.
        state.mailbox.set(0.0);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<EventMsg>,
        message: EventMsg,
        state: &mut EventState,
    ) -> Result<(), ActorProcessingErr> {
        // The call's own span (`trace.rs`): what serving it logs carries its request id.
        state.mailbox.decrement(1.0);
        let span = message.span();
        dispatch(myself, message, state).instrument(span).await;
        Ok(())
    }
}

/// One `match`: each message to the domain call that serves it, and the answer back.
async fn dispatch(myself: ActorRef<EventMsg>, message: EventMsg, state: &mut EventState) {
    // A call about a hold not yet durable waits for it (`holds`): the reservation is
    // not in PostgreSQL yet, nor its fencing tokens in memory. One about a sale queued
    // for the next batch waits for that batch (`sale_batches`).
    if let Some(reservation) = message.reservation()
        && state.waits_for_write(reservation)
    {
        state.parked.push(message);
        return;
    }
    let at = now();
    if !message.is_internal() {
        state.last_activity = at;
    }
    match message {
        EventMsg::Join {
            user,
            tier1_pos,
            reply,
        } => join(state, &myself, user, tier1_pos, reply, at),
        EventMsg::Status { user, reply } => status(state, user, reply, at),
        EventMsg::Leave { user, reply } => leave(state, &myself, user, reply, at),
        EventMsg::HoldSeats {
            user,
            reservation,
            seats,
            idempotency_key,
            reply,
        } => {
            let hold = PendingHold {
                user,
                reservation,
                seats,
                idempotency_key,
                reply,
                ttl: state.settings.hold_ttl,
            };
            hold_seats(state, &myself, hold, at);
        }
        EventMsg::HoldTickets {
            user,
            reservation,
            ticket_type,
            quantity,
            idempotency_key,
            reply,
        } => {
            let request = TicketRequest {
                user,
                reservation,
                ticket_type,
                quantity,
                idempotency_key,
            };
            let _ = reply.send(hold_tickets(state, request, at).await);
        }
        // Seat sales go in batches; counted tickets' sales are written at once.
        EventMsg::Confirm { reservation, reply } => {
            if state.seats.booking(reservation).is_some() {
                let sale = PendingSale {
                    reservation,
                    at,
                    reply,
                };
                queue_sale(state, &myself, sale);
            } else {
                let _ = reply.send(confirm(state, &myself, reservation, at).await);
            }
        }
        EventMsg::Cancel {
            user,
            reservation,
            reply,
        } => {
            let _ = reply.send(cancel(state, &myself, user, reservation, at).await);
        }
        EventMsg::Revive {
            user,
            reservation,
            seats,
            reply,
        } => {
            let _ = reply.send(revive(state, &myself, user, reservation, seats, at).await);
        }
        EventMsg::Refund { reservation, reply } => {
            let _ = reply.send(refund(state, &myself, reservation, at).await);
        }
        EventMsg::SeatStatuses { reply } => {
            let _ = reply.send(Ok(state.seat_statuses()));
        }
        EventMsg::SeatState { reply } => {
            let _ = reply.send(Ok(state.board.seat_state()));
        }
        EventMsg::Overview { reply } => {
            let _ = reply.send(Ok(state.overview(at)));
        }
        EventMsg::UpdateSettings {
            settings,
            on_sale,
            reply,
        } => {
            state.update_settings(&myself, settings, on_sale);
            let _ = reply.send(Ok(()));
        }
        EventMsg::Tick => tick(state, &myself, at).await,
        EventMsg::FlushLog => flush(state, &myself).await,
        EventMsg::FlushHolds => flush_holds(state, &myself),
        EventMsg::FlushSales => flush_sales(state, &myself).await,
        EventMsg::HoldsRecorded(batch) => holds_recorded(state, &myself, batch),
    }
    // Seats a call freed (a cancel, say) go to the waiting list before anyone else.
    offer_returned(state, &myself, at).await;
    state.publish_sold_out();
}
