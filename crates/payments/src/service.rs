//! The payment flow. Order of durable steps, chosen so money is never lost track of:
//! 1. the order is claimed for confirmation (only one caller can; a unique index also
//!    forbids a second confirming/done payment of one reservation);
//! 2. the provider confirms; its answer is recorded at once (`done` with its
//!    `PaymentConfirmed` event, or `failed`);
//! 3. the EventActor confirms the reservation, verifying every seat's fencing token.
//!    If the hold lapsed meanwhile, the payment is refunded automatically and the
//!    reservation's history says so. If the actor is unreachable, the ticket consumer
//!    of `PaymentConfirmed` finishes step 3 later.
//!
//! A membership fee or a transferred ticket needs no actor: step 2 records the money and
//! activates the membership, or hands the ticket over, in one transaction. When that is
//! no longer possible (the listing was withdrawn, the ticket refunded), the money goes
//! back. Two buyers of one listing cannot both reach step 2: the second cannot claim its
//! order (a unique index allows one confirming payment per listing), so is never charged.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::RngCore;
use urr_actors::event::{EventDirectory, EventError};
use urr_actors::ids::ReservationId;
use urr_store::PgPool;
use urr_store::payments::{self, NewPayment, Payment, Target};
use urr_store::transfers::{self, Completed};
use urr_store::{memberships, reservations};
use urr_wire::payments::PaymentView;
use urr_wire::status::PaymentProvider as ProviderName;
use urr_wire::status::{
    HistoryStatus, MembershipStatus, PaymentPurpose, PaymentStatus, ReservationStatus,
    SettlementStatus,
};
use uuid::Uuid;

use crate::config::{PaymentsConfig, TransferSettlement};
use crate::error::PaymentError;
use crate::provider::{PaymentProvider, ProviderError, ProviderReceipt};
use crate::sandbox::Sandbox;
use crate::toss::Toss;

/// Methods the sandbox stands in for (the seed confirms these at once).
const SANDBOX_METHODS: [&str; 3] = ["naverpay", "kakaopay", "transfer"];

pub struct PaymentService {
    db: PgPool,
    events: EventDirectory,
    toss: Option<Arc<dyn PaymentProvider>>,
    sandbox: Option<Arc<dyn PaymentProvider>>,
    client_key: String,
    settlement: TransferSettlement,
}

/// What the browser needs to open the provider's payment window.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub order_id: String,
    pub amount: i64,
    pub client_key: String,
    pub target: Target,
}

/// A payment as its payer sees it.
fn view(p: Payment) -> PaymentView {
    PaymentView {
        order_id: p.order_id,
        purpose: p.purpose,
        reservation_id: p.reservation_id,
        membership_id: p.membership_id,
        transfer_id: p.transfer_id,
        amount: p.amount,
        refunded_amount: p.refunded_amount,
        status: p.status,
        provider: p.provider,
        method: p.method,
        confirmed_at: p.confirmed_at,
        refunded_at: p.refunded_at,
        failure_code: p.failure_code,
        failure_message: p.failure_message,
    }
}

/// What paying for a target costs now, and the event it belongs to.
struct Payable {
    event_id: Option<Uuid>,
    amount: i64,
}

/// `ORD_{unix ms}_{8 hex}` (SPEC 2.4).
fn order_id() -> String {
    let mut bytes = [0u8; 4];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ORD_{}_{hex}", Utc::now().timestamp_millis())
}

fn provider_failure(err: ProviderError) -> PaymentError {
    match err {
        ProviderError::Declined { code, message } => PaymentError::Declined { code, message },
        ProviderError::Unavailable(why) => PaymentError::ProviderUnavailable(why),
    }
}

impl PaymentService {
    pub fn new(db: PgPool, events: EventDirectory, config: &PaymentsConfig) -> Self {
        let toss = config.toss_secret_key.as_ref().map(|key| {
            Arc::new(Toss::new(&config.toss_base_url, key, config.timeout()))
                as Arc<dyn PaymentProvider>
        });
        let sandbox = config
            .payment_sandbox
            .then(|| Arc::new(Sandbox) as Arc<dyn PaymentProvider>);
        Self {
            db,
            events,
            toss,
            sandbox,
            client_key: config.toss_client_key.clone(),
            settlement: config.transfer_settlement,
        }
    }

    fn provider(&self, name: ProviderName) -> Result<Arc<dyn PaymentProvider>, PaymentError> {
        match name {
            ProviderName::Toss => self.toss.clone(),
            ProviderName::Sandbox => self.sandbox.clone(),
        }
        .ok_or(PaymentError::MethodDisabled)
    }

