//! Second factors, with Better Auth's `twoFactor` rules and without its weak spots: an
//! authenticator app (TOTP), backup codes, and browsers trusted to skip the second factor
//! for 30 days.
//!
//! Turning them on takes the password and gives an `otpauth://` URI and ten backup codes;
//! they are on only once a first code from the app was accepted. From then on a sign-in
//! with the right password gets no session until a code is given
//! (`session::SignIn::SecondFactor`). Stricter than Better Auth:
//! - a TOTP code is accepted once (the last accepted time step is stored), so one read
//!   over a shoulder or from a phishing page cannot be used again inside its window;
//! - the TOTP secret is sealed at rest, and backup codes are stored as keyed hashes and
//!   used up by deleting them, so a copy of the database yields no codes;
//! - each sign-in allows 5 wrong codes, and every wrong code also counts as a failed
//!   sign-in of that client on the account (`attempts::password_failed`): a client that
//!   keeps guessing is refused the account for a while, and nobody else is;
//! - a password reset, a password change and turning second factors off end every
//!   trusted browser.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        sealed,
        service::attempts::{admit_code_attempt, in_session, password_failed, password_matched},
        service::credentials,
        service::session::{self, start_session, SignedIn},
        store::{
            sessions::{self, Session, SessionEnd},
            two_factor::{self, Enrolment, NewTrustedDevice},
            users,
        },
        token_settings::Secret,
        totp::TotpSecret,
        types::{Password, TrustedDeviceInfo, User},
    },
    client::ClientInfo,
    db::{hash_token, new_secret_token},
    error::AppError,
    mail::letters::{self, Recipient},
    state::AppState,
};
use axum::http::HeaderValue;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::{distributions::Alphanumeric, Rng};

/// Wrong codes one sign-in allows before it ends (Better Auth's limit).
pub const ATTEMPTS: i64 = 5;
/// How long a browser stays trusted (Better Auth's `trust_device` cookie).
pub const TRUST_SECS: i64 = 30 * 24 * 3600;
/// Backup codes made at a time, and their form: `xxxxx-xxxxx` of letters and digits.
pub const BACKUP_CODES: usize = 10;
/// What a session of a person who gave a second factor says of them (RFC 8176).
pub const WITH_SECOND_FACTOR: &str = "pwd otp mfa";
/// What the TOTP secrets are sealed for (`sealed`).
const TOTP_SECRETS: &str = "totp secret storage";
/// What backup codes are hashed for (`Secret::mac`).
const BACKUP_CODE_HASHES: &str = "backup codes";

/// What turning second factors on gives: the URI for the authenticator app and the
/// backup codes, shown once.
pub struct Enabled {
    pub totp_uri: String,
    pub secret_base32: String,
    pub backup_codes: Vec<String>,
}

/// A second factor given to finish a sign-in.
pub enum Factor {
    Totp(String),
    BackupCode(String),
}

/// A sign-in finished with a second factor, and the token of the browser it trusts
/// from now on, when asked to.
pub struct Passed {
    pub signed_in: SignedIn,
    pub trusted_device: Option<String>,
}

fn already_enabled() -> AppError {
    AppError::refused("password", "TOTP_ALREADY_ENABLED", "TOTP already enabled")
}

fn not_enabled() -> AppError {
    AppError::refused(
        "password",
        "TWO_FACTOR_NOT_ENABLED",
        "Two factor isn't enabled",
    )
}

fn invalid_code() -> AppError {
    AppError::wrong_factor("INVALID_CODE", "Invalid code")
}

fn invalid_challenge() -> AppError {
    AppError::wrong_factor("INVALID_TWO_FACTOR_COOKIE", "Invalid two factor cookie")
}

fn too_many_attempts() -> AppError {
    AppError::refused(
        "code",
        "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE",
        "Too many attempts. Sign in again.",
    )
}

