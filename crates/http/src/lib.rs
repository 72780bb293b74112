//! The axum edge: every HTTP route of URR, the one place errors become statuses, and the
//! middleware that every request passes (ids, tracing, limits, timeouts, headers).

pub mod config;
mod cookies;
mod entry;
mod error;
mod extract;
mod gate_rules;
mod limit_batches;
pub mod mail;
mod memory_windows;
pub mod metrics;
mod middleware;
mod openapi;
mod pagination;
mod presale;
mod qr;
pub mod rate_limit;
mod request_id;
mod routes;
mod session;
mod startup;
mod state;
mod stream_slots;
mod validate;

pub use config::HttpConfig;
pub use error::{ApiError, ErrorCode};
pub use session::{AdminUser, CurrentUser};
pub use startup::{Mount, router, router_with, router_with_ui, serve};
pub use state::{AppState, Tier1Rooms, Tier1Unavailable};
