//! Payments as Prometheus sees them (`docs/operations.md#metrics`): what providers
//! answered and how payments ended, by provider.

use urr_wire::status::PaymentProvider;

/// One outcome: `charged`, `declined` or `no_verdict` from a confirmation; `ticketed` or
/// `refunded` when a payment ends.
pub(crate) fn outcome(provider: PaymentProvider, outcome: &'static str) {
    metrics::counter!("urr_payments_total", "provider" => provider.as_str(), "outcome" => outcome)
        .increment(1);
}
