//! Payments (`docs/architecture.md#money`): providers behind one trait, and the flow that turns a held
//! reservation (or a fan-club membership, or a transferred ticket) into a sale exactly
//! once — or gives the money back. Every charge ends delivered or refunded: what a
//! request leaves unfinished, the ticket consumer and the [`Reconciler`] finish.

mod completion;
mod config;
mod error;
mod payable;
mod provider;
mod reconciler;
mod refund;
mod refund_request;
mod sandbox;
mod service;
mod settler;
mod telemetry;
mod tickets;
mod toss;
mod view;

pub use config::{PaymentsConfig, TransferSettlement};
pub use error::PaymentError;
pub use provider::{Charge, PaymentProvider, ProviderError, ProviderReceipt};
pub use reconciler::{Reconciler, Round};
pub use sandbox::Sandbox;
pub use service::PaymentService;
pub use toss::Toss;
pub use urr_store::payments::Target;
pub use view::{Completion, PaymentView, Prepared};
