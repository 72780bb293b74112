use std::time::Duration;

use clap::Args;

/// Payment providers. Toss is on when its secret key is set; the sandbox only when
/// enabled (it confirms without taking money).
#[derive(Debug, Clone, Args)]
pub struct PaymentsConfig {
    /// Toss Payments API base URL.
    #[arg(
        long,
        env = "URR_TOSS_BASE_URL",
        default_value = "https://api.tosspayments.com"
    )]
    pub toss_base_url: String,
    /// Toss Payments secret key (HTTP Basic user); Toss is off when unset.
    #[arg(long, env = "URR_TOSS_SECRET_KEY", hide_env_values = true)]
    pub toss_secret_key: Option<String>,
    /// Toss Payments client key, handed to the browser by `prepare`.
    #[arg(long, env = "URR_TOSS_CLIENT_KEY", default_value = "")]
    pub toss_client_key: String,
    /// Seconds to wait for the provider; a charge it has not answered by then is
    /// `unknown` until the reconciler asks the provider what happened.
    #[arg(long, env = "URR_PAYMENT_TIMEOUT_SECS", default_value_t = 10)]
    pub payment_timeout_secs: u64,
    /// Enable the sandbox provider (naverpay/kakaopay/transfer confirm at once).
    #[arg(long, env = "URR_PAYMENT_SANDBOX", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub payment_sandbox: bool,
    /// How the seller of a transferred ticket is settled: `refund` gives back their own
    /// payment up to the price the buyer paid; `payout` records the price as owed to them.
    #[arg(
        long,
        env = "URR_TRANSFER_SETTLEMENT",
        value_enum,
        default_value_t = TransferSettlement::Refund
    )]
    pub transfer_settlement: TransferSettlement,
    /// How often the payment reconciler looks for unsettled payments (unknown outcomes,
    /// paid without a ticket, unfinished refunds, seat locks owed a release); also the
    /// first wait of its backoff, which doubles with every look at one payment.
    #[arg(long, env = "URR_RECONCILE_INTERVAL_MS", default_value_t = 5000)]
    pub reconcile_interval_ms: u64,
    /// Seconds a paid payment or a refund is left to its own request and the ticket
    /// consumer before the reconciler finishes it.
    #[arg(long, env = "URR_RECONCILE_GRACE_SECS", default_value_t = 30)]
    pub reconcile_grace_secs: u64,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            toss_base_url: "https://api.tosspayments.com".into(),
            toss_secret_key: None,
            toss_client_key: String::new(),
            payment_timeout_secs: 10,
            payment_sandbox: false,
            transfer_settlement: TransferSettlement::Refund,
            reconcile_interval_ms: 5000,
            reconcile_grace_secs: 30,
        }
    }
}

/// How the seller of a transferred ticket gets their money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TransferSettlement {
    /// Their own payment is refunded, up to the buyer's price.
    #[default]
    Refund,
    /// They are paid the buyer's price (recorded as owed; paid out of band).
    Payout,
}

impl TransferSettlement {
    /// As recorded on the transfer.
    pub fn settlement(self) -> urr_wire::status::Settlement {
        match self {
            TransferSettlement::Refund => urr_wire::status::Settlement::Refund,
            TransferSettlement::Payout => urr_wire::status::Settlement::Payout,
        }
    }
}

impl PaymentsConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.payment_timeout_secs.max(1))
    }

    pub(crate) fn timing(&self) -> Timing {
        let provider = self.timeout();
        let every = Duration::from_millis(self.reconcile_interval_ms.max(10));
        let grace = Duration::from_secs(self.reconcile_grace_secs);
        Timing {
            // The provider's answer and recording it; a request cut off earlier by the
            // edge's timeout still settles, in its own task.
            request_wait: provider + Duration::from_secs(3),
            settle_within: provider + grace.max(Duration::from_secs(1)),
            grace,
            every,
            backoff_cap: Duration::from_secs(600).max(every),
        }
    }
}

/// How long each party gives a payment before the next one steps in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// A request waits this long for its settlement, then answers with where it stands.
    pub request_wait: Duration,
    /// A confirming payment is the request's own until this long after its claim.
    pub settle_within: Duration,
    /// A paid payment or a refund is left to its request and the ticket consumer this
    /// long before the reconciler finishes it.
    pub grace: Duration,
    /// The reconciler's round, and the first wait of its backoff.
    pub every: Duration,
    /// The longest wait between two looks at one payment.
    pub backoff_cap: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_answers_before_the_edge_times_out_and_the_reconciler_waits_past_it() {
        let timing = PaymentsConfig::default().timing();
        // The edge answers 503 after 15 s: a request must have answered by then.
        assert!(timing.request_wait + Duration::from_secs(1) < Duration::from_secs(15));
        // A confirmation's provider call is over before the reconciler asks about it.
        assert!(timing.settle_within > PaymentsConfig::default().timeout());
        assert!(timing.backoff_cap >= timing.every);
    }
}
