use urr_actors::event::EventError;
use urr_store::StoreError;

/// Why a payment call was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("amount does not match the reservation")]
    AmountMismatch,
    #[error("reservation is not pending")]
    NotPending,
    #[error("the hold has expired")]
    HoldExpired,
    #[error("payment is not refundable")]
    NotRefundable,
    #[error("payment provider declined: {code}: {message}")]
    Declined { code: String, message: String },
    #[error("payment provider unavailable: {0}")]
    ProviderUnavailable(String),
    #[error("this payment method is not enabled")]
    MethodDisabled,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("a payment for this is being confirmed; ask again for its outcome")]
    InProgress,
    /// The thing paid for cannot be paid for (or refunded) now; the message says why.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Event(#[from] EventError),
}
