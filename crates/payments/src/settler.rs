//! Settling payments, shared by the three parties that may finish one: the request that
//! started it, the ticket consumer of `PaymentConfirmed`, and the reconciler. Whichever
//! arrives first moves the payment on; every step is a conditional transition in the
//! store or an idempotent call, so they may race and after a crash any of them resumes.
//!
//! The states and their transitions (the store's `payments` module records them):
//! - `confirming` → `paid` (the provider charged; a membership or transfer goes straight
//!   to `done` with what it buys, or to `refunding` when that is gone), `failed` (it
//!   declined), or `unknown` (no verdict); `unknown` and a confirming payment whose
//!   request died are looked up at the provider: charged → as above, never charged →
//!   `failed`, not settled yet → asked again later.
//! - `paid` → `done` when the reservation is confirmed (in that transaction), late when
//!   the hold lapsed and its seats were still free; otherwise → `refunding`.
//! - `done` or `paid` → `refunding` when the buyer asks; → the provider gives the money
//!   back → no ticket remains (cancelled by the actor in the transaction that records
//!   `refunded`) → `refunded`. A refund the provider refuses goes back where it came from.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use urr_store::PgPool;
use urr_store::memberships;
use urr_store::payments::{self, Fulfilment, Payment, Target};
use urr_store::transfers::{self, Completed};
use urr_wire::status::{PaymentProvider as ProviderName, PaymentStatus, SettlementStatus};
use uuid::Uuid;

use crate::config::{Timing, TransferSettlement};
use crate::error::PaymentError;
use crate::provider::{Charge, PaymentProvider, ProviderError};
use crate::tickets::Tickets;

/// Where an attempt to settle a payment got to.
#[derive(Debug)]
pub(crate) enum Progress {
    /// As far as it goes now: a final state, or one only the provider moves on.
    Reached(Box<Payment>),
    /// Something stands in the way (the event's actor or the provider is unavailable, the
    /// hold has not lapsed yet); the next attempt may get further.
    Waiting(String),
}

impl Progress {
    pub fn reached(payment: Payment) -> Self {
        Progress::Reached(Box::new(payment))
    }
}

/// Whether a payment in `status` is still on its way (paid without its ticket yet, or
/// being refunded), so the request that settles it keeps advancing it.
pub(crate) fn moves_on(status: &PaymentStatus) -> bool {
    matches!(status, PaymentStatus::Paid | PaymentStatus::Refunding)
}

pub(crate) struct Settler {
    pub db: PgPool,
    pub tickets: Tickets,
    pub toss: Option<Arc<dyn PaymentProvider>>,
    pub sandbox: Option<Arc<dyn PaymentProvider>>,
    pub timing: Timing,
    pub settlement: TransferSettlement,
    /// Set when the node halts: settling tasks stop where they are, as in a crash.
    pub halted: watch::Receiver<bool>,
}

impl Settler {
    pub fn provider(&self, name: &ProviderName) -> Result<Arc<dyn PaymentProvider>, PaymentError> {
        match name {
            ProviderName::Toss => self.toss.clone(),
            ProviderName::Sandbox => self.sandbox.clone(),
        }
        .ok_or(PaymentError::MethodDisabled)
    }

    pub async fn reread(&self, id: Uuid) -> Result<Payment, PaymentError> {
        payments::by_id(&self.db, id)
            .await?
            .ok_or(PaymentError::NotFound("order"))
    }

