//! `/api/v1/auth/*`: accounts and sessions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::Role;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1)]
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// A Google ID token from the browser's sign-in button.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GoogleRequest {
    pub credential: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// Whether the owner of `email` proved it (a mailed link, or Google).
    #[serde(default)]
    pub email_verified: bool,
}

/// The reply to register, login, refresh and Google sign-in (the cookies carry the same
/// access token and the refresh token).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: UserView,
    pub access_token: String,
    pub expires_at: DateTime<Utc>,
}

/// `GET /api/v1/auth/me`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeView {
    pub user: UserView,
}

/// `POST /api/v1/auth/verify-email`: the token from the mailed link.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerifyEmailRequest {
    pub token: String,
}

/// `POST /api/v1/auth/verify-email/resend`: whether the address needed verifying and
/// whether a new link went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationSent {
    pub email_verified: bool,
    pub sent: bool,
}

/// `POST /api/v1/auth/logout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignedOut {
    pub signed_out: bool,
}