    /// The caller's reservation, still pending and within its hold.
    async fn payable_reservation(
        &self,
        user: Uuid,
        reservation: Uuid,
    ) -> Result<reservations::Reservation, PaymentError> {
        let found = reservations::get(&self.db, reservation)
            .await?
            .filter(|(r, _)| r.user_id == user)
            .ok_or(PaymentError::NotFound("reservation"))?
            .0;
        if found.status != ReservationStatus::Pending {
            return Err(PaymentError::NotPending);
        }
        if found.expires_at <= Utc::now() {
            return Err(PaymentError::HoldExpired);
        }
        Ok(found)
    }

    /// What `user` would pay for `target` now; refused when it cannot be paid for.
    async fn payable(&self, user: Uuid, target: Target) -> Result<Payable, PaymentError> {
        match target {
            Target::Reservation(id) => {
                let found = self.payable_reservation(user, id).await?;
                Ok(Payable {
                    event_id: Some(found.event_id),
                    amount: found.total_amount,
                })
            }
            Target::Membership(id) => {
                let found = memberships::get(&self.db, id)
                    .await?
                    .filter(|m| m.user_id == user)
                    .ok_or(PaymentError::NotFound("membership"))?;
                if found.status != MembershipStatus::Pending || found.price <= 0 {
                    return Err(PaymentError::Conflict(format!(
                        "this membership is {}, not awaiting payment",
                        found.status
                    )));
                }
                Ok(Payable {
                    event_id: None,
                    amount: found.price,
                })
            }
            Target::Transfer(id) => {
                if transfers::get(&self.db, id).await?.is_none() {
                    return Err(PaymentError::NotFound("transfer"));
                }
                let listing = transfers::buyable(&self.db, id).await?.ok_or_else(|| {
                    PaymentError::Conflict("this ticket is no longer for sale".into())
                })?;
                if listing.seller_id == user {
                    return Err(PaymentError::Invalid(
                        "this is your own listing: withdraw it rather than buy it".into(),
                    ));
                }
                Ok(Payable {
                    event_id: Some(listing.event_id),
                    amount: listing.price,
                })
            }
        }
    }

    /// Validates what is paid for and opens (or reuses) an order for it.
    pub async fn prepare(&self, user: Uuid, target: Target) -> Result<Prepared, PaymentError> {
        let payable = self.payable(user, target).await?;
        let existing =
            payments::latest_for(&self.db, user, target, &[PaymentStatus::Ready]).await?;
        let payment = match existing {
            Some(p) if p.provider == ProviderName::Toss && p.amount == payable.amount => p,
            _ => {
                payments::create(
                    &self.db,
                    &NewPayment {
                        order_id: &order_id(),
                        target,
                        user_id: user,
                        event_id: payable.event_id,
                        amount: payable.amount,
                        provider: ProviderName::Toss,
                        method: None,
                    },
                )
                .await?
            }
        };
        Ok(Prepared {
            order_id: payment.order_id,
            amount: payment.amount,
            client_key: self.client_key.clone(),
            target,
        })
    }

    /// Confirms an order the browser paid through the provider. Repeating it returns the
    /// first result; it never charges twice.
    pub async fn confirm(
        &self,
        user: Uuid,
        payment_key: &str,
        order: &str,
        amount: i64,
    ) -> Result<PaymentView, PaymentError> {
        let payment = payments::by_order(&self.db, order)
            .await?
            .filter(|p| p.user_id == user)
            .ok_or(PaymentError::NotFound("order"))?;
        if payment.amount != amount {
            return Err(PaymentError::AmountMismatch);
        }
        match payment.status {
            PaymentStatus::Ready => {}
            PaymentStatus::Confirming => return self.wait_for_outcome(order).await,
            PaymentStatus::Failed => {
                return Err(PaymentError::Declined {
                    code: payment.failure_code.unwrap_or_default(),
                    message: payment.failure_message.unwrap_or_default(),
                });
            }
            PaymentStatus::Done | PaymentStatus::Refunded => return Ok(view(payment)),
        }
        let provider = self.provider(payment.provider)?;
        let target = payment.target().ok_or(PaymentError::NotFound("order"))?;
        if let Err(err) = self.payable(user, target).await {
            let code = match target {
                Target::Reservation(_) => "HOLD_NOT_PAYABLE",
                _ => "NOT_PAYABLE",
            };
            payments::fail(&self.db, order, code, &err.to_string()).await?;
            return Err(err);
        }
        if !payments::start_confirming(&self.db, order, payment_key).await? {
            return self.claim_lost(&payment).await;
        }
        self.settle(payment, provider, payment_key).await
    }

