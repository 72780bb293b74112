//! The one place where failures become HTTP: every error is `{error: {code, message}}`
//! with the status its [`ErrorCode`] maps to.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use urr_actors::event::EventError;
use urr_auth::AuthError;
use urr_payments::PaymentError;
use urr_store::StoreError;
use urr_wire::ErrorBody;

use crate::state::Tier1Unavailable;
use crate::stream_slots::Full;

/// A small, stable vocabulary of failures that clients can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidInput,
    InvalidJson,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unauthorized,
    InvalidCredentials,
    TokenExpired,
    InvalidToken,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    EmailTaken,
    NotOnSale,
    SeatsTaken,
    SoldOut,
    HoldExpired,
    StaleFencingToken,
    NotPending,
    EntryTokenRequired,
    /// The event's queue is on and the caller is not admitted now (their entry token
    /// outlived their turn).
    NotAdmitted,
    /// The caller's seats or tickets at this event would pass the per-user limit.
    UserLimitReached,
    AmountMismatch,
    PaymentDeclined,
    PaymentInProgress,
    ProviderUnavailable,
    MethodDisabled,
    Tier1TokenRequired,
    /// The event's Tier-1 room could not be read; retry (the queue fails closed).
    Tier1Unavailable,
    /// A members-only pre-sale window is open and the caller's tier is not in it.
    PresaleMembersOnly,
    UnknownReference,
    GoogleDisabled,
    /// An email verification link that is forged, expired, or for an address the account
    /// no longer has.
    InvalidLink,
    /// An email verification link used before.
    LinkUsed,
    /// Google sign-in found an account with the email whose ownership was never verified.
    EmailUnverified,
    /// A ticket code this site did not issue, or mistyped.
    InvalidTicketCode,
    /// The ticket was checked in before; the reply says when and where.
    AlreadyCheckedIn,
    /// The ticket no longer admits anyone: refunded, cancelled, or replaced by a transfer.
    TicketVoid,
    /// A valid ticket, scanned at another event's door.
    WrongEvent,
    /// The waiting list is for sold-out events: seats are still free.
    SeatsAvailable,
    /// An invitation link this node did not sign, altered, or not an invitation at all.
    InvalidInvitation,
    /// An invitation link used before (by anyone).
    InvitationUsed,
    /// An invitation link the operator withdrew.
    InvitationRevoked,
    /// An invitation link past its expiry.
    InvitationExpired,
    /// The caller already has a place in (or is admitted to) the event's queue; the
    /// invitation was left unused.
    AlreadyQueued,
    RateLimited,
    /// The caller has as many streams open as one caller may.
    TooManyStreams,
    /// The node has as many streams open as it takes.
    StreamsFull,
    Unavailable,
    Timeout,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            InvalidInput | InvalidJson => StatusCode::BAD_REQUEST,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Unauthorized | InvalidCredentials | TokenExpired | InvalidToken => {
                StatusCode::UNAUTHORIZED
            }
            Forbidden => StatusCode::FORBIDDEN,
            InvalidLink => StatusCode::BAD_REQUEST,
            LinkUsed | EmailUnverified => StatusCode::CONFLICT,
            NotFound | GoogleDisabled => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict | EmailTaken | NotOnSale | SeatsTaken | SoldOut | HoldExpired
            | StaleFencingToken | NotPending | UserLimitReached => StatusCode::CONFLICT,
            EntryTokenRequired | NotAdmitted | Tier1TokenRequired | PresaleMembersOnly => {
                StatusCode::FORBIDDEN
            }
            AmountMismatch => StatusCode::BAD_REQUEST,
            PaymentDeclined => StatusCode::UNPROCESSABLE_ENTITY,
            PaymentInProgress => StatusCode::CONFLICT,
            ProviderUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            MethodDisabled => StatusCode::NOT_FOUND,
            UnknownReference => StatusCode::UNPROCESSABLE_ENTITY,
            InvalidTicketCode => StatusCode::BAD_REQUEST,
            AlreadyCheckedIn | WrongEvent | SeatsAvailable => StatusCode::CONFLICT,
            TicketVoid => StatusCode::GONE,
            InvalidInvitation => StatusCode::BAD_REQUEST,
            InvitationUsed | AlreadyQueued => StatusCode::CONFLICT,
            InvitationRevoked | InvitationExpired => StatusCode::GONE,
            RateLimited | TooManyStreams => StatusCode::TOO_MANY_REQUESTS,
            Unavailable | Timeout | Tier1Unavailable | StreamsFull => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            InvalidInput => "invalid_input",
            InvalidJson => "invalid_json",
            UnsupportedMediaType => "unsupported_media_type",
            PayloadTooLarge => "payload_too_large",
            Unauthorized => "unauthorized",
            InvalidCredentials => "invalid_credentials",
            TokenExpired => "token_expired",
            InvalidToken => "invalid_token",
            Forbidden => "forbidden",
            NotFound => "not_found",
            MethodNotAllowed => "method_not_allowed",
            Conflict => "conflict",
            EmailTaken => "email_taken",
            NotOnSale => "not_on_sale",
            SeatsTaken => "seats_taken",
            SoldOut => "sold_out",
            HoldExpired => "hold_expired",
            StaleFencingToken => "stale_fencing_token",
            NotPending => "not_pending",
            EntryTokenRequired => "entry_token_required",
            NotAdmitted => "not_admitted",
            UserLimitReached => "user_limit_reached",
            AmountMismatch => "amount_mismatch",
            PaymentDeclined => "payment_declined",
            PaymentInProgress => "payment_in_progress",
            ProviderUnavailable => "provider_unavailable",
            MethodDisabled => "method_disabled",
            Tier1TokenRequired => "tier1_token_required",
            Tier1Unavailable => "tier1_unavailable",
            PresaleMembersOnly => "presale_members_only",
            UnknownReference => "unknown_reference",
            GoogleDisabled => "google_disabled",
            InvalidLink => "invalid_link",
            LinkUsed => "link_used",
            EmailUnverified => "email_unverified",
            InvalidTicketCode => "invalid_ticket_code",
            AlreadyCheckedIn => "already_checked_in",
            TicketVoid => "ticket_void",
            WrongEvent => "wrong_event",
            SeatsAvailable => "seats_available",
            InvalidInvitation => "invalid_invitation",
            InvitationUsed => "invitation_used",
            InvitationRevoked => "invitation_revoked",
            InvitationExpired => "invitation_expired",
            AlreadyQueued => "already_queued",
            RateLimited => "rate_limited",
            TooManyStreams => "too_many_streams",
            StreamsFull => "streams_full",
            Unavailable => "unavailable",
            Timeout => "timeout",
            Internal => "internal",
        }
    }

    /// Seconds a client should wait before retrying, sent as `Retry-After`, for failures
    /// that pass on their own.
    pub fn retry_after_secs(self) -> Option<u64> {
        match self {
            ErrorCode::Tier1Unavailable => Some(2),
            ErrorCode::TooManyStreams | ErrorCode::StreamsFull => Some(10),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }
}

