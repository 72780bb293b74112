//! `urr loadgen`: a rush against a node that is already running.

use anyhow::Context;

use crate::cli::{LoadgenArgs, WaitersArgs};
use crate::private_services::Services;

pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    let services = Services::resolve(&args.services).await?;
    let db = urr_store::db::connect(&services.database_url, 8)
        .await
        .context("connecting to the node's PostgreSQL")?;
    let backend = urr_loadgen::Backend {
        db,
        keys: urr_auth::TokenKeys::new(args.jwt_secret.as_bytes()),
    };
    let title = format!("Rush {}", chrono_like_now());
    let (report, written) = urr_loadgen::run(&args.rush, &backend, &title).await?;
    println!("{}", report.summary());
    println!("report: {}", written.report.display());
    println!("plot:   {}", written.plot.display());
    if report.checks.passed() {
        Ok(())
    } else {
        anyhow::bail!("the rush's checks failed (see above)")
    }
}

/// `urr waiters`: people kept waiting on a running node (`urr_loadgen::waiters`).
pub async fn waiters(args: WaitersArgs) -> anyhow::Result<()> {
    let services = Services::resolve(&args.services).await?;
    let db = urr_store::db::connect(&services.database_url, 8)
        .await
        .context("connecting to the node's PostgreSQL")?;
    let backend = urr_loadgen::Backend {
        db,
        keys: urr_auth::TokenKeys::new(args.jwt_secret.as_bytes()),
    };
    let report = urr_loadgen::waiters::run(&args.waiters, &backend).await?;
    println!("{}", report.summary());
    if report.lost_places > 0 || report.join_failures > 0 {
        anyhow::bail!("people lost their place or could not join (see above)");
    }
    Ok(())
}

/// Seconds since the epoch, to tell runs apart in the event list.
pub(crate) fn chrono_like_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
