//! Where the browser may be sent after signing in: a place on this site, and nowhere else.
//!
//! A target is parsed as a URL against the site's public origin, the way a browser
//! resolves a `Location`, and kept only when it resolves to that same origin. Browsers
//! silently drop tabs and newlines from URLs (`/\t/evil.example` becomes
//! `//evil.example`, another host) and a control character cannot go into a header at
//! all, so any control character or white space refuses the target before parsing.
//! What is kept is the path, query and fragment alone, re-encoded by the URL parser:
//! always a valid header value, never a scheme or a host. A target may not carry the
//! query keys server functions use to report errors (`form_errors`): otherwise a
//! sign-in's own redirect could take someone's words to the form.

use url::Url;

/// The query keys with which Leptos brings a server function's error back to a page
/// that posted a form without wasm, and the signature `form_errors` adds to them.
pub const ERROR_KEYS: [&str; 3] = ["__path", "__err", "__sig"];

/// Whether a URL's query names one of `ERROR_KEYS` (compared decoded, as Leptos reads
/// them).
pub fn carries_error_keys(url: &Url) -> bool {
    url.query_pairs()
        .any(|(key, _)| ERROR_KEYS.contains(&key.as_ref()))
}

/// A URL's path, query and fragment, re-encoded: a reference that stays on its host
/// whenever the path does not start with `//`.
pub fn path_query_fragment(url: &Url) -> String {
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    if let Some(fragment) = url.fragment() {
        target.push('#');
        target.push_str(fragment);
    }
    target
}

/// Where sign-in and sign-up go when no (acceptable) target was asked for.
pub const DEFAULT_TARGET: &str = "/tasks";

/// A same-origin path (with its query and fragment) that is safe to redirect to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectTarget(String);

impl RedirectTarget {
    /// The target `raw` names, if it stays on the site at `public_origin`.
    pub fn parse(raw: &str, public_origin: &str) -> Option<Self> {
        if raw.is_empty() || raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return None;
        }
        let base = Url::parse(public_origin).ok()?;
        let url = base.join(raw).ok()?;
        if url.origin() != base.origin() || url.path().starts_with("//") || carries_error_keys(&url)
        {
            return None;
        }
        Some(Self(path_query_fragment(&url)))
    }

    /// The target `raw` names, or the task list when it names none or a refused one.
    pub fn or_default(raw: Option<&str>, public_origin: &str) -> Self {
        raw.and_then(|raw| Self::parse(raw, public_origin))
            .unwrap_or_else(|| Self(DEFAULT_TARGET.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The target with `key=value` set in its query (replacing any `key` it had), as
    /// emailed links report what became of them (`?token=…`, `?error=INVALID_TOKEN`).
    pub fn with_query(&self, key: &str, value: &str) -> Self {
        let Ok(mut url) = Url::parse("http://target.invalid").and_then(|base| base.join(&self.0))
        else {
            return self.clone();
        };
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != key)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair(key, value);
        Self(path_query_fragment(&url))
    }

    /// A `302 Found` to the target, as Better Auth redirects.
    pub fn found(&self) -> axum::response::Response {
        use axum::{
            http::{header::LOCATION, HeaderValue, StatusCode},
            response::IntoResponse,
        };
        let location = HeaderValue::from_str(&self.0).expect("a kept target is a header value");
        (StatusCode::FOUND, [(LOCATION, location)]).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITE: &str = "https://tasks.example.com";

    fn target(raw: &str) -> String {
        RedirectTarget::or_default(Some(raw), SITE).0
    }

    #[test]
    fn local_paths_are_kept_with_their_query_and_fragment() {
        assert_eq!(target("/tasks?completed=true"), "/tasks?completed=true");
        assert_eq!(target("/account#sessions"), "/account#sessions");
        assert_eq!(target("https://tasks.example.com/admin"), "/admin");
    }

    #[test]
    fn other_hosts_and_schemes_are_refused() {
        for raw in [
            "//evil.example",
            "https://evil.example",
            "http://tasks.example.com/tasks",
            "https://tasks.example.com.evil.example/",
            "https://user@evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://tasks.example.com//evil.example",
        ] {
            assert_eq!(target(raw), DEFAULT_TARGET, "{raw:?} was accepted");
        }
    }

    #[test]
    fn targets_that_carry_form_error_keys_are_refused() {
        for raw in [
            "/sign-in?__path=/fn/sign-in&__err=eyJ9",
            "/sign-in?%5F%5Ferr=eyJ9",
            "/sign-in?x=1&__sig=abc",
        ] {
            assert_eq!(target(raw), DEFAULT_TARGET, "{raw:?} was accepted");
        }
        assert_eq!(target("/tasks?__other=1"), "/tasks?__other=1");
    }

    #[test]
    fn control_characters_and_white_space_are_refused() {
        for raw in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\nSet-Cookie: a=b",
            "/tasks\x7f",
            "/tasks\0",
            " /tasks",
            "/tasks\u{2028}",
            "/ta sks",
        ] {
            assert_eq!(target(raw), DEFAULT_TARGET, "{raw:?} was accepted");
        }
    }

    #[test]
    fn what_is_kept_is_always_a_valid_header_value() {
        let kept = target("/tâches?q=ünïcode\"<>");
        assert!(kept.starts_with("/t%C3%A2ches?"), "{kept}");
        assert!(axum::http::HeaderValue::from_str(&kept).is_ok());
    }

    #[test]
    fn a_query_member_is_added_or_replaced_and_the_rest_kept() {
        let kept =
            RedirectTarget::or_default(Some("/reset-password?from=mail&token=old#top"), SITE);
        assert_eq!(
            kept.with_query("token", "a b&c").as_str(),
            "/reset-password?from=mail&token=a+b%26c#top"
        );
        let bare = RedirectTarget::or_default(Some("/email-verified"), SITE);
        assert_eq!(
            bare.with_query("error", "INVALID_TOKEN").as_str(),
            "/email-verified?error=INVALID_TOKEN"
        );
    }

    #[test]
    fn nothing_asked_for_means_the_task_list() {
        assert_eq!(RedirectTarget::or_default(None, SITE).0, DEFAULT_TARGET);
        assert_eq!(target(""), DEFAULT_TARGET);
    }
}