    /// The sandbox flow (naverpay, kakaopay, transfer): an order confirmed at once.
    pub async fn process(
        &self,
        user: Uuid,
        target: Target,
        method: &str,
    ) -> Result<PaymentView, PaymentError> {
        let provider = self.sandbox.clone().ok_or(PaymentError::MethodDisabled)?;
        if !SANDBOX_METHODS.contains(&method) {
            return Err(PaymentError::Invalid(format!(
                "method must be one of {}",
                SANDBOX_METHODS.join(", ")
            )));
        }
        let settled_or_settling = [PaymentStatus::Done, PaymentStatus::Confirming];
        if let Some(found) =
            payments::latest_for(&self.db, user, target, &settled_or_settling).await?
        {
            if found.status == PaymentStatus::Confirming {
                return self.wait_for_outcome(&found.order_id).await;
            }
            // A membership is paid for again when it is renewed; anything else once.
            let renewal =
                matches!(target, Target::Membership(_)) && self.payable(user, target).await.is_ok();
            if !renewal {
                return Ok(view(found));
            }
        }
        let payable = self.payable(user, target).await?;
        let order = order_id();
        let payment = payments::create(
            &self.db,
            &NewPayment {
                order_id: &order,
                target,
                user_id: user,
                event_id: payable.event_id,
                amount: payable.amount,
                provider: ProviderName::Sandbox,
                method: Some(method),
            },
        )
        .await?;
        let key = format!("sandbox_{}", Uuid::new_v4().simple());
        if !payments::start_confirming(&self.db, &order, &key).await? {
            return self.claim_lost(&payment).await;
        }
        self.settle(payment, provider, &key).await
    }

    /// `payment` could not be claimed for confirmation. When another buyer's payment holds
    /// the listing, this order is closed before anything is charged; otherwise another
    /// request is confirming this very order, and its outcome is the answer.
    async fn claim_lost(&self, payment: &Payment) -> Result<PaymentView, PaymentError> {
        let still_ready = payments::by_order(&self.db, &payment.order_id)
            .await?
            .is_some_and(|p| p.status == PaymentStatus::Ready);
        if payment.purpose == PaymentPurpose::Transfer && still_ready {
            let why = "another fan is already buying this ticket";
            payments::fail(&self.db, &payment.order_id, "TRANSFER_TAKEN", why).await?;
            return Err(PaymentError::Conflict(format!(
                "{why}; nothing was charged"
            )));
        }
        if payment.provider == ProviderName::Sandbox && still_ready {
            return Err(PaymentError::InProgress);
        }
        self.wait_for_outcome(&payment.order_id).await
    }

    async fn settle(
        &self,
        payment: Payment,
        provider: Arc<dyn PaymentProvider>,
        payment_key: &str,
    ) -> Result<PaymentView, PaymentError> {
        let order = payment.order_id.clone();
        let receipt = match provider.confirm(payment_key, &order, payment.amount).await {
            Ok(receipt) => receipt,
            Err(ProviderError::Declined { code, message }) => {
                payments::fail(&self.db, &order, &code, &message).await?;
                return Err(PaymentError::Declined { code, message });
            }
            Err(ProviderError::Unavailable(why)) => {
                payments::fail(&self.db, &order, "PROVIDER_UNAVAILABLE", &why).await?;
                return Err(PaymentError::ProviderUnavailable(why));
            }
        };
        match payment.target() {
            Some(Target::Reservation(reservation)) => {
                self.settle_reservation(&payment, reservation, &receipt, &provider, payment_key)
                    .await?;
            }
            Some(Target::Membership(_)) => {
                let activated =
                    memberships::pay_and_activate(&self.db, &payment, &receipt.method).await;
                if !self
                    .fulfilled(activated, &payment, &receipt, &provider, payment_key)
                    .await?
                {
                    return Err(PaymentError::Conflict(
                        "this membership was no longer awaiting payment; the payment was \
                         refunded"
                            .into(),
                    ));
                }
            }
            Some(Target::Transfer(_)) => {
                let setting = self.settlement.settlement();
                let (outcome, done) =
                    match transfers::pay_and_complete(&self.db, &payment, &receipt.method, setting)
                        .await
                    {
                        Ok(done) => (Ok(done.is_some()), done),
                        Err(err) => (Err(err), None),
                    };
                if !self
                    .fulfilled(outcome, &payment, &receipt, &provider, payment_key)
                    .await?
                {
                    return Err(PaymentError::Conflict(
                        "this ticket was no longer for sale; the payment was refunded".into(),
                    ));
                }
                if let Some(done) = done {
                    self.settle_seller(&done).await;
                }
            }
            None => return Err(PaymentError::NotFound("order")),
        }
        Ok(view(
            payments::by_order(&self.db, &order)
                .await?
                .ok_or(PaymentError::NotFound("order"))?,
        ))
    }

