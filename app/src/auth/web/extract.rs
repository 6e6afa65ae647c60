//! Who is calling: the extractors that authenticate API requests.
//!
//! `Caller` is where the tasks API verifies access tokens: the JWT comes from
//! `Authorization: Bearer` first and the access cookie second, is checked against the
//! token contract (`auth::token`), its `sid` must still name a live session (so a
//! revoked session's tokens stop working at once rather than when they expire), its
//! user must not be disabled nor their account changed since it was minted, and its
//! scope must allow the request: `tasks:read` for reads, `tasks:write` for everything
//! else. Every refusal goes to the audit log.
//!
//! The session and the account are checked in memory against the revocation set
//! (`auth::revocations`) while this process is current, and in the database when it is
//! not.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        revocations::{self, Standing},
        service::{credentials, session},
        store::{
            sessions::{self, Session},
            users::{self, IssuedElsewhere},
        },
        token::{Claims, TASKS_READ, TASKS_WRITE},
        types::{Email, User, UserName},
    },
    client::ClientInfo,
    clock::Timestamp,
    error::AppError,
    paths::SERVER_FN_PREFIX,
    state::AppState,
};
use axum::{
    extract::{FromRequestParts, Request, State},
    http::{header, request::Parts, HeaderMap, Method, Uri},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// A caller whose access token passed every check.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
    /// The verified token.
    pub claims: Claims,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = match credentials::bearer_token(&parts.headers) {
            Some(token) => token,
            None => {
                let token = credentials::read_cookie(&parts.headers, state.site.access_cookie())
                    .ok_or(AppError::Unauthenticated)?;
                require_same_origin(parts, state)?;
                token
            }
        };
        let claims = match state.tokens.verify_current(&state.db, &token).await {
            Ok(claims) => claims,
            Err(e) => {
                let refusal = AppError::InvalidToken(e.to_string());
                return Err(rejected(state, parts, None, refusal).await);
            }
        };
        let refusal = match &claims.sid {
            Some(sid) => refusal(session_standing(state, sid, &claims).await?),
            None => issued_elsewhere(state, &claims).await?,
        };
        let needed = if parts.method.is_safe() {
            TASKS_READ
        } else {
            TASKS_WRITE
        };
        let refusal = refusal.or_else(|| {
            (!claims.grants(needed)).then(|| AppError::InsufficientScope(needed.to_owned()))
        });
        if let Some(refusal) = refusal {
            return Err(rejected(state, parts, Some(&claims.sub), refusal).await);
        }
        Ok(Self {
            user_id: claims.sub.clone(),
            claims,
        })
    }
}

/// What the API answers a valid token of ours whose holder stands so, if it refuses it.
pub fn refusal(standing: Standing) -> Option<AppError> {
    match standing {
        Standing::Active => None,
        Standing::SessionEnded => Some(AppError::InvalidToken("Session has ended".to_owned())),
        Standing::Disabled => Some(AppError::user_disabled()),
        Standing::AccountChanged => Some(AppError::InvalidToken(
            "Account has changed since the token was issued".to_owned(),
        )),
    }
}

/// Where the holder of a token of ours stands: known in memory (`auth::revocations`)
/// when this process is current and has confirmed the session; otherwise asked of the
/// database, and a live session remembered with its account. A token whose `updatedAt`
/// is not its account's (a future one, say, from another holder of the secret) was not
/// minted from it.
async fn session_standing(
    state: &AppState,
    session_id: &str,
    claims: &Claims,
) -> Result<Standing, AppError> {
    if let Some(known) = state.revocations.standing(session_id, claims) {
        return Ok(known);
    }
    let (standing, live) =
        stored_standing(&state.db, session_id, claims, state.clock.now()).await?;
    if let (Standing::Active, Some(live)) = (standing, live) {
        state.revocations.confirm(session_id, claims, live);
    }
    Ok(standing)
}

/// Where the holder of a token of ours stands by the database alone, and its session
/// while it is live: what a request asks when memory cannot answer, and what `server
/// token decode` asks.
pub async fn stored_standing(
    db: &crate::db::Pool,
    session_id: &str,
    claims: &Claims,
    now: Timestamp,
) -> Result<(Standing, Option<revocations::LiveSession>), sqlx::Error> {
    let minted_by = revocations::minted_by(claims);
    Ok(
        match sessions::standing(db, session_id, &claims.sub, minted_by, now).await? {
            (Standing::Active, Some(live)) if !revocations::minted_from(claims, &live.account) => {
                (Standing::AccountChanged, Some(live))
            }
            found => found,
        },
    )
}

