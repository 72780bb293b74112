//! The mail port: how the edge sends a message to a person (today, the link that verifies
//! an email address). Senders are small; the ones here are for development and tests: a
//! log line, or a JSON line appended to a file. A production sender (SMTP, a provider's
//! API) implements [`Mailer`] the same way.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, ValueEnum};
use serde::Serialize;
use tokio::io::AsyncWriteExt;

/// One message to one address, in plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync {
    /// Hands `mail` over for delivery; `Err` when the sender could not take it.
    async fn send(&self, mail: &Mail) -> std::io::Result<()>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MailSender {
    /// Writes each message to the log (development).
    Log,
    /// Appends each message as a JSON line to `--mail-file` (development and tests).
    File,
}

/// How the node sends mail, and the address its links point at.
#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// Where messages go.
    #[arg(long, env = "URR_MAIL_SENDER", value_enum, default_value = "log")]
    pub mail_sender: MailSender,

    /// The file the `file` sender appends to.
    #[arg(long, env = "URR_MAIL_FILE")]
    pub mail_file: Option<PathBuf>,

    /// The site's public base URL, for links in messages (e.g. https://tickets.example);
    /// unset, links point at http://<listen address>.
    #[arg(long, env = "URR_PUBLIC_URL")]
    pub public_url: Option<String>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            mail_sender: MailSender::Log,
            mail_file: None,
            public_url: None,
        }
    }
}

impl MailConfig {
    /// The configured sender. A `file` sender without a file logs instead (and says so).
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        match (self.mail_sender, &self.mail_file) {
            (MailSender::File, Some(path)) => Arc::new(FileMailer { path: path.clone() }),
            (MailSender::File, None) => {
                tracing::warn!("--mail-sender file without --mail-file: mail goes to the log");
                Arc::new(LogMailer)
            }
            (MailSender::Log, _) => Arc::new(LogMailer),
        }
    }
}

pub struct LogMailer;

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, mail: &Mail) -> std::io::Result<()> {
        tracing::info!(to = %mail.to, subject = %mail.subject, text = %mail.text, "mail");
        Ok(())
    }
}

pub struct FileMailer {
    path: PathBuf,
}

#[async_trait::async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &Mail) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(mail)?;
        line.push(b'\n');
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await?;
        file.write_all(&line).await?;
        file.flush().await
    }
}
