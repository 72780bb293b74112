//! Faults against real processes (docs/operations.md#faults): a rush through the load
//! generator while nodes are killed, frozen past their leases, restarted one by one or
//! joined by another, then a check of the system of record that nothing was lost and
//! nothing sold twice. Small in CI; `scripts/faults.sh` runs them full size.

mod checker;
mod cluster;
mod measure;
mod partition;
mod provider;
mod rush;
mod services;
mod single_node;
mod site;
/// The Toss stand-in the API tests use, shared as is.
#[allow(clippy::unwrap_used)]
#[path = "../api/payments/toss.rs"]
mod toss;

/// One fault run at a time: each runs several nodes and a rush, on two cores.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
