//! The command line shared by the two binaries: the room's settings plus what the edge
//! would otherwise provide (the token secret, the Redis connection).

use clap::Parser;
use urr_auth::TokenKeys;
use urr_kv::Kv;

use crate::config::{StoreKind, VwrConfig};
use crate::store::AnyStore;
use crate::waiting_room::WaitingRoom;
use crate::{VwrError, open_store};

#[derive(Debug, Clone, Parser)]
#[command(about = "URR Tier-1 virtual waiting room")]
pub struct Cli {
    #[command(flatten)]
    pub vwr: VwrConfig,

    /// HS256 secret shared with the edge, which verifies the Tier-1 tokens.
    #[arg(long, env = "URR_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: String,

    /// Redis, for the Redis store.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    pub redis_url: String,

    #[arg(long, env = "URR_REDIS_PREFIX", default_value = "urr:")]
    pub redis_prefix: String,

    /// Where the API listens when it is not on Lambda.
    #[arg(long, env = "URR_VWR_LISTEN", default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
}

impl Cli {
    /// The room as configured, its store opened.
    pub async fn room(&self) -> Result<WaitingRoom<AnyStore>, VwrError> {
        if self.jwt_secret.len() < 32 {
            return Err(VwrError::Config(
                "URR_JWT_SECRET must be at least 32 bytes".into(),
            ));
        }
        let kv = match self.vwr.store {
            StoreKind::Redis => Some(
                Kv::connect(&self.redis_url, self.redis_prefix.clone())
                    .await
                    .map_err(VwrError::store)?,
            ),
            StoreKind::Dynamodb => None,
        };
        let store = open_store(&self.vwr, kv).await?;
        let keys = TokenKeys::new(self.jwt_secret.as_bytes());
        Ok(WaitingRoom::new(store, keys, self.vwr.room_defaults())
            .with_defence(self.vwr.bot_defence()?))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;
    use crate::config::StoreKind;

    #[test]
    fn flags_parse_with_defaults() {
        let cli = Cli::try_parse_from([
            "vwr-api",
            "--jwt-secret",
            "s",
            "--vwr-store",
            "dynamodb",
            "--vwr-dynamodb-endpoint",
            "http://127.0.0.1:5000",
            "--vwr-batch",
            "250",
        ])
        .unwrap();
        assert_eq!(cli.vwr.store, StoreKind::Dynamodb);
        assert_eq!(cli.vwr.batch, 250);
        assert_eq!(cli.vwr.interval_secs, 10);
        assert_eq!(cli.vwr.counters_table, "counters");
        assert_eq!(cli.vwr.room_defaults().position_ttl.as_secs(), 86_400);
        assert!(
            Cli::try_parse_from(["vwr-api", "--jwt-secret", "s", "--vwr-store", "mongo"]).is_err()
        );
    }
}