/// Starts turning second factors on for `user`, who typed their `password`: a new
/// secret for their authenticator app and new backup codes, replacing a pair that was
/// never confirmed. They are on once `confirm` accepts a first code.
pub async fn enable(
    state: &AppState,
    user: &User,
    session: &Session,
    password: Password,
    issuer: Option<&str>,
    client: &ClientInfo,
) -> Result<Enabled, AppError> {
    session::check_password(
        state,
        client,
        (user, session),
        EventKind::TwoFactorEnabled,
        "password",
        password,
    )
    .await?;
    let secret = TotpSecret::generate();
    let sealed = sealed::seal(key(state), TOTP_SECRETS, &user.id, secret.bytes());
    let codes = new_backup_codes();
    let hashes = hash_codes(key(state), &user.id, &codes);
    let now = state.clock.now();
    if !two_factor::begin_enrolment(&state.db, &user.id, &sealed, &hashes, now).await? {
        return Err(already_enabled());
    }
    let entry = Entry::new(EventKind::TwoFactorEnabled, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail("authenticator app added: waiting for its first code");
    record(&state.db, entry).await;
    Ok(Enabled {
        totp_uri: secret.uri(issuer.unwrap_or(ISSUER), &user.email),
        secret_base32: secret.base32(),
        backup_codes: codes,
    })
}

/// `uri` as a QR code for an authenticator app to scan: an SVG document, drawn here
/// from the URI alone.
pub fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // An otpauth URI is a few dozen bytes; a QR code holds thousands.
        Err(e) => unreachable!("an otpauth URI fits a QR code: {e}"),
    }
}

/// The name authenticator apps show for the account, unless the client names another.
pub const ISSUER: &str = "Taskboard";

/// The `otpauth://` URI of `user`'s authenticator app again, after their `password`.
/// Once the app is confirmed, only from a `session` begun with a second factor: the
/// password alone must not copy the second factor out.
pub async fn totp_uri(
    state: &AppState,
    user: &User,
    session: &Session,
    password: Password,
    client: &ClientInfo,
) -> Result<String, AppError> {
    session::check_password(
        state,
        client,
        (user, session),
        EventKind::SecondFactor,
        "password",
        password,
    )
    .await?;
    let enrolment = enrolment(state, &user.id).await?.ok_or_else(not_totp)?;
    if enrolment.verified && !gave_second_factor(session) {
        return Err(second_factor_required(
            "Sign in with your authenticator app first, then ask for its key again",
        ));
    }
    Ok(open_secret(state, &user.id, &enrolment)?.uri(ISSUER, &user.email))
}

/// The code of a 403 for a session that was not begun with a second factor, where one
/// is needed (here, and for admins under `REQUIRE_MFA_FOR_ADMINS`).
pub const SECOND_FACTOR_REQUIRED: &str = "SECOND_FACTOR_REQUIRED";

pub fn second_factor_required(message: &str) -> AppError {
    AppError::forbidden(SECOND_FACTOR_REQUIRED, message)
}

/// Whether `session` was begun with a second factor (its `amr` holds `mfa`).
pub fn gave_second_factor(session: &Session) -> bool {
    session.amr.split_whitespace().any(|method| method == "mfa")
}

fn not_totp() -> AppError {
    AppError::refused("password", "TOTP_NOT_ENABLED", "TOTP not enabled")
}

/// Turns second factors off for `user`, who typed their `password`: the app, the
/// backup codes and every trusted browser go.
pub async fn disable(
    state: &AppState,
    user: &User,
    session: &Session,
    password: Password,
    client: &ClientInfo,
) -> Result<(), AppError> {
    session::check_password(
        state,
        client,
        (user, session),
        EventKind::TwoFactorDisabled,
        "password",
        password,
    )
    .await?;
    if !two_factor::remove(&state.db, &user.id).await? {
        return Err(not_enabled());
    }
    let entry = Entry::new(EventKind::TwoFactorDisabled, Outcome::Success, client)
        .user(&user.id, &user.email);
    record(&state.db, entry).await;
    tell_owner(state, user, false);
    Ok(())
}

/// Tells the account's address that two-factor sign-in was turned on or off.
fn tell_owner(state: &AppState, user: &User, on: bool) {
    let to = Recipient {
        user_id: &user.id,
        address: &user.email,
    };
    state.mail.send(letters::two_factor_changed(
        to,
        &state.site.public_origin,
        on,
    ));
}

