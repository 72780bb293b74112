//! `urr streams ...`: the operator's view of dead letters.

use std::io::Write;

use clap::Subcommand;
use sqlx::PgPool;
use urr_store::Kv;

use crate::{BusError, dlq, store};

#[derive(Debug, Clone, Subcommand)]
pub enum StreamsCommand {
    /// List dead letters (of one topic, or of every topic that has any).
    List {
        /// Topic, e.g. payment-events.
        #[arg(long)]
        stream: Option<String>,
        /// At most this many per topic.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Put dead letters back on their original stream and remove them from the DLQ.
    Replay {
        /// Topic, e.g. payment-events; every topic when omitted.
        #[arg(long)]
        stream: Option<String>,
        /// Only this dead-letter entry (an id shown by `list`).
        #[arg(long, requires = "stream")]
        id: Option<String>,
    },
}

/// Runs `cmd`, printing to stdout.
pub async fn run(cmd: StreamsCommand, kv: &Kv, db: &PgPool) -> Result<(), BusError> {
    let mut out = std::io::stdout().lock();
    run_to(cmd, kv, db, &mut out).await
}

/// Runs `cmd`, printing to `out`.
pub async fn run_to(
    cmd: StreamsCommand,
    kv: &Kv,
    db: &PgPool,
    out: &mut impl Write,
) -> Result<(), BusError> {
    match cmd {
        StreamsCommand::List { stream, limit } => {
            let topics = chosen_topics(kv, stream).await?;
            writeln!(
                out,
                "outbox rows awaiting the relay: {}",
                store::unpublished_count(db).await?
            )?;
            if topics.is_empty() {
                writeln!(out, "no dead letters")?;
            }
            for topic in topics {
                let letters = dlq::list(kv, &topic, limit).await?;
                writeln!(out, "{topic}: {} dead letter(s)", letters.len())?;
                for l in letters {
                    writeln!(
                        out,
                        "  {}  event {} {} key={} group={} deliveries={} reason: {}",
                        l.dlq_id, l.event_id, l.event_type, l.key, l.group, l.deliveries, l.reason
                    )?;
                }
            }
        }
        StreamsCommand::Replay { stream, id } => {
            for topic in chosen_topics(kv, stream).await? {
                let n = dlq::replay(kv, &topic, id.as_deref()).await?;
                writeln!(out, "{topic}: replayed {n}")?;
            }
        }
    }
    Ok(())
}

async fn chosen_topics(kv: &Kv, stream: Option<String>) -> Result<Vec<String>, BusError> {
    match stream {
        Some(topic) => Ok(vec![topic]),
        None => dlq::topics(kv).await,
    }
}
