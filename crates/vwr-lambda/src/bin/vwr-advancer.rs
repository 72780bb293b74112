//! The counter advancer: on Lambda, six ten-second cycles per scheduled invocation;
//! locally, a cycle every tick until Ctrl-C.

use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::{Value, json};
use urr_vwr::advancer::{Advancer, LAMBDA_CYCLE_SPACING, LAMBDA_CYCLES};
use urr_vwr::cli::Cli;
use urr_vwr::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init();
    let cli = Cli::parse();
    let advancer = Advancer::new(cli.room().await?, cli.vwr.advance_tick());
    if !telemetry::on_lambda() {
        advancer
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        return Ok(());
    }
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let advancer = advancer.clone();
        async move {
            let report = advancer
                .run_cycles(LAMBDA_CYCLES, LAMBDA_CYCLE_SPACING)
                .await;
            tracing::info!(?report, "advancer invocation done");
            Ok::<_, lambda_runtime::Error>(json!({
                "rooms": report.rooms,
                "admitted": report.admitted,
                "failures": report.failures,
            }))
        }
    }))
    .await
}
