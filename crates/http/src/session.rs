//! Who is calling: the access token from `Authorization: Bearer` or the `access_token`
//! cookie, and the admin and door-staff gates.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use urr_auth::{AccessClaims, Role};
use uuid::Uuid;

use crate::cookies::{self, ACCESS_COOKIE};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
}

/// The access token a request carries: `Authorization: Bearer`, else the cookie.
pub(crate) fn access_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").map(str::trim).map(str::to_owned))
        .or_else(|| cookies::read(headers, ACCESS_COOKIE))
}

/// An access token the rate limiter already verified with the node's keys, left in the
/// request's extensions so [`CurrentUser`] does not verify its signature again. Only the
/// edge's own middleware inserts it (a client cannot set an extension), and it is used
/// only for the very token it was verified from.
#[derive(Clone)]
pub(crate) struct VerifiedAccess {
    token: String,
    claims: AccessClaims,
}

impl VerifiedAccess {
    pub(crate) fn new(token: String, claims: AccessClaims) -> Self {
        Self { token, claims }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = access_token(&parts.headers)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "sign-in required"))?;
        let claims = match parts.extensions.get::<VerifiedAccess>() {
            Some(verified) if verified.token == token => verified.claims.clone(),
            _ => state.keys.verify_access(&token)?,
        };
        Ok(CurrentUser {
            id: claims.sub,
            email: claims.email,
            role: claims.role,
        })
    }
}

/// A signed-in caller with the admin role: 401 when anonymous, 403 when not an admin.
///
/// The role is read from the account, not from the access token: `urr admin grant` (and a
/// revocation) takes effect on the caller's next request instead of at their next
/// sign-in, 15 minutes later. Operator calls are few, so the lookup costs nothing that
/// matters.
#[derive(Debug, Clone)]
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = with_role(parts, state, &[Role::Admin], "admin role required").await?;
        Ok(AdminUser(user))
    }
}

/// A signed-in caller who may check tickets in: door staff or an admin (docs/tickets.md).
/// The role is read from the account, as for [`AdminUser`].
#[derive(Debug, Clone)]
pub struct StaffUser(pub CurrentUser);

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let roles = [Role::Staff, Role::Admin];
        let user = with_role(parts, state, &roles, "staff or admin role required").await?;
        Ok(StaffUser(user))
    }
}

/// The caller, if their account has one of `roles` now.
async fn with_role(
    parts: &mut Parts,
    state: &AppState,
    roles: &[Role],
    refusal: &'static str,
) -> Result<CurrentUser, ApiError> {
    let mut user = CurrentUser::from_request_parts(parts, state).await?;
    let account = urr_store::users::find_by_id(&state.db, user.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "account no longer exists"))?;
    if !roles.contains(&account.role) {
        return Err(ApiError::new(ErrorCode::Forbidden, refusal));
    }
    user.role = account.role;
    Ok(user)
}
