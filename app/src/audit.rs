//! The audit log: every authentication event, with when, who, from where and how it
//! went, but routine refreshes (one each time a browser's access token expires, up to
//! `RATE_LIMIT_REFRESH` per client): only a refresh that gives something away is in it
//! (`Refresh` is a lost answer's token issued again).
//! Each event is a row in `audit_events` and a structured log line (target `audit`).
//! The types compile to wasm for the admin page.

use serde::{Deserialize, Serialize};

/// What happened. Its name (`sign_up`, …) is the same in JSON, in the table and in
/// filters: serde and strum derive each from the one `snake_case` rule.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::VariantArray,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    SignUp,
    SignIn,
    SignOut,
    Refresh,
    RefreshReuseDetected,
    SessionRevoked,
    ApiTokenIssued,
    ProfileUpdated,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    VerificationEmailSent,
    EmailVerified,
    EmailChangeRequested,
    EmailChanged,
    UserDeleted,
    UserDisabled,
    UserEnabled,
    RoleChanged,
    TokenRejected,
    TwoFactorEnabled,
    TwoFactorDisabled,
    SecondFactor,
    BackupCodesGenerated,
    DeviceTrusted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    /// How the admin page names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::SignUp => "Sign-up",
            Self::SignIn => "Sign-in",
            Self::SignOut => "Sign-out",
            Self::Refresh => "Token refresh",
            Self::RefreshReuseDetected => "Refresh reuse detected",
            Self::SessionRevoked => "Session revoked",
            Self::ApiTokenIssued => "API token issued",
            Self::ProfileUpdated => "Profile updated",
            Self::PasswordChanged => "Password changed",
            Self::PasswordResetRequested => "Password reset requested",
            Self::PasswordReset => "Password reset",
            Self::VerificationEmailSent => "Verification email sent",
            Self::EmailVerified => "Email verified",
            Self::EmailChangeRequested => "Email change requested",
            Self::EmailChanged => "Email changed",
            Self::UserDeleted => "Account deleted",
            Self::UserDisabled => "User disabled",
            Self::UserEnabled => "User enabled",
            Self::RoleChanged => "Role changed",
            Self::TokenRejected => "Token rejected",
            Self::TwoFactorEnabled => "Two-factor enabled",
            Self::TwoFactorDisabled => "Two-factor disabled",
            Self::SecondFactor => "Second factor",
            Self::BackupCodesGenerated => "Backup codes generated",
            Self::DeviceTrusted => "Device trusted",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    #[serde(serialize_with = "crate::wire_time::millis")]
    #[cfg_attr(feature = "ssr", schema(format = DateTime))]
    pub at: String,
    pub event: EventKind,
    pub outcome: Outcome,
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    /// Why it failed, or what changed; never a password or a token.
    pub detail: Option<String>,
}

/// Which events to list, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    pub event: Option<EventKind>,
    pub outcome: Option<Outcome>,
    /// A user id, or part of an email address.
    pub user: Option<String>,
    pub limit: Option<u32>,
}

impl AuditFilter {
    pub const DEFAULT_LIMIT: u32 = 100;
    pub const MAX_LIMIT: u32 = 1000;
}

#[cfg(feature = "ssr")]
pub mod repo {
    //! Writing and reading the log. All audit SQL lives here.

    use super::{AuditEvent, AuditFilter, EventKind, Outcome};
    use crate::{
        client::ClientInfo,
        clock::Clock,
        db::{self, Pool},
    };
    use sqlx::FromRow;

    db::decoded_by_name!(crate::audit::EventKind, crate::audit::Outcome);

    /// An event about to be recorded.
    pub struct Entry<'a> {
        kind: EventKind,
        outcome: Outcome,
        client: &'a ClientInfo,
        user_id: Option<&'a str>,
        email: Option<&'a str>,
        detail: Option<String>,
    }

    impl<'a> Entry<'a> {
        pub fn new(kind: EventKind, outcome: Outcome, client: &'a ClientInfo) -> Self {
            Self {
                kind,
                outcome,
                client,
                user_id: None,
                email: None,
                detail: None,
            }
        }

        pub fn user(mut self, user_id: &'a str, email: &'a str) -> Self {
            self.user_id = Some(user_id);
            self.email = Some(email);
            self
        }

        pub fn user_id(mut self, user_id: &'a str) -> Self {
            self.user_id = Some(user_id);
            self
        }

        pub fn email(mut self, email: &'a str) -> Self {
            self.email = Some(email);
            self
        }

        pub fn detail(mut self, detail: impl Into<String>) -> Self {
            self.detail = Some(detail.into());
            self
        }
    }

    /// Records the event as a log line and a row. A row that cannot be written is
    /// reported in the log; the request that caused the event goes on.
    pub async fn record(pool: &Pool, entry: Entry<'_>) {
        tracing::info!(
            target: "audit",
            event = entry.kind.as_str(),
            outcome = entry.outcome.as_str(),
            user_id = entry.user_id,
            email = entry.email,
            ip = entry.client.ip_address.as_deref(),
            user_agent = entry.client.user_agent.as_deref(),
            detail = entry.detail.as_deref(),
            "audit event"
        );
        let written = sqlx::query(
            "insert into audit_events (id, at, event, outcome, user_id, email, ip_address, user_agent, detail) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(db::new_id())
        // When it really happened: the system's time, whatever a test does to the app's.
        .bind(Clock::default().now())
        .bind(entry.kind.as_str())
        .bind(entry.outcome.as_str())
        .bind(entry.user_id)
        .bind(entry.email)
        .bind(entry.client.ip_address.as_deref())
        .bind(entry.client.user_agent.as_deref())
        .bind(entry.detail.as_deref())
        .execute(pool)
        .await;
        if let Err(e) = written {
            tracing::error!(cause = %e, event = entry.kind.as_str(), "audit event not stored");
        }
    }

    /// Events matching `filter`, newest first.
    pub async fn list(pool: &Pool, filter: &AuditFilter) -> Result<Vec<AuditEvent>, sqlx::Error> {
        let mut conditions = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut next = |value: String| {
            values.push(value);
            format!("${}", values.len())
        };
        if let Some(event) = filter.event {
            conditions.push(format!("event = {}", next(event.as_str().to_owned())));
        }
        if let Some(outcome) = filter.outcome {
            conditions.push(format!("outcome = {}", next(outcome.as_str().to_owned())));
        }
        if let Some(user) = filter
            .user
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            let id = next(user.to_owned());
            let email = next(format!("%{}%", user.to_lowercase()));
            conditions.push(format!("(user_id = {id} or email like {email})"));
        }
        let limit = filter
            .limit
            .unwrap_or(AuditFilter::DEFAULT_LIMIT)
            .clamp(1, AuditFilter::MAX_LIMIT);
        let sql = format!(
            "select id, at, event, outcome, user_id, email, ip_address, user_agent, detail \
             from audit_events {} order by at desc, id limit {limit}",
            if conditions.is_empty() {
                String::new()
            } else {
                format!("where {}", conditions.join(" and "))
            }
        );
        let mut query = sqlx::query(&sql);
        for value in &values {
            query = query.bind(value);
        }
        let rows = query.fetch_all(pool).await?;
        rows.iter().map(AuditEvent::from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for &kind in <EventKind as strum::VariantArray>::VARIANTS {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(EventKind::parse("nonsense"), None);
        for outcome in [Outcome::Success, Outcome::Failure] {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(outcome));
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                serde_json::Value::from(outcome.as_str())
            );
        }
    }
}
