//! URR: a ticket on-sale cluster. This crate is the `urr` command: it resolves where
//! PostgreSQL and Redis are (starting private ones when needed) and runs the edge.

pub mod check_config;
pub mod cli;
pub mod cluster_status;
pub mod demo;
pub mod loadgen;
pub mod node;
pub mod private_services;
pub mod telemetry;

use cli::{Cli, Command};
use private_services::Services;

/// Runs the command the CLI asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(command) if command.check_config => check_config::run(&command.node),
        Command::Serve(command) => serve(command.node).await,
        Command::Demo(args) => demo::run(*args).await,
        Command::Loadgen(args) => loadgen::run(*args).await,
        Command::Waiters(args) => loadgen::waiters(*args).await,
        Command::Migrate(args) => {
            let services = Services::resolve(&args).await?;
            let db = urr_store::db::connect(&services.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Cluster(cli::ClusterCommand::Status {
            services,
            member_ttl_ms,
        }) => {
            let resolved = Services::resolve(&services).await?;
            let db = urr_store::db::connect(&resolved.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            let kv =
                urr_store::Kv::connect(&resolved.redis_url, services.redis_prefix.clone()).await?;
            let ttl = std::time::Duration::from_millis(member_ttl_ms);
            let status = urr_cluster::status::read(&db, &kv, ttl).await?;
            print!("{}", cluster_status::render(&status));
            Ok(())
        }
        Command::Streams { command, services } => {
            let resolved = Services::resolve(&services).await?;
            let db = urr_store::db::connect(&resolved.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            let kv =
                urr_store::Kv::connect(&resolved.redis_url, services.redis_prefix.clone()).await?;
            urr_bus::cli::run(command, &kv, &db).await?;
            Ok(())
        }
        Command::Admin(cli::AdminCommand::Grant { email, services }) => {
            let resolved = Services::resolve(&services).await?;
            let db = urr_store::db::connect(&resolved.database_url, 2).await?;
            urr_store::db::migrate(&db).await?;
            let user = urr_store::users::grant_admin(&db, &email)
                .await
                .map_err(|e| match e {
                    urr_store::StoreError::NotFound => {
                        anyhow::anyhow!("no account with email {email}: register first")
                    }
                    other => other.into(),
                })?;
            println!(
                "{} ({}) is now an admin: operator calls work from their next request",
                user.email, user.id
            );
            Ok(())
        }
    }
}

async fn serve(args: cli::ServeArgs) -> anyhow::Result<()> {
    let node = node::start(args).await?;
    // Scripts and tests read this line to find the port when listening on port 0.
    println!("URR listening on {}", node.url());
    node.serve_until_signal().await
}
