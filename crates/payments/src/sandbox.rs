//! The sandbox provider: confirms at once, for the demo and for naverpay, kakaopay and
//! bank transfer as the seed does (`docs/architecture.md#the-design-urr-rebuilds`). Refused unless enabled in config. It keeps a ledger of
//! what it charged in this process, so a lookup tells the truth about its own payments
//! (and, after a restart, that it charged nothing: its money never existed).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;

use crate::provider::{Charge, PaymentProvider, ProviderError, ProviderReceipt};

#[derive(Default)]
pub struct Sandbox {
    /// Order id → cancelled.
    ledger: Mutex<HashMap<String, bool>>,
}

impl Sandbox {
    fn with_ledger<T>(&self, f: impl FnOnce(&mut HashMap<String, bool>) -> T) -> T {
        // A poisoned ledger is still a ledger: nothing in it can be half-written.
        let mut ledger = self
            .ledger
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut ledger)
    }
}

/// The sandbox's payment keys name their order, so a cancel (which gets only the key)
/// finds it.
pub(crate) fn sandbox_key(order_id: &str) -> String {
    format!("sandbox_{order_id}")
}

#[async_trait]
impl PaymentProvider for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn confirm(
        &self,
        _key: &str,
        order: &str,
        _amount: i64,
    ) -> Result<ProviderReceipt, ProviderError> {
        self.with_ledger(|ledger| {
            ledger.entry(order.to_owned()).or_insert(false);
        });
        Ok(ProviderReceipt {
            method: "sandbox".into(),
        })
    }

    async fn cancel(&self, key: &str, _reason: &str, _amount: i64) -> Result<(), ProviderError> {
        let order = key.strip_prefix("sandbox_").unwrap_or(key);
        self.with_ledger(|ledger| {
            if let Some(cancelled) = ledger.get_mut(order) {
                *cancelled = true;
            }
        });
        Ok(())
    }

    async fn lookup(&self, _key: Option<&str>, order: &str) -> Result<Charge, ProviderError> {
        Ok(self.with_ledger(|ledger| match ledger.get(order) {
            Some(false) => Charge::Charged {
                method: "sandbox".into(),
            },
            Some(true) => Charge::Cancelled,
            None => Charge::NotCharged,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_sandbox_knows_what_it_charged_and_gave_back() {
        let sandbox = Sandbox::default();
        assert_eq!(
            sandbox.lookup(None, "ORD_1").await.ok(),
            Some(Charge::NotCharged)
        );
        let key = sandbox_key("ORD_1");
        sandbox.confirm(&key, "ORD_1", 100).await.ok();
        assert!(matches!(
            sandbox.lookup(Some(&key), "ORD_1").await,
            Ok(Charge::Charged { .. })
        ));
        // Cancelling is repeatable.
        assert!(sandbox.cancel(&key, "why", 100).await.is_ok());
        assert!(sandbox.cancel(&key, "why", 100).await.is_ok());
        assert_eq!(
            sandbox.lookup(Some(&key), "ORD_1").await.ok(),
            Some(Charge::Cancelled)
        );
    }
}
