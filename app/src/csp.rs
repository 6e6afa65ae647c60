//! The Content-Security-Policy of every page.
//!
//! Scripts run only from this origin or inline with the nonce Leptos puts on its
//! hydration and streaming scripts (a new one per response); wasm may be compiled
//! (`'wasm-unsafe-eval'`); nothing may frame the site. Under `cargo leptos watch` the
//! live-reload websocket is allowed too.

use axum::http::{header::CONTENT_SECURITY_POLICY, HeaderValue};
use leptos::{config::LeptosOptions, nonce::use_nonce, prelude::use_context};
use leptos_axum::ResponseOptions;

/// Puts the policy for the response being rendered on it.
pub fn apply(options: &LeptosOptions) {
    let (Some(response), Some(nonce)) = (use_context::<ResponseOptions>(), use_nonce()) else {
        return;
    };
    let reload = std::env::var_os("LEPTOS_WATCH")
        .map(|_| options.reload_external_port.unwrap_or(options.reload_port));
    if let Ok(value) = HeaderValue::from_str(&policy(Some(&nonce), reload)) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

/// The policy, with the nonce of a rendered page's inline scripts; without one (`/docs`),
/// scripts run only from this origin's files.
pub fn policy(nonce: Option<&str>, reload_port: Option<u32>) -> String {
    let reload = reload_port
        .map(|port| format!(" ws://*:{port} wss://*:{port}"))
        .unwrap_or_default();
    let nonce = nonce
        .map(|nonce| format!(" 'nonce-{nonce}'"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::policy;

    #[test]
    fn scripts_need_the_nonce_and_nothing_may_frame_the_page() {
        let csp = policy(Some("abc123"), None);
        assert!(csp.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("connect-src 'self';"));
    }

    #[test]
    fn the_live_reload_socket_is_allowed_only_when_watching() {
        assert!(
            policy(Some("n"), Some(3001)).contains("connect-src 'self' ws://*:3001 wss://*:3001;")
        );
    }
}
