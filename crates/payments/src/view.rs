//! What callers see of payments.

use urr_store::payments::{Payment, Target};

/// What the browser needs to open the provider's payment window.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub order_id: String,
    pub amount: i64,
    pub client_key: String,
    pub target: Target,
}

pub use urr_wire::payments::PaymentView;

/// What a caller sees of a payment (the wire type, a view of the store's row).
pub fn view(p: Payment) -> PaymentView {
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

/// Where a payment the ticket consumer heard of stands after an attempt to complete it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completion {
    /// The buyer has what they paid for.
    Delivered,
    /// The money went back.
    Refunded,
    /// Nothing was charged: nothing is owed either way.
    NotCharged,
    /// Not finished (the actor or the provider is away, the hold has not lapsed yet): the
    /// reason; try again later.
    Unfinished(String),
}
