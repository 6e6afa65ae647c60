//! Server-function errors carried in page URLs, signed so that nobody else can put words
//! on our pages.
//!
//! A form posted before the wasm has loaded gets its error back as a redirect to the
//! form's page with `__path` (the server function) and `__err` (the error) in the query,
//! and Leptos shows whatever those say, on the server and again in the browser. So
//! anyone could link to `/sign-in?__path=/fn/sign-in&__err=…` with text of their own
//! ("Security alert: visit …") and it would show as the form's error. Here the redirect
//! is signed (`__sig`, an HMAC of both under the server's secret); a page asked for with
//! an unsigned or wrongly signed error is sent to itself without it, so the address bar
//! is clean before any script reads it. Only errors in the app's own words are signed:
//! a transport error, whose text Leptos builds from the request, becomes the generic
//! internal error.

use crate::{auth::token::Secret, error::AppError, state::AppState, SERVER_FN_PREFIX};
use axum::{
    extract::{Request, State},
    http::{header::LOCATION, HeaderValue, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use base64::{
    engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD},
    Engine,
};
use url::Url;

const PATH: &str = "__path";
const ERROR: &str = "__err";
const SIGNATURE: &str = "__sig";
const PURPOSE: &str = "taskboard form error";

/// Signs the errors server functions redirect with, and refuses the ones nobody signed.
pub async fn only_our_own_words(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let secret = &state.tokens.settings().secret;
    if request.uri().path().starts_with(SERVER_FN_PREFIX) {
        let mut response = next.run(request).await;
        sign_redirect(secret, &mut response);
        return response;
    }
    if request.method() == Method::GET {
        if let Some(clean) = without_unsigned_error(secret, request.uri()) {
            return Redirect::to(&clean).into_response();
        }
    }
    next.run(request).await
}

/// Adds the signature to a redirect that carries an error; drops a stale one otherwise.
fn sign_redirect(secret: &Secret, response: &mut Response) {
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
    let path = query_value(&url, PATH);
    let error = query_value(&url, ERROR).map(|raw| in_our_own_words(&raw));
    let kept = other_pairs(&url);
    {
        let mut query = url.query_pairs_mut();
        query.clear().extend_pairs(&kept);
        if let (Some(path), Some(error)) = (path, error) {
            let signature = signature(secret, &path, &error);
            query
                .append_pair(PATH, &path)
                .append_pair(ERROR, &error)
                .append_pair(SIGNATURE, &signature);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let rewritten = if relative {
        relative_part(&url)
    } else {
        url.to_string()
    };
    if let Ok(value) = HeaderValue::from_str(&rewritten) {
        response.headers_mut().insert(LOCATION, value);
    }
}

/// The address without the error, when it carries one that this server did not sign.
fn without_unsigned_error(secret: &Secret, uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    if !query.contains("__") {
        return None;
    }
    let (url, _) = parse_location(&uri.to_string())?;
    let (path, error, signed) = (
        query_value(&url, PATH),
        query_value(&url, ERROR),
        query_value(&url, SIGNATURE),
    );
    if path.is_none() && error.is_none() && signed.is_none() {
        return None;
    }
    if let (Some(path), Some(error), Some(signed)) = (&path, &error, &signed) {
        if constant_time_eq(signature(secret, path, error).as_bytes(), signed.as_bytes()) {
            return None;
        }
    }
    let mut clean = url.clone();
    let kept = other_pairs(&url);
    clean.query_pairs_mut().clear().extend_pairs(&kept);
    if kept.is_empty() {
        clean.set_query(None);
    }
    Some(relative_part(&clean))
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

fn signature(secret: &Secret, path: &str, error: &str) -> String {
    let message = format!("{path}\n{error}");
    URL_SAFE_NO_PAD.encode(secret.mac(PURPOSE, message.as_bytes()))
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

fn relative_part(url: &Url) -> String {
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    target
}

fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

fn other_pairs(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .filter(|(key, _)| ![PATH, ERROR, SIGNATURE].contains(&key.as_ref()))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

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

    fn signed_location_for(error: &AppError) -> String {
        let mut response = redirect(&format!(
            "http://127.0.0.1:3000/sign-in?next=%2Ftasks&__path=%2Ffn%2Fsign-in&__err={}",
            encoded(error)
        ));
        sign_redirect(&secret(), &mut response);
        location(&response)
    }

    #[test]
    fn an_error_the_server_signed_is_shown() {
        let signed = signed_location_for(&AppError::InvalidCredentials);
        assert!(signed.contains("&__sig="), "{signed}");
        assert!(signed.starts_with("http://127.0.0.1:3000/sign-in?next=%2Ftasks&"));
        let uri: Uri = signed.parse().unwrap();
        assert_eq!(without_unsigned_error(&secret(), &uri), None);
    }

    #[test]
    fn an_error_nobody_signed_is_taken_out_of_the_address() {
        let forged = encoded(&AppError::Forbidden(
            "Security alert: visit https://evil.example".to_owned(),
        ));
        let uri: Uri = format!("/sign-in?next=%2Ftasks&__path=/fn/sign-in&__err={forged}")
            .parse()
            .unwrap();
        assert_eq!(
            without_unsigned_error(&secret(), &uri).as_deref(),
            Some("/sign-in?next=%2Ftasks")
        );
        let with_bad_signature: Uri =
            format!("/sign-in?__path=/fn/sign-in&__err={forged}&__sig=AAAA")
                .parse()
                .unwrap();
        assert_eq!(
            without_unsigned_error(&secret(), &with_bad_signature).as_deref(),
            Some("/sign-in")
        );
    }

    /// The error a location carries, decoded.
    fn error_in(location: &str) -> AppError {
        let (url, _) = parse_location(location).unwrap();
        let bytes = URL_SAFE.decode(query_value(&url, ERROR).unwrap()).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn a_signature_does_not_carry_over_to_another_error() {
        let signed = signed_location_for(&AppError::InvalidCredentials);
        let (mut url, _) = parse_location(&signed).unwrap();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(key, value)| match key.as_ref() {
                ERROR => (
                    key.into_owned(),
                    encoded(&AppError::Forbidden("Call +1 555 0100".to_owned())),
                ),
                _ => (key.into_owned(), value.into_owned()),
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(&pairs);
        let uri: Uri = url.to_string().parse().unwrap();
        assert!(without_unsigned_error(&secret(), &uri).is_some());
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
    fn a_success_redirect_loses_a_stale_signature_and_nothing_else() {
        let mut response = redirect("/tasks?completed=true&__sig=old");
        sign_redirect(&secret(), &mut response);
        assert_eq!(location(&response), "/tasks?completed=true");
        let mut plain = redirect("/tasks");
        sign_redirect(&secret(), &mut plain);
        assert_eq!(location(&plain), "/tasks");
    }

    #[test]
    fn pages_without_error_parameters_are_left_alone() {
        let uri: Uri = "/tasks?completed=true".parse().unwrap();
        assert_eq!(without_unsigned_error(&secret(), &uri), None);
    }
}