impl ApiError {
    /// This failure's response with `extra`'s fields beside `error`, for failures whose
    /// caller needs more than a message (a refused check-in says when the first one was).
    pub fn with_details<T: Serialize>(self, extra: T) -> Response {
        #[derive(Serialize)]
        struct Detailed<T> {
            #[serde(flatten)]
            body: ErrorBody,
            #[serde(flatten)]
            extra: T,
        }
        let code = self.code;
        let body = Detailed {
            body: ErrorBody::new(code.as_str(), self.message),
            extra,
        };
        finish(code, Json(body).into_response())
    }
}

/// The status and the headers of a failure, around its body.
fn finish(code: ErrorCode, mut response: Response) -> Response {
    let status = code.status();
    *response.status_mut() = status;
    if let Some(secs) = code.retry_after_secs() {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code.as_str(), message = %self.message, "request failed");
        }
        let code = self.code;
        finish(
            code,
            Json(ErrorBody::new(code.as_str(), self.message)).into_response(),
        )
    }
}

impl From<Full> for ApiError {
    fn from(full: Full) -> Self {
        match full {
            Full::Caller => ApiError::new(
                ErrorCode::TooManyStreams,
                "you have as many live streams open as one person may: close one first",
            ),
            Full::Node => {
                tracing::warn!("seat streams at this node's cap; refusing more");
                ApiError::new(
                    ErrorCode::StreamsFull,
                    "this node has no room for another live stream; retry shortly",
                )
            }
        }
    }
}

