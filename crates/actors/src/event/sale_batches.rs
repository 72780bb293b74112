//! Sales written in batches (`docs/architecture.md#sales-in-batches`).
//!
//! A sale is a transaction of a dozen statements and a script call, and the actor waits
//! for it: one at a time, a rush's payments kept the actor busy for most of every second,
//! and every other call (holds, joins, leaves) queued behind them. So a seat sale is
//! queued like the queue log's records: the payments that reach the mailbox while one
//! batch is written go out together in the next, one transaction for all of them, each
//! answered as it would have been alone. A call about a reservation whose sale is queued
//! waits for it (`EventState::waits_for_write`), so the calls keep their order.
//!
//! If the batch's write fails, each sale is tried again on its own, so one sale that
//! cannot be written never holds back the others.

use std::time::Instant;

use ractor::ActorRef;

use super::error::EventError;
use super::messages::{EventMsg, Reply};
use super::sales::{Sale, confirm, confirm_lapsed, prepare, settle};
use super::state::EventState;
use crate::ids::ReservationId;
use crate::ports::SaleRequest;

/// A payment's confirmation waiting for the next batch.
pub(super) struct PendingSale {
    pub(super) reservation: ReservationId,
    /// When the call came: the hold's expiry is judged at this instant.
    pub(super) at: Instant,
    pub(super) reply: Reply<()>,
}

/// Queues a seat sale for the next batch, and that batch's write behind the mailbox.
pub(super) fn queue_sale(state: &mut EventState, myself: &ActorRef<EventMsg>, sale: PendingSale) {
    state.pending_sales.push(sale);
    if !state.sales_flush_queued {
        state.sales_flush_queued = state.send_self(myself, EventMsg::FlushSales);
    }
}

/// Writes every queued sale in one batch and answers each.
pub(super) async fn flush_sales(state: &mut EventState, myself: &ActorRef<EventMsg>) {
    // Payments sent while the first of a burst was handled are still in the mailbox,
    // behind this flush: going once to the back takes them into this batch. Once only,
    // so a mailbox that never empties still gets its sales written.
    if !state.sales_flush_deferred && !state.pending_sales.is_empty() && state.mailbox.waiting() > 0
    {
        state.sales_flush_deferred = true;
        if state.send_self(myself, EventMsg::FlushSales) {
            return;
        }
    }
    state.sales_flush_deferred = false;
    state.sales_flush_queued = false;
    let mut batch = Vec::new();
    let mut requests = Vec::new();
    for sale in std::mem::take(&mut state.pending_sales) {
        match prepare(state, sale.reservation, sale.at) {
            Ok(Sale::Write {
                pairs,
                lapsed: false,
            }) => {
                requests.push(SaleRequest {
                    reservation: sale.reservation,
                    seats: pairs,
                });
                batch.push(sale);
            }
            Ok(Sale::Write { lapsed: true, .. }) => {
                let answer = confirm_lapsed(state, myself, sale.reservation, sale.at).await;
                let _ = sale.reply.send(answer);
            }
            Ok(Sale::Sold) => {
                let _ = sale.reply.send(Ok(()));
            }
            Err(err) => {
                let _ = sale.reply.send(Err(err));
            }
        }
    }
    if !batch.is_empty() {
        write_batch(state, myself, batch, &requests).await;
    }
    // Calls that waited for these sales go now, in the order they came.
    state.unpark(myself);
}

async fn write_batch(
    state: &mut EventState,
    myself: &ActorRef<EventMsg>,
    batch: Vec<PendingSale>,
    requests: &[SaleRequest],
) {
    let started = Instant::now();
    match state.store.confirm_many(state.event_id, requests).await {
        Ok(outcomes) if outcomes.len() == batch.len() => {
            super::telemetry::commit("sales", batch.len(), started.elapsed());
            for (sale, outcome) in batch.into_iter().zip(outcomes) {
                let answer = settle(state, myself, sale.reservation, sale.at, outcome).await;
                let _ = sale.reply.send(answer);
            }
        }
        written => {
            let why = match written {
                Ok(outcomes) => format!("{} answers for {} sales", outcomes.len(), batch.len()),
                Err(err) => err.to_string(),
            };
            tracing::warn!(event = %state.event_id, sales = batch.len(), %why,
                "a batch of sales failed; writing each on its own");
            for sale in batch {
                let answer = confirm(state, myself, sale.reservation, sale.at).await;
                let _ = sale.reply.send(answer);
            }
        }
    }
}

/// The stopping actor answers the sales it will not write: not sold, try again.
pub(super) fn refuse_sales_on_stop(state: &mut EventState) {
    for sale in std::mem::take(&mut state.pending_sales) {
        let _ = sale
            .reply
            .send(Err(EventError::Unavailable("event actor stopped".into())));
    }
}
