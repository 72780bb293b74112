//! The payment reconciler: runs in every node and finishes what requests and consumers
//! left unfinished, so every charge ends ticketed or refunded even after a crash, a
//! timeout or a provider outage.
//!
//! Each round (every `reconcile_interval_ms`) it claims the payments due a look
//! (`FOR UPDATE SKIP LOCKED`, so nodes share the work without colliding; each claim moves
//! the payment's next look out by a backoff that doubles per look, up to ten minutes):
//! - `confirming` past its request's time, or `unknown`: the provider's record of the
//!   order decides: charged → paid (and completed), never charged → failed;
//! - `paid` past the grace left to its request and the ticket consumer: completed;
//! - `refunding` past that grace: the refund resumes from the step it reached.
//!
//! Then it retries the seat-lock releases Redis still owes.

use std::future::Future;
use std::sync::Arc;

use urr_store::payments;
use urr_store::{Kv, seat_releases};
use urr_wire::status::PaymentStatus;

use crate::error::PaymentError;
use crate::settler::{Progress, Settler};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Payments looked at.
    pub looked: usize,
    /// Of those, how many reached a final state (done, failed, refunded).
    pub settled: usize,
    /// Seat-lock releases that landed.
    pub released: usize,
}

pub struct Reconciler {
    settler: Arc<Settler>,
    kv: Kv,
    batch: i64,
}

impl Reconciler {
    pub(crate) fn new(settler: Arc<Settler>, kv: Kv) -> Self {
        Self {
            settler,
            kv,
            batch: 20,
        }
    }

    /// One round: the payments due a look, then the owed seat-lock releases.
    pub async fn run_once(&self) -> Result<Round, PaymentError> {
        let timing = self.settler.timing;
        let due = payments::claim_due(
            &self.settler.db,
            self.batch,
            timing.every,
            timing.backoff_cap,
        )
        .await?;
        let mut round = Round {
            looked: due.len(),
            ..Round::default()
        };
        for payment in due {
            match self.settler.advance(&payment).await {
                Ok(Progress::Reached(now)) => {
                    if matches!(
                        now.status,
                        PaymentStatus::Done | PaymentStatus::Failed | PaymentStatus::Refunded
                    ) {
                        round.settled += 1;
                        tracing::info!(order = %now.order_id, status = %now.status, "reconciler settled a payment");
                    }
                }
                Ok(Progress::Waiting(why)) => {
                    tracing::warn!(
                        order = %payment.order_id, status = %payment.status,
                        looks = payment.attempts, %why, "payment still unsettled; looking again later"
                    );
                }
                Err(err) => {
                    tracing::warn!(order = %payment.order_id, %err, "reconciling a payment failed; looking again later");
                }
            }
        }
        round.released = seat_releases::retry_due(
            &self.settler.db,
            &self.kv,
            self.batch,
            timing.every,
            timing.backoff_cap,
        )
        .await?;
        Ok(round)
    }

    /// Runs rounds until `stop` resolves; a stop mid-round leaves nothing half-done that
    /// the next round (on any node) cannot finish.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let mut interval = tokio::time::interval(self.settler.timing.every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let rounds = async {
            loop {
                interval.tick().await;
                if let Err(err) = self.run_once().await {
                    tracing::warn!(%err, "payment reconciliation round failed; retrying next round");
                }
            }
        };
        tokio::select! {
            () = rounds => {},
            () = stop => {},
        }
    }
}
