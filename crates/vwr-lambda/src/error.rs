//! The crate's one error type and how it answers over HTTP: `{error: {code, message}}`
//! with the status of its [`ErrorCode`].

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;
use thiserror::Error;
use urr_auth::AuthError;

/// The codes a client may branch on. `vwr_inactive` is the one the seed's client relies
/// on: it bypasses Tier 1 when it sees it (`docs/architecture.md#the-design-urr-rebuilds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidInput,
    InvalidJson,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unauthorized,
    Forbidden,
    NotFound,
    VwrInactive,
    MethodNotAllowed,
    NotOpen,
    Conflict,
    Unavailable,
    Internal,
    /// The room asks for a proof of work and none came with the join.
    ChallengeRequired,
    /// Not a challenge this room issued to this user (or easier than it asks now).
    ChallengeInvalid,
    ChallengeExpired,
    /// The counter does not solve the challenge.
    ChallengeUnsolved,
    /// The challenge was already used for a join.
    ChallengeUsed,
    CaptchaRequired,
    /// The verifier said no.
    CaptchaFailed,
    /// The verifier could not be asked; joins needing it are refused meanwhile.
    CaptchaUnavailable,
    /// Past the room's per-address or per-account join limit.
    TooManyJoins,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::InvalidInput
            | ErrorCode::InvalidJson
            | ErrorCode::ChallengeRequired
            | ErrorCode::CaptchaRequired => StatusCode::BAD_REQUEST,
            ErrorCode::ChallengeInvalid
            | ErrorCode::ChallengeExpired
            | ErrorCode::ChallengeUnsolved
            | ErrorCode::CaptchaFailed => StatusCode::FORBIDDEN,
            ErrorCode::ChallengeUsed => StatusCode::CONFLICT,
            ErrorCode::CaptchaUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::TooManyJoins => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound | ErrorCode::VwrInactive => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::NotOpen | ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::VwrInactive => "vwr_inactive",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::NotOpen => "not_open",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::ChallengeRequired => "challenge_required",
            ErrorCode::ChallengeInvalid => "challenge_invalid",
            ErrorCode::ChallengeExpired => "challenge_expired",
            ErrorCode::ChallengeUnsolved => "challenge_unsolved",
            ErrorCode::ChallengeUsed => "challenge_used",
            ErrorCode::CaptchaRequired => "captcha_required",
            ErrorCode::CaptchaFailed => "captcha_failed",
            ErrorCode::CaptchaUnavailable => "captcha_unavailable",
            ErrorCode::TooManyJoins => "too_many_joins",
        }
    }
}

#[derive(Debug, Error)]
pub enum VwrError {
    #[error("{0}")]
    Invalid(String),
    #[error("{message}")]
    Body { code: ErrorCode, message: String },
    #[error("operator credentials required")]
    Unauthorized,
    /// A join or check without a valid access token.
    #[error("{0}")]
    SignIn(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("the waiting room is not active for this event")]
    Inactive,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the pre-queue opens at {0}")]
    NotOpen(DateTime<Utc>),
    #[error("{0}")]
    Conflict(String),
    /// Redis or DynamoDB failed or did not answer.
    #[error("store unavailable: {0}")]
    Store(String),
    #[error("token signing failed: {0}")]
    Token(#[from] AuthError),
    #[error("configuration: {0}")]
    Config(String),
    /// Past a join limit: 429 with `Retry-After`.
    #[error("{message}")]
    Limited { retry_after: u64, message: String },
}

impl VwrError {
    pub fn code(&self) -> ErrorCode {
        match self {
            VwrError::Invalid(_) => ErrorCode::InvalidInput,
            VwrError::Body { code, .. } => *code,
            VwrError::Unauthorized | VwrError::SignIn(_) => ErrorCode::Unauthorized,
            VwrError::Forbidden(_) => ErrorCode::Forbidden,
            VwrError::Inactive => ErrorCode::VwrInactive,
            VwrError::NotFound(_) => ErrorCode::NotFound,
            VwrError::NotOpen(_) => ErrorCode::NotOpen,
            VwrError::Conflict(_) => ErrorCode::Conflict,
            VwrError::Store(_) => ErrorCode::Unavailable,
            VwrError::Token(_) | VwrError::Config(_) => ErrorCode::Internal,
            VwrError::Limited { .. } => ErrorCode::TooManyJoins,
        }
    }

    pub fn store(err: impl std::fmt::Display) -> Self {
        VwrError::Store(err.to_string())
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        VwrError::Invalid(message.into())
    }

    /// A refusal with its own code, e.g. a bot-defence check.
    pub fn refused(code: ErrorCode, message: impl Into<String>) -> Self {
        VwrError::Body {
            code,
            message: message.into(),
        }
    }
}

impl From<redis::RedisError> for VwrError {
    fn from(err: redis::RedisError) -> Self {
        VwrError::store(err)
    }
}

impl IntoResponse for VwrError {
    fn into_response(self) -> Response {
        let code = self.code();
        let status = code.status();
        let message = if status.is_server_error() {
            // Store and signing details are for the log, not for the client.
            tracing::warn!(code = code.as_str(), error = %self, "waiting-room request failed");
            match code {
                ErrorCode::Unavailable => "a storage dependency is unavailable".to_owned(),
                ErrorCode::CaptchaUnavailable => {
                    "the CAPTCHA check is unavailable; try again shortly".to_owned()
                }
                _ => "internal error".to_owned(),
            }
        } else {
            self.to_string()
        };
        let body = json!({"error": {"code": code.as_str(), "message": message}});
        let mut response = (status, Json(body)).into_response();
        if let VwrError::Limited { retry_after, .. } = self {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}
