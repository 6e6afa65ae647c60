//! Where emails go: an SMTP server, reached over TLS, or the outbox.

use super::{
    vars::{is_loopback, Vars},
    Mode,
};
use crate::database::Database;
use anyhow::bail;
use app::mail::MailSettings;
use std::path::{Path, PathBuf};

/// Where emails go: the SMTP server of `SMTP_URL` (which then needs `MAIL_FROM`), or the
/// outbox, `MAIL_OUTBOX_DIR` or `outbox/` beside the SQLite database. Only a development
/// build's outbox logs the links.
pub fn read(vars: &Vars, database: &Database, mode: Mode) -> anyhow::Result<MailSettings> {
    let smtp_url = vars.get("SMTP_URL");
    if let Some(url) = &smtp_url {
        refuse_plaintext_smtp(url)?;
    }
    let from = match (vars.get("MAIL_FROM"), &smtp_url) {
        (Some(from), _) => from
            .parse()
            .map_err(|e| anyhow::anyhow!("MAIL_FROM={from} is not an address ({e}): use \"Taskboard <tasks@example.com>\" or tasks@example.com"))?,
        (None, Some(_)) => bail!(
            "SMTP_URL is set but MAIL_FROM is not: set MAIL_FROM to the address the emails \
             come from, e.g. \"Taskboard <tasks@example.com>\""
        ),
        (None, None) => "Taskboard <taskboard@localhost>"
            .parse()
            .expect("the outbox's sender is an address"),
    };
    let outbox_dir = vars.get("MAIL_OUTBOX_DIR").map_or_else(
        || {
            database
                .backend
                .data_dir()
                .filter(|d| !d.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("data"), Path::to_path_buf)
                .join("outbox")
        },
        PathBuf::from,
    );
    Ok(MailSettings {
        smtp_url,
        from,
        outbox_dir,
        log_links: mode == Mode::Development,
    })
}

/// Refuses an SMTP server reached without TLS, unless it is on this machine: the password
/// (`AUTH PLAIN`) and every reset link would cross the network readable, and
/// `tls=opportunistic` is stripped by whoever sits in between. The error never repeats
/// the URL, which holds the password.
fn refuse_plaintext_smtp(smtp_url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(smtp_url).map_err(|_| {
        anyhow::anyhow!("SMTP_URL is not a URL: use smtps://user:password@host:465 or smtp://user:password@host:587?tls=required")
    })?;
    let tls = url
        .query_pairs()
        .find(|(key, _)| key == "tls")
        .map(|(_, value)| value.into_owned());
    let encrypted = url.scheme() == "smtps" || tls.as_deref() == Some("required");
    if !encrypted && !is_loopback(smtp_url) {
        bail!(
            "SMTP_URL reaches {} without TLS: the SMTP password and every emailed link would \
             be readable on the way; use smtps://…:465 or smtp://…:587?tls=required (plain \
             smtp:// is for a relay on this machine)",
            url.host_str().unwrap_or("its host")
        );
    }
    Ok(())
}
