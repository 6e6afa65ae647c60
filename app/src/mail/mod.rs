//! Email: the messages an account needs (a password reset, a link that verifies an
//! address, a change of address), sent over SMTP (`SMTP_URL`, `MAIL_FROM`) or, with no
//! SMTP server configured, written to the development outbox: one `.eml` file a message
//! in `MAIL_OUTBOX_DIR` (beside the SQLite database unless set), with its link in the
//! log of a development build, so every flow works on a fresh machine.
//!
//! Sending never holds up the request that asked for it: `Mailer::send` hands the
//! message to a task of its own, which tries a few times, waiting longer each time, and
//! logs each failure with its cause. Logs name the account by its id, never by its
//! address, and a link (a credential until it is used) reaches the log only in a
//! development build's outbox.

pub mod letters;

use lettre::{
    message::{Mailbox, MultiPart},
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::{path::PathBuf, sync::Arc, time::Duration};

/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The waits before the second, third and fourth tries of a message.
const RETRY_AFTER: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(10),
    Duration::from_secs(30),
];

/// Where messages go, as configured. Its `Debug` leaves the SMTP URL out.
#[derive(Clone)]
pub struct MailSettings {
    /// `smtp://` (STARTTLS with `?tls=required`) or `smtps://`, with user and password:
    /// a secret, never logged. `None` writes to the outbox.
    pub smtp_url: Option<String>,
    pub from: Mailbox,
    pub outbox_dir: PathBuf,
    /// Whether the outbox logs each message's link: only in a development build, where
    /// nobody but the developer can follow it.
    pub log_links: bool,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("outbox_dir", &self.outbox_dir)
            .field("log_links", &self.log_links)
            .finish()
    }
}

/// A refused mail configuration, said without the URL (which holds a password).
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("SMTP_URL is not a usable SMTP URL ({0}): use smtp://user:password@host:587?tls=required or smtps://user:password@host:465")]
    SmtpUrl(String),
    #[error("cannot create the outbox directory {0}: {1}")]
    Outbox(String, std::io::Error),
}

/// One message to one person.
pub struct Letter {
    /// Whose account it is about, for the log.
    pub user_id: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The link it carries, logged by a development outbox.
    pub link: String,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    log_links: bool,
}

impl Mailer {
    pub fn new(settings: MailSettings) -> Result<Self, MailSetupError> {
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailSetupError::SmtpUrl(e.to_string()))?
                    .timeout(Some(SMTP_TIMEOUT))
                    .build(),
            ),
            None => {
                // Readable by this user alone: its messages hold live reset links.
                let dir = &settings.outbox_dir;
                crate::private_files::private_dir(dir)
                    .map_err(|e| MailSetupError::Outbox(dir.display().to_string(), e))?;
                Transport::Outbox(AsyncFileTransport::new(dir), dir.clone())
            }
        };
        Ok(Self {
            transport,
            from: settings.from,
            log_links: settings.log_links,
        })
    }

    /// Whether messages go to the outbox rather than to people.
    pub fn is_outbox(&self) -> bool {
        matches!(self.transport, Transport::Outbox(..))
    }

    /// Sends `letter` from a task of its own, trying again after each failure.
    pub fn send(self: &Arc<Self>, letter: Letter) {
        let mailer = Arc::clone(self);
        tokio::spawn(async move { mailer.deliver(letter).await });
    }

    async fn deliver(&self, letter: Letter) {
        let message = match self.message(&letter) {
            Ok(message) => message,
            Err(cause) => {
                tracing::error!(user_id = %letter.user_id, subject = %letter.subject, %cause, "could not write an email");
                return;
            }
        };
        let mut waits = RETRY_AFTER.iter();
        for attempt in 1.. {
            match self.try_once(&message, &letter).await {
                Ok(()) => return,
                Err(cause) => {
                    // The server's answer may quote the address: the log names the account.
                    let cause = cause.replace(&letter.to, "<recipient>");
                    let Some(wait) = waits.next() else {
                        tracing::error!(user_id = %letter.user_id, subject = %letter.subject, attempt, %cause, "could not send an email; giving up");
                        return;
                    };
                    tracing::warn!(user_id = %letter.user_id, subject = %letter.subject, attempt, %cause, retry_in = ?wait, "could not send an email");
                    tokio::time::sleep(*wait).await;
                }
            }
        }
    }

    async fn try_once(&self, message: &Message, letter: &Letter) -> Result<(), String> {
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!(user_id = %letter.user_id, subject = %letter.subject, "email sent");
            }
            Transport::Outbox(files, dir) => {
                let id = files
                    .send(message.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                let file = dir.join(format!("{id}.eml"));
                if self.log_links {
                    tracing::info!(user_id = %letter.user_id, subject = %letter.subject, file = %file.display(), link = %letter.link, "email written to the outbox");
                } else {
                    tracing::info!(user_id = %letter.user_id, subject = %letter.subject, file = %file.display(), "email written to the outbox");
                }
            }
        }
        Ok(())
    }

    fn message(&self, letter: &Letter) -> Result<Message, String> {
        let to: Mailbox = letter
            .to
            .parse()
            .map_err(|e: lettre::address::AddressError| format!("the address is refused: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&letter.subject)
            .multipart(MultiPart::alternative_plain_html(
                letter.text.clone(),
                letter.html.clone(),
            ))
            .map_err(|e| e.to_string())
    }
}
