use async_trait::async_trait;

/// What a provider says after taking the money.
#[derive(Debug, Clone)]
pub struct ProviderReceipt {
    pub method: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused (card declined, bad key, ...): nothing was charged (or, for a
    /// cancel, nothing was given back).
    #[error("declined: {code}: {message}")]
    Declined { code: String, message: String },
    /// No verdict: a timeout, a 5xx, an unreadable answer. The call may have taken
    /// effect; only asking the provider later ([`PaymentProvider::lookup`]) tells.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// What the provider's own record of an order says about the money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Charge {
    /// It took the money.
    Charged { method: String },
    /// It never charged and never will: no such payment, or it was aborted or expired.
    NotCharged,
    /// Authorised by the buyer but not settled yet: a confirmation may still land.
    Pending,
    /// It charged and gave the money back.
    Cancelled,
}

/// A payment provider: confirm a payment the browser authorised, cancel one, or look up
/// what became of an order.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
    ) -> Result<ProviderReceipt, ProviderError>;

    /// Gives the money back. Cancelling a payment that was cancelled already succeeds, so
    /// a refund can be repeated after a crash.
    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        amount: i64,
    ) -> Result<(), ProviderError>;

    /// The provider's record of `order_id` (and the key it was confirmed with, if any).
    async fn lookup(
        &self,
        payment_key: Option<&str>,
        order_id: &str,
    ) -> Result<Charge, ProviderError>;
}
