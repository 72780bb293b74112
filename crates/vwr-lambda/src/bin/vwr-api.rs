//! The waiting room's API: on Lambda behind API Gateway, or as a plain local server (with
//! the advancer running beside it).

use clap::Parser;
use tower::ServiceExt;
use urr_vwr::advancer::Advancer;
use urr_vwr::cli::Cli;
use urr_vwr::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init();
    let cli = Cli::parse();
    let room = cli.room().await?;
    let app = urr_vwr::router(room.clone(), cli.vwr.admin_key.clone());
    if telemetry::on_lambda() {
        // On Lambda Managed Instances (AWS_LAMBDA_MAX_CONCURRENCY > 1) one process serves
        // many joins at once, so they share counter writes; elsewhere this runs one at a
        // time. The concurrent runner wants a `Sync` body, so replies are buffered (they
        // are a few hundred bytes).
        let handler = lambda_http::service_fn(move |request: lambda_http::Request| {
            let app = app.clone();
            async move {
                let (parts, body) = app.oneshot(request).await?.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await?;
                Ok::<_, lambda_http::Error>(lambda_http::Response::from_parts(
                    parts,
                    lambda_http::Body::from(bytes.to_vec()),
                ))
            }
        });
        return lambda_http::run_concurrent(handler).await;
    }
    tokio::spawn(Advancer::new(room, cli.vwr.advance_tick()).run(std::future::pending()));
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    tracing::info!(listen = %cli.listen, "waiting room API listening");
    // The peer address is the per-address join limit's subject (or its trusted proxy).
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
