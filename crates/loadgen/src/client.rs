//! The HTTP side of a virtual user: every call goes through [`Api::call`], which waits
//! for a slot under the run's concurrency bound and records latency and status.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use reqwest::{Method, RequestBuilder};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::error::LoadgenError;
use crate::metrics::Metrics;

/// An answer: its status and JSON body (`Null` when the body was not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn str(&self, field: &str) -> Option<&str> {
        self.body.get(field).and_then(Value::as_str)
    }

    /// The `error.code` of a JSON error reply.
    pub fn error_code(&self) -> Option<&str> {
        self.body.get("error")?.get("code")?.as_str()
    }

    pub fn u64(&self, field: &str) -> Option<u64> {
        self.body.get(field).and_then(Value::as_u64)
    }

    /// The body read as one of the API's reply types (`urr_wire`).
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.body)
    }
}

/// Who is calling: a bearer token, when the run sends one a forwarded address, and the
/// node (an index into the run's targets) their browser talks to first.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub access: Option<String>,
    pub forwarded_for: Option<String>,
    pub home: usize,
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    /// The nodes of the site, as a load balancer in front of them would see them.
    bases: Arc<[reqwest::Url]>,
    slots: Arc<Semaphore>,
    /// The name the wait for a slot is recorded under.
    slot_wait: &'static str,
    /// How long a call keeps trying through a node that is down (transport errors,
    /// 502/503/504), moving to the next node each time; zero gives up at once.
    patience: Duration,
    pub metrics: Arc<Metrics>,
}

/// What the wait for a slot is recorded under, per lane: the crowd (the waiting room's
/// polls), the people in the queue, the people admitted.
pub const CROWD_SLOT: &str = "(client) waiting for a slot";
pub const QUEUE_SLOT: &str = "(client) waiting for a queue slot";
pub const BUYING_SLOT: &str = "(client) waiting for a buying slot";

/// The first pause between tries of a call that met a node that is down; it doubles up
/// to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

impl Api {
    /// An API over `targets`, a comma-separated list of base URLs (one node or several).
    pub fn new(
        targets: &str,
        concurrency: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, LoadgenError> {
        Self::with_patience(targets, concurrency, Duration::ZERO, metrics)
    }

    pub fn with_patience(
        targets: &str,
        concurrency: usize,
        patience: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, LoadgenError> {
        Ok(Self {
            http: http_client(concurrency)?,
            bases: parse_targets(targets)?.into(),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            slot_wait: CROWD_SLOT,
            patience,
            metrics,
        })
    }

    /// The same site and counters behind a bound of their own, with connections of
    /// their own: the calls of one stage of the sale (the people in the queue, the people
    /// already admitted), whose browsers do not wait behind other people's polls. Waits
    /// for its slots are recorded under `slot_wait`.
    pub fn lane(&self, concurrency: usize, slot_wait: &'static str) -> Result<Self, LoadgenError> {
        Ok(Self {
            http: http_client(concurrency)?,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            slot_wait,
            ..self.clone()
        })
    }

    /// How many nodes the run drives.
    pub fn nodes(&self) -> usize {
        self.bases.len()
    }

    /// `path` on the first node.
    pub fn url(&self, path: &str) -> String {
        self.url_on(0, path)
    }

    fn url_on(&self, node: usize, path: &str) -> String {
        let base = self.bases[node % self.bases.len()].as_str();
        format!("{}{path}", base.trim_end_matches('/'))
    }

    pub fn request(&self, method: Method, path: &str, caller: &Caller) -> RequestBuilder {
        let mut request = self.http.request(method, self.url_on(caller.home, path));
        if let Some(access) = &caller.access {
            request = request.bearer_auth(access);
        }
        if let Some(address) = &caller.forwarded_for {
            request = request.header("x-forwarded-for", address);
        }
        request
    }

    /// Sends `request` when a slot is free; records it under `call`. A transport failure
    /// is recorded too and comes back as an error.
    pub async fn call(
        &self,
        call: &'static str,
        request: RequestBuilder,
    ) -> Result<Reply, LoadgenError> {
        let (status, bytes) = self.call_raw(call, request).await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Reply { status, body })
    }

    /// [`Self::call`] without parsing the body: for big bodies read into typed structs.
    pub async fn call_raw(
        &self,
        call: &'static str,
        request: RequestBuilder,
    ) -> Result<(u16, bytes::Bytes), LoadgenError> {
        let asked = Instant::now();
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| LoadgenError::Stopped)?;
        let started = Instant::now();
        // Time spent behind the run's own --concurrency bound, not the node's: a turn
        // that is slow here is slowed by the load generator.
        self.metrics.record_local(self.slot_wait, started - asked);
        let outcome = self.send_patiently(request).await;
        match outcome {
            Ok((status, bytes)) => {
                self.metrics.record(call, started.elapsed(), Some(status));
                Ok((status, bytes))
            }
            Err(err) => {
                self.metrics.record(call, started.elapsed(), None);
                Err(err.into())
            }
        }
    }