    /// Step 3 for a reservation: the actor confirms it; a late payment completes the sale
    /// when its seats are still free, else it is refunded.
    async fn settle_reservation(
        &self,
        payment: &Payment,
        reservation: Uuid,
        receipt: &ProviderReceipt,
        provider: &Arc<dyn PaymentProvider>,
        payment_key: &str,
    ) -> Result<(), PaymentError> {
        payments::succeed(&self.db, payment, &receipt.method).await?;
        let event = payment.event_id.ok_or(PaymentError::NotFound("event"))?;
        let id = ReservationId::from(reservation);
        let confirmed = self.events.event(event).confirm(id).await;
        match confirmed {
            Ok(()) => {}
            Err(
                EventError::HoldExpired
                | EventError::NotPending
                | EventError::StaleFencingToken(_)
                | EventError::ReservationNotFound,
            ) => {
                if !self.complete_late(payment, reservation, event).await? {
                    self.refund_late(payment, reservation, provider.as_ref(), payment_key)
                        .await?;
                    return Err(PaymentError::HoldExpired);
                }
            }
            Err(err) => {
                // The money is recorded (with its event); the ticket consumer of
                // PaymentConfirmed confirms the reservation when the actor is back.
                tracing::warn!(order = %payment.order_id, %err, "reservation confirmation deferred to the bus");
            }
        }
        Ok(())
    }

    /// What a membership or transfer payment bought was recorded with the money (true);
    /// or it could not be (false, or a store failure): then the money is recorded alone
    /// and given back, so it is never taken without what it paid for.
    async fn fulfilled(
        &self,
        outcome: Result<bool, urr_store::StoreError>,
        payment: &Payment,
        receipt: &ProviderReceipt,
        provider: &Arc<dyn PaymentProvider>,
        payment_key: &str,
    ) -> Result<bool, PaymentError> {
        let failure = match outcome {
            Ok(true) => return Ok(true),
            Ok(false) => None,
            Err(err) => Some(err),
        };
        let reason = "what was paid for could no longer be had, so the payment was refunded \
                      automatically";
        payments::succeed(&self.db, payment, &receipt.method).await?;
        let paid = payments::by_order(&self.db, &payment.order_id)
            .await?
            .ok_or(PaymentError::NotFound("order"))?;
        match provider.cancel(payment_key, reason, payment.amount).await {
            Ok(()) => {
                payments::refunded(&self.db, &paid, reason).await?;
            }
            Err(err) => {
                tracing::error!(order = %payment.order_id, %err, "automatic refund failed: needs an operator");
            }
        }
        match failure {
            Some(err) => Err(err.into()),
            None => Ok(false),
        }
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
        let provider = self.provider(original.provider)?;
        let key = original.payment_key.clone().unwrap_or_default();
        let amount = done.price.min(original.amount);
        let reason = "the ticket was resold to another fan through a transfer";
        provider
            .cancel(&key, reason, amount)
            .await
            .map_err(provider_failure)?;
        payments::refunded_partly(
            &self.db,
            &original,
            amount,
            HistoryStatus::SellerRefunded,
            reason,
        )
        .await?;
        Ok(())
    }

    /// The payment arrived after the hold lapsed. True when the reservation ends up
    /// confirmed anyway: someone else confirmed it already (the ticket consumer), or its
    /// seats were all still free and the sale is completed on fresh locks.
    async fn complete_late(
        &self,
        payment: &Payment,
        reservation: Uuid,
        event: Uuid,
    ) -> Result<bool, PaymentError> {
        let Some((found, items)) = reservations::get(&self.db, reservation).await? else {
            return Ok(false);
        };
        match found.status {
            ReservationStatus::Confirmed => return Ok(true),
            ReservationStatus::Expired => {}
            ReservationStatus::Pending | ReservationStatus::Cancelled => return Ok(false),
        }
        let seats: Vec<urr_actors::ids::SeatId> = items
            .iter()
            .filter_map(|i| i.seat_id.map(urr_actors::ids::SeatId::from))
            .collect();
        if seats.is_empty() {
            return Ok(false);
        }
        let user = urr_actors::ids::UserId::from(payment.user_id);
        let id = ReservationId::from(reservation);
        let revived = self.events.event(event).revive(user, id, seats).await;
        Ok(revived.is_ok())
    }

