use std::time::Duration;

use clap::Args;

/// Payment providers. Toss is on when its secret key is set; the sandbox only when
/// enabled (it confirms without taking money).
#[derive(Debug, Clone, Args, Default)]
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
    /// Seconds to wait for the provider before treating the call as failed.
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
}
