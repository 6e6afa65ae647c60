//! The tasks API (CONTRACT §4): each caller reads and changes only their own tasks.

use crate::{
    auth::extract::Caller,
    error::AppError,
    extract::{ValidJson, ValidQuery},
    state::AppState,
    tasks::{
        repo,
        types::{ListQuery, NewTask, Task, TaskPatch},
    },
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
    routing::get,
    Json, Router,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", get(list).post(create))
        .route("/tasks/", get(list).post(create))
        .route("/tasks/{id}", get(read).patch(update).delete(remove))
}

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

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(body): ValidJson<NewTask>,
) -> Result<(StatusCode, Json<Task>), AppError> {
    let new = body.parse()?;
    state.limits.task_write(&caller.user_id)?;
    let max_tasks = state.site.max_tasks_per_user;
    let task = repo::insert_task(&state.db, &caller.user_id, &new, max_tasks)
        .await?
        .ok_or_else(|| AppError::task_limit_reached(max_tasks))?;
    Ok((StatusCode::CREATED, Json(task)))
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Task>, AppError> {
    repo::find_task(&state.db, &caller.user_id, &id)
        .await?
        .map(Json)
        .ok_or_else(AppError::task_not_found)
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<TaskPatch>,
) -> Result<Json<Task>, AppError> {
    let patch = body.parse()?;
    state.limits.task_write(&caller.user_id)?;
    repo::update_task(&state.db, &caller.user_id, &id, &patch)
        .await?
        .map(Json)
        .ok_or_else(AppError::task_not_found)
}

async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    state.limits.task_write(&caller.user_id)?;
    if repo::delete_task(&state.db, &caller.user_id, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::task_not_found())
    }
}
