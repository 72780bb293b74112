//! The payment flow. Order of durable steps, chosen so money is never lost track of:
//! 1. the order is claimed for confirmation (only one caller can; a unique index also
//!    forbids a second confirming/done payment of one reservation);
//! 2. the provider confirms; its answer is recorded at once (`done` with its
//!    `PaymentConfirmed` event, or `failed`);
//! 3. the EventActor confirms the reservation, verifying every seat's fencing token.
//!    If the hold lapsed meanwhile, the payment is refunded automatically and the
//!    reservation's history says so. If the actor is unreachable, the ticket consumer
//!    of `PaymentConfirmed` finishes step 3 later.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore;
use urr_actors::event::{EventDirectory, EventError};
use urr_actors::ids::ReservationId;
use urr_store::PgPool;
use urr_store::payments::{self, NewPayment, Payment};
use urr_store::reservations;
use uuid::Uuid;

use crate::config::PaymentsConfig;
use crate::error::PaymentError;
use crate::provider::{PaymentProvider, ProviderError};
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
}

/// What the browser needs to open the provider's payment window.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub order_id: String,
    pub amount: i64,
    pub client_key: String,
    pub reservation_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct PaymentView {
    pub order_id: String,
    pub reservation_id: Uuid,
    pub amount: i64,
    pub status: String,
    pub provider: String,
    pub method: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub refunded_at: Option<DateTime<Utc>>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        Self {
            order_id: p.order_id,
            reservation_id: p.reservation_id,
            amount: p.amount,
            status: p.status,
            provider: p.provider,
            method: p.method,
            confirmed_at: p.confirmed_at,
            refunded_at: p.refunded_at,
            failure_code: p.failure_code,
            failure_message: p.failure_message,
        }
    }
}

