//! The owner's live updates as `FeedItem`s, and back.

use urr_actors::event::{QueueTick, SeatChange, SeatUpdate};
use urr_actors::ids::SeatId;
use urr_actors::ownership::Feed;
use urr_proto::cluster as pb;
use urr_proto::cluster::feed_item::Item;

use super::replies::{status_from, status_to, version_from, version_to};
use super::{DecodeError, id, ids, texts};

pub fn feed_to_proto(feed: &Feed) -> pb::FeedItem {
    let item = match feed {
        Feed::Seat(SeatUpdate::Changed(change)) => Item::Seat(pb::SeatChange {
            seat_id: change.seat.to_string(),
            status: status_to(change.status).into(),
            version: Some(version_to(change.version)),
        }),
        Feed::Seat(SeatUpdate::Resync) => Item::Resync(pb::Resync {}),
        Feed::Tick(tick) => Item::QueueTick(pb::QueueTick {
            admitted_user_ids: texts(&tick.admitted),
        }),
    };
    pb::FeedItem { item: Some(item) }
}

/// The keep-alive a quiet feed sends.
pub fn feed_heartbeat() -> pb::FeedItem {
    pb::FeedItem {
        item: Some(Item::Heartbeat(pb::Heartbeat {})),
    }
}

/// `None` for a heartbeat.
pub fn feed_from_proto(item: pb::FeedItem) -> Result<Option<Feed>, DecodeError> {
    Ok(
        match item.item.ok_or_else(|| DecodeError("no item".into()))? {
            Item::Seat(change) => Some(Feed::Seat(SeatUpdate::Changed(SeatChange {
                seat: SeatId::from(id(&change.seat_id, "seat id")?),
                status: status_from(change.status)?,
                version: version_from(change.version)?,
            }))),
            Item::Resync(_) => Some(Feed::Seat(SeatUpdate::Resync)),
            Item::QueueTick(tick) => Some(Feed::Tick(QueueTick {
                admitted: ids(&tick.admitted_user_ids, "user id")?,
            })),
            Item::Heartbeat(_) => None,
        },
    )
}
