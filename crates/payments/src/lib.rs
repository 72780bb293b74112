//! Payments (SPEC 2.4): providers behind one trait, and the flow that turns a held
//! reservation (or a fan-club membership, or a transferred ticket) into a sale exactly
//! once — or gives the money back.

mod config;
mod error;
mod provider;
mod sandbox;
mod service;
mod toss;

pub use config::{PaymentsConfig, TransferSettlement};
pub use error::PaymentError;
pub use provider::{PaymentProvider, ProviderError, ProviderReceipt};
pub use sandbox::Sandbox;
pub use service::{PaymentService, Prepared};
pub use toss::Toss;
pub use urr_store::payments::Target;
