use async_trait::async_trait;

/// What a provider says after taking the money.
#[derive(Debug, Clone)]
pub struct ProviderReceipt {
    pub method: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    /// The provider refused (card declined, bad key, ...): nothing was charged.
    #[error("declined: {code}: {message}")]
    Declined { code: String, message: String },
    /// No answer, a timeout or a 5xx: the outcome is unknown to us, treat as not charged
    /// and let the provider's own reconciliation settle it.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// A payment provider: confirm a payment the browser authorised, or cancel one.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
    ) -> Result<ProviderReceipt, ProviderError>;

    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        amount: i64,
    ) -> Result<(), ProviderError>;
}
