//! The optional CAPTCHA hook (`docs/architecture.md#bot-defence-at-tier-1`): a join's
//! token is posted, Turnstile-style, to the configured verify URL as a form
//! (`secret`, `response`, `remoteip`), and the JSON reply's `success` decides. Anything
//! else (no answer, a timeout, a non-2xx, a body without `success`) refuses the join:
//! a CAPTCHA that cannot be checked protects nothing, so the hook fails closed.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;

use crate::VwrError;
use crate::error::ErrorCode;

/// Tokens longer than this are not any provider's; they are refused unsent.
const MAX_TOKEN_LEN: usize = 4096;

#[derive(Clone)]
pub struct CaptchaVerifier {
    url: String,
    secret: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Verdict {
    success: bool,
    #[serde(default, rename = "error-codes")]
    error_codes: Vec<String>,
}

impl CaptchaVerifier {
    pub fn new(url: String, secret: String, timeout: Duration) -> Result<Self, VwrError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| VwrError::Config(format!("CAPTCHA client: {e}")))?;
        Ok(Self { url, secret, http })
    }

    /// `Ok` when the verifier accepts `token` from `remote_ip`.
    pub async fn verify(&self, token: &str, remote_ip: Option<IpAddr>) -> Result<(), VwrError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(VwrError::refused(
                ErrorCode::CaptchaFailed,
                "the CAPTCHA token is not valid",
            ));
        }
        let mut form = vec![
            ("secret", self.secret.clone()),
            ("response", token.to_owned()),
        ];
        if let Some(ip) = remote_ip {
            form.push(("remoteip", ip.to_string()));
        }
        let unavailable = |why: String| {
            VwrError::refused(
                ErrorCode::CaptchaUnavailable,
                format!("CAPTCHA verifier: {why}"),
            )
        };
        let response = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| unavailable(e.without_url().to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("answered {}", response.status())));
        }
        let verdict: Verdict = response
            .json()
            .await
            .map_err(|e| unavailable(format!("unreadable reply: {}", e.without_url())))?;
        if verdict.success {
            Ok(())
        } else {
            tracing::debug!(codes = ?verdict.error_codes, "CAPTCHA refused");
            Err(VwrError::refused(
                ErrorCode::CaptchaFailed,
                "the CAPTCHA was not accepted; try again",
            ))
        }
    }
}
