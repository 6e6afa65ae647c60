//! Server-function errors carried in page URLs, signed so that nobody else can put words
//! on our pages.
//!
//! A form posted before the wasm has loaded gets its error back as a redirect to the
//! form's page (its `Referer`) with `__path` (the server function) and `__err` (the
//! error) appended to the query, and Leptos shows whatever those say, on the server and
//! again in the browser. So anyone could link to
//! `/sign-in?__path=/fn/sign-in&__err=…` with text of their own ("Security alert: visit
//! …") and it would show as the form's error. Here:
//!
//! - a server-function request's `Referer`, which Leptos copies into its redirect, is
//!   resolved against the public origin, loses any such keys, and is kept only when it
//!   is a page of this site (`RedirectTarget`), else dropped; `next` may not carry the
//!   keys either. So the only pair in a redirect from a server function is the one
//!   Leptos appended for an error of its own;
//! - that pair is signed (`__sig`: an expiry and an HMAC, under the server's secret, of
//!   the page, the function, the error and the expiry), and a transport error, whose
//!   text Leptos builds from the request, becomes the generic internal error first;
//! - a page asked for, by any method, with error keys that are not exactly one signed,
//!   unexpired pair (keys compared decoded, as Leptos and the browser read them) is sent
//!   to itself without them, so the address bar is clean before any script reads it.

use crate::{
    auth::token::Secret,
    error::AppError,
    paths::SERVER_FN_PREFIX,
    redirect::{carries_error_keys, path_query_fragment, RedirectTarget, ERROR_KEYS},
    state::AppState,
};
use axum::{
    extract::{Request, State},
    http::{
        header::{LOCATION, REFERER},
        HeaderMap, HeaderValue, Uri,
    },
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use base64::{
    engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD},
    Engine,
};
use url::Url;

const PATH: &str = ERROR_KEYS[0];
const ERROR: &str = ERROR_KEYS[1];
const SIGNATURE: &str = ERROR_KEYS[2];
const PURPOSE: &str = "taskboard form error";
/// How long a signed error may be shown: long enough to read it, and to reload.
const VALID_SECS: i64 = 10 * 60;

/// Signs the errors server functions redirect with, and refuses the ones nobody signed.
pub async fn only_our_own_words(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let secret = &state.tokens.settings().secret;
    let now = state.clock.unix_secs();
    let public_origin = &state.site.public_origin;
    let path = request.uri().path();
    if path.starts_with(SERVER_FN_PREFIX) {
        only_this_sites_pages_as_referer(request.headers_mut(), public_origin);
        let mut response = next.run(request).await;
        sign_redirect(secret, &mut response, now);
        return response;
    }
    // Every method: the router renders pages for any of them where nothing else matches.
    if !path.starts_with("/api/") {
        if let Some(clean) = without_unsigned_error(secret, request.uri(), now) {
            let clean = RedirectTarget::parse(&clean, public_origin)
                .map_or_else(|| "/".to_owned(), |target| target.as_str().to_owned());
            return Redirect::to(&clean).into_response();
        }
    }
    next.run(request).await
}

/// Leptos redirects a form post back to its `Referer`, with its error appended, and
/// copies one it cannot parse as it is. So the `Referer` becomes the absolute address of
/// the page of this site it names, without error keys, or goes.
fn only_this_sites_pages_as_referer(headers: &mut HeaderMap, public_origin: &str) {
    let Some(value) = headers.get(REFERER) else {
        return;
    };
    // Not text: server_fn would read it lossily and redirect there. No browser sends one.
    let Ok(raw) = value.to_str() else {
        headers.remove(REFERER);
        return;
    };
    let page = Url::parse(public_origin)
        .and_then(|base| base.join(raw))
        .ok()
        .and_then(|mut url| {
            set_other_pairs(&mut url);
            RedirectTarget::parse(url.as_str(), public_origin)
        })
        .and_then(|target| {
            HeaderValue::from_str(&format!("{public_origin}{}", target.as_str())).ok()
        });
    match page {
        Some(value) => headers.insert(REFERER, value),
        None => headers.remove(REFERER),
    };
}

/// Adds the signature to a redirect that carries one error; drops error keys otherwise.
fn sign_redirect(secret: &Secret, response: &mut Response, now: i64) {
    let Some(location) = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let Some((mut url, relative)) = parse_location(location) else {
        return;
    };
    if !carries_error_keys(&url) {
        return;
    }
    let pair = match (only_value(&url, PATH), only_value(&url, ERROR)) {
        (Some(path), Some(error)) => Some((path, in_our_own_words(&error))),
        _ => None,
    };
    set_other_pairs(&mut url);
    if let Some((path, error)) = pair {
        let expires = now + VALID_SECS;
        let signature = signature(secret, url.path(), &path, &error, expires);
        url.query_pairs_mut()
            .append_pair(PATH, &path)
            .append_pair(ERROR, &error)
            .append_pair(SIGNATURE, &signature);
    }
    let rewritten = if relative {
        path_query_fragment(&url)
    } else {
        url.to_string()
    };
    if let Ok(value) = HeaderValue::from_str(&rewritten) {
        response.headers_mut().insert(LOCATION, value);
    }
}

