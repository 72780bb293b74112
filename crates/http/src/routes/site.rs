//! What the browser UI needs to know and cannot read elsewhere: which sign-in and payment
//! options this node has, an event's booking rules (its per-event seat limit and hold
//! time are admin settings, otherwise behind the admin role), and which order paid for a
//! reservation (to refund it from "my reservations").

use axum::Json;
use axum::extract::State;
use urr_store::payments::{self, Target};
use urr_wire::payments::ReservationPayment;
use urr_wire::site::{BookingRules, SiteConfig, TossConfig};
use urr_wire::status::PaymentStatus;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::session::CurrentUser;
use crate::state::AppState;

/// Public: nothing here is secret (the Toss client key is meant for browsers).
#[utoipa::path(
    get,
    operation_id = "site_config",
    path = "/api/v1/config",
    tag = "catalog",
    summary = "Sign-in and payment options for the UI",
    responses(
        (status = 200, description = "OK", body = urr_wire::site::SiteConfig)
    )
)]
pub async fn config(State(state): State<AppState>) -> Json<SiteConfig> {
    let payments = &state.config.payments;
    let toss = payments
        .toss_secret_key
        .as_ref()
        .filter(|_| !payments.toss_client_key.is_empty())
        .map(|_| TossConfig {
            client_key: payments.toss_client_key.clone(),
        });
    let defaults = state.queue_defaults;
    Json(SiteConfig {
        google_client_id: state.config.google_client_id.clone(),
        toss,
        payment_sandbox: payments.payment_sandbox,
        sandbox_methods: ["naverpay", "kakaopay", "transfer"]
            .map(str::to_owned)
            .to_vec(),
        max_seats_per_hold: defaults.max_seats_per_hold,
        hold_ttl_secs: defaults.hold_ttl.as_secs(),
    })
}

/// An event's booking rules as its actor applies them.
#[utoipa::path(
    get,
    operation_id = "site_booking_rules",
    path = "/api/v1/events/{id}/booking",
    tag = "catalog",
    summary = "Seat limit, hold time and whether the queue is on",
    params(("id" = Uuid, Path, description = "The event's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::site::BookingRules),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    )
)]
pub async fn booking_rules(
    State(state): State<AppState>,
    ApiPath(event): ApiPath<Uuid>,
) -> ApiResult<Json<BookingRules>> {
    if urr_store::events::get(&state.db, event).await?.is_none() {
        return Err(ApiError::not_found("event"));
    }
    let settings = crate::entry::settings(&state, event).await?;
    Ok(Json(BookingRules {
        event_id: event,
        queue_enabled: settings.enabled,
        tier1_active: state.tier1_active(event).await?,
        max_seats_per_hold: settings.max_seats_per_hold,
        hold_ttl_secs: settings.hold_ttl.as_secs(),
    }))
}

/// The caller's paid (or refunded, or being refunded) order for one of their reservations.
#[utoipa::path(
    get,
    operation_id = "site_reservation_payment",
    path = "/api/v1/reservations/{id}/payment",
    tag = "reservations",
    summary = "The caller's payment of a reservation",
    params(("id" = Uuid, Path, description = "The reservation's id")),
    responses(
        (status = 200, description = "OK", body = urr_wire::payments::ReservationPayment),
        (status = 400, description = "Invalid input", body = urr_wire::ErrorBody),
        (status = 401, description = "Not signed in, or the token is invalid or expired", body = urr_wire::ErrorBody),
        (status = 404, description = "Not found", body = urr_wire::ErrorBody)
    ),
    security(("bearer" = []), ("accessCookie" = []))
)]
pub async fn reservation_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(reservation): ApiPath<Uuid>,
) -> ApiResult<Json<ReservationPayment>> {
    let payment = payments::latest_for(
        &state.db,
        user.id,
        Target::Reservation(reservation),
        &[
            PaymentStatus::Paid,
            PaymentStatus::Done,
            PaymentStatus::Refunding,
            PaymentStatus::Refunded,
        ],
    )
    .await?
    .ok_or_else(|| ApiError::not_found("payment for this reservation"))?;
    Ok(Json(ReservationPayment {
        order_id: payment.order_id,
        reservation_id: reservation,
        amount: payment.amount,
        status: payment.status,
        method: payment.method,
        confirmed_at: payment.confirmed_at,
        refunded_at: payment.refunded_at,
    }))
}
