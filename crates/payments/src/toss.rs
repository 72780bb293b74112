//! Toss Payments: the confirm and cancel calls of its REST API (HTTP Basic with the secret
//! key and an empty password, JSON bodies, `{code, message}` errors).

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::json;

use crate::provider::{PaymentProvider, ProviderError, ProviderReceipt};

pub struct Toss {
    base_url: String,
    authorization: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct TossPayment {
    method: Option<String>,
}

#[derive(Deserialize)]
struct TossError {
    code: String,
    message: String,
}

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

    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
    ) -> Result<reqwest::Response, ProviderError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header("Authorization", &self.authorization)
            .json(&body)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        if status.is_server_error() {
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
        let response = self
            .post(
                "/v1/payments/confirm",
                json!({"paymentKey": payment_key, "orderId": order_id, "amount": amount}),
            )
            .await?;
        let payment: TossPayment = response
            .json()
            .await
            .map_err(|e| ProviderError::Unavailable(format!("unreadable confirm reply: {e}")))?;
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
        self.post(
            &format!("/v1/payments/{payment_key}/cancel"),
            json!({"cancelReason": reason, "cancelAmount": amount}),
        )
        .await?;
        Ok(())
    }
}
