//! Accounts (docs/architecture.md#accounts-and-tokens): register, login, refresh with rotation, logout, me, Google, and
//! email verification (a signed, expiring, single-use link sent through the mail port).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use urr_auth::{password, refresh as refresh_secret};
use urr_store::refresh_tokens::{self, NewRefreshToken, Rotation};
use urr_store::users::{self, EmailVerification, GoogleAccount, User};
use urr_wire::auth::{
    GoogleRequest, LoginRequest, MeView, RegisterRequest, SessionView, SignedOut, UserView,
    VerificationSent, VerifyEmailRequest,
};
use uuid::Uuid;

use crate::cookies::{self, REFRESH_COOKIE, REFRESH_TTL_DAYS};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::mail::Mail;
use crate::session::CurrentUser;
use crate::state::AppState;
use crate::validate;

/// Bounds the argon2 input: longer passwords add no security, only hashing cost.
const MAX_PASSWORD: usize = 128;
/// One message for unknown email and wrong password, so neither reveals an account.
const BAD_CREDENTIALS: &str = "email or password is incorrect";
/// How long sending one message may take before it counts as failed.
const MAIL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);

fn user_view(user: User) -> UserView {
    UserView {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        created_at: user.created_at,
        email_verified: user.email_verified_at.is_some(),
    }
}

#[utoipa::path(
    post,
    operation_id = "auth_register",
    path = "/api/v1/auth/register",
    tag = "auth",
    summary = "Create an account and sign in",
    request_body = urr_wire::auth::RegisterRequest,
    responses(
        (status = 201, description = "Signed up; access and refresh cookies set", body = urr_wire::auth::SessionView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    )
)]
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
    send_verification(&state, &user);
    start_session(&state, user, StatusCode::CREATED).await
}

#[utoipa::path(
    post,
    operation_id = "auth_login",
    path = "/api/v1/auth/login",
    tag = "auth",
    summary = "Sign in with email and password",
    request_body = urr_wire::auth::LoginRequest,
    responses(
        (status = 200, description = "Signed in; access and refresh cookies set", body = urr_wire::auth::SessionView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    )
)]
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
#[utoipa::path(
    post,
    operation_id = "auth_refresh",
    path = "/api/v1/auth/refresh",
    tag = "auth",
    summary = "Rotate the refresh token (cookie) for a new session",
    responses(
        (status = 200, description = "OK", body = urr_wire::auth::SessionView),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("refreshCookie" = []))
)]
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
#[utoipa::path(
    post,
    operation_id = "auth_logout",
    path = "/api/v1/auth/logout",
    tag = "auth",
    summary = "Revoke the refresh family and clear the cookies",
    responses(
        (status = 200, description = "OK", body = urr_wire::auth::SignedOut)
    )
)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(presented) = cookies::read(&headers, REFRESH_COOKIE) {
        refresh_tokens::revoke_family_of(
            &state.db,
            &refresh_secret::digest(&presented),
            Utc::now(),
        )
        .await?;
    }
    let mut response = axum::Json(SignedOut { signed_out: true }).into_response();
    cookies::append(
        response.headers_mut(),
        cookies::cleared(state.config.secure_cookies),
    );
    Ok(response)
}

#[utoipa::path(
    get,
    operation_id = "auth_me",
    path = "/api/v1/auth/me",
    tag = "auth",
    summary = "The signed-in user",
    responses(
        (status = 200, description = "OK", body = urr_wire::auth::MeView),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn me(State(state): State<AppState>, caller: CurrentUser) -> ApiResult<Response> {
    let user = users::find_by_id(&state.db, caller.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "account no longer exists"))?;
    Ok(axum::Json(MeView {
        user: user_view(user),
    })
    .into_response())
}

/// Signs in with a Google ID token. An existing account with the same email is linked
/// only when its email is verified: otherwise whoever registered that address first,
/// without owning it, would keep password access to the Google user's account.
#[utoipa::path(
    post,
    operation_id = "auth_google",
    path = "/api/v1/auth/google",
    tag = "auth",
    summary = "Sign in with a Google ID token",
    request_body = urr_wire::auth::GoogleRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::auth::SessionView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    )
)]
pub async fn google(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<GoogleRequest>,
) -> ApiResult<Response> {
    let verifier = state
        .google
        .clone()
        .ok_or_else(|| ApiError::from(urr_auth::AuthError::GoogleDisabled))?;
    let identity = verifier.verify(&body.credential).await?;
    let account =
        users::find_or_create_google(&state.db, &identity.sub, &identity.email, &identity.name)
            .await?;
    let user = match account {
        GoogleAccount::Found(user) | GoogleAccount::Linked(user) | GoogleAccount::Created(user) => {
            user
        }
        GoogleAccount::Unverified => {
            return Err(ApiError::new(
                ErrorCode::EmailUnverified,
                "an account with this email exists but the address was never verified: sign \
                 in with its password and verify the address to use Google sign-in with it",
            ));
        }
    };
    start_session(&state, user, StatusCode::OK).await
}

