//! The browser's calls to the tasks API with gloo-net.
//!
//! Same origin, so the browser attaches the HttpOnly access cookie itself: this code
//! never sees a token. A 401 means the access JWT may just have expired, so the session
//! is asked once for a fresh one and the request is retried; if that fails too, the
//! caller gets `Unauthenticated` and sends the person to sign in.

use crate::{
    auth::server_fns::refresh_access,
    error::AppError,
    tasks::types::{NewTask, Task, TaskPatch},
};
use gloo_net::http::{Request, Response};

pub async fn list_tasks() -> Result<Vec<Task>, AppError> {
    let response = send(|| Request::get("/api/tasks?limit=500").build()).await?;
    read_json(response).await
}

pub async fn create_task(new: &NewTask) -> Result<Task, AppError> {
    let response = send(|| Request::post("/api/tasks").json(new)).await?;
    read_json(response).await
}

pub async fn update_task(id: &str, patch: &TaskPatch) -> Result<Task, AppError> {
    let url = format!("/api/tasks/{id}");
    let response = send(|| Request::patch(&url).json(patch)).await?;
    read_json(response).await
}

pub async fn delete_task(id: &str) -> Result<(), AppError> {
    let url = format!("/api/tasks/{id}");
    send(|| Request::delete(&url).build()).await.map(drop)
}

async fn send(build: impl Fn() -> Result<Request, gloo_net::Error>) -> Result<Response, AppError> {
    let response = attempt(&build).await?;
    if response.status() != 401 {
        return success_or_error(response).await;
    }
    refresh_access().await?;
    success_or_error(attempt(&build).await?).await
}

async fn attempt(
    build: &impl Fn() -> Result<Request, gloo_net::Error>,
) -> Result<Response, AppError> {
    let request = build().map_err(|e| AppError::Transport(e.to_string()))?;
    request
        .send()
        .await
        .map_err(|_| AppError::unreachable_server())
}

async fn success_or_error(response: Response) -> Result<Response, AppError> {
    if response.ok() {
        return Ok(response);
    }
    let status = response.status();
    let retry_after = response.headers().get("retry-after");
    let body = response.text().await.unwrap_or_default();
    Err(AppError::from_api_response(
        status,
        retry_after.as_deref(),
        &body,
    ))
}

async fn read_json<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, AppError> {
    response
        .json()
        .await
        .map_err(|e| AppError::Transport(format!("Unexpected answer from the server: {e}")))
}
