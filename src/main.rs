//! The `urr` binary: parse the configuration once, then hand over to the library.

use clap::Parser;

/// A node spends much of its time allocating small buffers (requests, JSON, futures) on
/// many threads at once; glibc's malloc showed as ~18 % of its CPU in the rush, and
/// mimalloc's per-thread pages do that job with less (BENCHMARKS.md, "The rush").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = urr::cli::Cli::parse();
    urr::telemetry::init(cli.log_format);
    match urr::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