/// Why a valid token of the trusted issuer (`JWT_JWKS_URL`) is refused, if it is; its
/// user's account here is made on first sight. It names no session of ours, so it is
/// good until it expires.
async fn issued_elsewhere(state: &AppState, claims: &Claims) -> Result<Option<AppError>, AppError> {
    if !is_foreign_user_id(&claims.sub) {
        return Ok(Some(AppError::InvalidToken(
            "Token claim 'sub' is not a user id this server accepts".to_owned(),
        )));
    }
    let Ok(email) = Email::parse(&claims.email) else {
        return Ok(Some(AppError::InvalidToken(
            "Token claim 'email' is not an email address".to_owned(),
        )));
    };
    // The sessions of this server's own unverified accounts end when the setting is on
    // (`sessions::end_unverified_sessions`); the issuer's word is all there is for its users,
    // and a token that says nothing is not taken to say yes.
    if state.site.require_email_verification && claims.issuer_email_verified != Some(true) {
        return Ok(Some(session::email_not_verified()));
    }
    let name = UserName::parse(&claims.name)
        .map(|n| n.as_str().to_owned())
        .unwrap_or_else(|_| email.as_str().to_owned());
    Ok(
        match users::issued_elsewhere(
            &state.db,
            &claims.sub,
            email.as_str(),
            claims.issuer_email_verified,
            &name,
            state.clock.now(),
        )
        .await?
        {
            IssuedElsewhere::Active => None,
            IssuedElsewhere::Disabled => Some(AppError::user_disabled()),
            IssuedElsewhere::LocalAccount => Some(AppError::InvalidToken(
                "Token names an account of this server, which its issuer cannot speak for"
                    .to_owned(),
            )),
            IssuedElsewhere::EmailTaken => Some(AppError::InvalidToken(
                "Token's email belongs to another account of this server".to_owned(),
            )),
        },
    )
}

/// Whether a trusted issuer's `sub` may name an account here: Better Auth's ids (and
/// UUIDs) are letters, digits, `-` and `_`. Nothing else, so that no id can pass for an
/// email address where an admin names a user by either (`make-admin`, `set-role`).
fn is_foreign_user_id(sub: &str) -> bool {
    (1..=128).contains(&sub.len())
        && sub
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Logs a refused token, and audits it unless this address has sent too many already.
async fn rejected(
    state: &AppState,
    parts: &Parts,
    user_id: Option<&str>,
    refusal: AppError,
) -> AppError {
    let client = ClientInfo::of(parts, &state.site.trusted_proxies);
    let reason = refusal.to_string();
    tracing::info!(user_id, %reason, "access token rejected");
    if state.limits.audit_refusal(client.address()) {
        let entry = Entry::new(EventKind::TokenRejected, Outcome::Failure, &client)
            .detail(format!("{} {}: {reason}", parts.method, parts.uri.path()));
        let entry = match user_id {
            Some(user_id) => entry.user_id(user_id),
            None => entry,
        };
        record(&state.db, entry).await;
    }
    refusal
}

/// The live session of a `/api/auth/*` request, from the bearer session token or cookie.
pub struct CurrentSession(pub Option<(Session, User, String)>);

impl CurrentSession {
    /// The live session and its user, or 401.
    pub fn signed_in(self) -> Result<(Session, User), AppError> {
        self.0
            .map(|(session, user, _)| (session, user))
            .ok_or(AppError::Unauthenticated)
    }
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let Some(token) = credentials::presented_session_token(&parts.headers, state) else {
            return Ok(Self(None));
        };
        if credentials::bearer_token(&parts.headers).is_none() {
            require_same_origin(parts, state)?;
        }
        let found = session::resume(state, &token).await?;
        Ok(Self(found.map(|(session, user)| (session, user, token))))
    }
}

/// CSRF defence for cookie-authenticated requests that change state: the browser must say
/// the request comes from this site's public origin (`Origin`, else `Sec-Fetch-Site`). Safe methods and
/// bearer-authenticated requests (which a browser never sends on its own) are exempt.
fn require_same_origin(parts: &Parts, state: &AppState) -> Result<(), AppError> {
    let listed = &state.site.cors_allowed_origins;
    check_same_origin(&parts.method, &parts.uri, &parts.headers, state, listed)
}

