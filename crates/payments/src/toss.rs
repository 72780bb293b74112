//! Toss Payments: the confirm, cancel and lookup calls of its REST API (HTTP Basic with
//! the secret key and an empty password, JSON bodies, `{code, message}` errors).
//!
//! Only a 4xx is a verdict that nothing happened; a timeout, a 5xx or an answer we cannot
//! read leaves the outcome unknown, and the order is looked up later.

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::json;

use crate::provider::{Charge, PaymentProvider, ProviderError, ProviderReceipt};

pub struct Toss {
    base_url: String,
    authorization: String,
    http: reqwest::Client,
}

/// The parts of Toss's Payment object we read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TossPayment {
    method: Option<String>,
    status: Option<String>,
    order_id: Option<String>,
}

#[derive(Deserialize)]
struct TossError {
    code: String,
    message: String,
}

/// Errors that mean the payment was already settled by an earlier call of ours: a confirm
/// repeated after a lost answer (look it up), a cancel repeated after a crash (done).
const ALREADY_CONFIRMED: &str = "ALREADY_PROCESSED_PAYMENT";
const ALREADY_CANCELLED: &str = "ALREADY_CANCELED_PAYMENT";
const NOT_FOUND: &str = "NOT_FOUND_PAYMENT";

impl Toss {
    pub fn new(base_url: &str, secret_key: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            authorization: format!("Basic {}", STANDARD.encode(format!("{secret_key}:"))),
            http,
        }
    }

    /// `base/v1/payments/<segments...>`, each segment escaped: a payment key comes from
    /// the browser and must not reach another path of the API with our secret key.
    fn url(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        let mut url = Url::parse(&self.base_url)
            .map_err(|e| ProviderError::Unavailable(format!("bad Toss base URL: {e}")))?;
        url.path_segments_mut()
            .map_err(|()| ProviderError::Unavailable("bad Toss base URL".into()))?
            .pop_if_empty()
            .extend(["v1", "payments"])
            .extend(segments);
        Ok(url)
    }

    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<reqwest::Response, ProviderError> {
        let mut request = self
            .http
            .request(method, url)
            .header("Authorization", &self.authorization);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if !status.is_client_error() {
            return Err(ProviderError::Unavailable(format!(
                "Toss answered {status}"
            )));
        }
        let error = response.json::<TossError>().await.unwrap_or(TossError {
            code: format!("HTTP_{}", status.as_u16()),
            message: "unreadable error from Toss".into(),
        });
        Err(ProviderError::Declined {
            code: error.code,
            message: error.message,
        })
    }

    async fn payment(
        response: reqwest::Response,
        what: &str,
    ) -> Result<TossPayment, ProviderError> {
        response
            .json()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("unreadable {what} reply: {e}")))
    }
}

#[async_trait]
impl PaymentProvider for Toss {
    fn name(&self) -> &'static str {
        "toss"
    }

    async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
    ) -> Result<ProviderReceipt, ProviderError> {
        let body = json!({"paymentKey": payment_key, "orderId": order_id, "amount": amount});
        let response = match self
            .call(Method::POST, self.url(&["confirm"])?, Some(body))
            .await
        {
            Err(ProviderError::Declined { code, .. }) if code == ALREADY_CONFIRMED => {
                return Err(ProviderError::Unavailable(
                    "Toss says the payment was processed already".into(),
                ));
            }
            other => other?,
        };
        let payment = Self::payment(response, "confirm").await?;
        Ok(ProviderReceipt {
            method: payment.method.unwrap_or_else(|| "toss".into()),
        })
    }

    async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        amount: i64,
    ) -> Result<(), ProviderError> {
        let body = json!({"cancelReason": reason, "cancelAmount": amount});
        match self
            .call(
                Method::POST,
                self.url(&[payment_key, "cancel"])?,
                Some(body),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(ProviderError::Declined { code, .. }) if code == ALREADY_CANCELLED => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn lookup(
        &self,
        _payment_key: Option<&str>,
        order_id: &str,
    ) -> Result<Charge, ProviderError> {
        // By our order id rather than the key: the key came from the browser, the order
        // id is ours.
        let response = match self
            .call(Method::GET, self.url(&["orders", order_id])?, None)
            .await
        {
            Err(ProviderError::Declined { code, .. }) if code == NOT_FOUND => {
                return Ok(Charge::NotCharged);
            }
            other => other?,
        };
        let payment = Self::payment(response, "lookup").await?;
        if payment.order_id.as_deref().is_some_and(|o| o != order_id) {
            return Err(ProviderError::Unavailable(
                "Toss answered a lookup with another order".into(),
            ));
        }
        Ok(match payment.status.as_deref() {
            Some("DONE") => Charge::Charged {
                method: payment.method.unwrap_or_else(|| "toss".into()),
            },
            Some("CANCELED" | "PARTIAL_CANCELED") => Charge::Cancelled,
            Some("ABORTED" | "EXPIRED") => Charge::NotCharged,
            // READY, IN_PROGRESS, WAITING_FOR_DEPOSIT, or a status newer than this code.
            _ => Charge::Pending,
        })
    }
}
