//! Logging for the binaries: JSON lines on Lambda (CloudWatch parses them), readable text
//! in a terminal; `RUST_LOG` filters either.

use tracing_subscriber::EnvFilter;

/// True when running inside the Lambda runtime rather than as a local process.
pub fn on_lambda() -> bool {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if on_lambda() {
        builder.json().with_ansi(false).without_time().try_init()
    } else {
        builder.try_init()
    };
    // A subscriber already installed (tests, embedding) is fine.
    drop(result);
}
