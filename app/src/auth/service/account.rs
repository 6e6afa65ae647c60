//! A person managing their own account: their profile, their password and leaving.
//! Each change to the account revokes the tokens minted before it
//! (`user_changes::change_user`). Better Auth's routes for them are in
//! `web::account`.

use crate::{
    audit::{
        repo::{record, Entry},
        EventKind, Outcome,
    },
    auth::{
        service::session,
        store::{sessions::Session, user_changes},
        types::{Password, User, UserName},
    },
    client::ClientInfo,
    error::{AppError, FieldError},
    state::AppState,
};

/// A profile picture: an http(s) URL of at most 1024 bytes as stored (percent-encoded,
/// its host in punycode). Every access token carries it, inside a cookie that browsers
/// drop past 4 KB: with the longest name and email, 1024 bytes keep it under that.
pub struct ImageUrl(String);

impl ImageUrl {
    const MAX_BYTES: usize = 1024;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let refused = || FieldError::body("image", "Use an http or https URL");
        let too_long = || {
            FieldError::body(
                "image",
                format!("Use a URL of at most {} characters", Self::MAX_BYTES),
            )
        };
        if raw.len() > Self::MAX_BYTES {
            return Err(too_long());
        }
        let url = url::Url::parse(raw).map_err(|_| refused())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refused());
        }
        let url = String::from(url);
        if url.len() > Self::MAX_BYTES {
            return Err(too_long());
        }
        Ok(Self(url))
    }
}

/// A profile change that passed every rule: a new name, a new picture (`Some(None)`
/// removes it), or both.
pub struct ProfileChange {
    pub name: Option<UserName>,
    pub image: Option<Option<ImageUrl>>,
}

/// Changes `user`'s profile, at most `RATE_LIMIT_PROFILE_UPDATES` times a window; their
/// tokens from before are refused. Answers the account as it is now.
pub async fn update_profile(
    state: &AppState,
    user: &User,
    change: ProfileChange,
    client: &ClientInfo,
) -> Result<User, AppError> {
    let image = change
        .image
        .as_ref()
        .map(|image| image.as_ref().map(|url| url.0.as_str()));
    state.limits.profile_updated(&user.id)?;
    let name = change.name.as_ref().map(UserName::as_str);
    let user = user_changes::update_profile(&state.db, &state.revocations, &user.id, name, image)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let entry =
        Entry::new(EventKind::ProfileUpdated, Outcome::Success, client).user(&user.id, &user.email);
    record(&state.db, entry).await;
    Ok(user)
}

/// Changes `user`'s password once `current` is theirs, ending every other session of
/// theirs than `session` when `end_others`. Answers the account as it is now.
pub async fn change_password(
    state: &AppState,
    session: &Session,
    user: &User,
    current: Password,
    new: Password,
    end_others: bool,
    client: &ClientInfo,
) -> Result<User, AppError> {
    session::check_password(
        state,
        client,
        (user, session),
        EventKind::PasswordChanged,
        "currentPassword",
        current,
    )
    .await?;
    let hash = state.passwords.hash(new).await?;
    let kept = end_others.then_some(session.id.as_str());
    let (user, ended) =
        user_changes::change_password(&state.db, &state.revocations, &user.id, &hash, kept)
            .await?
            .ok_or(AppError::Unauthenticated)?;
    let entry = Entry::new(EventKind::PasswordChanged, Outcome::Success, client)
        .user(&user.id, &user.email)
        .detail(format!("{ended} other sessions ended"));
    record(&state.db, entry).await;
    Ok(user)
}

/// Deletes `user`'s account once `password` is theirs.
pub async fn delete_account(
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
        EventKind::UserDeleted,
        "password",
        password,
    )
    .await?;
    if !user_changes::delete_user(&state.db, &state.revocations, &user.id).await? {
        // Deleted meanwhile (by another request of theirs): nothing to record again.
        return Err(AppError::Unauthenticated);
    }
    let entry =
        Entry::new(EventKind::UserDeleted, Outcome::Success, client).user(&user.id, &user.email);
    record(&state.db, entry).await;
    Ok(())
}

/// A new password, its field named as the form names it.
pub fn new_password(field: &str, raw: &str) -> Result<Password, FieldError> {
    Password::parse(raw).map_err(|e| e.on_field(field))
}
