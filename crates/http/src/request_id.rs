//! Request ids (`x-request-id`): the id the edge gives a request that comes without one,
//! and carrying it into the request's work, so its logs, here and on the owner's node,
//! name it (`docs/operations.md#following-one-request`).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Instrument;
use urr_actors::event::with_request_id;
use urr_cluster::HOP_HEADER;

use crate::startup::REQUEST_ID;

/// The ids the edge gives requests that come without one: shaped as random (version 4)
/// UUIDs, as `MakeRequestUuid` made them, but without a `getrandom` system call each.
/// Two random words are drawn once per router; each id mixes a counter through a
/// bijection of its low 62 bits, so no two ids of one process are equal (for 2^62
/// requests), and ids of two processes differ unless their draws do. An id only
/// correlates log lines: nothing trusts it, so it need not be unpredictable.
#[derive(Clone)]
pub struct RequestIds {
    seed: (u64, u64),
    next: Arc<AtomicU64>,
}

impl RequestIds {
    pub fn new() -> Self {
        Self {
            seed: uuid::Uuid::new_v4().as_u64_pair(),
            next: Arc::new(AtomicU64::new(0)),
        }
    }

    fn next_uuid(&self) -> uuid::Uuid {
        const LOW_62: u64 = (1 << 62) - 1;
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        // Xor with a constant, an odd multiplier modulo 2^62 and right xor-shifts are each
        // a bijection of 62-bit values: distinct counters give distinct low words.
        let mut low = (n ^ self.seed.1) & LOW_62;
        low ^= low >> 31;
        low = low.wrapping_mul(0xbf58_476d_1ce4_e5b9) & LOW_62;
        low ^= low >> 29;
        low = low.wrapping_mul(0x94d0_49bb_1331_11eb) & LOW_62;
        low ^= low >> 32;
        let high = (n ^ self.seed.0)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
        // The version and variant bits overwrite the high word's and the two spare top bits.
        uuid::Builder::from_u128(u128::from(high) << 64 | u128::from(low))
            .with_version(uuid::Version::Random)
            .with_variant(uuid::Variant::RFC4122)
            .into_uuid()
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let id = self.next_uuid().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(id).ok().map(RequestId::new)
    }
}

/// The id the edge gave the request (`x-request-id`), when it is one worth logging.
fn request_id<B>(request: &axum::http::Request<B>) -> Option<Arc<str>> {
    let id = request.headers().get(REQUEST_ID)?.to_str().ok()?;
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID).then(|| Arc::from(id))
}

/// A client may name its own request id; a longer one is not carried (it would only
/// bloat every log line of the call).
const MAX_REQUEST_ID: usize = 128;

/// Runs each request as part of its id, so a call it makes to an event actor, here or on
/// the owner's node, is logged with it. A plain layer rather than `from_fn`: it only
/// wraps the inner future, so it needs neither a boxed `Next` nor its own copy of the
/// rest of the route's stack on every request.
#[derive(Clone, Copy, Default)]
pub struct CarryRequestIdLayer;

impl<S> Layer<S> for CarryRequestIdLayer {
    type Service = CarryRequestId<S>;

    fn layer(&self, inner: S) -> CarryRequestId<S> {
        CarryRequestId { inner }
    }
}

#[derive(Clone)]
pub struct CarryRequestId<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<axum::http::Request<B>> for CarryRequestId<S>
where
    S: Service<axum::http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<B>) -> Self::Future {
        let id = request_id(&request);
        // The layers below only build their futures in `call`; the work, and its logs,
        // happen when the future runs, inside the id's scope.
        let work = self.inner.call(request);
        match id {
            Some(id) => Box::pin(with_request_id(id, work)),
            None => Box::pin(work),
        }
    }
}

/// The same for a call another node forwarded here: its span names the request and the
/// node it came from.
pub async fn carry_forwarded_request_id(request: Request, next: Next) -> Response {
    let from = request
        .headers()
        .get(HOP_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let id = request_id(&request);
    let span = tracing::info_span!("forwarded", from = %from,
        request_id = id.as_deref().unwrap_or("-"));
    match id {
        Some(id) => with_request_id(id, next.run(request).instrument(span)).await,
        None => next.run(request).instrument(span).await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let ids = RequestIds::new();
        let other = RequestIds::new();
        let mut seen = HashSet::new();
        for _ in 0..100_000 {
            let id = ids.next_uuid();
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(seen.insert(id), "{id} given twice");
        }
        for _ in 0..1_000 {
            assert!(
                seen.insert(other.next_uuid()),
                "a second router's ids are apart"
            );
        }
        let request = axum::http::Request::new(());
        let header = ids.clone().make_request_id(&request).expect("an id");
        let text = header.header_value().to_str().expect("ASCII");
        assert!(uuid::Uuid::parse_str(text).is_ok(), "{text}");
    }
}