/// Refuses a state-changing request from anywhere but the public origin and `listed`.
fn check_same_origin(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    state: &AppState,
    listed: &[String],
) -> Result<(), AppError> {
    let site = &state.site;
    if method.is_safe() || is_same_origin(headers, &site.public_origin, listed) {
        Ok(())
    } else if headers
        .get(header::ORIGIN)
        .is_none_or(|origin| origin.as_bytes() == b"null")
    {
        Err(AppError::forbidden(
            "MISSING_OR_NULL_ORIGIN",
            "Missing or null Origin",
        ))
    } else {
        let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        tracing::warn!(
            %method,
            %uri,
            origin,
            expected = %state.site.public_origin,
            "cross-site request refused (set BETTER_AUTH_URL to the address people use, and \
             list other frontends' origins in CORS_ALLOWED_ORIGINS)"
        );
        Err(AppError::forbidden(
            "INVALID_ORIGIN",
            "Cross-site request refused",
        ))
    }
}

/// The same CSRF defence for the server functions under `/fn/`: the browser forms and
/// the hydrated page call them with the session cookie, so every non-safe call must come
/// from this site, and only this site (other frontends listed in `CORS_ALLOWED_ORIGINS`
/// use `/api`). SameSite=Lax already keeps the cookie off cross-site posts; this also
/// covers same-site origins and login CSRF on the sign-in and sign-up forms.
pub async fn same_origin_server_functions(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path().starts_with(SERVER_FN_PREFIX) {
        if let Err(refused) = check_same_origin(
            request.method(),
            request.uri(),
            request.headers(),
            &state,
            &[],
        ) {
            return refused.into_response();
        }
    }
    next.run(request).await
}

/// Whether the browser says the request comes from the site's public origin, or from
/// one of the origins listed in `CORS_ALLOWED_ORIGINS`. `Origin`, which browsers send on
/// every cross-origin request and every POST, must be exactly one of those: matching it
/// against the request's own `Host` instead would let a page whose name was rebound to an
/// internal address (DNS rebinding) pass, since there `Origin` and `Host` agree. From the
/// public origin, `Sec-Fetch-Site` (when sent) must agree that it is same-origin; a
/// listed origin is another site by definition. Without `Origin`, `Sec-Fetch-Site` must
/// say same-origin; with neither, the request is refused.
fn is_same_origin(headers: &HeaderMap, public_origin: &str, listed: &[String]) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let fetch_site = get("sec-fetch-site");
    match get(header::ORIGIN.as_str()) {
        Some(origin) if origin == public_origin => fetch_site.is_none_or(|s| s == "same-origin"),
        Some(origin) => listed.iter().any(|o| o == origin),
        None => fetch_site == Some("same-origin"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::headers;

    const SITE: &str = "http://127.0.0.1:3000";

    fn from_site(h: &HeaderMap) -> bool {
        is_same_origin(h, SITE, &[])
    }

    #[test]
    fn fetch_metadata_refuses_other_sites() {
        assert!(from_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!from_site(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", SITE)
        ])));
        assert!(!from_site(&headers(&[("sec-fetch-site", "same-site")])));
    }

    #[test]
    fn origin_must_be_the_public_origin_whatever_the_host_says() {
        assert!(from_site(&headers(&[("origin", SITE)])));
        assert!(from_site(&headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", SITE)
        ])));
        let rebound = [
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://evil.example:3000"),
            ("host", "evil.example:3000"),
        ];
        assert!(
            !from_site(&headers(&rebound)),
            "a rebound name is same-origin to the browser, but not our origin"
        );
        assert!(!from_site(&headers(&[
            ("origin", "http://localhost:3000"),
            ("host", "localhost:3000")
        ])));
        assert!(!from_site(&headers(&[("origin", "null")])));
    }

    #[test]
    fn a_request_without_origin_information_is_not_same_origin() {
        assert!(!from_site(&headers(&[("host", "localhost:3000")])));
    }

    #[test]
    fn a_trusted_issuers_user_ids_are_plain_and_never_look_like_an_email() {
        assert!(is_foreign_user_id("0GqNvx2bEoRDRTtl9Y2SMFkXUjyZzEwn"));
        assert!(is_foreign_user_id("6f1c1a52-3f0e-4d3a-9d59-2b7f6f0e8a11"));
        for refused in ["", "admin@example.com", "a b", "x/../y", &"x".repeat(129)] {
            assert!(!is_foreign_user_id(refused), "{refused}");
        }
    }

    #[test]
    fn a_listed_origin_passes_from_another_site_and_an_unlisted_one_does_not() {
        let listed = ["http://localhost:3000".to_owned()];
        let from = |origin: &str| {
            is_same_origin(
                &headers(&[("origin", origin), ("sec-fetch-site", "same-site")]),
                SITE,
                &listed,
            )
        };
        assert!(from("http://localhost:3000"));
        assert!(!from("http://localhost:3001"));
        assert!(!from("http://localhost:3000.evil.example"));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            SITE,
            &listed
        ));
    }
}
