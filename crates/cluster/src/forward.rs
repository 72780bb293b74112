//! Node-to-node calls, the forwarding side (`proto/urr/cluster.proto`): one POST per
//! forwarded call, one long GET per followed event. Both carry the cluster secret and
//! the hop header; the owner's side is `feed.rs`.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use futures::StreamExt;
use prost::Message;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use tokio::sync::mpsc;
use urr_actors::event::{EventAnswer, EventCall, EventError};
use urr_actors::ownership::{Feed, Owner};
use urr_proto::cluster::{CallReply, FeedItem};
use uuid::Uuid;

use crate::codec;
use crate::config::ClusterConfig;
use crate::feed::FEED_HEARTBEAT;

/// The header a request's id travels in, as at the edge.
const REQUEST_ID: &str = "x-request-id";

/// Names the node that forwarded a call; a call carrying it is never forwarded again.
pub const HOP_HEADER: &str = "x-urr-forwarded-by";
/// The body of a forwarded call and of its answer.
pub const CALL_CONTENT_TYPE: &str = "application/x-protobuf";
/// A feed that says nothing (not even its heartbeat) for this long is dead.
const FEED_SILENCE: Duration = Duration::from_secs(3 * FEED_HEARTBEAT.as_secs());
/// Updates buffered between the owner's stream and the relay.
const FEED_BUFFER: usize = 1024;

pub(crate) struct Forwarder {
    client: reqwest::Client,
    secret: String,
    node: String,
    timeout: Duration,
}

fn unreachable(owner: &Owner, err: impl std::fmt::Display) -> EventError {
    EventError::Unavailable(format!(
        "the event's owner {} did not answer: {err}",
        owner.node
    ))
}

/// A call that never reached the node (nothing listens there: it stopped, or it is not
/// up yet) is as good as a `NotOwner`: the caller looks the owner up afresh and retries
/// once. Any other failure may have reached the actor, and is not retried.
fn not_sent(owner: &Owner, err: reqwest::Error) -> EventError {
    if err.is_connect() {
        tracing::debug!(node = %owner.node, %err, "the owner's node is not listening");
        EventError::NotOwner
    } else {
        unreachable(owner, err)
    }
}

impl Forwarder {
    pub(crate) fn new(config: &ClusterConfig) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .build()
            .unwrap_or_default();
        Self {
            client,
            secret: config.secret.clone(),
            node: config.node_id.clone(),
            timeout: config.call_timeout,
        }
    }

    /// A request to another node: the cluster secret, the hop header, and the id of the
    /// request being served, so the owner logs the call under it
    /// (`docs/operations.md#following-one-request`).
    fn request(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let builder = builder
            .header(AUTHORIZATION, format!("Bearer {}", self.secret))
            .header(HOP_HEADER, &self.node);
        match urr_actors::event::current_request_id() {
            Some(id) => builder.header(REQUEST_ID, &*id),
            None => builder,
        }
    }

    /// Makes `call` on `owner`'s node; its answer, or `Unavailable` when the node
    /// cannot be reached.
    pub(crate) async fn call(
        &self,
        owner: &Owner,
        event: Uuid,
        call: &EventCall,
    ) -> Result<EventAnswer, EventError> {
        let url = format!("{}/internal/v1/events/{event}/call", owner.url);
        let body = codec::call_to_proto(call).encode_to_vec();
        let response = self
            .request(self.client.post(url))
            .header(CONTENT_TYPE, CALL_CONTENT_TYPE)
            .timeout(self.timeout + Duration::from_secs(2))
            .body(body)
            .send()
            .await
            .map_err(|e| not_sent(owner, e))?;
        if response.status() != StatusCode::OK {
            return Err(unreachable(owner, format!("status {}", response.status())));
        }
        let bytes = response.bytes().await.map_err(|e| unreachable(owner, e))?;
        let reply = CallReply::decode(bytes).map_err(|e| unreachable(owner, e))?;
        codec::reply_from_proto(reply).map_err(|e| unreachable(owner, e))?
    }

    /// Opens `owner`'s feed of `event`; the updates arrive on the receiver until the
    /// owner ends the feed, the connection breaks or goes silent.
    pub(crate) async fn follow(
        &self,
        owner: &Owner,
        event: Uuid,
    ) -> Result<mpsc::Receiver<Feed>, EventError> {
        let url = format!("{}/internal/v1/events/{event}/feed", owner.url);
        let response = self
            .request(self.client.get(url))
            .send()
            .await
            .map_err(|e| not_sent(owner, e))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::CONFLICT => return Err(EventError::NotOwner),
            status => return Err(unreachable(owner, format!("status {status}"))),
        }
        let (sender, receiver) = mpsc::channel(FEED_BUFFER);
        let node = owner.node.clone();
        tokio::spawn(async move {
            if let Err(why) = pump(response, sender).await {
                tracing::debug!(%event, %node, %why, "the owner's feed ended");
            }
        });
        Ok(receiver)
    }
}

/// Reads length-delimited `FeedItem`s off the response into `sender`.
async fn pump(response: reqwest::Response, sender: mpsc::Sender<Feed>) -> Result<(), String> {
    let mut body = response.bytes_stream();
    let mut buffer = BytesMut::new();
    loop {
        let chunk = match tokio::time::timeout(FEED_SILENCE, body.next()).await {
            Err(_) => return Err("silent too long".into()),
            Ok(None) => return Ok(()),
            Ok(Some(Err(err))) => return Err(err.to_string()),
            Ok(Some(Ok(chunk))) => chunk,
        };
        buffer.extend_from_slice(&chunk);
        while let Some(item) = next_item(&mut buffer)? {
            let feed = codec::feed_from_proto(item).map_err(|e| e.to_string())?;
            if let Some(feed) = feed
                && sender.send(feed).await.is_err()
            {
                // Nobody reads the relay any more.
                return Ok(());
            }
        }
    }
}

/// The next whole item in `buffer`, taken out of it; `None` until one has arrived.
fn next_item(buffer: &mut BytesMut) -> Result<Option<FeedItem>, String> {
    let mut view = &buffer[..];
    let length = match prost::encoding::decode_varint(&mut view) {
        Ok(length) => usize::try_from(length).map_err(|e| e.to_string())?,
        // A length prefix is at most ten bytes: fewer may be one still arriving.
        Err(_) if buffer.len() < 10 => return Ok(None),
        Err(err) => return Err(err.to_string()),
    };
    let prefix = buffer.len() - view.len();
    if view.len() < length {
        return Ok(None);
    }
    let item = FeedItem::decode(&view[..length]).map_err(|e| e.to_string())?;
    buffer.advance(prefix + length);
    Ok(Some(item))
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use prost::Message;

    use super::next_item;
    use crate::codec::feed_heartbeat;

    #[test]
    fn items_split_across_chunks_are_read_whole() {
        let mut wire = Vec::new();
        for _ in 0..3 {
            feed_heartbeat()
                .encode_length_delimited(&mut wire)
                .expect("encode");
        }
        let mut buffer = BytesMut::new();
        let mut read = 0;
        for byte in wire {
            buffer.extend_from_slice(&[byte]);
            while next_item(&mut buffer).expect("valid").is_some() {
                read += 1;
            }
        }
        assert_eq!(read, 3);
        assert!(buffer.is_empty());
    }
}