/// The page's path and query without the error keys, when it carries any that are not
/// one pair this server signed and that has not expired.
fn without_unsigned_error(secret: &Secret, uri: &Uri, now: i64) -> Option<String> {
    uri.query()?;
    let (mut url, _) = parse_location(&uri.to_string())?;
    if !carries_error_keys(&url) {
        return None;
    }
    let genuine = match (
        only_value(&url, PATH),
        only_value(&url, ERROR),
        only_value(&url, SIGNATURE),
    ) {
        (Some(path), Some(error), Some(signed)) => signed
            .split_once('.')
            .and_then(|(expires, _)| expires.parse::<i64>().ok())
            .filter(|expires| *expires >= now)
            .is_some_and(|expires| {
                let expected = signature(secret, url.path(), &path, &error, expires);
                constant_time_eq(expected.as_bytes(), signed.as_bytes())
            }),
        _ => false,
    };
    if genuine {
        return None;
    }
    set_other_pairs(&mut url);
    url.set_fragment(None);
    Some(path_query_fragment(&url))
}

/// The error as the app words it: anything that is not an `AppError` the app made itself
/// (a transport error's text comes from the request) is the generic internal error.
fn in_our_own_words(encoded: &str) -> String {
    let error = URL_SAFE
        .decode(encoded)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<AppError>(&bytes).ok())
        .filter(|error| !matches!(error, AppError::Transport(_)))
        .unwrap_or(AppError::Internal);
    let json = serde_json::to_vec(&error)
        .unwrap_or_else(|e| unreachable!("an AppError always serializes: {e}"));
    URL_SAFE.encode(json)
}