impl From<Tier1Unavailable> for ApiError {
    fn from(err: Tier1Unavailable) -> Self {
        tracing::warn!(error = %err.0, "Tier-1 room unreadable: refusing rather than bypassing it");
        ApiError::new(
            ErrorCode::Tier1Unavailable,
            "the waiting room cannot be checked right now; retry shortly",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            StoreError::Conflict(what) => ApiError::new(ErrorCode::Conflict, what),
            StoreError::MissingReference(what) => {
                ApiError::new(ErrorCode::UnknownReference, format!("unknown {what}"))
            }
            e if e.is_unavailable() => {
                tracing::error!(error = %e, "store unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "a storage dependency is unavailable",
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Expired => ApiError::new(ErrorCode::TokenExpired, "token has expired"),
            AuthError::Invalid(why) => ApiError::new(ErrorCode::InvalidToken, why),
            AuthError::GoogleDisabled => ApiError::new(
                ErrorCode::GoogleDisabled,
                "Google sign-in is not configured",
            ),
            AuthError::ProviderUnavailable(why) => {
                tracing::warn!(%why, "identity provider unavailable");
                ApiError::new(ErrorCode::Unavailable, "identity provider unavailable")
            }
            AuthError::Hashing(why) => {
                tracing::error!(%why, "password hashing failed");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<EventError> for ApiError {
    fn from(err: EventError) -> Self {
        let message = err.to_string();
        let ids = |seats: &[urr_actors::ids::SeatId]| {
            seats
                .iter()
                .map(|s| s.0.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match err {
            EventError::EventNotFound => ApiError::not_found("event"),
            EventError::ReservationNotFound => ApiError::not_found("reservation"),
            EventError::NotOnSale => ApiError::new(ErrorCode::NotOnSale, message),
            EventError::SeatsTaken(seats) => ApiError::new(
                ErrorCode::SeatsTaken,
                format!("seats are no longer available: {}", ids(&seats)),
            ),
            EventError::UnknownSeats(seats) => {
                ApiError::invalid(format!("unknown seats for this event: {}", ids(&seats)))
            }
            EventError::DuplicateSeats(seats) => {
                ApiError::invalid(format!("seats requested twice: {}", ids(&seats)))
            }
            EventError::TooMany { .. }
            | EventError::Empty
            | EventError::UnknownTicketType
            | EventError::HasSeatMap => ApiError::invalid(message),
            EventError::SoldOut => ApiError::new(ErrorCode::SoldOut, message),
            EventError::UserLimit { .. } => ApiError::new(ErrorCode::UserLimitReached, message),
            EventError::NotAdmitted => ApiError::new(ErrorCode::NotAdmitted, message),
            EventError::NotPending | EventError::DuplicateRequest(_) => {
                ApiError::new(ErrorCode::NotPending, message)
            }
            EventError::HoldExpired => ApiError::new(ErrorCode::HoldExpired, message),
            EventError::StaleFencingToken(seats) => ApiError::new(
                ErrorCode::StaleFencingToken,
                format!("seat locks were re-taken: {}", ids(&seats)),
            ),
            EventError::QueueFull
            | EventError::Stopped
            | EventError::NotOwner
            | EventError::Unavailable(_) => {
                tracing::warn!(%message, "event unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the event is temporarily unavailable",
                )
            }
        }
    }
}

impl From<PaymentError> for ApiError {
    fn from(err: PaymentError) -> Self {
        let message = err.to_string();
        match err {
            PaymentError::NotFound(what) => ApiError::not_found(what),
            PaymentError::AmountMismatch => ApiError::new(ErrorCode::AmountMismatch, message),
            PaymentError::NotPending | PaymentError::NotRefundable => {
                ApiError::new(ErrorCode::NotPending, message)
            }
            PaymentError::HoldExpired => ApiError::new(ErrorCode::HoldExpired, message),
            PaymentError::Declined { .. } => ApiError::new(ErrorCode::PaymentDeclined, message),
            PaymentError::ProviderUnavailable(_) => {
                ApiError::new(ErrorCode::ProviderUnavailable, message)
            }
            PaymentError::MethodDisabled => ApiError::new(ErrorCode::MethodDisabled, message),
            PaymentError::Invalid(why) => ApiError::invalid(why),
            PaymentError::InProgress => ApiError::new(ErrorCode::PaymentInProgress, message),
            PaymentError::Conflict(why) => ApiError::new(ErrorCode::Conflict, why),
            PaymentError::Store(e) => e.into(),
            PaymentError::Event(e) => e.into(),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
