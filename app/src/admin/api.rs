//! Better Auth's admin routes (CONTRACT §6) under `/api/auth/admin`, and the audit log.
//! The caller's session (cookie or bearer session token) must belong to an admin.

use crate::{
    admin::service::{
        require_admin_session, set_disabled, set_role, NOT_ALLOWED_TO_BAN_USERS,
        NOT_ALLOWED_TO_CHANGE_ROLES, NOT_ALLOWED_TO_LIST_USERS,
    },
    audit::{repo::list, AuditEvent, AuditFilter, EventKind, Outcome},
    auth::{
        store::users::{self, TextMatch, UserColumn, UserListing},
        types::{Role, User},
        web::extract::CurrentSession,
    },
    client::ClientInfo,
    error::{AppError, ErrorBody, FieldError, FieldErrors},
    extract::{ValidJson, ValidQuery},
    openapi::{
        BadRequest, BadRequestOrRefused, Forbidden, Internal, NotAuthenticated, PayloadTooLarge,
        Unavailable, UnsupportedMediaType, ADMIN_TAG,
    },
    state::AppState,
};
use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(ban_user))
        .routes(routes!(unban_user))
        .routes(routes!(change_role))
        .routes(routes!(audit_log))
        .layer(axum::middleware::from_fn(
            crate::error::better_auth_statuses,
        ))
}

/// The calling admin, or 401 without a session and 403 (with `refusal`'s code) for
/// everyone else.
fn admin(state: &AppState, current: CurrentSession, refusal: &str) -> Result<User, AppError> {
    let (session, user) = current.signed_in()?;
    require_admin_session(&user, &session, refusal, state.site.require_mfa_for_admins)?;
    Ok(user)
}

/// Better Auth's `list-users` query (`searchValue`, `searchField`, `searchOperator`,
/// `filterField`, `filterValue`, `filterOperator`, `sortBy`, `sortDirection`, `limit`,
/// `offset`).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct ListUsersQuery {
    /// Text to look for in `searchField`.
    search_value: Option<String>,
    /// `email` (default) or `name`.
    search_field: Option<String>,
    /// `contains` (default), `starts_with` or `ends_with`.
    search_operator: Option<String>,
    /// `email`, `name`, `role` or `banned`.
    filter_field: Option<String>,
    filter_value: Option<String>,
    /// `eq` (default) or `ne`.
    filter_operator: Option<String>,
    /// `email`, `name`, `role`, `createdAt` or `updatedAt`.
    sort_by: Option<String>,
    /// `asc` (default) or `desc`.
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

/// A page of users. Better Auth says which page this is when it was asked for one.
#[derive(Serialize, ToSchema)]
struct UserList {
    users: Vec<User>,
    /// How many users match, on every page.
    total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u32>,
}

/// The users, with their roles and whether they are disabled.
#[utoipa::path(
    get,
    path = "/list-users",
    tag = ADMIN_TAG,
    params(ListUsersQuery),
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The users asked for", body = UserList),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn list_users(
    State(state): State<AppState>,
    current: CurrentSession,
    ValidQuery(query): ValidQuery<ListUsersQuery>,
) -> Result<Json<UserList>, AppError> {
    admin(&state, current, NOT_ALLOWED_TO_LIST_USERS)?;
    let listing = query.parse()?;
    let (users, total) = users::list_users(&state.db, &listing).await?;
    Ok(Json(UserList {
        users,
        total,
        limit: listing.limit.filter(|l| *l > 0),
        offset: listing.offset.filter(|o| *o > 0),
    }))
}

/// `{"user": …}`: the user as the change left them.
#[derive(Serialize, ToSchema)]
struct Changed {
    user: User,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BanBody {
    #[serde(default)]
    #[schema(required = true)]
    user_id: String,
    ban_reason: Option<String>,
}

/// Disables a user and ends every session of theirs.
#[utoipa::path(
    post,
    path = "/ban-user",
    tag = ADMIN_TAG,
    request_body = BanBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The user, disabled", body = Changed),
        (status = 400, response = BadRequestOrRefused),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such user (`USER_NOT_FOUND`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn ban_user(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<BanBody>,
) -> Result<Json<Changed>, AppError> {
    let admin = admin(&state, current, NOT_ALLOWED_TO_BAN_USERS)?;
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
    Ok(Json(Changed { user }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UserBody {
    #[serde(default)]
    #[schema(required = true)]
    user_id: String,
}

/// Enables a disabled user again.
#[utoipa::path(
    post,
    path = "/unban-user",
    tag = ADMIN_TAG,
    request_body = UserBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The user, enabled", body = Changed),
        (status = 400, response = BadRequestOrRefused),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such user (`USER_NOT_FOUND`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn unban_user(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<UserBody>,
) -> Result<Json<Changed>, AppError> {
    let admin = admin(&state, current, NOT_ALLOWED_TO_BAN_USERS)?;
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
    Ok(Json(Changed { user }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RoleBody {
    #[serde(default)]
    #[schema(required = true)]
    user_id: String,
    /// `user` or `admin`.
    #[serde(default)]
    #[schema(required = true, value_type = Role)]
    role: String,
}

/// Gives a user a role; their tokens from before are refused.
#[utoipa::path(
    post,
    path = "/set-role",
    tag = ADMIN_TAG,
    request_body = RoleBody,
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The user, with the role", body = Changed),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 404, description = "No such user (`USER_NOT_FOUND`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn change_role(
    State(state): State<AppState>,
    client: ClientInfo,
    current: CurrentSession,
    ValidJson(body): ValidJson<RoleBody>,
) -> Result<Json<Changed>, AppError> {
    let admin = admin(&state, current, NOT_ALLOWED_TO_CHANGE_ROLES)?;
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
    Ok(Json(Changed { user }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// One kind of event (`sign_in`, `session_revoked`, …).
    event: Option<String>,
    /// `success` or `failure`.
    outcome: Option<String>,
    /// Only the events of this user id or email.
    user: Option<String>,
    /// How many events at most.
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

#[derive(Serialize, ToSchema)]
struct AuditLog {
    events: Vec<AuditEvent>,
}

/// Authentication events, newest first.
#[utoipa::path(
    get,
    path = "/audit-log",
    tag = ADMIN_TAG,
    params(AuditQuery),
    security(("session_cookie" = []), ("session_token" = [])),
    responses(
        (status = 200, description = "The events asked for", body = AuditLog),
        (status = 400, response = BadRequest),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn audit_log(
    State(state): State<AppState>,
    current: CurrentSession,
    ValidQuery(query): ValidQuery<AuditQuery>,
) -> Result<Json<AuditLog>, AppError> {
    admin(&state, current, NOT_ALLOWED_TO_LIST_USERS)?;
    let events = list(&state.db, &query.parse()?).await?;
    Ok(Json(AuditLog { events }))
}
