//! Routes, grouped as the seed's services were: auth, catalog (events, artists, admin),
//! seats, and the operator endpoints.

use axum::Router;
use axum::routing::{get, patch, post, put};

use crate::state::AppState;

mod admin;
mod artists;
mod auth;
mod cluster;
mod community;
mod events;
mod health;
mod internal;
mod memberships;
mod news;
mod payments;
mod queue;
mod queue_audit;
mod reservations;
mod seats;
mod site;
mod stats;
mod transfers;

pub fn api(state: &AppState) -> Router<AppState> {
    // Calls that take seats or tickets pass the entry-token gate first.
    let gated = Router::new()
        .route("/api/v1/seats/reserve", post(reservations::reserve_seats))
        .route("/api/v1/reservations", post(reservations::reserve_tickets))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::entry::gate,
        ));
    Router::new()
        .merge(gated)
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/me", get(auth::me))
        .route("/api/v1/auth/google", post(auth::google))
        .route("/api/v1/auth/verify-email", post(auth::verify_email))
        .route(
            "/api/v1/auth/verify-email/resend",
            post(auth::resend_verification),
        )
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/events/{id}", get(events::detail))
        .route("/api/v1/config", get(site::config))
        .route("/api/v1/events/{id}/booking", get(site::booking_rules))
        .route(
            "/api/v1/reservations/{id}/payment",
            get(site::reservation_payment),
        )
        .route("/api/v1/artists", get(artists::list))
        .route("/api/v1/artists/{id}", get(artists::detail))
        .route("/api/v1/seats/events/{event_id}", get(seats::for_event))
        .route("/api/v1/seats/events/{event_id}/stream", get(seats::stream))
        .route("/api/v1/reservations/my", get(reservations::mine))
        .route("/api/v1/reservations/{id}", get(reservations::get))
        .route(
            "/api/v1/reservations/{id}/cancel",
            post(reservations::cancel),
        )
        .route("/api/v1/payments/prepare", post(payments::prepare))
        .route("/api/v1/payments/confirm", post(payments::confirm))
        .route("/api/v1/payments/process", post(payments::process))
        .route("/api/v1/payments/{order_id}", get(payments::get))
        .route("/api/v1/payments/{order_id}/refund", post(payments::refund))
        .route(
            "/api/v1/memberships",
            get(memberships::mine).post(memberships::join),
        )
        .route("/api/v1/memberships/{id}", get(memberships::get))
        .route("/api/v1/artists/{id}/membership", get(memberships::club))
        .route(
            "/api/v1/transfers",
            get(transfers::open).post(transfers::create),
        )
        .route("/api/v1/transfers/my", get(transfers::mine))
        .route("/api/v1/transfers/{id}", get(transfers::get))
        .route("/api/v1/transfers/{id}/cancel", post(transfers::cancel))
        .route("/api/v1/stats/events/{event_id}", get(stats::event))
        .route("/api/v1/stats/overview", get(stats::overview))
        .route("/api/v1/queue/check/{event_id}", post(queue::check))
        .route("/api/v1/queue/status/{event_id}", get(queue::status))
        .route("/api/v1/queue/heartbeat/{event_id}", post(queue::status))
        .route("/api/v1/queue/leave/{event_id}", post(queue::leave))
        .route("/api/v1/queue/stream/{event_id}", get(queue::stream))
        .route(
            "/api/v1/community/posts",
            get(community::list_posts).post(community::create_post),
        )
        .route(
            "/api/v1/community/posts/{id}",
            get(community::get_post)
                .patch(community::update_post)
                .delete(community::delete_post),
        )
        .route(
            "/api/v1/community/posts/{id}/comments",
            get(community::list_comments).post(community::create_comment),
        )
        .route(
            "/api/v1/community/comments/{id}",
            patch(community::update_comment).delete(community::delete_comment),
        )
        .route(
            "/api/v1/admin/community/posts/{id}",
            patch(community::moderate_post),
        )
        .route(
            "/api/v1/admin/community/comments/{id}",
            patch(community::moderate_comment),
        )
        .route("/api/v1/news", get(news::list).post(news::create))
        .route(
            "/api/v1/news/{id}",
            get(news::detail).patch(news::update).delete(news::delete),
        )
        .route("/api/v1/admin/artists", post(admin::create_artist))
        .route(
            "/api/v1/admin/artists/{id}/membership",
            put(memberships::put_club),
        )
        .route("/api/v1/admin/events/{id}/presales", put(admin::presales))
        .route("/api/v1/admin/events", post(admin::create_event))
        .route("/api/v1/admin/events/{id}", patch(admin::update_event))
        .route("/api/v1/admin/events/{id}/status", patch(admin::set_status))
        .route(
            "/api/v1/admin/events/{id}/queue",
            get(admin::queue_overview).put(admin::queue_settings),
        )
        .route(
            "/api/v1/admin/events/{id}/queue/log",
            get(queue_audit::queue_log),
        )
        .route("/api/v1/admin/cluster", get(cluster::overview))
}

/// The node-to-node routes (`internal.rs`): mounted outside the public API's rate limits.
pub fn internal() -> Router<AppState> {
    Router::new()
        .route("/internal/v1/events/{id}/call", post(internal::call))
        .route("/internal/v1/events/{id}/feed", get(internal::feed))
}

pub fn health() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(crate::metrics::page))
}
