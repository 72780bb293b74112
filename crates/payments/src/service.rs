//! The payment flow as callers see it (the edge, the ticket consumer). Order of durable
//! steps, chosen so money is never lost track of:
//! 1. the order is claimed for confirmation (only one caller can; a unique index also
//!    forbids a second unsettled or done payment of one reservation or listing);
//! 2. the provider confirms, in a task of its own that neither a client hanging up nor
//!    the edge's request timeout can cut off; its answer is recorded at once: `paid`,
//!    `failed`, or `unknown` when it gave no verdict (never `failed`: it may have charged);
//! 3. what the money buys is delivered (a reservation's ticket, see `completion`; a
//!    membership or a transferred ticket in the transaction that records the money), or
//!    the money goes back (see `refund`).
//!
//! The request waits a bounded time for all this and answers with where the payment
//! stands. What it leaves unfinished, the ticket consumer of `PaymentConfirmed` and the
//! reconciler finish: every charge ends ticketed or refunded. Two buyers of one listing
//! cannot both reach step 2: the second cannot claim its order, so is never charged.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::RngCore;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use urr_actors::event::EventDirectory;
use urr_store::payments::{self, NewPayment, Payment, Target};
use urr_store::{Kv, PgPool};
use urr_wire::status::{PaymentProvider as ProviderName, PaymentPurpose, PaymentStatus};
use uuid::Uuid;

use crate::config::PaymentsConfig;
use crate::error::PaymentError;
use crate::payable::payable;
use crate::provider::{PaymentProvider, ProviderError};
use crate::reconciler::Reconciler;
use crate::sandbox::{Sandbox, sandbox_key};
use crate::settler::{Progress, Settler, moves_on};
use crate::telemetry;
use crate::tickets::Tickets;
use crate::toss::Toss;
use crate::view::{Completion, PaymentView, Prepared, view};

/// Methods the sandbox stands in for (the seed confirms these at once:
/// `docs/architecture.md#the-design-urr-rebuilds`).
const SANDBOX_METHODS: [&str; 3] = ["naverpay", "kakaopay", "transfer"];

const UNKNOWN_OUTCOME: &str = "the payment provider did not confirm in time; the payment is \
                               being checked with it and will end with the purchase or the \
                               money back";

pub struct PaymentService {
    pub(crate) settler: Arc<Settler>,
    client_key: String,
    halt: watch::Sender<bool>,
}

/// `ORD_{unix ms}_{8 hex}` (`docs/architecture.md#the-apis-shape`).
fn order_id() -> String {
    let mut bytes = [0u8; 4];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("ORD_{}_{hex}", Utc::now().timestamp_millis())
}

pub(crate) type Settling = JoinHandle<Option<Result<Payment, PaymentError>>>;

/// Why a listing's order is refused while another fan's order for it is being settled.
const TRANSFER_TAKEN: &str = "another fan is already buying this ticket";

