//! Accounts (SPEC 2.5): register, login, refresh with rotation, logout, me, Google.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use urr_auth::{Role, password, refresh as refresh_secret};
use urr_store::refresh_tokens::{self, NewRefreshToken, Rotation};
use urr_store::users::{self, User};
use uuid::Uuid;

use crate::cookies::{self, REFRESH_COOKIE, REFRESH_TTL_DAYS};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::validate;

/// Bounds the argon2 input: longer passwords add no security, only hashing cost.
const MAX_PASSWORD: usize = 128;
/// One message for unknown email and wrong password, so neither reveals an account.
const BAD_CREDENTIALS: &str = "email or password is incorrect";

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    id: Uuid,
    email: String,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionView {
    user: UserView,
    access_token: String,
    expires_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
pub struct RegisterRequest {
    email: String,
    password: String,
    name: String,
}

pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> ApiResult<Response> {
    let email = validate::email(&body.email)?;
    let name = validate::text("name", &body.name, 1, 100)?;
    let chars = body.password.chars().count();
    if chars < 8 {
        return Err(ApiError::invalid("password must be at least 8 characters"));
    }
    if chars > MAX_PASSWORD {
        return Err(ApiError::invalid(format!(
            "password must be at most {MAX_PASSWORD} characters"
        )));
    }
    let hash = hash_password(&state, body.password).await?;
    let user = users::create(&state.db, &email, &name, &hash)
        .await
        .map_err(|e| match e {
            urr_store::StoreError::Conflict(_) => {
                ApiError::new(ErrorCode::EmailTaken, "an account with this email exists")
            }
            other => other.into(),
        })?;
    start_session(&state, user, StatusCode::CREATED).await
}

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    email: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let refused = || ApiError::new(ErrorCode::InvalidCredentials, BAD_CREDENTIALS);
    if let Err(limited) = state.limits.account(&body.email).await {
        return Ok(limited);
    }
    if body.password.chars().count() > MAX_PASSWORD {
        return Err(refused());
    }
    let user = users::find_by_email(&state.db, body.email.trim()).await?;
    let password = body.password;
    let _slot = password_slot(&state).await?;
    let verified = tokio::task::spawn_blocking(move || match user {
        Some(user) => {
            let ok = user
                .password_hash
                .as_deref()
                .is_some_and(|hash| password::verify(&password, hash));
            ok.then_some(user)
        }
        None => {
            password::verify_against_nothing(&password);
            None
        }
    })
    .await
    .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?;
    let user = verified.ok_or_else(refused)?;
    start_session(&state, user, StatusCode::OK).await
}

/// Rotates the refresh token from the cookie: the old one is spent, a new one (same
/// family) and a new access token are set. A spent token revokes its family.
pub async fn refresh(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let presented = cookies::read(&headers, REFRESH_COOKIE)
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "no refresh token"))?;
    let replacement = refresh_secret::new_secret();
    let now = Utc::now();
    let rotation = refresh_tokens::rotate(
        &state.db,
        &refresh_secret::digest(&presented),
        &refresh_secret::digest(&replacement),
        now + Duration::days(REFRESH_TTL_DAYS),
        now,
    )
    .await?;
    let user_id = match rotation {
        Rotation::Rotated { user_id, .. } => user_id,
        Rotation::Reused { family_id } => {
            tracing::warn!(%family_id, "refresh token reused: family revoked");
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "refresh token was already used; please sign in again",
            ));
        }
        Rotation::Invalid => {
            return Err(ApiError::new(
                ErrorCode::InvalidToken,
                "refresh token is not valid",
            ));
        }
    };
    let user = users::find_by_id(&state.db, user_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "account no longer exists"))?;
    session_response(&state, user, &replacement, StatusCode::OK)
}

/// Revokes the refresh family (if a token came along) and clears both cookies.
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(presented) = cookies::read(&headers, REFRESH_COOKIE) {
        refresh_tokens::revoke_family_of(
            &state.db,
            &refresh_secret::digest(&presented),
            Utc::now(),
        )
        .await?;
    }
    let mut response = axum::Json(serde_json::json!({"signedOut": true})).into_response();
    cookies::append(
        response.headers_mut(),
        cookies::cleared(state.config.secure_cookies),
    );
    Ok(response)
}

pub async fn me(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Response> {
    let user = users::find_by_id(&state.db, caller.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "account no longer exists"))?;
    Ok(axum::Json(serde_json::json!({"user": UserView::from(user)})).into_response())
}

#[derive(Debug, Deserialize)]
pub struct GoogleRequest {
    credential: String,
}

pub async fn google(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<GoogleRequest>,
) -> ApiResult<Response> {
    let verifier = state
        .google
        .clone()
        .ok_or_else(|| ApiError::from(urr_auth::AuthError::GoogleDisabled))?;
    let identity = verifier.verify(&body.credential).await?;
    let user =
        users::find_or_create_google(&state.db, &identity.sub, &identity.email, &identity.name)
            .await?;
    start_session(&state, user, StatusCode::OK).await
}

/// Waits for a free core for argon2 (see [`AppState::password_slots`]).
async fn password_slot(state: &AppState) -> ApiResult<tokio::sync::SemaphorePermit<'_>> {
    state
        .password_slots
        .acquire()
        .await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))
}

async fn hash_password(state: &AppState, password: String) -> ApiResult<String> {
    let _slot = password_slot(state).await?;
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| ApiError::new(ErrorCode::Internal, "internal error"))?
        .map_err(ApiError::from)
}

/// Opens a new refresh family for `user` and answers with both cookies set.
async fn start_session(state: &AppState, user: User, status: StatusCode) -> ApiResult<Response> {
    let secret = refresh_secret::new_secret();
    refresh_tokens::insert(
        &state.db,
        &NewRefreshToken {
            family_id: Uuid::now_v7(),
            user_id: user.id,
            token_hash: refresh_secret::digest(&secret),
            expires_at: Utc::now() + Duration::days(REFRESH_TTL_DAYS),
        },
    )
    .await?;
    session_response(state, user, &secret, status)
}

fn session_response(
    state: &AppState,
    user: User,
    refresh: &str,
    status: StatusCode,
) -> ApiResult<Response> {
    let role = Role::parse(&user.role).unwrap_or(Role::User);
    let (access, claims) = state.keys.issue_access(user.id, &user.email, role)?;
    let secure = state.config.secure_cookies;
    let body = SessionView {
        user: user.into(),
        access_token: access.clone(),
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now),
    };
    let mut response = (status, axum::Json(body)).into_response();
    cookies::append(
        response.headers_mut(),
        [
            cookies::access(&access, secure),
            cookies::refresh(refresh, secure),
        ],
    );
    Ok(response)
}
