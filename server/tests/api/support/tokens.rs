//! Tokens and cookies as a client makes and reads them: claims, minted JWTs, signed
//! session cookies, and what an answer says.

use super::{TestApp, AUDIENCE, ISSUER, SECRET};
use app::auth::token::forge;
use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};

/// Claims as this project issues them, for a user's session.
pub fn claims_for(user_id: &str, session_id: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "sub": user_id, "email": "someone@example.com", "name": "Someone",
        "iat": now, "exp": now + 300, "iss": ISSUER, "aud": AUDIENCE,
        "jti": uuid::Uuid::new_v4().to_string(), "sid": session_id,
    })
}

/// Signs claims with the shared secret using an encoder independent of the app's.
pub fn mint(claims: &Value) -> String {
    forge::hs256(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims,
        SECRET.as_bytes(),
    )
}

/// Better Auth's session cookie.
pub const SESSION_COOKIE: &str = "better-auth.session_token";

/// A session token signed as Better Auth signs its cookie, computed here apart from the
/// app's code: `token.<padded base64 HMAC-SHA256 of the token, keyed with the secret>`.
pub fn signed(token: &str) -> String {
    use base64::Engine;
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(token.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("{token}.{signature}")
}

/// A `Cookie` header carrying a session token as a browser holds it: signed, URL-encoded.
pub fn session_cookie(token: &str) -> String {
    let encoded: String =
        percent_encoding::utf8_percent_encode(&signed(token), percent_encoding::NON_ALPHANUMERIC)
            .collect();
    format!("{SESSION_COOKIE}={encoded}")
}

/// The session token a response's session cookie carries, once its signature is checked
/// to be Better Auth's.
pub fn session_token_set(response: &Response) -> Option<String> {
    let value = set_cookie(response, SESSION_COOKIE)?;
    let decoded = percent_encoding::percent_decode_str(&value)
        .decode_utf8()
        .expect("a URL-encoded cookie")
        .into_owned();
    let (token, _) = decoded.rsplit_once('.').expect("a signed session cookie");
    assert_eq!(
        decoded,
        signed(token),
        "the session cookie is signed as Better Auth signs it"
    );
    Some(token.to_owned())
}

/// The value a response sets for a cookie, if it sets it.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// Where a redirect sends the client.
pub fn location(response: &Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `detail` of an error answer.
pub async fn detail(response: Response) -> Value {
    response.json::<Value>().await.expect("json error body")["detail"].clone()
}

pub fn www_authenticate(response: &Response) -> String {
    response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The payload of a JWT, decoded without verification (to look at what was issued).
pub fn payload(jwt: &str) -> Value {
    segment(jwt, 1)
}

/// A time as the API sends it (RFC 3339), in Unix seconds, as JWT times are.
pub fn unix_secs(time: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp()
}

/// That an API token's `exp` is `lifetime_secs` from when its session began (a moment
/// before it was signed, perhaps in the second before), never past the session.
pub fn assert_lives_from_its_session(claims: &Value, session: &Value, lifetime_secs: i64) {
    let began = unix_secs(&session["createdAt"]);
    let (iat, exp) = (
        claims["iat"].as_i64().unwrap(),
        claims["exp"].as_i64().unwrap(),
    );
    assert_eq!(exp, began + lifetime_secs, "its session began at {began}");
    assert!(
        (began..=began + 1).contains(&iat),
        "signed at {iat}, its session began at {began}"
    );
}

/// The JSON of a JWT's segment `n` (0, the header; 1, the payload).
fn segment(jwt: &str, n: usize) -> Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let part = jwt.split('.').nth(n).expect("a JWT segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
}

/// Asserts that the tasks API refuses `token` with a 401 whose `detail` is `reason`.
pub async fn assert_refused(app: &TestApp, token: &str, reason: &str) {
    let response = app.get_tasks(token, "").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{reason}");
    assert_eq!(detail(response).await, reason);
}

/// The `kid` of a JWT's header.
pub fn kid(jwt: &str) -> String {
    segment(jwt, 0)["kid"].as_str().expect("a kid").to_owned()
}

/// The JWT with segment `n` (0, the header; 1, the payload) replaced by `json` and its
/// signature kept: what an attacker can make of a genuine token.
pub fn with_segment(jwt: &str, n: usize, json: &Value) -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    parts[n] = URL_SAFE_NO_PAD.encode(json.to_string());
    parts.join(".")
}

/// The JWT with its `sub` claim changed and its signature kept.
pub fn with_other_subject(jwt: &str) -> String {
    let mut claims = payload(jwt);
    claims["sub"] = serde_json::json!("someone-else");
    with_segment(jwt, 1, &claims)
}

/// Asserts that a server function refused arguments it could not read as a client's
/// mistake: a 400 whose body is the error as server functions answer every error (the
/// page's client reads it back as an `AppError`), in words of the app's own, never the
/// deserializer's (`missing field`, `invalid digit`), which describe the request back.
pub async fn assert_unreadable_arguments_refused(response: Response) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body = response.text().await.expect("a body");
    assert_eq!(
        serde_json::from_str::<app::error::AppError>(&body).ok(),
        Some(app::error::AppError::BadRequest),
        "{body}"
    );
    for deserializers_words in ["missing field", "invalid digit", "deserializ", "argument"] {
        assert!(!body.contains(deserializers_words), "{body}");
    }
}

/// The Better Auth `code` of an error answer.
pub async fn code(response: Response) -> String {
    let body: Value = response.json().await.expect("json");
    body["code"].as_str().unwrap_or_default().to_owned()
}
