//! What one revocation says: its reason and whom it names, before and after it is logged.

use crate::clock::Timestamp;

/// What a revocation stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The session ended: signed out, revoked, or a retired token of it was reused.
    SessionEnded,
    /// The user was disabled.
    Disabled,
    /// The account changed in a way its tokens carry (its role).
    AccountChanged,
}

impl Reason {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::SessionEnded => "session",
            Self::Disabled => "disabled",
            Self::AccountChanged => "changed",
        }
    }

    pub(super) fn parse(stored: &str) -> Self {
        match stored {
            "session" => Self::SessionEnded,
            "changed" => Self::AccountChanged,
            // Unknown reasons refuse as firmly as the firmest.
            _ => Self::Disabled,
        }
    }
}

/// One revocation, before it is logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub user_id: String,
    /// The ended session; `None` for an entry about the user.
    pub session_id: Option<String>,
    pub reason: Reason,
    /// When; for an entry about the user, its `updated_at` after the change.
    pub revoked_at: Timestamp,
}

impl Entry {
    /// A session of `user_id` ended `at`.
    pub fn session_ended(user_id: &str, session_id: &str, at: Timestamp) -> Self {
        Self {
            user_id: user_id.to_owned(),
            session_id: Some(session_id.to_owned()),
            reason: Reason::SessionEnded,
            revoked_at: at,
        }
    }

    /// The account of `user_id` changed (`reason`), leaving its `updated_at` at `updated_at`.
    pub fn account(user_id: &str, reason: Reason, updated_at: Timestamp) -> Self {
        Self {
            user_id: user_id.to_owned(),
            session_id: None,
            reason,
            revoked_at: updated_at,
        }
    }
}

/// An entry of the log, with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub id: i64,
    pub entry: Entry,
}
