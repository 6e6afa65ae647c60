//! The emails a test app sends, as the person would read them, and their links followed
//! in their browser.

use super::{session_cookie, TestUser};
use reqwest::header;
use std::time::{Duration, Instant};

/// Where a test app's emails arrive: the SMTP server of the run (`TEST_SMTP_URL`, which
/// `scripts/with-smtp.sh` starts for the test command; its maildir is `TEST_SMTP_DIR`),
/// or, when the run has none, the app's own development outbox in a temporary directory.
pub struct Mailbox {
    dir: std::path::PathBuf,
    smtp_url: Option<String>,
    _outbox: Option<tempfile::TempDir>,
}

/// A message as it was delivered: its subject, its text part, its HTML part.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub from: String,
}

/// `request` with the cookies of a browser signed in as `user`, if anyone: its session
/// and its access token.
pub(super) fn in_browser_of(
    request: reqwest::RequestBuilder,
    user: Option<&TestUser>,
) -> reqwest::RequestBuilder {
    match user {
        Some(user) => request.header(
            header::COOKIE,
            format!(
                "{}; access_token={}",
                session_cookie(&user.session_token),
                user.jwt
            ),
        ),
        None => request,
    }
}

/// The server function behind the button of an emailed link's page.
pub(super) const CONFIRM_EMAIL: &str = "/fn/confirm-email";

/// The names and values of the inputs of the form in `html` that posts to `server_fn`,
/// as a browser sends them; `None` when the page has no such form.
pub(super) fn form_fields(html: &str, server_fn: &str) -> Option<Vec<(String, String)>> {
    let action = html.find(&format!("action=\"{server_fn}\""))?;
    let form = &html[html[..action].rfind("<form")?..];
    let form = &form[..form.find("</form>")?];
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        let value = &tag[start..start + tag[start..].find('"')?];
        Some(html_escape::decode_html_entities(value).into_owned())
    };
    Some(
        form.split("<input")
            .skip(1)
            .filter_map(|input| {
                let tag = &input[..input.find('>')?];
                Some((
                    attribute(tag, "name")?,
                    attribute(tag, "value").unwrap_or_default(),
                ))
            })
            .collect(),
    )
}

impl Delivered {
    /// The link the message carries: to the page that confirms a verification, an
    /// approval or a change of address, or a reset link into the API.
    pub fn link(&self) -> String {
        self.text
            .split_whitespace()
            .find(|word| {
                word.starts_with("http")
                    && (word.contains("/confirm-email?")
                        || word.contains("/api/auth/reset-password/"))
            })
            .unwrap_or_else(|| panic!("no link in {:?}", self.text))
            .to_owned()
    }

    /// The token in the message's link: its last path segment, or its `token` query.
    pub fn token(&self) -> String {
        let link = url::Url::parse(&self.link()).expect("a URL");
        link.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| {
                link.path_segments()
                    .and_then(|mut s| s.next_back())
                    .expect("a token")
                    .to_owned()
            })
    }
}

impl Mailbox {
    pub(super) fn for_this_run() -> Self {
        match (
            std::env::var("TEST_SMTP_URL"),
            std::env::var("TEST_SMTP_DIR"),
        ) {
            (Ok(url), Ok(dir)) => Self {
                dir: std::path::Path::new(&dir).join("new"),
                smtp_url: Some(url),
                _outbox: None,
            },
            _ => {
                let outbox = tempfile::tempdir().expect("an outbox directory");
                Self {
                    dir: outbox.path().to_path_buf(),
                    smtp_url: None,
                    _outbox: Some(outbox),
                }
            }
        }
    }

    /// The development outbox in `dir`, as an app with no SMTP server writes it.
    pub fn outbox(dir: &std::path::Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            smtp_url: None,
            _outbox: None,
        }
    }

    /// The app's configuration for sending here.
    pub(super) fn settings(&self) -> Vec<(&'static str, String)> {
        match &self.smtp_url {
            Some(url) => vec![
                ("SMTP_URL", url.clone()),
                (
                    "MAIL_FROM",
                    "Taskboard tests <tests@taskboard.test>".to_owned(),
                ),
            ],
            None => vec![("MAIL_OUTBOX_DIR", self.dir.display().to_string())],
        }
    }

    /// Whether the messages go through an SMTP server.
    pub fn is_smtp(&self) -> bool {
        self.smtp_url.is_some()
    }

    /// Every message delivered to `address` so far, oldest first.
    pub fn delivered_to(&self, address: &str) -> Vec<Delivered> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, Vec<u8>)> = entries
            .flatten()
            .filter_map(|entry| {
                let modified = entry.metadata().ok()?.modified().ok()?;
                Some((modified, std::fs::read(entry.path()).ok()?))
            })
            .collect();
        files.sort_by_key(|(modified, _)| *modified);
        files
            .iter()
            .filter_map(|(_, raw)| {
                let mail = mailparse::parse_mail(raw).ok()?;
                let header = |name: &str| {
                    use mailparse::MailHeaderMap;
                    mail.headers.get_first_value(name).unwrap_or_default()
                };
                // The maildir's envelope recipient, else (the outbox) the `To` header.
                let to = Some(header("X-RcptTo"))
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| header("To"));
                if !to.eq_ignore_ascii_case(address) {
                    return None;
                }
                let part = |kind: &str| {
                    mail.subparts
                        .iter()
                        .find(|p| p.ctype.mimetype == kind)
                        .and_then(|p| p.get_body().ok())
                        .unwrap_or_default()
                };
                Some(Delivered {
                    subject: header("Subject"),
                    text: part("text/plain"),
                    html: part("text/html"),
                    from: header("From"),
                })
            })
            .collect()
    }

    /// The newest message to `address`, waiting for it to arrive (sending happens after
    /// the answer).
    pub async fn message_to(&self, address: &str) -> Delivered {
        self.messages_to(address, 1).await.pop().expect("a message")
    }

    /// The messages to `address` once there are at least `count`, waiting for them.
    pub async fn messages_to(&self, address: &str, count: usize) -> Vec<Delivered> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let delivered = self.delivered_to(address);
            if delivered.len() >= count {
                return delivered;
            }
            assert!(
                Instant::now() < deadline,
                "{count} messages to {address} did not arrive in 15 s (got {})",
                delivered.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
