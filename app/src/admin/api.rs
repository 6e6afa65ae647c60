//! Better Auth's admin routes (CONTRACT §6) under `/api/auth/admin`, and the audit log.
//! The caller's session (cookie or bearer session token) must belong to an admin.

use crate::{
    admin::service::{
        require_admin, set_disabled, set_role, NOT_ALLOWED_TO_BAN_USERS,
        NOT_ALLOWED_TO_CHANGE_ROLES, NOT_ALLOWED_TO_LIST_USERS,
    },
    audit::{repo::list, AuditEvent, AuditFilter, EventKind, Outcome},
    auth::{
        extract::CurrentSession,
        repo::{self, TextMatch, UserColumn, UserListing},
        types::{Role, User},
    },
    client::ClientInfo,
    error::{AppError, FieldError, FieldErrors},
    extract::{ValidJson, ValidQuery},
    state::AppState,
};
use axum::{
    extract::State,
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::str::FromStr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/list-users", get(list_users))
        .route("/ban-user", post(ban_user))
        .route("/unban-user", post(unban_user))
        .route("/set-role", post(change_role))
        .route("/audit-log", get(audit_log))
        .layer(axum::middleware::from_fn(
            crate::error::better_auth_statuses,
        ))
}

/// The calling admin, or 401 without a session and 403 (with `refusal`'s code) for
/// everyone else.
fn admin(current: CurrentSession, refusal: &str) -> Result<User, AppError> {
    let (_, user) = current.signed_in()?;
    require_admin(&user, refusal)?;
    Ok(user)
}

/// Better Auth's `list-users` query (`searchValue`, `searchField`, `searchOperator`,
/// `filterField`, `filterValue`, `filterOperator`, `sortBy`, `sortDirection`, `limit`,
/// `offset`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListUsersQuery {
    search_value: Option<String>,
    search_field: Option<String>,
    search_operator: Option<String>,
    filter_field: Option<String>,
    filter_value: Option<String>,
    filter_operator: Option<String>,
    sort_by: Option<String>,
    sort_direction: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl ListUsersQuery {
    fn parse(self) -> Result<UserListing, AppError> {
        let mut fields = FieldErrors::default();
        let column = |name: &str, raw: Option<String>, allowed: &[UserColumn]| {
            raw.map(|raw| {
                UserColumn::from_str(&raw)
                    .ok()
                    .filter(|c| allowed.contains(c))
                    .ok_or_else(|| FieldError::query(name, format!("Cannot list users by '{raw}'")))
            })
            .transpose()
        };
        use UserColumn::*;
        let search_field = fields.check(column("searchField", self.search_field, &[Email, Name]));
        let filter_field = fields.check(column(
            "filterField",
            self.filter_field,
            &[Email, Name, Role, Banned],
        ));
        let sort_by = fields.check(column(
            "sortBy",
            self.sort_by,
            &[Email, Name, Role, CreatedAt, UpdatedAt],
        ));
        let search_operator = fields.check(
            self.search_operator
                .map(|raw| {
                    TextMatch::from_str(&raw).map_err(|_| {
                        FieldError::query(
                            "searchOperator",
                            "Use contains, starts_with or ends_with",
                        )
                    })
                })
                .transpose(),
        );
        let filter_equal = fields.check(match self.filter_operator.as_deref() {
            None | Some("eq") => Ok(true),
            Some("ne") => Ok(false),
            Some(_) => Err(FieldError::query("filterOperator", "Use eq or ne")),
        });
        let descending = fields.check(match self.sort_direction.as_deref() {
            None | Some("asc") => Ok(false),
            Some("desc") => Ok(true),
            Some(_) => Err(FieldError::query("sortDirection", "Use asc or desc")),
        });
        fields.finish(|| {
            Some(UserListing {
                search: self.search_value.map(|value| {
                    (
                        search_field.flatten().unwrap_or(Email),
                        search_operator.flatten().unwrap_or(TextMatch::Contains),
                        value,
                    )
                }),
                filter: filter_field
                    .flatten()
                    .zip(self.filter_value)
                    .map(|(column, value)| (column, filter_equal.unwrap_or(true), value)),
                sort_by: sort_by.flatten(),
                descending: descending?,
                limit: self.limit,
                offset: self.offset,
            })
        })
    }
}

async fn list_users(
    State(state): State<AppState>,
    current: CurrentSession,
    ValidQuery(query): ValidQuery<ListUsersQuery>,
) -> Result<Json<Value>, AppError> {
    admin(current, NOT_ALLOWED_TO_LIST_USERS)?;
    let listing = query.parse()?;
    let (users, total) = repo::list_users(&state.db, &listing).await?;
    let mut body = json!({ "users": users, "total": total });
    // Better Auth says which page this is when it was asked for one.
    if let Some(limit) = listing.limit.filter(|l| *l > 0) {
        body["limit"] = json!(limit);
    }
    if let Some(offset) = listing.offset.filter(|o| *o > 0) {
        body["offset"] = json!(offset);
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BanBody {
    #[serde(default)]
    user_id: String,
    ban_reason: Option<String>,
}

async fn ban_user(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<BanBody>,
) -> Result<Json<Value>, AppError> {
    let admin = admin(current, NOT_ALLOWED_TO_BAN_USERS)?;
    let reason = body.ban_reason.as_deref();
    let user = set_disabled(
        &state.db,
        &state.revocations,
        &admin,
        &body.user_id,
        true,
        reason,
        &client,
    )
    .await?;
    Ok(Json(json!({ "user": user })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserBody {
    #[serde(default)]
    user_id: String,
}

async fn unban_user(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<UserBody>,
) -> Result<Json<Value>, AppError> {
    let admin = admin(current, NOT_ALLOWED_TO_BAN_USERS)?;
    let user = set_disabled(
        &state.db,
        &state.revocations,
        &admin,
        &body.user_id,
        false,
        None,
        &client,
    )
    .await?;
    Ok(Json(json!({ "user": user })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleBody {
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<RoleBody>,
) -> Result<Json<Value>, AppError> {
    let admin = admin(current, NOT_ALLOWED_TO_CHANGE_ROLES)?;
    let role = Role::parse(&body.role).map_err(|e| AppError::Validation(vec![e]))?;
    let user = set_role(
        &state.db,
        &state.revocations,
        Some(&admin),
        &body.user_id,
        role,
        &client,
    )
    .await?;
    Ok(Json(json!({ "user": user })))
}

#[derive(Deserialize)]
struct AuditQuery {
    event: Option<String>,
    outcome: Option<String>,
    user: Option<String>,
    limit: Option<u32>,
}

impl AuditQuery {
    fn parse(self) -> Result<AuditFilter, AppError> {
        let event = match self.event.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(EventKind::parse(raw).ok_or_else(|| {
                AppError::Validation(vec![FieldError::query("event", "Unknown event kind")])
            })?),
        };
        let outcome = match self.outcome.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(Outcome::parse(raw).ok_or_else(|| {
                AppError::Validation(vec![FieldError::query("outcome", "Use success or failure")])
            })?),
        };
        Ok(AuditFilter {
            event,
            outcome,
            user: self.user,
            limit: self.limit,
        })
    }
}

async fn audit_log(
    State(state): State<AppState>,
    current: CurrentSession,
    ValidQuery(query): ValidQuery<AuditQuery>,
) -> Result<Json<Value>, AppError> {
    admin(current, NOT_ALLOWED_TO_LIST_USERS)?;
    let events: Vec<AuditEvent> = list(&state.db, &query.parse()?).await?;
    Ok(Json(json!({ "events": events })))
}