    /// Paid, but the seats are no longer this reservation's: give the money back.
    async fn refund_late(
        &self,
        payment: &Payment,
        reservation: Uuid,
        provider: &dyn PaymentProvider,
        payment_key: &str,
    ) -> Result<(), PaymentError> {
        let reason = "paid after the hold lapsed and its seats were taken, \
                      so the payment was refunded automatically";
        let paid = payments::by_order(&self.db, &payment.order_id)
            .await?
            .ok_or(PaymentError::NotFound("order"))?;
        match provider.cancel(payment_key, reason, payment.amount).await {
            Ok(()) => {
                payments::refunded(&self.db, &paid, reason).await?;
            }
            Err(err) => {
                tracing::error!(order = %payment.order_id, %err, "automatic refund failed: needs an operator");
                payments::note(
                    &self.db,
                    reservation,
                    HistoryStatus::RefundFailed,
                    "paid after the hold lapsed; automatic refund failed",
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Another request is confirming this order: answer with its outcome.
    async fn wait_for_outcome(&self, order: &str) -> Result<PaymentView, PaymentError> {
        for _ in 0..150 {
            if let Some(payment) = payments::by_order(&self.db, order).await? {
                match payment.status {
                    PaymentStatus::Confirming | PaymentStatus::Ready => {}
                    PaymentStatus::Failed => {
                        return Err(PaymentError::Declined {
                            code: payment.failure_code.unwrap_or_default(),
                            message: payment.failure_message.unwrap_or_default(),
                        });
                    }
                    PaymentStatus::Done | PaymentStatus::Refunded => return Ok(view(payment)),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(PaymentError::InProgress)
    }

    /// Gives the money back and puts the seats on sale again. Only a ticket's own sale is
    /// refundable, and only while its buyer still holds it: a ticket that changed hands,
    /// a ticket bought through a transfer and a membership fee are not.
    pub async fn refund(
        &self,
        user: Uuid,
        is_admin: bool,
        order: &str,
        reason: &str,
    ) -> Result<PaymentView, PaymentError> {
        let payment = payments::by_order(&self.db, order)
            .await?
            .filter(|p| is_admin || p.user_id == user)
            .ok_or(PaymentError::NotFound("order"))?;
        if payment.status != PaymentStatus::Done {
            return Err(PaymentError::NotRefundable);
        }
        let reservation = match payment.target() {
            Some(Target::Reservation(id)) => id,
            Some(Target::Membership(_)) => {
                return Err(PaymentError::Conflict(
                    "membership fees are not refundable".into(),
                ));
            }
            Some(Target::Transfer(_)) => {
                return Err(PaymentError::Conflict(
                    "tickets bought through a transfer are final".into(),
                ));
            }
            None => return Err(PaymentError::NotFound("order")),
        };
        let event = payment.event_id.ok_or(PaymentError::NotFound("event"))?;
        let provider = self.provider(payment.provider)?;
        // Until the refund is recorded, the ticket cannot be listed or change hands: a
        // buyer paying right now finds the listing gone and is refunded.
        let guard = transfers::lock_for_refund(&self.db, reservation, payment.user_id)
            .await?
            .ok_or_else(|| {
                PaymentError::Conflict(
                    "this ticket was transferred to another fan and can no longer be \
                     refunded"
                        .into(),
                )
            })?;
        let key = payment.payment_key.clone().unwrap_or_default();
        provider
            .cancel(&key, reason, payment.amount)
            .await
            .map_err(provider_failure)?;
        if !payments::refunded(&self.db, &payment, reason).await? {
            return Err(PaymentError::NotRefundable);
        }
        guard.release().await?;
        let id = ReservationId::from(reservation);
        match self.events.event(event).refund(id).await {
            Ok(()) | Err(EventError::NotPending | EventError::ReservationNotFound) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(view(
            payments::by_order(&self.db, order)
                .await?
                .ok_or(PaymentError::NotFound("order"))?,
        ))
    }

    pub async fn get(
        &self,
        user: Uuid,
        is_admin: bool,
        order: &str,
    ) -> Result<PaymentView, PaymentError> {
        Ok(view(
            payments::by_order(&self.db, order)
                .await?
                .filter(|p| is_admin || p.user_id == user)
                .ok_or(PaymentError::NotFound("order"))?,
        ))
    }
}
