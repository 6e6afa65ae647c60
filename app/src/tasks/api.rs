//! The tasks API (CONTRACT §4): each caller reads and changes only their own tasks.

use crate::{
    auth::web::extract::Caller,
    error::{AppError, ErrorBody},
    extract::{ValidJson, ValidQuery},
    openapi::{
        Forbidden, Internal, InvalidRequest, NotAuthenticated, PayloadTooLarge, TaskNotFound,
        TooManyRequests, Unavailable, TASKS_TAG,
    },
    state::AppState,
    tasks::{
        repo,
        types::{ListQuery, NewTask, Task, TaskPatch},
    },
};
use axum::{
    extract::{FromRequestParts, Path, State},
    http::{request::Parts, StatusCode},
    routing::get,
    Json,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .route("/tasks/", get(list).post(create))
        .routes(routes!(read, update, remove))
}

/// The `{id}` of a task route. An id that is not UTF-8 once percent-decoded (`%FF`), or
/// that holds a NUL (`%00`, which PostgreSQL cannot even compare), names no task: 404
/// like any other unknown id, as FastAPI answers it, where axum's `Path` would answer a
/// plain-text 400 and PostgreSQL a 500.
struct TaskId(String);

impl<S: Send + Sync> FromRequestParts<S> for TaskId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) if !id.contains('\0') => Ok(Self(id)),
            _ => Err(AppError::task_not_found()),
        }
    }
}

/// The caller's tasks, newest first. (`/api/tasks/` is the same route.)
#[utoipa::path(
    get,
    path = "/tasks",
    tag = TASKS_TAG,
    params(ListQuery),
    security(("bearer_jwt" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The caller's tasks", body = Vec<Task>),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 422, response = InvalidRequest),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ValidQuery(query): ValidQuery<ListQuery>,
) -> Result<Json<Vec<Task>>, AppError> {
    let filter = query.parse()?;
    Ok(Json(
        repo::list_tasks(&state.db, &caller.user_id, &filter).await?,
    ))
}

/// Creates a task for the caller. Needs the `tasks:write` scope; cookie-authenticated
/// requests must come from this site's origin.
#[utoipa::path(
    post,
    path = "/tasks",
    tag = TASKS_TAG,
    request_body = NewTask,
    security(("bearer_jwt" = []), ("access_cookie" = [])),
    responses(
        (status = 201, description = "The new task", body = Task),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 409, description = "The caller keeps the most tasks one account may (`TASK_LIMIT_REACHED`)", body = ErrorBody),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = InvalidRequest),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(body): ValidJson<NewTask>,
) -> Result<(StatusCode, Json<Task>), AppError> {
    let new = body.parse()?;
    state.limits.task_write(&caller.user_id)?;
    let max_tasks = state.site.max_tasks_per_user;
    let task = repo::insert_task(
        &state.db,
        &caller.user_id,
        &new,
        max_tasks,
        state.clock.now(),
    )
    .await?
    .ok_or_else(|| AppError::task_limit_reached(max_tasks))?;
    Ok((StatusCode::CREATED, Json(task)))
}

/// One of the caller's tasks.
#[utoipa::path(
    get,
    path = "/tasks/{id}",
    tag = TASKS_TAG,
    params(("id" = String, Path, description = "The task's id")),
    security(("bearer_jwt" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The task", body = Task),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = TaskNotFound),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    TaskId(id): TaskId,
) -> Result<Json<Task>, AppError> {
    repo::find_task(&state.db, &caller.user_id, &id)
        .await?
        .map(Json)
        .ok_or_else(AppError::task_not_found)
}

/// Changes the fields given; a `null` description clears it.
#[utoipa::path(
    patch,
    path = "/tasks/{id}",
    tag = TASKS_TAG,
    params(("id" = String, Path, description = "The task's id")),
    request_body = TaskPatch,
    security(("bearer_jwt" = []), ("access_cookie" = [])),
    responses(
        (status = 200, description = "The task as changed", body = Task),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = TaskNotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 422, response = InvalidRequest),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    TaskId(id): TaskId,
    ValidJson(body): ValidJson<TaskPatch>,
) -> Result<Json<Task>, AppError> {
    let patch = body.parse()?;
    state.limits.task_write(&caller.user_id)?;
    repo::update_task(&state.db, &caller.user_id, &id, &patch, state.clock.now())
        .await?
        .map(Json)
        .ok_or_else(AppError::task_not_found)
}

/// Deletes one of the caller's tasks.
#[utoipa::path(
    delete,
    path = "/tasks/{id}",
    tag = TASKS_TAG,
    params(("id" = String, Path, description = "The task's id")),
    security(("bearer_jwt" = []), ("access_cookie" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = NotAuthenticated),
        (status = 403, response = Forbidden),
        (status = 404, response = TaskNotFound),
        (status = 429, response = TooManyRequests),
        (status = 500, response = Internal),
        (status = 503, response = Unavailable),
    )
)]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    TaskId(id): TaskId,
) -> Result<StatusCode, AppError> {
    state.limits.task_write(&caller.user_id)?;
    if repo::delete_task(&state.db, &caller.user_id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::task_not_found())
    }
}