/// `ORD_{unix ms}_{8 hex}` (SPEC 2.4).
fn order_id() -> String {
    let mut bytes = [0u8; 4];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ORD_{}_{hex}", Utc::now().timestamp_millis())
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
        }
    }

    fn provider(&self, name: &str) -> Result<Arc<dyn PaymentProvider>, PaymentError> {
        match name {
            "toss" => self.toss.clone(),
            "sandbox" => self.sandbox.clone(),
            _ => None,
        }
        .ok_or(PaymentError::MethodDisabled)
    }

    /// The caller's reservation, still pending and within its hold.
    async fn payable(
        &self,
        user: Uuid,
        reservation: Uuid,
    ) -> Result<reservations::Reservation, PaymentError> {
        let found = reservations::get(&self.db, reservation)
            .await?
            .filter(|(r, _)| r.user_id == user)
            .ok_or(PaymentError::NotFound("reservation"))?
            .0;
        if found.status != "pending" {
            return Err(PaymentError::NotPending);
        }
        if found.expires_at <= Utc::now() {
            return Err(PaymentError::HoldExpired);
        }
        Ok(found)
    }

    /// Validates the reservation and opens (or reuses) an order for it.
    pub async fn prepare(&self, user: Uuid, reservation: Uuid) -> Result<Prepared, PaymentError> {
        let found = self.payable(user, reservation).await?;
        let existing = payments::latest_for_reservation(&self.db, reservation, &["ready"]).await?;
        let payment = match existing {
            Some(p) if p.provider == "toss" => p,
            _ => {
                payments::create(
                    &self.db,
                    &NewPayment {
                        order_id: &order_id(),
                        reservation_id: reservation,
                        user_id: user,
                        event_id: found.event_id,
                        amount: found.total_amount,
                        provider: "toss",
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
            reservation_id: reservation,
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
        match payment.status.as_str() {
            "ready" => {}
            "confirming" => return self.wait_for_outcome(order).await,
            "failed" => {
                return Err(PaymentError::Declined {
                    code: payment.failure_code.unwrap_or_default(),
                    message: payment.failure_message.unwrap_or_default(),
                });
            }
            _ => return Ok(payment.into()),
        }
        let provider = self.provider(&payment.provider)?;
        if let Err(err) = self.payable(user, payment.reservation_id).await {
            payments::fail(&self.db, order, "HOLD_NOT_PAYABLE", &err.to_string()).await?;
            return Err(err);
        }
        if !payments::start_confirming(&self.db, order, payment_key).await? {
            return self.wait_for_outcome(order).await;
        }
        self.settle(payment, provider, payment_key).await
    }

    /// The sandbox flow (naverpay, kakaopay, transfer): an order confirmed at once.
    pub async fn process(
        &self,
        user: Uuid,
        reservation: Uuid,
        method: &str,
    ) -> Result<PaymentView, PaymentError> {
        let provider = self.sandbox.clone().ok_or(PaymentError::MethodDisabled)?;
        if !SANDBOX_METHODS.contains(&method) {
            return Err(PaymentError::Invalid(format!(
                "method must be one of {}",
                SANDBOX_METHODS.join(", ")
            )));
        }
        if let Some(done) =
            payments::latest_for_reservation(&self.db, reservation, &["done", "confirming"])
                .await?
                .filter(|p| p.user_id == user)
        {
            return match done.status.as_str() {
                "confirming" => self.wait_for_outcome(&done.order_id).await,
                _ => Ok(done.into()),
            };
        }
        let found = self.payable(user, reservation).await?;
        let order = order_id();
        let payment = payments::create(
            &self.db,
            &NewPayment {
                order_id: &order,
                reservation_id: reservation,
                user_id: user,
                event_id: found.event_id,
                amount: found.total_amount,
                provider: "sandbox",
                method: Some(method),
            },
        )
        .await?;
        let key = format!("sandbox_{}", Uuid::new_v4().simple());
        if !payments::start_confirming(&self.db, &order, &key).await? {
            return Err(PaymentError::InProgress);
        }
        self.settle(payment, provider, &key).await
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
        payments::succeed(&self.db, &payment, &receipt.method).await?;
        let reservation = ReservationId::from(payment.reservation_id);
        let confirmed = self
            .events
            .with_event(
                payment.event_id,
                |h| async move { h.confirm(reservation).await },
            )
            .await;
        match confirmed {
            Ok(()) => {}
            Err(
                EventError::HoldExpired
                | EventError::NotPending
                | EventError::StaleFencingToken(_)
                | EventError::ReservationNotFound,
            ) => {
                if !self.complete_late(&payment).await? {
                    self.refund_late(&payment, provider.as_ref(), payment_key)
                        .await?;
                    return Err(PaymentError::HoldExpired);
                }
            }
            Err(err) => {
                // The money is recorded (with its event); the ticket consumer of
                // PaymentConfirmed confirms the reservation when the actor is back.
                tracing::warn!(%order, %err, "reservation confirmation deferred to the bus");
            }
        }
        Ok(payments::by_order(&self.db, &order)
            .await?
            .ok_or(PaymentError::NotFound("order"))?
            .into())
    }

    /// The payment arrived after the hold lapsed. True when the reservation ends up
    /// confirmed anyway: someone else confirmed it already (the ticket consumer), or its
    /// seats were all still free and the sale is completed on fresh locks.
    async fn complete_late(&self, payment: &Payment) -> Result<bool, PaymentError> {
        let Some((reservation, items)) =
            reservations::get(&self.db, payment.reservation_id).await?
        else {
            return Ok(false);
        };
        match reservation.status.as_str() {
            "confirmed" => return Ok(true),
            "expired" => {}
            _ => return Ok(false),
        }
        let seats: Vec<urr_actors::ids::SeatId> = items
            .iter()
            .filter_map(|i| i.seat_id.map(urr_actors::ids::SeatId::from))
            .collect();
        if seats.is_empty() {
            return Ok(false);
        }
        let user = urr_actors::ids::UserId::from(payment.user_id);
        let id = ReservationId::from(payment.reservation_id);
        let revived = self
            .events
            .with_event(payment.event_id, |h| {
                let seats = seats.clone();
                async move { h.revive(user, id, seats).await }
            })
            .await;
        Ok(revived.is_ok())
    }

    /// Paid, but the seats are no longer this reservation's: give the money back.
    async fn refund_late(
        &self,
        payment: &Payment,
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
                    payment.reservation_id,
                    "refund_failed",
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
                match payment.status.as_str() {
                    "confirming" | "ready" => {}
                    "failed" => {
                        return Err(PaymentError::Declined {
                            code: payment.failure_code.unwrap_or_default(),
                            message: payment.failure_message.unwrap_or_default(),
                        });
                    }
                    _ => return Ok(payment.into()),
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(PaymentError::InProgress)
    }

    /// Gives the money back and puts the seats on sale again.
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
        if payment.status != "done" {
            return Err(PaymentError::NotRefundable);
        }
        let provider = self.provider(&payment.provider)?;
        let key = payment.payment_key.clone().unwrap_or_default();
        provider
            .cancel(&key, reason, payment.amount)
            .await
            .map_err(|e| match e {
                ProviderError::Declined { code, message } => {
                    PaymentError::Declined { code, message }
                }
                ProviderError::Unavailable(why) => PaymentError::ProviderUnavailable(why),
            })?;
        if !payments::refunded(&self.db, &payment, reason).await? {
            return Err(PaymentError::NotRefundable);
        }
        let reservation = ReservationId::from(payment.reservation_id);
        match self
            .events
            .with_event(
                payment.event_id,
                |h| async move { h.refund(reservation).await },
            )
            .await
        {
            Ok(()) | Err(EventError::NotPending | EventError::ReservationNotFound) => {}
            Err(err) => return Err(err.into()),
        }
        Ok(payments::by_order(&self.db, order)
            .await?
            .ok_or(PaymentError::NotFound("order"))?
            .into())
    }

    pub async fn get(
        &self,
        user: Uuid,
        is_admin: bool,
        order: &str,
    ) -> Result<PaymentView, PaymentError> {
        Ok(payments::by_order(&self.db, order)
            .await?
            .filter(|p| is_admin || p.user_id == user)
            .ok_or(PaymentError::NotFound("order"))?
            .into())
    }
}
