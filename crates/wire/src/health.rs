//! `/healthz` (the process answers) and `/readyz` (its dependencies answer).

use serde::{Deserialize, Serialize};

use crate::error::ErrorDetail;

/// `GET /healthz`: `{"status": "ok"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Live {
    pub status: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dependency {
    Ok,
    Down,
}

/// `GET /readyz` when both dependencies answer: `status` is `ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ready {
    pub status: String,
    pub postgres: Dependency,
    pub redis: Dependency,
}

/// `GET /readyz` with a dependency down (503): the usual error body, with each
/// dependency's state beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unready {
    pub error: ErrorDetail,
    pub postgres: Dependency,
    pub redis: Dependency,
}
