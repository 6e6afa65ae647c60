//! Whom a password or a code counts against, and when it is refused: the limiter of
//! this process and the failures every process counts in the database, per account and
//! client, where a client is its address or a browser that signed in to the account
//! before (the `known_browser` cookie).

use crate::{
    audit::repo::{record, Entry},
    auth::{
        rate_limit::KNOWN_BROWSER,
        store::{failed_sign_ins, sessions::Session},
    },
    client::ClientInfo,
    db::new_secret_token,
    error::AppError,
    state::AppState,
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// What known browsers' cookies are signed for (`Secret::mac`).
const KNOWN_BROWSERS: &str = "known browser";

/// The `known_browser` cookie of a browser that has just signed in to the account
/// `user_id` with the password whose hash is `password_hash`: a new random id and a MAC
/// over it, the account and that hash. It speaks for this browser on this account, and
/// only until the password changes: nobody gets one without the current password, and
/// those made with an old one stop counting.
pub(super) fn known_browser_cookie(state: &AppState, user_id: &str, password_hash: &str) -> String {
    let id = new_secret_token();
    let mac = known_browser_mac(state, &id, user_id, password_hash);
    format!("{id}.{mac}")
}

fn known_browser_mac(state: &AppState, id: &str, user_id: &str, password_hash: &str) -> String {
    let message = [
        id.as_bytes(),
        &[0],
        user_id.as_bytes(),
        &[0],
        password_hash.as_bytes(),
    ]
    .concat();
    URL_SAFE_NO_PAD.encode(state.tokens.settings().secret.mac(KNOWN_BROWSERS, &message))
}

/// Whom a password attempt counts against: the browser, when its `known_browser`
/// cookie says it signed in to the account `found` (its id and password hash) before,
/// else the client's address. So a person guessing from the same office or carrier
/// network does not use up the owner's browser's tries, while that browser's own
/// failures still count against it.
pub(super) fn counted_as(
    state: &AppState,
    client: &ClientInfo,
    known_browser: Option<&str>,
    found: Option<(&str, &str)>,
) -> Option<String> {
    let known = known_browser
        .and_then(|cookie| cookie.split_once('.'))
        .zip(found)
        .filter(|((id, mac), (user_id, hash))| {
            let expected = known_browser_mac(state, id, user_id, hash);
            bool::from(subtle::ConstantTimeEq::ct_eq(
                expected.as_bytes(),
                mac.as_bytes(),
            ))
        })
        .map(|((id, _), _)| format!("{KNOWN_BROWSER}{id}"));
    known.or_else(|| client.address().map(str::to_owned))
}

/// Whom a password or a code given inside `session` counts against: the session, not
/// its address.
pub fn in_session(session: &Session) -> String {
    format!("{KNOWN_BROWSER}session:{}", session.id)
}

/// Lets a password attempt on the account of `email` go ahead, or refuses it as too many
/// (audited as `refused`): the limiter of this process, then the failures of this
/// client on the account that every process counts in the database.
///
/// `counted_as` is who the attempt counts against: the client's address, or a browser
/// that signed in to the account before (`counted_as`).
pub(super) async fn admit_password_attempt(
    state: &AppState,
    client: &ClientInfo,
    counted_as: Option<&str>,
    email: &str,
    refused: Entry<'_>,
) -> Result<failed_sign_ins::Standing, AppError> {
    let attempt = state
        .limits
        .sign_in_attempt(client.address(), counted_as, email);
    if let Err(limited) = attempt {
        return Err(rate_limited(state, client, refused, limited).await);
    }
    stored_standing(state, client, counted_as, email, refused).await
}

/// Lets a second factor given to finish a sign-in go ahead, or refuses it as too many:
/// as `admit_password_attempt`, without the account's soft lock, which strangers'
/// failures set (`RateLimits::code_attempt`).
pub(super) async fn admit_code_attempt(
    state: &AppState,
    client: &ClientInfo,
    counted_as: Option<&str>,
    email: &str,
    refused: Entry<'_>,
) -> Result<failed_sign_ins::Standing, AppError> {
    if let Err(limited) = state.limits.code_attempt(counted_as, email) {
        return Err(rate_limited(state, client, refused, limited).await);
    }
    stored_standing(state, client, counted_as, email, refused).await
}

/// The failures of `counted_as` on the account that every process counts in the
/// database; refused (audited as `refused`) when they have had too many.
async fn stored_standing(
    state: &AppState,
    client: &ClientInfo,
    counted_as: Option<&str>,
    email: &str,
    refused: Entry<'_>,
) -> Result<failed_sign_ins::Standing, AppError> {
    let (limit, now) = (state.limits.failed_sign_in_limit(), state.clock.now());
    let standing = failed_sign_ins::standing(&state.db, email, counted_as, limit, now).await?;
    if let failed_sign_ins::Standing::Refused(retry_after_secs) = standing {
        let limited = AppError::TooManyRequests { retry_after_secs };
        return Err(rate_limited(state, client, refused, limited).await);
    }
    Ok(standing)
}

/// A password that matched clears the client's failures on the account.
pub(super) async fn password_matched(
    state: &AppState,
    counted_as: Option<&str>,
    email: &str,
    standing: failed_sign_ins::Standing,
) -> Result<(), AppError> {
    state.limits.sign_in_succeeded(counted_as, email);
    if standing == failed_sign_ins::Standing::Failing {
        failed_sign_ins::forget(&state.db, email, counted_as).await?;
    }
    Ok(())
}

/// A password that did not match counts against the account, here and in the database.
pub(super) async fn password_failed(
    state: &AppState,
    counted_as: Option<&str>,
    email: &str,
) -> Result<(), AppError> {
    state.limits.sign_in_failed(email);
    // The time now, not at the start: hashing may have waited past a window's end.
    let now = state.clock.now();
    let limit = state.limits.failed_sign_in_limit();
    failed_sign_ins::failed(&state.db, email, counted_as, limit, now).await?;
    Ok(())
}

/// A sign-in refused as too many: audited, unless this address has had too many
/// refusals audited already.
pub(super) async fn rate_limited(
    state: &AppState,
    client: &ClientInfo,
    entry: Entry<'_>,
    limited: AppError,
) -> AppError {
    if state.limits.audit_refusal(client.address()) {
        record(&state.db, entry).await;
    }
    limited
}