    /// Sends `request`; while the run has patience left, a transport failure or a
    /// 502/503/504 is tried again on the next node, as a browser behind a load balancer
    /// would be. Holds and payments carry idempotency keys, so a retried write that had
    /// landed does not land twice.
    async fn send_patiently(
        &self,
        request: RequestBuilder,
    ) -> Result<(u16, bytes::Bytes), reqwest::Error> {
        let (client, request) = request.build_split();
        let mut request = request?;
        let give_up = Instant::now() + self.patience;
        let mut backoff = FIRST_BACKOFF;
        let mut node = self
            .bases
            .iter()
            .position(|base| same_origin(base, request.url()))
            .unwrap_or(0);
        loop {
            let retry = request.try_clone();
            let outcome = async {
                let response = client.execute(request).await?;
                let status = response.status().as_u16();
                Ok::<_, reqwest::Error>((status, response.bytes().await?))
            }
            .await;
            let down = match &outcome {
                Ok((status, _)) => matches!(status, 502..=504),
                Err(err) => err.is_connect() || err.is_timeout() || err.is_request(),
            };
            let Some(mut next) = retry.filter(|_| down && Instant::now() < give_up) else {
                return outcome;
            };
            self.metrics.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            node = (node + 1) % self.bases.len();
            let base = &self.bases[node];
            let url = next.url_mut();
            // Same scheme and path on another node of the site.
            let _ = url.set_host(base.host_str());
            let _ = url.set_port(base.port());
            request = next;
        }
    }

    /// A request without the concurrency slot: for long-lived streams, which hold a
    /// connection but no server work.
    pub async fn open_stream(
        &self,
        request: RequestBuilder,
    ) -> Result<reqwest::Response, LoadgenError> {
        Ok(request.send().await?)
    }
}

fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// The base URLs in a comma-separated `--target`, each checked to be loopback.
pub fn parse_targets(targets: &str) -> Result<Vec<reqwest::Url>, LoadgenError> {
    let parsed = targets
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|target| {
            ensure_loopback(target)?;
            reqwest::Url::parse(target)
                .map_err(|e| LoadgenError::Config(format!("--target {target}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if parsed.is_empty() {
        return Err(LoadgenError::Config(
            "--target: give at least one URL".into(),
        ));
    }
    Ok(parsed)
}

/// Only loopback may be driven: a load generator pointed elsewhere is an attack.
pub fn ensure_loopback(target: &str) -> Result<(), LoadgenError> {
    let url = reqwest::Url::parse(target)
        .map_err(|e| LoadgenError::Config(format!("--target {target}: {e}")))?;
    let host = url.host_str().unwrap_or("").trim_matches(['[', ']']);
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(LoadgenError::Config(format!(
            "--target {target} is not a loopback address; the load generator only drives a \
             node on this machine"
        )))
    }
}

/// Connections for `concurrency` calls at once, kept open between them.
fn http_client(concurrency: usize) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(ensure_loopback("http://127.0.0.1:8080").is_ok());
        assert!(ensure_loopback("http://[::1]:8080/").is_ok());
        assert!(ensure_loopback("http://localhost:3000").is_ok());
        assert!(ensure_loopback("http://10.0.0.5:8080").is_err());
        assert!(ensure_loopback("http://example.com").is_err());
        assert!(ensure_loopback("not a url").is_err());
    }

    #[test]
    fn several_targets_are_read_and_each_must_be_loopback() {
        let nodes = parse_targets("http://127.0.0.1:8080, http://127.0.0.1:8081/").expect("two");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].port(), Some(8081));
        assert!(parse_targets("http://127.0.0.1:8080,http://10.0.0.5:8080").is_err());
        assert!(parse_targets(" , ").is_err());
    }

    /// A loopback HTTP/1.1 server answering every request with `{}`.
    async fn answering_server() -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = socket.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
                            if socket.write_all(reply.as_bytes()).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        format!("http://{address}")
    }

    #[tokio::test]
    async fn each_lane_has_its_own_bound_and_the_crowd_waits_for_its_own() {
        let metrics = Arc::new(Metrics::new());
        let crowd = Api::new(&answering_server().await, 1, metrics.clone()).expect("api");
        let queue = crowd.lane(1, QUEUE_SLOT).expect("lane");
        let buying = crowd.lane(1, BUYING_SLOT).expect("lane");
        let call = |api: &Api| {
            let api = api.clone();
            async move {
                api.call("probe", api.request(Method::GET, "/", &Caller::default()))
                    .await
            }
        };
        assert_eq!(call(&crowd).await.expect("answered").status, 200);

        // Every slot of the crowd's bound taken: its calls wait, the lanes' do not.
        let _taken = crowd.slots.clone().acquire_owned().await.expect("slot");
        for lane in [&queue, &buying] {
            let answered = tokio::time::timeout(Duration::from_secs(5), call(lane)).await;
            assert_eq!(
                answered.expect("not held back").expect("answered").status,
                200
            );
        }
        let waiting = tokio::time::timeout(Duration::from_millis(200), call(&crowd)).await;
        assert!(waiting.is_err(), "the crowd waits for its own bound");

        let mut waits: Vec<(String, u64)> = metrics
            .calls()
            .into_iter()
            .filter(|c| c.call.starts_with("(client)"))
            .map(|c| (c.call, c.count))
            .collect();
        waits.sort();
        assert_eq!(
            waits,
            vec![
                (BUYING_SLOT.to_owned(), 1),
                (QUEUE_SLOT.to_owned(), 1),
                (CROWD_SLOT.to_owned(), 1),
            ]
        );
    }
}
