//! The sandbox provider: confirms at once, for the demo and for naverpay, kakaopay and
//! bank transfer as the seed does. Refused unless enabled in config.

use async_trait::async_trait;

use crate::provider::{PaymentProvider, ProviderError, ProviderReceipt};

pub struct Sandbox;

#[async_trait]
impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn confirm(
        &self,
        _key: &str,
        _order: &str,
        _amount: i64,
    ) -> Result<ProviderReceipt, ProviderError> {
        Ok(ProviderReceipt {
            method: "sandbox".into(),
        })
    }

    async fn cancel(&self, _key: &str, _reason: &str, _amount: i64) -> Result<(), ProviderError> {
        Ok(())
    }
}