/// A new order refused because another order of the same reservation or listing is being
/// settled or is done: a listing's is refused for good, a reservation's for now.
fn order_taken(target: Target) -> PaymentError {
    match target {
        Target::Transfer(_) => {
            PaymentError::Conflict(format!("{TRANSFER_TAKEN}; nothing was charged"))
        }
        Target::Reservation(_) | Target::Membership(_) => PaymentError::InProgress,
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
            .then(|| Arc::new(Sandbox::default()) as Arc<dyn PaymentProvider>);
        let (halt, halted) = watch::channel(false);
        let settler = Settler {
            db,
            tickets: Tickets::new(events),
            toss,
            sandbox,
            timing: config.timing(),
            settlement: config.transfer_settlement,
            halted,
        };
        Self {
            settler: Arc::new(settler),
            client_key: config.toss_client_key.clone(),
            halt,
        }
    }

    /// The node's reconciler over this service's providers.
    pub fn reconciler(&self, kv: Kv) -> Reconciler {
        Reconciler::new(self.settler.clone(), kv)
    }

    /// Stops every settlement in flight where it is, as the end of the process would (a
    /// node halting). What they leave unfinished is the reconciler's.
    pub fn halt(&self) {
        let _ = self.halt.send(true);
    }

    pub(crate) fn db(&self) -> &PgPool {
        &self.settler.db
    }

    /// Validates what is paid for and opens (or reuses) an order for it. Refused when
    /// Toss is not configured: the order could never be confirmed.
    pub async fn prepare(&self, user: Uuid, target: Target) -> Result<Prepared, PaymentError> {
        if self.settler.toss.is_none() {
            return Err(PaymentError::MethodDisabled);
        }
        let payable = payable(self.db(), user, target).await?;
        let existing =
            payments::latest_for(self.db(), user, target, &[PaymentStatus::Ready]).await?;
        let payment = match existing {
            Some(p) if p.provider == ProviderName::Toss && p.amount == payable.amount => p,
            _ => {
                payments::create(
                    self.db(),
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

    /// Confirms an order the browser paid through the provider. Repeating it answers with
    /// where the payment stands (moving it on if its own request died); it never charges
    /// twice.
    pub async fn confirm(
        &self,
        user: Uuid,
        payment_key: &str,
        order: &str,
        amount: i64,
    ) -> Result<PaymentView, PaymentError> {
        let payment = payments::by_order(self.db(), order)
            .await?
            .filter(|p| p.user_id == user)
            .ok_or(PaymentError::NotFound("order"))?;
        if payment.amount != amount {
            return Err(PaymentError::AmountMismatch);
        }
        if payment.status != PaymentStatus::Ready {
            return self.follow(payment).await;
        }
        let provider = self.settler.provider(&payment.provider)?;
        let target = payment.target().ok_or(PaymentError::NotFound("order"))?;
        if let Err(err) = payable(self.db(), user, target).await {
            let code = match target {
                Target::Reservation(_) => "HOLD_NOT_PAYABLE",
                _ => "NOT_PAYABLE",
            };
            payments::fail(self.db(), order, code, &err.to_string()).await?;
            return Err(err);
        }
        let within = self.settler.timing.settle_within;
        if !payments::start_confirming(self.db(), order, payment_key, within).await? {
            return self.claim_lost(&payment).await;
        }
        self.settle(payment, provider, payment_key.to_owned()).await
    }

    /// The sandbox flow (naverpay, kakaopay, transfer): an order confirmed at once.
    pub async fn process(
        &self,
        user: Uuid,
        target: Target,
        method: &str,
    ) -> Result<PaymentView, PaymentError> {
        let provider = self
            .settler
            .sandbox
            .clone()
            .ok_or(PaymentError::MethodDisabled)?;
        if !SANDBOX_METHODS.contains(&method) {
            return Err(PaymentError::Invalid(format!(
                "method must be one of {}",
                SANDBOX_METHODS.join(", ")
            )));
        }
        let open = [
            PaymentStatus::Done,
            PaymentStatus::Paid,
            PaymentStatus::Confirming,
            PaymentStatus::Unknown,
            PaymentStatus::Refunding,
        ];
        if let Some(found) = payments::latest_for(self.db(), user, target, &open).await? {
            if found.status != PaymentStatus::Done {
                return self.follow(found).await;
            }
            // A membership is paid for again when it is renewed; anything else once.
            let renewal = matches!(target, Target::Membership(_))
                && payable(self.db(), user, target).await.is_ok();
            if !renewal {
                return Ok(view(found));
            }
        }
        let payable = payable(self.db(), user, target).await?;
        let order = order_id();
        let key = sandbox_key(&order);
        let within = self.settler.timing.settle_within;
        // Created already claimed: one statement where creating and claiming were two,
        // each a wait for a pooled connection in a rush (`BENCHMARKS.md`, "an eighth
        // session").
        let created = payments::create_confirming(
            self.db(),
            &NewPayment {
                order_id: &order,
                target,
                user_id: user,
                event_id: payable.event_id,
                amount: payable.amount,
                provider: ProviderName::Sandbox,
                method: Some(method),
            },
            &key,
            within,
        )
        .await?;
        let Some(payment) = created else {
            return Err(order_taken(target));
        };
        self.settle(payment, provider, key).await
    }

    /// `payment` could not be claimed for confirmation. Still `ready`, it lost to another
    /// order of the same reservation or listing being settled: a listing's order is
    /// closed before anything is charged, a reservation's is refused for now. Otherwise
    /// another request is confirming this very order, and its outcome is the answer.
    async fn claim_lost(&self, payment: &Payment) -> Result<PaymentView, PaymentError> {
        let now = self.settler.reread(payment.id).await?;
        let still_ready = now.status == PaymentStatus::Ready;
        if payment.purpose == PaymentPurpose::Transfer && still_ready {
            payments::fail(
                self.db(),
                &payment.order_id,
                "TRANSFER_TAKEN",
                TRANSFER_TAKEN,
            )
            .await?;
            return Err(PaymentError::Conflict(format!(
                "{TRANSFER_TAKEN}; nothing was charged"
            )));
        }
        if still_ready {
            return Err(PaymentError::InProgress);
        }
        self.follow(now).await
    }

    /// Step 2 and on, for a payment this request claimed.
    async fn settle(
        &self,
        payment: Payment,
        provider: Arc<dyn PaymentProvider>,
        key: String,
    ) -> Result<PaymentView, PaymentError> {
        let settler = self.settler.clone();
        let deadline = Instant::now() + settler.timing.request_wait;
        let id = payment.id;
        let task = self.settler.detach(async move {
            let order = payment.order_id.clone();
            match provider.confirm(&key, &order, payment.amount).await {
                Ok(receipt) => {
                    telemetry::outcome(payment.provider, "charged");
                    // Settled already (ticketed, or failed for good): that is the answer,
                    // read at the end of the step; otherwise it is followed below.
                    if let Progress::Reached(settled) =
                        settler.charged(&payment, &receipt.method).await?
                        && !moves_on(&settled.status)
                    {
                        return Ok(*settled);
                    }
                }
                Err(ProviderError::Declined { code, message }) => {
                    telemetry::outcome(payment.provider, "declined");
                    payments::fail(&settler.db, &order, &code, &message).await?;
                }
                Err(ProviderError::Unavailable(why)) => {
                    telemetry::outcome(payment.provider, "no_verdict");
                    tracing::warn!(%order, %why, "the provider gave no verdict: the payment's outcome is unknown until it is looked up");
                    payments::outcome_unknown(&settler.db, payment.id, &why).await?;
                }
            }
            settler.advance_until(&payment, deadline).await
        });
        let settled = self.outcome(task, id).await?;
        self.answer(settled)
    }

    /// A payment already past `ready`. One whose request is gone (a charge past its
    /// request's time, a paid payment without its ticket, a refund) is moved on by this
    /// caller; one its own request is still settling is waited for.
    async fn follow(&self, payment: Payment) -> Result<PaymentView, PaymentError> {
        let movable = match payment.status {
            PaymentStatus::Paid | PaymentStatus::Refunding => true,
            PaymentStatus::Confirming | PaymentStatus::Unknown => {
                payment.next_check_at.is_none_or(|at| at <= Utc::now())
            }
            _ => false,
        };
        let deadline = Instant::now() + self.settler.timing.request_wait;
        if !movable {
            let waited = self.wait_for_outcome(&payment, deadline).await?;
            return self.answer(waited);
        }
        let id = payment.id;
        let settler = self.settler.clone();
        let task = self.settler.detach(async move {
            settler.advance(&payment).await?;
            settler.advance_until(&payment, deadline).await
        });
        let settled = self.outcome(task, id).await?;
        self.answer(settled)
    }

    /// What a settling task came to, or where the payment stands when it takes longer
    /// than a request waits (the task goes on).
    pub(crate) async fn outcome(&self, task: Settling, id: Uuid) -> Result<Payment, PaymentError> {
        let wait = self.settler.timing.request_wait + Duration::from_secs(1);
        match tokio::time::timeout(wait, task).await {
            Ok(Ok(Some(settled))) => settled,
            Ok(Err(err)) => {
                tracing::error!(%err, "a payment's settling task failed");
                self.settler.reread(id).await
            }
            Ok(Ok(None)) | Err(_) => self.settler.reread(id).await,
        }
    }

    /// Another request is settling this payment: wait for it to get further.
    async fn wait_for_outcome(
        &self,
        payment: &Payment,
        deadline: Instant,
    ) -> Result<Payment, PaymentError> {
        loop {
            let now = self.settler.reread(payment.id).await?;
            let busy = matches!(
                now.status,
                PaymentStatus::Ready | PaymentStatus::Confirming | PaymentStatus::Paid
            );
            if !busy || Instant::now() >= deadline {
                return Ok(now);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The answer to a confirmation, from where its payment stands.
    fn answer(&self, payment: Payment) -> Result<PaymentView, PaymentError> {
        match payment.status {
            PaymentStatus::Done | PaymentStatus::Paid => Ok(view(payment)),
            PaymentStatus::Failed => Err(PaymentError::Declined {
                code: payment.failure_code.unwrap_or_default(),
                message: payment.failure_message.unwrap_or_default(),
            }),
            PaymentStatus::Unknown => {
                Err(PaymentError::ProviderUnavailable(UNKNOWN_OUTCOME.into()))
            }
            PaymentStatus::Ready | PaymentStatus::Confirming => Err(PaymentError::InProgress),
            // Refunded because the buyer asked: that is where it stands.
            PaymentStatus::Refunding | PaymentStatus::Refunded if payment.refund_from.is_some() => {
                Ok(view(payment))
            }
            // Refunded because what it paid for could not be had.
            PaymentStatus::Refunding | PaymentStatus::Refunded => match payment.target() {
                Some(Target::Membership(_)) => Err(PaymentError::Conflict(
                    "this membership was no longer awaiting payment; the payment was refunded"
                        .into(),
                )),
                Some(Target::Transfer(_)) => Err(PaymentError::Conflict(
                    "this ticket was no longer for sale; the payment was refunded".into(),
                )),
                _ => Err(PaymentError::HoldExpired),
            },
        }
    }

    pub async fn get(
        &self,
        user: Uuid,
        is_admin: bool,
        order: &str,
    ) -> Result<PaymentView, PaymentError> {
        Ok(view(
            payments::by_order(self.db(), order)
                .await?
                .filter(|p| is_admin || p.user_id == user)
                .ok_or(PaymentError::NotFound("order"))?,
        ))
    }

    /// One attempt to finish a charged payment (the ticket consumer of
    /// `PaymentConfirmed`): its ticket confirmed, completed late, or the money back.
    pub async fn complete_order(&self, order: &str) -> Result<Completion, PaymentError> {
        let payment = payments::by_order(self.db(), order)
            .await?
            .ok_or(PaymentError::NotFound("order"))?;
        // A refund is driven by whoever decided it, then by the reconciler: asking the
        // provider a second time meanwhile would only be answered "cancelled already".
        let refund_under_way = payment.status == PaymentStatus::Refunding
            && payment.next_check_at.is_some_and(|at| at > Utc::now());
        if refund_under_way {
            return Ok(Completion::Unfinished("a refund is under way".into()));
        }
        Ok(match self.settler.advance(&payment).await? {
            Progress::Waiting(why) => Completion::Unfinished(why),
            Progress::Reached(now) => match now.status {
                PaymentStatus::Done => Completion::Delivered,
                PaymentStatus::Refunded => Completion::Refunded,
                PaymentStatus::Failed => Completion::NotCharged,
                _ => Completion::Unfinished(format!("the payment is {}", now.status)),
            },
        })
    }
}
