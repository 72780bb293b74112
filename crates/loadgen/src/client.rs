//! The HTTP side of a virtual user: every call goes through [`Api::call`], which waits
//! for a slot under the run's concurrency bound and records latency and status.

use std::sync::Arc;
use std::time::Instant;

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

    pub fn u64(&self, field: &str) -> Option<u64> {
        self.body.get(field).and_then(Value::as_u64)
    }

    /// The body read as one of the API's reply types (`urr_wire`).
    pub fn parse<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.body)
    }
}

/// Who is calling: a bearer token and, when the run sends one, a forwarded address.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub access: Option<String>,
    pub forwarded_for: Option<String>,
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    slots: Arc<Semaphore>,
    pub metrics: Arc<Metrics>,
}

impl Api {
    pub fn new(
        base: &str,
        concurrency: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, LoadgenError> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency)
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            metrics,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, caller: &Caller) -> RequestBuilder {
        let mut request = self.http.request(method, self.url(path));
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
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| LoadgenError::Stopped)?;
        let started = Instant::now();
        let outcome = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        }
        .await;
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

    /// A request without the concurrency slot: for long-lived streams, which hold a
    /// connection but no server work.
    pub async fn open_stream(
        &self,
        request: RequestBuilder,
    ) -> Result<reqwest::Response, LoadgenError> {
        Ok(request.send().await?)
    }
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
}
