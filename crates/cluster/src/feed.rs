//! Node-to-node calls, the owner's side (`proto/urr/cluster.proto`): a forwarded call
//! made on this node's directory, never forwarded again, and the feed of an event's live
//! updates that another node's relay follows. The edge mounts both on its internal
//! routes after checking the cluster secret.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use prost::Message;
use tokio::sync::broadcast::error::RecvError;
use urr_actors::event::{EventDirectory, EventError, OwnerFeed, SeatUpdate};
use urr_actors::ownership::Feed;
use urr_proto::cluster::{CallRequest, FeedItem};
use uuid::Uuid;

use crate::codec::{self, DecodeError};

/// The feed's content type: length-delimited `FeedItem`s.
pub const FEED_CONTENT_TYPE: &str = "application/x-protobuf-stream";
/// A quiet feed says so this often, and checks that this node still owns the event.
pub(crate) const FEED_HEARTBEAT: Duration = Duration::from_secs(2);

/// Decodes a forwarded call, makes it here and encodes its answer (a refusal included:
/// `NotOwner` when this node does not own the event).
pub async fn serve_call(
    directory: &EventDirectory,
    event: Uuid,
    body: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    let request = CallRequest::decode(body).map_err(|e| DecodeError(e.to_string()))?;
    let call = codec::call_from_proto(request)?;
    let answer = directory.event(event).serve_forwarded(call).await;
    Ok(codec::reply_to_proto(&answer).encode_to_vec())
}

/// The reply a forwarded call gets when it could not be read.
pub fn undecodable_reply(err: &DecodeError) -> Vec<u8> {
    let refused: Result<urr_actors::event::EventAnswer, EventError> =
        Err(EventError::Unavailable(err.to_string()));
    codec::reply_to_proto(&refused).encode_to_vec()
}

fn encode(item: &FeedItem) -> Bytes {
    Bytes::from(item.encode_length_delimited_to_vec())
}

/// The event's live updates here, length-delimited, until this node stops owning it.
pub fn serve_feed(feed: OwnerFeed) -> impl Stream<Item = Result<Bytes, Infallible>> {
    let mut beat = tokio::time::interval(FEED_HEARTBEAT);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    futures::stream::unfold((feed, beat), |(mut feed, mut beat)| async move {
        let item = tokio::select! {
            seat = feed.seats.recv() => match seat {
                Ok(update) => codec::feed_to_proto(&Feed::Seat(update)),
                // What was missed is unknown: the follower's subscribers reload.
                Err(RecvError::Lagged(_)) => codec::feed_to_proto(&Feed::Seat(SeatUpdate::Resync)),
                Err(RecvError::Closed) => return None,
            },
            tick = feed.ticks.recv() => match tick {
                Ok(tick) => codec::feed_to_proto(&Feed::Tick(tick)),
                // A missed tick only delays a position update: the next one comes.
                Err(RecvError::Lagged(_)) => codec::feed_heartbeat(),
                Err(RecvError::Closed) => return None,
            },
            _ = beat.tick() => {
                if !feed.still_owner() {
                    return None;
                }
                codec::feed_heartbeat()
            }
        };
        Some((Ok(encode(&item)), (feed, beat)))
    })
}
