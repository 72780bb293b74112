//! Structured logs: human-readable by default, JSON for log collectors.
//!
//! A JSON line carries the fields of every span it was logged in, so a line the event
//! actor writes while it serves a call names the request (`request_id`) that made it
//! (`docs/operations.md#following-one-request`).

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Registry};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One readable line per event, for people.
    Text,
    /// One JSON object per event with its spans' fields, for log collectors.
    Json,
}

/// Installs the process's logger: levels from `RUST_LOG`, lines to stderr.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => tracing::subscriber::set_global_default(json(filter, std::io::stderr))
            .unwrap_or_else(|err| eprintln!("a logger was already installed: {err}")),
    }
}

/// The JSON logger, writing to `writer`: each line with the current span and the list
/// of spans it sits in.
pub fn json<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    Registry::default().with(json_layer(writer).with_filter(filter))
}

/// The JSON lines of [`json`] as a layer, for a subscriber that filters them its own way.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S> + Send + Sync + 'static
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_writer(writer)
}