/// New backup codes for `user`, who typed their `password`, replacing the old ones.
pub async fn regenerate_backup_codes(
    state: &AppState,
    user: &User,
    session: &Session,
    password: Password,
    client: &ClientInfo,
) -> Result<Vec<String>, AppError> {
    session::check_password(
        state,
        client,
        (user, session),
        EventKind::BackupCodesGenerated,
        "password",
        password,
    )
    .await?;
    if !user.two_factor_enabled {
        return Err(not_enabled());
    }
    let codes = new_backup_codes();
    let hashes = hash_codes(key(state), &user.id, &codes);
    two_factor::replace_backup_codes(&state.db, &user.id, &hashes, state.clock.now()).await?;
    let entry = Entry::new(EventKind::BackupCodesGenerated, Outcome::Success, client)
        .user(&user.id, &user.email);
    record(&state.db, entry).await;
    Ok(codes)
}

/// Accepts a code from `user`'s app in their `session` (`verify-totp` with a session).
/// The first one turns second factors on: the session is replaced by one that says a
/// second factor was given, and the account's other sessions end, so whoever signed in
/// with the password alone is out. A later one (a step up) replaces the session only.
/// Wrong codes count as failed sign-ins of this session on the account, as at sign-in.
pub async fn confirm(
    state: &AppState,
    user: &User,
    session: &Session,
    code: &str,
    client: &ClientInfo,
) -> Result<SignedIn, AppError> {
    let refused = Entry::new(EventKind::SecondFactor, Outcome::Failure, client)
        .user(&user.id, &user.email)
        .detail("rate limited");
    let key = in_session(session);
    let counted_as = Some(key.as_str());
    let standing = admit_code_attempt(state, client, counted_as, &user.email, refused).await?;
    let enrolment = enrolment(state, &user.id).await?.ok_or_else(not_totp)?;
    let first = !enrolment.verified;
    if !accept_totp(state, user, &enrolment, code, false).await? {
        password_failed(state, counted_as, &user.email).await?;
        audit_code(
            state,
            user,
            client,
            Outcome::Failure,
            "wrong authenticator code",
        )
        .await;
        return Err(invalid_code());
    }
    password_matched(state, counted_as, &user.email, standing).await?;
    let user = users::find_user(&state.db, &user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let signed_in = start_session(state, user, client, None, WITH_SECOND_FACTOR)
        .await?
        .ok_or_else(AppError::user_disabled)?;
    let kept = &signed_in.session.id;
    if first {
        sessions::delete_sessions_of(
            &state.db,
            &state.revocations,
            &signed_in.user.id,
            Some(kept),
        )
        .await?;
    } else {
        sessions::delete_session_of(
            &state.db,
            &state.revocations,
            &signed_in.user.id,
            &session.id,
            SessionEnd::Revoked,
        )
        .await?;
    }
    let (kind, detail) = if first {
        (
            EventKind::TwoFactorEnabled,
            "first authenticator code accepted: two-factor on, other sessions ended",
        )
    } else {
        (
            EventKind::SecondFactor,
            "authenticator code accepted in a session",
        )
    };
    let entry = Entry::new(kind, Outcome::Success, client)
        .user(&signed_in.user.id, &signed_in.user.email)
        .detail(format!("{detail}; session {} replaced", session.id));
    record(&state.db, entry).await;
    if first {
        tell_owner(state, &signed_in.user, true);
    }
    Ok(signed_in)
}

/// Finishes the sign-in the `two_factor` cookie's `challenge` names with `factor`, and
/// trusts the browser for 30 days when `trust_device`. A wrong factor counts against the
/// sign-in (it ends after `ATTEMPTS`) and against this client on the account.
pub async fn pass(
    state: &AppState,
    challenge: &str,
    factor: Factor,
    trust_device: bool,
    client: &ClientInfo,
) -> Result<Passed, AppError> {
    let challenge_hash = hash_token(challenge);
    let now = state.clock.now();
    let attempt = two_factor::take_attempt(&state.db, &challenge_hash, ATTEMPTS, now)
        .await?
        .ok_or_else(invalid_challenge)?;
    let user = users::find_user(&state.db, &attempt.user_id)
        .await?
        .ok_or_else(invalid_challenge)?;
    let refused = Entry::new(EventKind::SecondFactor, Outcome::Failure, client)
        .user(&user.id, &user.email)
        .detail("rate limited");
    let counted_as = attempt.counted_as.as_deref();
    let standing = admit_code_attempt(state, client, counted_as, &user.email, refused).await?;
    let (accepted, what) = match &factor {
        Factor::Totp(code) => {
            let accepted = match enrolment(state, &user.id).await? {
                Some(enrolment) if enrolment.verified => {
                    accept_totp(state, &user, &enrolment, code, true).await?
                }
                _ => false,
            };
            (accepted, "authenticator code")
        }
        Factor::BackupCode(code) => {
            let hash = hash_code(key(state), &user.id, code.trim());
            (
                two_factor::use_backup_code(&state.db, &user.id, &hash).await?,
                "backup code",
            )
        }
    };
    if !accepted {
        password_failed(state, counted_as, &user.email).await?;
        audit_code(
            state,
            &user,
            client,
            Outcome::Failure,
            &format!("wrong {what}"),
        )
        .await;
        if attempt.attempts >= ATTEMPTS {
            two_factor::end_challenge(&state.db, &challenge_hash).await?;
            return Err(too_many_attempts());
        }
        return Err(invalid_code());
    }
    password_matched(state, counted_as, &user.email, standing).await?;
    // Of two requests that passed at once, one signs in.
    if !two_factor::end_challenge(&state.db, &challenge_hash).await? {
        return Err(invalid_challenge());
    }
    // The password the sign-in began with must still be the user's.
    let verified_hash = Some(attempt.password_hash.as_str());
    let signed_in = start_session(state, user, client, verified_hash, WITH_SECOND_FACTOR)
        .await?
        .ok_or_else(invalid_challenge)?;
    let user = &signed_in.user;
    let left = match factor {
        Factor::BackupCode(_) => format!(
            "; {} backup codes left",
            two_factor::count_backup_codes(&state.db, &user.id).await?
        ),
        Factor::Totp(_) => String::new(),
    };
    audit_code(
        state,
        user,
        client,
        Outcome::Success,
        &format!("{what} accepted{left}"),
    )
    .await;
    let trusted_device = if trust_device {
        Some(trust(state, user, client).await?)
    } else {
        None
    };
    Ok(Passed {
        signed_in,
        trusted_device,
    })
}

/// The cookies of a browser whose sign-in a second factor finished: the `two_factor`
/// cookie deleted and, when it is now trusted (`trusted_device`), its `trust_device`
/// cookie. The session's own cookies come with it, as for any sign-in.
pub fn second_factor_cookies(state: &AppState, trusted_device: Option<&str>) -> Vec<HeaderValue> {
    let mut cookies = vec![credentials::auth_cookie(
        state,
        credentials::TWO_FACTOR,
        "",
        0,
    )];
    if let Some(token) = trusted_device {
        cookies.push(credentials::auth_cookie(
            state,
            credentials::TRUST_DEVICE,
            token,
            TRUST_SECS,
        ));
    }
    cookies
}

/// Trusts the browser of `client` to skip `user`'s second factor for `TRUST_SECS`:
/// answers the token its `trust_device` cookie carries.
async fn trust(state: &AppState, user: &User, client: &ClientInfo) -> Result<String, AppError> {
    let token = new_secret_token();
    let now = state.clock.now();
    two_factor::insert_trusted_device(
        &state.db,
        NewTrustedDevice {
            user_id: &user.id,
            token_hash: &hash_token(&token),
            user_agent: client.user_agent.as_deref(),
            ip_address: client.ip_address.as_deref(),
            expires_at: now.plus_secs(TRUST_SECS),
        },
        now,
    )
    .await?;
    let entry = Entry::new(EventKind::DeviceTrusted, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail("trusted for 30 days");
    record(&state.db, entry).await;
    Ok(token)
}

/// The browsers `user` trusts, newest first.
pub async fn trusted_devices(
    state: &AppState,
    user: &User,
) -> Result<Vec<TrustedDeviceInfo>, AppError> {
    Ok(two_factor::list_trusted_devices(&state.db, &user.id, state.clock.now()).await?)
}

/// Stops trusting one of `user`'s browsers: `false` when it was not theirs.
pub async fn forget_device(
    state: &AppState,
    user: &User,
    id: &str,
    client: &ClientInfo,
) -> Result<bool, AppError> {
    let forgotten = two_factor::delete_trusted_device(&state.db, &user.id, id).await?;
    if forgotten {
        let entry = Entry::new(EventKind::DeviceTrusted, Outcome::Success, client)
            .user(&user.id, &user.email)
            .detail("no longer trusted");
        record(&state.db, entry).await;
    }
    Ok(forgotten)
}

async fn audit_code(
    state: &AppState,
    user: &User,
    client: &ClientInfo,
    outcome: Outcome,
    what: &str,
) {
    let entry = Entry::new(EventKind::SecondFactor, outcome, client)
        .user(&user.id, &user.email)
        .detail(what);
    record(&state.db, entry).await;
}

async fn enrolment(state: &AppState, user_id: &str) -> Result<Option<Enrolment>, AppError> {
    Ok(two_factor::find_enrolment(&state.db, user_id).await?)
}

/// Whether `code` is the next code of `user`'s app: accepted once, in one statement,
/// and only for the secret it was checked against (`confirmed_only`: an app confirmed
/// before, as a sign-in needs).
async fn accept_totp(
    state: &AppState,
    user: &User,
    enrolment: &Enrolment,
    code: &str,
    confirmed_only: bool,
) -> Result<bool, AppError> {
    let secret = open_secret(state, &user.id, enrolment)?;
    let now = state.clock.now().unix_secs();
    let Some(step) = secret.accepted_step(code, now, enrolment.last_step) else {
        return Ok(false);
    };
    Ok(two_factor::accept_step(
        &state.db,
        &user.id,
        step,
        &enrolment.sealed_secret,
        confirmed_only,
    )
    .await?)
}

fn open_secret(
    state: &AppState,
    user_id: &str,
    enrolment: &Enrolment,
) -> Result<TotpSecret, AppError> {
    sealed::open(key(state), TOTP_SECRETS, user_id, &enrolment.sealed_secret)
        .and_then(TotpSecret::from_bytes)
        .ok_or_else(|| {
            tracing::error!(
                user_id,
                "a TOTP secret does not open: the server's secret changed since it was stored"
            );
            AppError::Internal
        })
}

fn key(state: &AppState) -> &Secret {
    &state.tokens.settings().secret
}

/// `BACKUP_CODES` new codes of the form `xxxxx-xxxxx` (about 59 bits each).
fn new_backup_codes() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..BACKUP_CODES)
        .map(|_| {
            let chars: String = (&mut rng)
                .sample_iter(Alphanumeric)
                .take(10)
                .map(char::from)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

fn hash_codes(secret: &Secret, user_id: &str, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .map(|code| hash_code(secret, user_id, code))
        .collect()
}

/// The keyed hash a backup code is stored as: HMAC-SHA256 under a key of its own, over
/// the user's id and the code. Looking it up by this hash compares nothing an attacker
/// can steer byte by byte.
fn hash_code(secret: &Secret, user_id: &str, code: &str) -> String {
    let message = [user_id.as_bytes(), &[0], code.as_bytes()].concat();
    URL_SAFE_NO_PAD.encode(secret.mac(BACKUP_CODE_HASHES, &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_codes_are_ten_distinct_codes_of_the_shape_better_auth_shows() {
        let codes = new_backup_codes();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            let (a, b) = code.split_once('-').unwrap();
            assert_eq!((a.len(), b.len()), (5, 5), "{code}");
            assert!(a
                .chars()
                .chain(b.chars())
                .all(|c| c.is_ascii_alphanumeric()));
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn the_qr_code_is_an_svg_drawing_of_the_uri() {
        let short = qr_svg("otpauth://totp/T:a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let long = qr_svg(&format!("otpauth://totp/T:{}?secret=A", "a".repeat(200)));
        assert!(short.contains("<svg") && short.contains("<path"), "{short}");
        assert!(!short.contains("<script"));
        assert_ne!(short, long, "a longer URI draws a denser code");
    }

    #[test]
    fn a_backup_codes_hash_is_keyed_and_bound_to_its_user() {
        let secret = Secret::new("a-test-secret-that-is-long-enough-for-keys").unwrap();
        let other = Secret::new("another-secret-that-is-long-enough-too").unwrap();
        let hash = hash_code(&secret, "u1", "abcde-fghij");
        assert_eq!(hash, hash_code(&secret, "u1", "abcde-fghij"));
        assert_ne!(hash, hash_code(&secret, "u2", "abcde-fghij"));
        assert_ne!(hash, hash_code(&other, "u1", "abcde-fghij"));
        assert!(!hash.contains("abcde"));
    }
}