/// `<expiry>.<HMAC of page, function, error and expiry>`.
fn signature(secret: &Secret, page: &str, path: &str, error: &str, expires: i64) -> String {
    let message = format!("{page}\n{path}\n{error}\n{expires}");
    let mac = URL_SAFE_NO_PAD.encode(secret.mac(PURPOSE, message.as_bytes()));
    format!("{expires}.{mac}")
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A `Location` or request target as a URL, and whether it was relative.
fn parse_location(location: &str) -> Option<(Url, bool)> {
    match Url::parse(location) {
        Ok(url) => Some((url, false)),
        Err(_) => {
            let base = Url::parse("http://relative.invalid/").ok()?;
            Some((base.join(location).ok()?, true))
        }
    }
}

/// The value of `key` when the query names it exactly once (decoded, as Leptos reads it).
fn only_value(url: &Url, key: &str) -> Option<String> {
    let mut values = url.query_pairs().filter(|(k, _)| k == key);
    let (_, value) = values.next()?;
    values.next().is_none().then(|| value.into_owned())
}

/// Keeps every query pair but the error keys.
fn set_other_pairs(url: &mut Url) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !ERROR_KEYS.contains(&key.as_ref()))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if kept.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(&kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    const NOW: i64 = 1_800_000_000;

    fn secret() -> Secret {
        Secret::new("form-error-test-secret-0123456789-abcdef").unwrap()
    }

    fn encoded(error: &AppError) -> String {
        URL_SAFE.encode(serde_json::to_vec(error).unwrap())
    }

    fn redirect(location: &str) -> Response {
        let mut response = StatusCode::FOUND.into_response();
        response
            .headers_mut()
            .insert(LOCATION, HeaderValue::from_str(location).unwrap());
        response
    }

    fn location(response: &Response) -> String {
        response.headers()[LOCATION].to_str().unwrap().to_owned()
    }

    /// What Leptos answers a form post whose server function failed with `error`.
    fn signed_location_for(error: &AppError) -> String {
        let mut response = redirect(&format!(
            "http://127.0.0.1:3000/sign-in?next=%2Ftasks&__path=%2Ffn%2Fsign-in&__err={}",
            encoded(error)
        ));
        sign_redirect(&secret(), &mut response, NOW);
        location(&response)
    }

    fn shown(location: &str, now: i64) -> bool {
        let uri: Uri = location.parse().unwrap();
        without_unsigned_error(&secret(), &uri, now).is_none()
    }

    /// The error a location carries, decoded.
    fn error_in(location: &str) -> AppError {
        let (url, _) = parse_location(location).unwrap();
        let bytes = URL_SAFE.decode(only_value(&url, ERROR).unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// `location` with its query pairs changed by `edit`.
    fn edited(location: &str, edit: impl Fn(&mut Vec<(String, String)>)) -> String {
        let mut url = Url::parse(location).unwrap();
        let mut pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        edit(&mut pairs);
        url.query_pairs_mut().clear().extend_pairs(&pairs);
        url.to_string()
    }

    const FORGED: &str = "Security alert: visit https://evil.example";

    #[test]
    fn an_error_the_server_signed_is_shown_until_it_expires() {
        let signed = signed_location_for(&AppError::InvalidCredentials);
        assert!(signed.starts_with("http://127.0.0.1:3000/sign-in?next=%2Ftasks&"));
        assert!(shown(&signed, NOW));
        assert!(shown(&signed, NOW + VALID_SECS));
        assert!(!shown(&signed, NOW + VALID_SECS + 1));
    }

    #[test]
    fn an_error_nobody_signed_is_taken_out_of_the_address() {
        let forged = encoded(&AppError::forbidden("FORBIDDEN", FORGED));
        for query in [
            format!("next=%2Ftasks&__path=/fn/sign-in&__err={forged}"),
            format!("next=%2Ftasks&__path=/fn/sign-in&__err={forged}&__sig=1900000000.AAAA"),
            format!("next=%2Ftasks&%5F%5Fpath=/fn/sign-in&%5F%5Ferr={forged}"),
        ] {
            let uri: Uri = format!("/sign-in?{query}").parse().unwrap();
            assert_eq!(
                without_unsigned_error(&secret(), &uri, NOW).as_deref(),
                Some("/sign-in?next=%2Ftasks"),
                "{query}"
            );
        }
    }

    #[test]
    fn a_signature_holds_for_its_own_error_on_its_own_page_only() {
        let signed = signed_location_for(&AppError::InvalidCredentials);
        let other_error = edited(&signed, |pairs| {
            for (key, value) in pairs.iter_mut() {
                if key == ERROR {
                    *value = encoded(&AppError::forbidden("FORBIDDEN", FORGED));
                }
            }
        });
        assert!(!shown(&other_error, NOW));
        let other_page = signed.replace("/sign-in?", "/sign-up?");
        assert!(!shown(&other_page, NOW));
        let second_error = edited(&signed, |pairs| {
            pairs.push((
                ERROR.to_owned(),
                encoded(&AppError::forbidden("FORBIDDEN", FORGED)),
            ));
        });
        assert!(
            !shown(&second_error, NOW),
            "Leptos shows the last of two errors: two are never shown"
        );
    }

    /// The `Referer` Leptos will see, given the one a request came with.
    fn referer_after(raw: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(REFERER, HeaderValue::from_str(raw).unwrap());
        only_this_sites_pages_as_referer(&mut headers, "http://127.0.0.1:3000");
        headers.get(REFERER).map(|v| v.to_str().unwrap().to_owned())
    }

    #[test]
    fn only_the_pair_leptos_appended_is_signed() {
        let forged = encoded(&AppError::forbidden("FORBIDDEN", FORGED));
        let planted = format!("/sign-in?next=%2Ftasks&__path=%2Ffn%2Fsign-in&__err={forged}");
        for referer in [format!("http://127.0.0.1:3000{planted}"), planted.clone()] {
            assert_eq!(
                referer_after(&referer).as_deref(),
                Some("http://127.0.0.1:3000/sign-in?next=%2Ftasks"),
                "{referer}"
            );
        }
        for elsewhere in [
            "https://evil.example/sign-in",
            "//evil.example/x",
            "/\\evil.example",
        ] {
            assert_eq!(referer_after(elsewhere), None, "{elsewhere}");
        }

        // Were a second pair ever there, nothing would be signed.
        let mut twice = redirect(&format!(
            "/sign-in?__path=%2Ffn%2Fsign-in&__err={forged}&__path=%2Ffn%2Fsign-in&__err={}",
            encoded(&AppError::InvalidCredentials)
        ));
        sign_redirect(&secret(), &mut twice, NOW);
        assert_eq!(location(&twice), "/sign-in");
    }

    #[test]
    fn transport_errors_are_shown_as_the_generic_error() {
        let signed = signed_location_for(&AppError::Transport(
            "unknown field `visit evil.example`".to_owned(),
        ));
        assert_eq!(error_in(&signed), AppError::Internal);
        assert_eq!(
            error_in(&signed_location_for(&AppError::InvalidCredentials)),
            AppError::InvalidCredentials
        );
    }

    #[test]
    fn redirects_without_error_keys_are_left_as_they_are() {
        for untouched in ["/tasks?completed=true", "/account#sessions", "/tasks"] {
            let mut response = redirect(untouched);
            sign_redirect(&secret(), &mut response, NOW);
            assert_eq!(location(&response), untouched);
        }
    }

    #[test]
    fn pages_without_error_keys_are_left_alone() {
        let uri: Uri = "/tasks?completed=true&__other=1".parse().unwrap();
        assert_eq!(without_unsigned_error(&secret(), &uri, NOW), None);
    }
}
