//! Following one request into the actor (`docs/operations.md#following-one-request`).
//!
//! The edge gives every request an id (`x-request-id`) and runs the request inside
//! [`with_request_id`]. A call to an event picks the id up here and opens a span with it
//! that travels in the message's reply port, so what the actor logs while it serves the
//! call, and later, in its group commit, the Redis lock and the PostgreSQL record of that
//! one hold, carries the id. A forwarded call takes the id along in its header, so the
//! owner's logs carry it too.

use std::future::Future;
use std::sync::Arc;

use tracing::Span;
use uuid::Uuid;

use super::call::EventCall;

tokio::task_local! {
    static REQUEST_ID: Arc<str>;
}

/// Runs `work` as part of the request `id`.
pub async fn with_request_id<F: Future>(id: Arc<str>, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The id of the request this task is serving, if it serves one.
pub fn current_request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// The span a call runs in on the actor. Reads that log nothing and come by the
/// thousand a second (status, seat states, overview) get none.
pub(super) fn call_span(event: Uuid, call: &EventCall) -> Span {
    if call.is_quiet_read() {
        return Span::none();
    }
    let request_id = current_request_id();
    tracing::info_span!(
        "event_call",
        %event,
        call = call.name(),
        request_id = request_id.as_deref().unwrap_or("-"),
    )
}