/// Uses an email verification link (the token from the message's link): once, before it
/// expires, and only while the account still has the address it was sent to.
#[utoipa::path(
    post,
    operation_id = "auth_verify_email",
    path = "/api/v1/auth/verify-email",
    tag = "auth",
    summary = "Confirm an email address with the mailed link",
    request_body = urr_wire::auth::VerifyEmailRequest,
    responses(
        (status = 200, description = "OK", body = urr_wire::auth::MeView),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 409, description = "Conflict", body = urr_wire::ErrorBody)
    )
)]
pub async fn verify_email(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<VerifyEmailRequest>,
) -> ApiResult<Response> {
    let claims = state
        .keys
        .verify_email_link(body.token.trim())
        .map_err(|err| match err {
            urr_auth::AuthError::Expired => ApiError::new(
                ErrorCode::InvalidLink,
                "this verification link has expired: ask for a new one",
            ),
            _ => ApiError::new(
                ErrorCode::InvalidLink,
                "this verification link is not valid",
            ),
        })?;
    let expires_at = DateTime::from_timestamp(claims.exp, 0).unwrap_or_else(Utc::now);
    match users::verify_email(&state.db, claims.jti, claims.sub, &claims.email, expires_at).await? {
        EmailVerification::Verified(user) => Ok(axum::Json(MeView {
            user: user_view(user),
        })
        .into_response()),
        EmailVerification::LinkUsed => Err(ApiError::new(
            ErrorCode::LinkUsed,
            "this verification link was already used",
        )),
        EmailVerification::NoSuchAccount => Err(ApiError::new(
            ErrorCode::InvalidLink,
            "no account has this address any more",
        )),
    }
}

/// Sends the caller a new verification link (unless their email is verified already).
#[utoipa::path(
    post,
    operation_id = "auth_resend_verification",
    path = "/api/v1/auth/verify-email/resend",
    tag = "auth",
    summary = "Mail a new verification link",
    responses(
        (status = 200, description = "Already verified; nothing sent", body = urr_wire::auth::VerificationSent),
        (status = 202, description = "A new link was sent", body = urr_wire::auth::VerificationSent),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 503, description = "Unavailable; retry", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn resend_verification(
    State(state): State<AppState>,
    caller: CurrentUser,
) -> ApiResult<Response> {
    let user = users::find_by_id(&state.db, caller.id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken, "account no longer exists"))?;
    if user.email_verified_at.is_some() {
        return Ok(axum::Json(VerificationSent {
            email_verified: true,
            sent: false,
        })
        .into_response());
    }
    verification_mail(&state, user.id, &user.email)
        .await
        .map_err(|err| {
            tracing::warn!(%err, "verification mail not sent");
            ApiError::new(
                ErrorCode::Unavailable,
                "the message could not be sent; retry later",
            )
        })?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(VerificationSent {
            email_verified: false,
            sent: true,
        }),
    )
        .into_response())
}

/// Sends `user` their verification link in the background: signing up neither waits on
/// the mail port nor fails with it (a new link can be asked for later).
fn send_verification(state: &AppState, user: &User) {
    let (state, id, email) = (state.clone(), user.id, user.email.clone());
    tokio::spawn(async move {
        if let Err(err) = verification_mail(&state, id, &email).await {
            tracing::warn!(%err, user = %id, "verification mail not sent; the user can ask again");
        }
    });
}

async fn verification_mail(state: &AppState, user: Uuid, email: &str) -> Result<(), String> {
    let (token, _) = state
        .keys
        .issue_email_link(user, email)
        .map_err(|e| e.to_string())?;
    let link = format!("{}/verify-email?token={token}", state.config.public_url());
    let mail = Mail {
        to: email.to_owned(),
        subject: "Confirm your email address for URR".into(),
        text: format!(
            "Open this link within 24 hours to confirm that this address is yours:\n\n{link}\n\n\
             If you did not create a URR account, ignore this message."
        ),
    };
    match tokio::time::timeout(MAIL_DEADLINE, state.mailer.send(&mail)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("the mail sender did not answer in time".into()),
    }
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
    let (access, claims) = state.keys.issue_access(user.id, &user.email, user.role)?;
    let secure = state.config.secure_cookies;
    let body = SessionView {
        user: user_view(user),
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
