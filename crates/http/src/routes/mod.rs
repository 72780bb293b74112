//! Routes, grouped as the services of the design URR rebuilds were
//! (docs/architecture.md#the-design-urr-rebuilds): auth, catalog (events, artists, admin),
//! seats, and the operator endpoints.

use axum::Router;
use axum::routing::{get, post};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

mod admin;
mod artists;
mod auth;
mod check_in;
mod cluster;
mod community;
mod events;
mod health;
mod internal;
mod invitations;
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
mod waitlist;

/// The public API, each route registered from its handler's `#[utoipa::path]`, so the
/// OpenAPI document (`crate::openapi`) lists exactly what is routed.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    // Calls that take seats or tickets pass the entry-token gate first.
    let gated = OpenApiRouter::new()
        .routes(routes!(reservations::reserve_seats))
        .routes(routes!(reservations::reserve_tickets))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::entry::gate,
        ));
    // A door photo is far larger than any JSON body the API takes.
    let photos = OpenApiRouter::new()
        .routes(routes!(check_in::check_in_photo))
        .layer(axum::extract::DefaultBodyLimit::max(check_in::PHOTO_LIMIT));
    OpenApiRouter::new()
        .merge(gated)
        .merge(photos)
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(auth::google))
        .routes(routes!(auth::verify_email))
        .routes(routes!(auth::resend_verification))
        .routes(routes!(events::list))
        .routes(routes!(events::detail))
        .routes(routes!(site::config))
        .routes(routes!(site::booking_rules))
        .routes(routes!(site::reservation_payment))
        .routes(routes!(artists::list))
        .routes(routes!(artists::detail))
        .routes(routes!(seats::for_event))
        .routes(routes!(seats::layout))
        .routes(routes!(seats::live_state))
        .routes(routes!(seats::stream))
        .routes(routes!(reservations::mine))
        .routes(routes!(reservations::get))
        .routes(routes!(reservations::cancel))
        .routes(routes!(check_in::tickets))
        .routes(routes!(check_in::check_in))
        .routes(routes!(check_in::door_counts))
        .routes(routes!(check_in::set_role))
        .routes(routes!(payments::prepare))
        .routes(routes!(payments::confirm))
        .routes(routes!(payments::process))
        .routes(routes!(payments::get))
        .routes(routes!(payments::refund))
        .routes(routes!(memberships::mine, memberships::join))
        .routes(routes!(memberships::get))
        .routes(routes!(memberships::club))
        .routes(routes!(transfers::open, transfers::create))
        .routes(routes!(transfers::mine))
        .routes(routes!(transfers::get))
        .routes(routes!(transfers::cancel))
        .routes(routes!(waitlist::join, waitlist::get, waitlist::leave))
        .routes(routes!(waitlist::stream))
        .routes(routes!(stats::event))
        .routes(routes!(stats::overview))
        .routes(routes!(queue::check))
        .routes(routes!(queue::status))
        .routes(routes!(queue::heartbeat))
        .routes(routes!(queue::leave))
        .routes(routes!(queue::stream))
        .routes(routes!(community::list_posts, community::create_post))
        .routes(routes!(
            community::get_post,
            community::update_post,
            community::delete_post
        ))
        .routes(routes!(community::list_comments, community::create_comment))
        .routes(routes!(
            community::update_comment,
            community::delete_comment
        ))
        .routes(routes!(community::moderate_post))
        .routes(routes!(community::moderate_comment))
        .routes(routes!(news::list, news::create))
        .routes(routes!(news::detail, news::update, news::delete))
        .routes(routes!(admin::create_artist))
        .routes(routes!(memberships::put_club))
        .routes(routes!(admin::presales))
        .routes(routes!(admin::create_event))
        .routes(routes!(admin::update_event))
        .routes(routes!(admin::set_status))
        .routes(routes!(admin::queue_overview, admin::queue_settings))
        .routes(routes!(queue_audit::queue_log))
        .routes(routes!(invitations::mint, invitations::list))
        .routes(routes!(invitations::revoke))
        .routes(routes!(invitations::audit))
        .routes(routes!(invitations::redeem))
        .routes(routes!(cluster::overview))
        .routes(routes!(crate::openapi::document))
        .routes(routes!(crate::openapi::docs_page))
}

/// The node-to-node routes (`internal.rs`): mounted outside the public API's rate limits.
pub fn internal() -> Router<AppState> {
    Router::new()
        .route("/internal/v1/events/{id}/call", post(internal::call))
        .route("/internal/v1/events/{id}/feed", get(internal::feed))
}

pub fn health() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(crate::metrics::page))
}