    /// Runs `work` in a task of its own, so neither a client hanging up nor the edge's
    /// request timeout can cut a settlement off halfway; only a halt of the node does.
    pub fn detach<F>(&self, work: F) -> JoinHandle<Option<F::Output>>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let mut halted = self.halted.clone();
        tokio::spawn(async move {
            tokio::select! {
                out = work => Some(out),
                _ = halted.wait_for(|h| *h) => None,
            }
        })
    }

    /// One step forward for a payment in any unsettled state.
    pub async fn advance(&self, payment: &Payment) -> Result<Progress, PaymentError> {
        match payment.status {
            PaymentStatus::Confirming | PaymentStatus::Unknown => self.ask_provider(payment).await,
            PaymentStatus::Paid => self.complete(payment).await,
            PaymentStatus::Refunding => self.refund(payment).await,
            _ => Ok(Progress::reached(self.reread(payment.id).await?)),
        }
    }

    /// Keeps advancing a paid or refunding payment, a little apart, until it settles or
    /// `deadline` passes (a request waits this long for a hold to lapse, the actor to
    /// answer, the provider to give the money back); then where it stands.
    pub async fn advance_until(
        &self,
        payment: &Payment,
        deadline: Instant,
    ) -> Result<Payment, PaymentError> {
        let pause = Duration::from_millis(250);
        loop {
            let current = self.reread(payment.id).await?;
            if !moves_on(&current.status) || Instant::now() + pause >= deadline {
                return Ok(current);
            }
            tokio::time::sleep(pause).await;
            self.advance(&current).await?;
        }
    }

    /// A payment whose charge has no recorded outcome: the provider's own record decides.
    /// Until past its request's time, a confirming payment is left to that request.
    async fn ask_provider(&self, payment: &Payment) -> Result<Progress, PaymentError> {
        let Ok(provider) = self.provider(&payment.provider) else {
            return Ok(Progress::Waiting(format!(
                "provider {} is not configured on this node",
                payment.provider
            )));
        };
        let charge = provider
            .lookup(payment.payment_key.as_deref(), &payment.order_id)
            .await;
        let (code, message) = match charge {
            Ok(Charge::Charged { method }) => return self.charged(payment, &method).await,
            Ok(Charge::Pending) => {
                return Ok(Progress::Waiting(
                    "the provider has not settled it yet".into(),
                ));
            }
            Err(err) => return Ok(Progress::Waiting(err.to_string())),
            Ok(Charge::NotCharged) => ("NOT_CHARGED", "the provider never charged this payment"),
            Ok(Charge::Cancelled) => (
                "CANCELLED_AT_PROVIDER",
                "the provider charged this payment and gave the money back",
            ),
        };
        payments::fail(&self.db, &payment.order_id, code, message).await?;
        Ok(Progress::reached(self.reread(payment.id).await?))
    }

    /// The provider took the money: record it with what it buys, or owe it back.
    pub async fn charged(&self, payment: &Payment, method: &str) -> Result<Progress, PaymentError> {
        match payment.target() {
            Some(Target::Reservation(_)) => {
                match payments::record_paid(&self.db, payment, method, self.timing.grace).await? {
                    // Paid by this call: the statement answered the payment as it stands.
                    Some(paid) => self.complete_as_read(paid).await,
                    // Another caller settled it first: `complete` reads where it stands.
                    None => self.complete(payment).await,
                }
            }
            Some(Target::Membership(_)) => {
                match memberships::pay_and_activate(&self.db, payment, method).await? {
                    Fulfilment::Delivered(()) | Fulfilment::AlreadySettled => {
                        Ok(Progress::reached(self.reread(payment.id).await?))
                    }
                    Fulfilment::Impossible => {
                        let why = "the membership was no longer awaiting payment, so the \
                                   payment was refunded automatically";
                        self.unfulfilled(payment, method, why).await
                    }
                }
            }
            Some(Target::Transfer(_)) => {
                let setting = self.settlement.settlement();
                match transfers::pay_and_complete(&self.db, payment, method, setting).await? {
                    Fulfilment::Delivered(done) => {
                        self.settle_seller(&done).await;
                        Ok(Progress::reached(self.reread(payment.id).await?))
                    }
                    Fulfilment::AlreadySettled => {
                        Ok(Progress::reached(self.reread(payment.id).await?))
                    }
                    Fulfilment::Impossible => {
                        let why = "the ticket was no longer for sale, so the payment was \
                                   refunded automatically";
                        self.unfulfilled(payment, method, why).await
                    }
                }
            }
            None => Err(PaymentError::NotFound("order")),
        }
    }

    /// Charged for something that can no longer be had: recorded, and given back.
    async fn unfulfilled(
        &self,
        payment: &Payment,
        method: &str,
        why: &str,
    ) -> Result<Progress, PaymentError> {
        payments::charged_unfulfilled(&self.db, payment, method, why, self.timing.grace).await?;
        let owed = self.reread(payment.id).await?;
        self.refund(&owed).await
    }

    /// The seller of a transferred ticket is settled as configured. The buyer's purchase
    /// stands whatever happens here; a failure is recorded on the transfer for an operator.
    async fn settle_seller(&self, done: &Completed) {
        if self.settlement == TransferSettlement::Payout {
            // Recorded as owed in the transfer's own transaction.
            return;
        }
        let outcome = self.refund_seller(done).await;
        let status = match &outcome {
            Ok(()) => SettlementStatus::Refunded,
            Err(err) => {
                tracing::error!(transfer = %done.transfer_id, %err, "refunding the seller of a transferred ticket failed: needs an operator");
                SettlementStatus::Failed
            }
        };
        if let Err(err) = transfers::settled(&self.db, done.transfer_id, status).await {
            tracing::error!(transfer = %done.transfer_id, %err, "recording a transfer's settlement failed");
        }
    }

    /// Gives the seller back their own payment for the ticket, up to the buyer's price.
    async fn refund_seller(&self, done: &Completed) -> Result<(), PaymentError> {
        let original = payments::latest_for(
            &self.db,
            done.seller_id,
            Target::Reservation(done.reservation_id),
            &[PaymentStatus::Done],
        )
        .await?
        .ok_or(PaymentError::NotFound("the seller's payment"))?;
        let provider = self.provider(&original.provider)?;
        let key = original.payment_key.clone().unwrap_or_default();
        let amount = done.price.min(original.amount);
        let reason = "the ticket was resold to another fan through a transfer";
        provider
            .cancel(&key, reason, amount)
            .await
            .map_err(provider_failure)?;
        payments::refunded_partly(&self.db, &original, amount, "seller_refunded", reason).await?;
        Ok(())
    }
}

pub(crate) fn provider_failure(err: ProviderError) -> PaymentError {
    match err {
        ProviderError::Declined { code, message } => PaymentError::Declined { code, message },
        ProviderError::Unavailable(why) => PaymentError::ProviderUnavailable(why),
    }
}
